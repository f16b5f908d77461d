import { writeFileSync } from 'node:fs';
import type { BenchRow } from './lib.js';

/**
 * `npm run bench`: runs every suite (or those named: `npm run bench -- core`), prints one table and
 * exits 1 if a target is missed. Set MLREG_BENCH_OUT=FILE to also write the rows as JSON.
 */
const SUITES: Record<string, () => Promise<{ run: () => Promise<BenchRow[]> }>> = {
  core: () => import('./core.js'),
  datasets: () => import('./datasets.js'),
  wide: () => import('./wide.js'),
  evaluations: () => import('./evaluations.js'),
  backup: () => import('./backup.js'),
  monitor: () => import('./monitor.js'),
  scan: () => import('./scan.js'),
  remote: () => import('./remote.js'),
  replica: () => import('./replica.js'),
  ui: () => import('./ui.js'),
  serve: () => import('./serve.js'),
};

const wanted = process.argv.slice(2);
const rows: BenchRow[] = [];
for (const [name, load] of Object.entries(SUITES)) {
  if (wanted.length && !wanted.includes(name)) continue;
  process.stderr.write(`bench: ${name}…\n`);
  const suite = await load();
  rows.push(...(await suite.run()));
}

const header = ['benchmark', 'measured', 'floor', 'ratio / figure', 'target', 'ok'];
const body = rows.map((r) => [
  r.name,
  r.measured,
  r.floor,
  r.ratio < 10 ? r.ratio.toFixed(2) : r.ratio.toFixed(0),
  r.target,
  r.pass ? 'yes' : 'NO',
]);
const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
console.log(line(header));
console.log('| ' + widths.map((w) => '-'.repeat(w)).join(' | ') + ' |');
for (const b of body) console.log(line(b));
if (process.env.MLREG_BENCH_OUT) writeFileSync(process.env.MLREG_BENCH_OUT, JSON.stringify(rows, null, 2) + '\n');
if (rows.some((r) => !r.pass)) process.exitCode = 1;
