import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from '../src/core/registry/registry.js';
import { addVersion } from '../src/core/versions/add.js';
import { promote } from '../src/core/stages/promote.js';
import { fmtMs, median, timeCommand, timeShell, type BenchRow, makeFile } from './lib.js';

/**
 * Core benchmarks: add of a large file against openssl + cp + sync of the same file,
 * stage moves and reads against the start-up of node opening a database with better-sqlite3,
 * list and history of 10,000 versions.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'mlreg.js');
const RUNS = Number(process.env.MLREG_BENCH_RUNS ?? 5);

const runtime = { pid: process.pid, isProcessAlive: () => true, now: () => new Date(), busyTimeoutMs: 60_000 };

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const work = mkdtempSync(join(process.env.MLREG_BENCH_DIR ?? tmpdir(), 'mlreg-bench-core-'));
  const env = { ...process.env, MLREG_ACTOR: 'bench', NO_COLOR: '1' };
  try {
    // --- add of a large file --------------------------------------------------------------
    const mib = Number(process.env.MLREG_BENCH_ADD_MB ?? 1024);
    const big = join(work, 'big.bin');
    makeFile(big, mib);
    const addTimes: number[] = [];
    const floorTimes: number[] = [];
    let peakRss = 0;
    for (let i = 0; i < RUNS; i++) {
      const reg = join(work, `reg-add-${i}`);
      Registry.init(reg, runtime);
      const copy = join(work, `copy-${i}.bin`);
      // The root filesystem here is mounted with `discard`: deleting a 1 GiB file sends TRIMs that
      // the next journal commit (an fsync) waits for. So nothing is deleted between the two timed
      // commands; the copies go after both, followed by a sync, before the next run.
      // Which of the two goes first alternates, so neither always follows the other's writes.
      timeShell('sync');
      const floor = () =>
        floorTimes.push(timeShell(`openssl dgst -sha256 ${big} >/dev/null && cp ${big} ${copy} && sync`));
      if (i % 2) floor();
      const t = timeCommand(`node ${BIN} add model big ${big} --registry ${reg}`, env);
      if (i % 2 === 0) floor();
      addTimes.push(t.ms);
      peakRss = Math.max(peakRss, t.rssMb);
      rmSync(copy);
      rmSync(reg, { recursive: true, force: true });
      timeShell('sync');
    }
    const addMs = median(addTimes);
    const floorMs = median(floorTimes);
    rows.push({
      name: `add ${mib} MiB file`,
      measured: fmtMs(addMs),
      floor: `openssl+cp+sync ${fmtMs(floorMs)}`,
      ratio: addMs / floorMs,
      target: '≤ 1.3×',
      pass: addMs / floorMs <= 1.3,
    });
    rows.push({
      name: `add ${mib} MiB peak RSS`,
      measured: `${peakRss.toFixed(0)} MB`,
      floor: '-',
      ratio: peakRss,
      target: '≤ 150 MB',
      pass: peakRss <= 150,
    });

    // Re-adding identical content writes nothing new.
    const dedupReg = join(work, 'reg-dedup');
    Registry.init(dedupReg, runtime);
    timeCommand(`node ${BIN} add model big ${big} --registry ${dedupReg}`, env);
    const again = timeCommand(`node ${BIN} add model big ${big} --registry ${dedupReg} --json`, env);
    const written = JSON.parse(again.stdout).data.bytesWritten as number;
    rows.push({
      name: 're-add identical content',
      measured: `${written} bytes new`,
      floor: '-',
      ratio: written,
      target: '0 bytes',
      pass: written === 0,
    });
    rmSync(dedupReg, { recursive: true, force: true });
    rmSync(big);

    // --- a registry of 10,000 versions, built through the core API ------------------------
    const n = Number(process.env.MLREG_BENCH_VERSIONS ?? 10_000);
    const regDir = join(work, 'reg-10k');
    Registry.init(regDir, runtime);
    const reg = Registry.open(regDir, runtime);
    const built = Date.now();
    const small = join(work, 'small.bin');
    for (let i = 0; i < n; i++) {
      writeFileSync(small, `weights ${i}`);
      const v = await addVersion(reg, {
        kind: 'model',
        name: 'fraud',
        path: small,
        bump: 'patch',
        metrics: { auc: 0.8 + (i % 100) / 1000 },
        actor: 'bench',
      });
      promote(reg, {
        ref: `fraud@${v.version.version}`,
        stage: i % 2 ? 'production' : 'staging',
        actor: 'bench',
        reason: `build ${i}`,
      });
    }
    reg.close();
    const buildSecs = (Date.now() - built) / 1000;

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
    const cmd = (args: string) =>
      median(Array.from({ length: RUNS * 2 }, () => timeCommand(`node ${BIN} ${args} --registry ${regDir}`, env).ms));
    const promoteMs = cmd('promote fraud@1.0.5 --to canary');
    const rollbackMs = median(
      Array.from({ length: RUNS * 2 }, (_, i) => {
        timeCommand(`node ${BIN} promote fraud@1.0.${10 + i} --to canary --registry ${regDir}`, env);
        return timeCommand(`node ${BIN} rollback fraud --stage canary --registry ${regDir}`, env).ms;
      }),
    );
    const showMs = cmd('show fraud@production');
    for (const [name, ms] of [
      ['promote', promoteMs],
      ['rollback', rollbackMs],
      ['show', showMs],
    ] as const) {
      rows.push({
        name: `${name} (${n} versions)`,
        measured: fmtMs(ms),
        floor: `node+better-sqlite3 open ${fmtMs(startFloor)}`,
        ratio: ms / startFloor,
        target: '≤ 2×',
        pass: ms / startFloor <= 2,
      });
    }
    for (const args of ['list fraud', 'history fraud', 'list fraud --json', 'history fraud --json']) {
      const ms = cmd(args);
      rows.push({
        name: `${args} (${n} versions)`,
        measured: fmtMs(ms),
        floor: '-',
        ratio: ms,
        target: '≤ 300 ms',
        pass: ms <= 300,
      });
    }
    rows.push({
      name: `build ${n} versions via core API`,
      measured: `${buildSecs.toFixed(1)} s`,
      floor: '-',
      ratio: (buildSecs * 1000) / n,
      target: '(info: ms per add+promote)',
      pass: true,
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return rows;
}
