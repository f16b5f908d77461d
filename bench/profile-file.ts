import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { Registry, defaultRuntime } from '../src/core/registry/registry.js';
import { profileFiles } from '../src/core/datasets/profiles.js';

/**
 * Benchmark helper, run as its own process so /usr/bin/time sees only the profile: profile FILE with
 * the registry REG's tmp/ (exactly what `add dataset` does before storing) and print a short summary.
 */
const [regDir, file] = process.argv.slice(2);
const reg = Registry.open(regDir!, { ...defaultRuntime, pid: process.pid });
try {
  const p = await profileFiles(reg, [{ path: basename(file!), abs: file!, size: statSync(file!).size }]);
  process.stdout.write(JSON.stringify({ rows: p.table.rows, columns: p.columns.map((c) => [c.name, c.kind]) }) + '\n');
} finally {
  reg.close();
}
