#!/usr/bin/env node
// Runs the compiled tests under the given folders: only files named *.test.js (helpers are not tests).
// Node 20's `--test` takes folders or files but no globs, so the files are listed here.
// Usage: node test/run.mjs [--node-test-flag…] DIR…
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const dirs = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const files = dirs.flatMap((dir) =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.js'))
    .sort()
    .map((f) => join(dir, f)),
);
if (files.length === 0) {
  console.error(`no *.test.js under ${dirs.join(', ')} (run npm run build first)`);
  process.exit(1);
}
const run = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...flags, ...files], { stdio: 'inherit' });
process.exit(run.status ?? 1);
