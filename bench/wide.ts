import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmtMs, median, timeCommand, type BenchRow } from './lib.js';

/**
 * Wide tables: `add dataset`'s profile of a generated CSV of 2,000 float columns × 100,000 rows (values
 * with two decimals, 0.00–99.99, ~1.1 GiB), whose queries the profiler splits into groups of columns to
 * stay within its memory limit. Peak RSS against the 500 MB budget, and time against DuckDB's own
 * SUMMARIZE of the same file in a process of its own (bench/summarize-file.ts). The file is generated
 * here, streamed, and deleted at the end.
 *
 * MLREG_BENCH_WIDE_COLUMNS and MLREG_BENCH_WIDE_ROWS change the shape; MLREG_BENCH_RUNS the runs per
 * figure (default 1: one run of each side takes minutes).
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'mlreg.js');
const PROFILE_ONE = join(ROOT, 'dist', 'bench', 'profile-file.js');
const SUMMARIZE = join(ROOT, 'dist', 'bench', 'summarize-file.js');

/** `rows` × `cols` values 0.00–99.99 (an LCG, the same file every run), streamed. */
async function writeWideCsv(path: string, rows: number, cols: number): Promise<void> {
  const out = createWriteStream(path);
  let s = 1;
  const u = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  out.write(`${Array.from({ length: cols }, (_, c) => `f${c}`).join(',')}\n`);
  const cells = new Array<string>(cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) cells[c] = String(Math.floor(u() * 10_000) / 100);
    if (!out.write(`${cells.join(',')}\n`)) await new Promise<void>((res) => out.once('drain', () => res()));
  }
  await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
}

export async function run(): Promise<BenchRow[]> {
  const cols = Number(process.env.MLREG_BENCH_WIDE_COLUMNS ?? 2000);
  const rows = Number(process.env.MLREG_BENCH_WIDE_ROWS ?? 100_000);
  const runs = Math.max(1, Number(process.env.MLREG_BENCH_RUNS ?? 1));
  const dir = mkdtempSync(join(tmpdir(), 'mlreg-bench-wide-'));
  try {
    const reg = join(dir, 'reg');
    const init = spawnSync(process.execPath, [BIN, 'init', reg, '--json'], { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`mlreg init failed: ${init.stderr}`);
    const csv = join(dir, 'wide.csv');
    await writeWideCsv(csv, rows, cols);
    const gib = statSync(csv).size / 2 ** 30;
    const ours: { ms: number; rssMb: number }[] = [];
    const theirs: { ms: number; rssMb: number }[] = [];
    for (let i = 0; i < runs; i++) {
      // Which goes first alternates (the page cache favours the second reader of the file).
      const a = () => ours.push(timeCommand(`${process.execPath} ${PROFILE_ONE} ${reg} ${csv}`));
      const b = () => theirs.push(timeCommand(`${process.execPath} ${SUMMARIZE} ${csv}`));
      if (i % 2) {
        b();
        a();
      } else {
        a();
        b();
      }
    }
    const oursMs = median(ours.map((r) => r.ms));
    const theirsMs = median(theirs.map((r) => r.ms));
    const peak = Math.max(...ours.map((r) => r.rssMb));
    const theirPeak = Math.max(...theirs.map((r) => r.rssMb));
    const label = `${cols.toLocaleString('en')} columns × ${rows.toLocaleString('en')} rows (${gib.toFixed(2)} GiB CSV)`;
    return [
      {
        name: `profile ${label}`,
        measured: fmtMs(oursMs),
        floor: `DuckDB SUMMARIZE ${fmtMs(theirsMs)}`,
        ratio: oursMs / theirsMs,
        // Ours, set after measuring (3.6–3.8× on a loaded machine): the issue sets only the memory budget.
        target: '≤ 4×',
        pass: oursMs / theirsMs <= 4,
      },
      {
        name: `profile peak RSS, ${cols.toLocaleString('en')} columns`,
        measured: `${peak.toFixed(0)} MB`,
        floor: `SUMMARIZE ${theirPeak.toFixed(0)} MB`,
        ratio: peak,
        target: '≤ 500 MB',
        pass: peak <= 500,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run alone: node dist/bench/wide.js
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await run())
    console.log(
      `${r.pass ? 'PASS' : 'FAIL'}  ${r.name}: ${r.measured} vs ${r.floor} → ${r.ratio.toFixed(2)} (${r.target})`,
    );
}
