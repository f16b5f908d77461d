import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from '../src/core/registry/registry.js';
import { addVersion } from '../src/core/versions/add.js';
import { promote } from '../src/core/stages/promote.js';
import { fmtMs, median, timeCommand, timeShell, type BenchRow } from './lib.js';

/**
 * Monitoring benchmarks: `monitor check` over 1,000,000 stored observations (target
 * ≤ 300 ms for the whole command, start-up included), against node opening the same index with
 * better-sqlite3; `monitor score` of 1,000,000 predictions joined with 1,000,000 labels (≤ 5 s,
 * ≤ 300 MB peak RSS), against an awk hash join of the same files.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'mlreg.js');
const RUNS = Number(process.env.MLREG_BENCH_RUNS ?? 5);
const runtime = { pid: process.pid, isProcessAlive: () => true, now: () => new Date(), busyTimeoutMs: 60_000 };

/** Write a CSV of `n` rows made by `row(i)`, in 1 MiB chunks. */
function writeCsv(path: string, header: string, n: number, row: (i: number) => string): void {
  const fd = openSync(path, 'w');
  let buf = header + '\n';
  for (let i = 0; i < n; i++) {
    buf += row(i) + '\n';
    if (buf.length > 1 << 20) {
      writeSync(fd, buf);
      buf = '';
    }
  }
  writeSync(fd, buf);
  closeSync(fd);
}

/** A deterministic stream of numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const work = mkdtempSync(join(process.env.MLREG_BENCH_DIR ?? tmpdir(), 'mlreg-bench-monitor-'));
  const env = { ...process.env, MLREG_ACTOR: 'bench', NO_COLOR: '1' };
  try {
    // --- monitor check over 1,000,000 observations -----------------------------------------
    const n = Number(process.env.MLREG_BENCH_OBSERVATIONS ?? 1_000_000);
    const regDir = join(work, 'reg');
    Registry.init(regDir, runtime);
    const reg = Registry.open(regDir, runtime);
    const model = join(work, 'm.bin');
    for (const v of ['1.0.0', '1.1.0', '1.2.0']) {
      writeFileSync(model, `weights ${v}`);
      await addVersion(reg, { kind: 'model', name: 'fraud', path: model, version: v, actor: 'bench' });
      promote(reg, { ref: `fraud@${v}`, stage: 'production', actor: 'bench' });
    }
    // A year of observations every ~30 s over three versions and four metrics, as `monitor record` stores them.
    const ids = reg.db.prepare('SELECT id, version FROM versions ORDER BY id').all() as {
      id: number;
      version: string;
    }[];
    const metrics = ['auc', 'accuracy', 'f1', 'log_loss'];
    const rand = lcg(7);
    const start = Date.parse('2025-11-24T00:00:00Z');
    reg.write(() => {
      const ins =
        reg.db.prepare(`INSERT INTO observations (artifact_id, version_id, version, stage, metric, slice, value, at, source, recorded_at, recorded_by)
                                  VALUES (1, ?, ?, 'production', ?, 'all', ?, ?, 'live', ?, 'bench')`);
      for (let i = 0; i < n; i++) {
        const v = ids[Math.min(ids.length - 1, Math.floor((i * ids.length) / n))]!;
        const at = new Date(start + i * 31_000).toISOString();
        ins.run(v.id, v.version, metrics[i % metrics.length]!, 0.88 + 0.04 * rand(), at, at);
      }
    });
    reg.close();
    const checkCmd = `node ${BIN} --registry ${regDir} --json monitor check fraud --rule 'auc < 0.85' --rule 'auc drops 0.03 vs previous' --rule 'log_loss > 2' --window 50 >/dev/null`;
    const floorCmd = `node -e "const D=require('${join(ROOT, 'node_modules', 'better-sqlite3')}');const d=new D('${join(regDir, 'mlreg.db')}',{readonly:true});d.prepare('SELECT COUNT(*) FROM stages').get();d.close()"`;
    timeCommand(checkCmd, env); // warm the page cache
    const checkTimes: number[] = [];
    const floorTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      floorTimes.push(timeShell(floorCmd));
      checkTimes.push(timeCommand(checkCmd, env).ms);
    }
    const checkMs = median(checkTimes);
    const floorMs = median(floorTimes);
    rows.push({
      name: `monitor check, ${n.toLocaleString('en')} observations (3 rules)`,
      measured: fmtMs(checkMs),
      floor: `node+sqlite open ${fmtMs(floorMs)}`,
      ratio: checkMs,
      target: '≤ 300 ms',
      pass: checkMs <= 300,
    });

    // --- monitor score of 1,000,000 predictions -----------------------------------------------
    const m = Number(process.env.MLREG_BENCH_PREDICTIONS ?? 1_000_000);
    const preds = join(work, 'preds.csv');
    const labels = join(work, 'labels.csv');
    const r = lcg(11);
    const y = new Uint8Array(m);
    const regions = ['north', 'south', 'east', 'west', 'centre'];
    for (let i = 0; i < m; i++) y[i] = r() < 0.3 ? 1 : 0;
    writeCsv(
      preds,
      'txn_id,p_fraud,region',
      m,
      (i) =>
        `txn-${i.toString().padStart(8, '0')},${Math.min(1, Math.max(0, 0.3 * y[i]! + 0.7 * r())).toFixed(6)},${regions[i % 5]}`,
    );
    // Labels in another order (a real join), one in ten predictions still unlabelled.
    writeCsv(labels, 'txn_id,label', m - m / 10, (k) => {
      const i = (k * 7919) % m;
      return `txn-${i.toString().padStart(8, '0')},${y[i]}`;
    });
    const scoreCmd = `node ${BIN} --registry ${regDir} --json monitor score fraud --predictions ${preds} --labels ${labels} --id txn_id --prediction-column p_fraud --slice-column region >/dev/null`;
    const awkCmd = `awk -F, 'NR==FNR{a[$1]=$2;next} ($1 in a){n++} END{print n}' ${labels} ${preds} >/dev/null`;
    const scoreTimes: number[] = [];
    const awkTimes: number[] = [];
    let rss = 0;
    const scoreRuns = Math.max(1, Math.min(RUNS, 3));
    for (let i = 0; i < scoreRuns; i++) {
      awkTimes.push(timeShell(awkCmd));
      const t = timeCommand(scoreCmd, env);
      scoreTimes.push(t.ms);
      rss = Math.max(rss, t.rssMb);
    }
    const scoreMs = median(scoreTimes);
    const awkMs = median(awkTimes);
    rows.push({
      name: `monitor score, ${m.toLocaleString('en')} predictions`,
      measured: fmtMs(scoreMs),
      floor: `awk hash join ${fmtMs(awkMs)}`,
      ratio: scoreMs,
      target: '≤ 5 s',
      pass: scoreMs <= 5000,
    });
    rows.push({
      name: `monitor score, ${m.toLocaleString('en')} predictions, peak RSS`,
      measured: `${rss.toFixed(0)} MB`,
      floor: '-',
      ratio: rss,
      target: '≤ 300 MB',
      pass: rss <= 300,
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return rows;
}
