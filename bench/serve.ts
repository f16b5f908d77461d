import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './lib.js';

/**
 * A zero-downtime upgrade under load (examples/serve/run.sh): two replicas of the example scikit-learn
 * server, each on its own folder kept on the stage by `mlreg follow --interval 1s --exec 'kill -HUP …'`,
 * under a steady /predict load for 60 s while promote and rollback alternate 20 times. Targets (absolute,
 * from the issue): 0 failed or non-200 answers, every answer naming the version that computed it, and per
 * replica a switch (stage-moving command done → first answer from the new version) of median ≤
 * interval/2 + 0.5 s and max ≤ interval + 2 s. `MLREG_BENCH_SERVE_S` and `MLREG_BENCH_SERVE_MOVES`
 * change the duration and the number of moves. Skipped without scikit-learn for /usr/bin/python3.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';

interface ReplicaReport {
  url: string;
  requests: number;
  failed: number;
  switches: number;
  missed: number;
  switchMedianMs: number | null;
  switchMaxMs: number | null;
}

interface Report {
  interval: number;
  durationS: number;
  alternations: number;
  requests: number;
  failed: number;
  stale: number;
  targets: { medianMs: number; maxMs: number };
  replicas: ReplicaReport[];
}

const ms = (x: number | null) => (x === null ? 'never' : `${x.toFixed(0)} ms`);

export async function run(): Promise<BenchRow[]> {
  if (spawnSync(PYTHON, ['-c', 'import sklearn, joblib']).status !== 0) {
    process.stderr.write(`bench serve: skipped (needs scikit-learn and joblib for ${PYTHON})\n`);
    return [];
  }
  const work = mkdtempSync(join(tmpdir(), 'mlreg-bench-serve-'));
  const out = join(work, 'report.json');
  try {
    const r = spawnSync('bash', [join(ROOT, 'examples', 'serve', 'run.sh')], {
      env: {
        ...process.env,
        DURATION: process.env.MLREG_BENCH_SERVE_S ?? '60',
        ALTERNATIONS: process.env.MLREG_BENCH_SERVE_MOVES ?? '20',
        INTERVAL: '1',
        JSON_OUT: out,
      },
      // Its report goes to stderr with the other suites' progress; stdout is the bench table's.
      stdio: ['ignore', 2, 'inherit'],
    });
    // Exit 1 is a missed target, reported in the rows below; anything else is a broken run.
    if (r.status !== 0 && r.status !== 1) throw new Error(`examples/serve/run.sh failed (exit ${r.status})`);
    const rep = JSON.parse(readFileSync(out, 'utf8')) as Report;
    const what = `${rep.requests} requests, ${rep.replicas.length} replicas, ${rep.alternations} moves in ${rep.durationS.toFixed(0)} s`;
    type Latency = 'switchMedianMs' | 'switchMaxMs';
    // JSON has no Infinity: a switch that never landed is null, and fails its target.
    const worst = (k: Latency) =>
      rep.replicas.some((x) => x[k] === null) ? Number.POSITIVE_INFINITY : Math.max(...rep.replicas.map((x) => x[k]!));
    /** A count that must be 0 (failed answers, stale answers). */
    const none = (name: string, n: number, measured = String(n)): BenchRow => ({
      name: `serve under load: ${name}`,
      measured,
      floor: '-',
      ratio: n,
      target: '0',
      pass: n === 0,
    });
    /** One switch latency: each replica's, the worst against the target. */
    const latency = (label: string, k: Latency, targetMs: number): BenchRow => ({
      name: `serve under load: switch latency ${label}, replica 1 / 2 (follow --interval ${rep.interval}s)`,
      measured: rep.replicas.map((x) => ms(x[k])).join(' / '),
      floor: '-',
      ratio: worst(k),
      target: `≤ ${targetMs} ms`,
      pass: worst(k) <= targetMs,
    });
    return [
      none(`failed or non-200 answers (${what})`, rep.failed, `${rep.failed} of ${rep.requests}`),
      none('old version answering after a replica switched', rep.stale),
      latency('median', 'switchMedianMs', rep.targets.medianMs),
      latency('max', 'switchMaxMs', rep.targets.maxMs),
    ];
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
