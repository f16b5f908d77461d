import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmtMs, median, type BenchRow } from './lib.js';
import { Registry } from '../src/core/registry/registry.js';
import { checkDataset } from '../src/core/datasets/check.js';

/**
 * Datasets: profiling a large generated CSV against a one-pass pandas profile of the same
 * file (read_csv, describe, value_counts) with Debian's python3-pandas, peak RSS of the profile,
 * and `mlreg check` of two stored profiles.
 *
 * MLREG_BENCH_PROFILE_MB sets the CSV size (default 1024); MLREG_BENCH_RUNS the runs per figure
 * for the big profile (default 1: one run of each side already takes tens of seconds).
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'mlreg.js');
const PROFILE_ONE = join(ROOT, 'dist', 'bench', 'profile-file.js');
const PYTHON = '/usr/bin/python3';

const PANDAS_PROFILE = `
import sys
import pandas as pd
df = pd.read_csv(sys.argv[1])
df.describe()
for c in df.select_dtypes(exclude="number").columns:
    df[c].value_counts()
print(len(df))
`;

/** A CSV of mixed columns (floats, integers, low- and mid-cardinality categories, a flag), about `mb` MiB. */
async function writeCsv(path: string, mb: number, seed: number): Promise<number> {
  const out = createWriteStream(path);
  let s = seed >>> 0;
  const u = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const cities = Array.from({ length: 50 }, (_, i) => `city_${i}`);
  const channels = ['web', 'app', 'store', 'phone'];
  out.write('amount,balance,score,ratio,age,items,channel,city,segment,flag\n');
  const target = mb * 1024 * 1024;
  let bytes = 0;
  let rows = 0;
  while (bytes < target) {
    const chunk: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      const line = `${(u() * 500).toFixed(2)},${(u() * 1e5 - 2e4).toFixed(2)},${(u() * 2 - 1).toFixed(6)},${u().toFixed(5)},${18 + Math.floor(u() * 70)},${Math.floor(u() * 12)},${channels[Math.floor(u() * 4)]},${cities[Math.floor(u() * u() * 50)]},${u() < 0.3 ? 'gold' : u() < 0.5 ? 'silver' : 'bronze'},${u() < 0.1 ? 'true' : 'false'}`;
      chunk.push(line);
    }
    const text = chunk.join('\n') + '\n';
    bytes += Buffer.byteLength(text);
    rows += chunk.length;
    if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => out.end((err?: Error | null) => (err ? j(err) : r())));
  return rows;
}

/** Wall time and the child's peak RSS (GNU time writing to a file, so the child's own stderr stays free). */
function timeWithRss(dir: string, argv: string[]): { ms: number; rssMb: number } {
  const out = join(dir, 'time.txt');
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', out, ...argv], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`benchmark command failed (${r.status}): ${argv.join(' ')}\n${r.stderr}`);
  return { ms, rssMb: Number(readFileSync(out, 'utf8').trim().split('\n').pop()) / 1024 };
}

function mlreg(reg: string, ...args: string[]): void {
  const r = spawnSync(process.execPath, [BIN, '--registry', reg, '--json', ...args], {
    encoding: 'utf8',
    env: { ...process.env, MLREG_ACTOR: 'bench' },
  });
  if (r.status !== 0) throw new Error(`mlreg ${args.join(' ')} failed: ${r.stderr}`);
}

export async function run(): Promise<BenchRow[]> {
  const mb = Number(process.env.MLREG_BENCH_PROFILE_MB ?? 1024);
  const runs = Math.max(1, Number(process.env.MLREG_BENCH_RUNS ?? 1));
  const dir = mkdtempSync(join(tmpdir(), 'mlreg-bench-datasets-'));
  try {
    const reg = join(dir, 'reg');
    mlreg(dir, 'init', reg);
    const big = join(dir, 'big.csv');
    const rows = await writeCsv(big, mb, 1);
    const script = join(dir, 'pandas_profile.py');
    writeFileSync(script, PANDAS_PROFILE);

    const ours: { ms: number; rssMb: number }[] = [];
    const theirs: { ms: number; rssMb: number }[] = [];
    for (let i = 0; i < runs; i++) {
      ours.push(timeWithRss(dir, [process.execPath, PROFILE_ONE, reg, big]));
      theirs.push(timeWithRss(dir, [PYTHON, script, big]));
    }
    const oursMs = median(ours.map((r) => r.ms));
    const theirsMs = median(theirs.map((r) => r.ms));
    const peak = Math.max(...ours.map((r) => r.rssMb));
    const pandasPeak = Math.max(...theirs.map((r) => r.rssMb));

    // check of two stored profiles (tables above 1000 rows, so the sketches are used): the whole CLI call.
    const a = join(dir, 'a.csv');
    const b = join(dir, 'b.csv');
    await writeCsv(a, 4, 2);
    await writeCsv(b, 4, 3);
    mlreg(reg, 'add', 'dataset', 'ref', a);
    mlreg(reg, 'add', 'dataset', 'cur', b);
    const checks: number[] = [];
    for (let i = 0; i < 7; i++) {
      const start = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [BIN, '--registry', reg, 'check', 'cur', '--against', 'ref', '--json'], {
        encoding: 'utf8',
      });
      checks.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (r.status !== 0 && r.status !== 1) throw new Error(`check failed: ${r.stdout}${r.stderr}`);
    }
    const checkMs = median(checks);
    // The same check in process (what `monitor data` does): reading two profiles and testing every column.
    const opened = Registry.open(reg);
    const inProcess: number[] = [];
    try {
      for (let i = 0; i < 7; i++) {
        const start = process.hrtime.bigint();
        await checkDataset(opened, { current: 'cur', reference: 'ref' });
        inProcess.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
    } finally {
      opened.close();
    }
    const coreMs = median(inProcess);
    const label = `${mb} MiB CSV, ${rows.toLocaleString('en')} rows × 10 columns`;
    return [
      {
        name: `profile ${label}`,
        measured: fmtMs(oursMs),
        floor: `pandas read_csv+describe+value_counts ${fmtMs(theirsMs)}`,
        ratio: oursMs / theirsMs,
        target: '≤ 0.5 (2× faster)',
        pass: oursMs / theirsMs <= 0.5,
      },
      {
        name: 'profile peak RSS',
        measured: `${peak.toFixed(0)} MB`,
        floor: `pandas ${pandasPeak.toFixed(0)} MB`,
        ratio: peak,
        target: '≤ 500 MB',
        pass: peak <= 500,
      },
      {
        name: 'check of two stored profiles (CLI, end to end)',
        measured: fmtMs(checkMs),
        floor: '-',
        ratio: checkMs,
        target: '≤ 200 ms',
        pass: checkMs <= 200,
      },
      {
        name: 'check of two stored profiles (core checkDataset)',
        measured: fmtMs(coreMs),
        floor: '-',
        ratio: coreMs,
        target: '≤ 200 ms',
        pass: coreMs <= 200,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run alone: node dist/bench/datasets.js
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const r of await run())
    console.log(
      `${r.pass ? 'PASS' : 'FAIL'}  ${r.name}: ${r.measured} vs ${r.floor} → ${typeof r.ratio === 'number' ? r.ratio.toFixed(3) : r.ratio} (${r.target})`,
    );
}
