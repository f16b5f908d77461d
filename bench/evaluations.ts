import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from '../src/core/registry/registry.js';
import { addVersion } from '../src/core/versions/add.js';
import { recordEvaluation } from '../src/core/evaluations/record.js';
import { promote } from '../src/core/stages/promote.js';
import { fmtMs, median, timeCommand, type BenchRow } from './lib.js';

/**
 * Evaluation benchmarks: a gated promote (`--if-better … --all-slices`) and `compare` on
 * a registry with many versions and evaluations cost about what a plain promote costs: both against
 * the start of node opening the database with better-sqlite3, like the core stage-move figures.
 * Also `eval run` overhead per model (checkout of model + dataset, spawn, record) against running
 * the same evaluation command directly.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'mlreg.js');
const SCORE = join(ROOT, 'test', 'fixtures', 'eval', 'score.mjs');
const HOLDOUT = join(ROOT, 'test', 'fixtures', 'eval', 'holdout.csv');
const RUNS = Number(process.env.MLREG_BENCH_RUNS ?? 5);
const runtime = { pid: process.pid, isProcessAlive: () => true, now: () => new Date(), busyTimeoutMs: 60_000 };

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const work = mkdtempSync(join(process.env.MLREG_BENCH_DIR ?? tmpdir(), 'mlreg-bench-eval-'));
  const env = { ...process.env, MLREG_ACTOR: 'bench', NO_COLOR: '1' };
  try {
    // 1,000 model versions × 5 holdout versions × 4 slices × 4 metrics, each recorded twice (history): 160,000 rows.
    const n = Number(process.env.MLREG_BENCH_EVAL_VERSIONS ?? 1000);
    const regDir = join(work, 'reg');
    Registry.init(regDir, runtime);
    const reg = Registry.open(regDir, runtime);
    const holdouts: string[] = [];
    for (let d = 0; d < 5; d++)
      holdouts.push(
        (
          await addVersion(reg, {
            kind: 'dataset',
            name: 'holdout',
            path: HOLDOUT,
            version: `1.${d}.0`,
            actor: 'bench',
          })
        ).version.version,
      );
    const model = join(work, 'model');
    const modelFile = join(model, 'model.json');
    mkdirSync(model);
    for (let i = 0; i < n; i++) {
      writeFileSync(modelFile, JSON.stringify({ feature: 'x', threshold: 0.3 + (i % 40) / 100, build: i }));
      const v = (
        await addVersion(reg, {
          kind: 'model',
          name: 'fraud',
          path: model,
          bump: 'patch',
          metrics: { auc: 0.8 + i / (10 * n) },
          actor: 'bench',
        })
      ).version;
      for (const h of holdouts) {
        for (let k = 0; k < 2; k++) {
          const q = 0.8 + i / (10 * n) + k / 1e6;
          const m = { auc: q, log_loss: 1 - q, f1: q - 0.05, accuracy: q + 0.01 };
          recordEvaluation(reg, {
            model: v,
            dataset: `holdout@${h}`,
            results: { all: m, recent: m, 'segment:web': m, 'segment:app': m },
            actor: 'bench',
            source: 'record',
          });
        }
      }
      if (i === 0) promote(reg, { ref: `fraud@${v.version}`, stage: 'production', actor: 'bench' });
    }
    const evalRows = (reg.db.prepare('SELECT COUNT(*) AS c FROM evaluations').get() as { c: number }).c;
    reg.close();

    const startFloor = median(
      Array.from(
        { length: RUNS * 2 },
        () =>
          timeCommand(
            `node -e "require('better-sqlite3')('${join(regDir, 'mlreg.db')}').prepare('select count(*) from versions').get()"`,
            env,
          ).ms,
      ),
    );
    const floor = `node+better-sqlite3 open ${fmtMs(startFloor)}`;
    // Each gated promote is a real move: every later version is better than the one before.
    const gated = median(
      Array.from(
        { length: RUNS * 2 },
        (_, i) =>
          timeCommand(
            `node ${BIN} promote fraud@1.0.${100 + i * 10} --to production --if-better auc --on holdout@latest --all-slices --max-slice-regression 0.01 --registry ${regDir}`,
            env,
          ).ms,
      ),
    );
    rows.push({
      name: `promote --if-better --all-slices (${evalRows} evaluation rows)`,
      measured: fmtMs(gated),
      floor,
      ratio: gated / startFloor,
      target: '≤ 2×',
      pass: gated / startFloor <= 2,
    });
    const cmp = median(
      Array.from(
        { length: RUNS * 2 },
        () => timeCommand(`node ${BIN} compare fraud@production fraud@latest --json --registry ${regDir}`, env).ms,
      ),
    );
    rows.push({
      name: `compare two models (${evalRows} evaluation rows)`,
      measured: fmtMs(cmp),
      floor,
      ratio: cmp / startFloor,
      target: '≤ 2×',
      pass: cmp / startFloor <= 2,
    });

    // eval run of one model against running the evaluation command by hand on the same files.
    const direct = median(
      Array.from(
        { length: RUNS * 2 },
        () =>
          timeCommand(
            `env MLREG_MODEL_DIR=${model} MLREG_DATASET_DIR=${join(ROOT, 'test', 'fixtures', 'eval')} node ${SCORE} >/dev/null`,
            env,
          ).ms,
      ),
    );
    const viaMlreg = median(
      Array.from(
        { length: RUNS * 2 },
        () =>
          timeCommand(
            `node ${BIN} eval run fraud@latest --on holdout@latest --registry ${regDir} -- node ${SCORE} >/dev/null 2>&1`,
            env,
          ).ms,
      ),
    );
    rows.push({
      name: 'eval run, one model (checkout + run + record)',
      measured: fmtMs(viaMlreg),
      floor: `the command alone ${fmtMs(direct)} + node start ${fmtMs(startFloor)}`,
      ratio: viaMlreg / (direct + startFloor),
      target: '≤ 1.5×',
      pass: viaMlreg / (direct + startFloor) <= 1.5,
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return rows;
}
