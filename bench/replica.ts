import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Registry } from '../src/core/registry/registry.js';
import { applyOperations } from '../src/core/remote/apply.js';
import { replicaInfo } from '../src/core/remote/replica-state.js';
import { runReplicated, WriteSession } from '../src/core/remote/session.js';
import { attachRemote } from '../src/core/remote/setup.js';
import { openRemote, type RemoteStore } from '../src/core/remote/transport.js';
import { promote } from '../src/core/stages/promote.js';
import { addVersion } from '../src/core/versions/add.js';
import { fmtMs, median, timeCommand, type BenchRow } from './lib.js';

/**
 * Replica benchmarks (the team registry): `promote` on a replica against a local promote plus four
 * small conditional PUTs to the same server (target: not slower), and `clone` of a remote holding
 * 10,000 versions and 20,000 events (a checkpoint plus a tail of the log; target ≤ 3 s). The remote
 * is the S3 server of the tests when MLREG_TEST_S3_ENDPOINT is set (test/s3/start-s3.sh), else a
 * file:// folder.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'mlreg.js');
const RUNS = Number(process.env.MLREG_BENCH_RUNS ?? 7);
const runtime = { pid: process.pid, isProcessAlive: () => true, now: () => new Date(), busyTimeoutMs: 60_000 };

function remoteUrl(work: string, name: string): { url: string; env: NodeJS.ProcessEnv; kind: string } {
  const endpoint = process.env.MLREG_TEST_S3_ENDPOINT;
  if (endpoint) {
    const bucket = process.env.MLREG_TEST_S3_BUCKET ?? 'mlreg-test';
    return {
      url: `s3://${bucket}/bench-${name}-${randomBytes(4).toString('hex')}`,
      env: { AWS_ENDPOINT_URL_S3: endpoint },
      kind: 'S3 (radosgw)',
    };
  }
  const dir = join(work, `remote-${name}`);
  mkdirSync(dir);
  return { url: `file://${dir}`, env: {}, kind: 'file://' };
}

async function openStoreFor(url: string, env: NodeJS.ProcessEnv): Promise<RemoteStore> {
  return openRemote(url, env.AWS_ENDPOINT_URL_S3 ? { endpoint: env.AWS_ENDPOINT_URL_S3 } : {});
}

/** Median in-process promote times: a local registry, and a replica of `url` (runReplicated). */
async function promoteInProcess(work: string): Promise<{ localMs: number; replicaMs: number }> {
  const { initRemote } = await import('../src/core/remote/setup.js');
  const r = remoteUrl(work, 'inproc');
  const store = await openStoreFor(r.url, r.env);
  const localDir = join(work, 'inproc-local');
  const replicaDir = join(work, 'inproc-replica');
  Registry.init(localDir, runtime);
  await initRemote(replicaDir, store, { url: store.url, endpoint: null, region: null }, runtime);
  const local = Registry.open(localDir, runtime);
  const replica = Registry.open(replicaDir, runtime);
  const info = replicaInfo(replica)!;
  replica.journal = new WriteSession(replica, info.writerId, 'bench', false);
  const model = join(work, 'inproc.bin');
  try {
    for (let i = 0; i < 2; i++) {
      writeFileSync(model, `in-process weights ${i}`);
      await addVersion(local, { kind: 'model', name: 'fraud', path: model, actor: 'bench' });
      await runReplicated(replica, store, { command: 'add', writerId: info.writerId }, () =>
        addVersion(replica, { kind: 'model', name: 'fraud', path: model, actor: 'bench' }),
      );
    }
    const localTimes: number[] = [];
    const replicaTimes: number[] = [];
    for (let i = 0; i < RUNS * 3; i++) {
      const ref = `fraud@1.${i % 2}.0`;
      let start = process.hrtime.bigint();
      promote(local, { ref, stage: 'production', actor: 'bench' });
      localTimes.push(Number(process.hrtime.bigint() - start) / 1e6);
      start = process.hrtime.bigint();
      await runReplicated(replica, store, { command: 'promote', writerId: info.writerId }, async () =>
        promote(replica, { ref, stage: 'production', actor: 'bench' }),
      );
      replicaTimes.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    return { localMs: median(localTimes), replicaMs: median(replicaTimes) };
  } finally {
    local.close();
    replica.close();
    store.close();
  }
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const work = mkdtempSync(join(process.env.MLREG_BENCH_DIR ?? tmpdir(), 'mlreg-bench-replica-'));
  const baseEnv = { ...process.env, MLREG_ACTOR: 'bench', NO_COLOR: '1' };
  try {
    // --- promote on a replica vs a local promote + 4 small conditional PUTs -----------------
    const r = remoteUrl(work, 'promote');
    const env = { ...baseEnv, ...r.env };
    const local = join(work, 'local');
    const replica = join(work, 'replica');
    const model = join(work, 'm.bin');
    timeCommand(`node ${BIN} init ${local}`, env);
    timeCommand(`node ${BIN} init ${replica} --remote ${r.url}`, env);
    for (const reg of [local, replica])
      for (let i = 0; i < 2; i++) {
        writeFileSync(model, `weights ${i}`);
        timeCommand(`node ${BIN} --registry ${reg} add model fraud ${model}`, env);
      }
    // Local and replica runs alternate, so a change in the machine's load meanwhile weighs on both alike.
    const localTimes: number[] = [];
    const replicaTimes: number[] = [];
    for (let i = 0; i < RUNS; i++)
      for (const [reg, out] of [
        [local, localTimes],
        [replica, replicaTimes],
      ] as const)
        out.push(timeCommand(`node ${BIN} --registry ${reg} promote fraud@1.${i % 2}.0 --to production`, env).ms);
    const localMs = median(localTimes);
    const replicaMs = median(replicaTimes);
    const store = await openStoreFor(r.url, r.env);
    const puts: number[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const start = process.hrtime.bigint();
        await store.putIfAbsent(`bench/put-${i}-${randomBytes(4).toString('hex')}.json`, Buffer.from('{"n":1}\n'));
        puts.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
    } finally {
      store.close();
    }
    const putMs = median(puts);
    // The protocol's own cost, in one process: pull (one list) + put-if-absent + the local transaction.
    const inProcess = await promoteInProcess(work);
    const budget = inProcess.localMs + 4 * putMs;
    rows.push({
      name: `promote on a replica, in process (${r.kind})`,
      measured: fmtMs(inProcess.replicaMs),
      floor: `local promote ${fmtMs(inProcess.localMs)} + 4 × PUT ${fmtMs(putMs)}`,
      ratio: inProcess.replicaMs / budget,
      target: '≤ 1.00',
      pass: inProcess.replicaMs <= budget,
    });
    // The command as a user runs it: a process start that also loads the storage client (the AWS SDK
    // for s3://, measured alone here) and opens it.
    const sdkMs = r.env.AWS_ENDPOINT_URL_S3
      ? median(
          Array.from(
            { length: 3 },
            () =>
              timeCommand(
                `node --input-type=module -e "await import('@aws-sdk/client-s3'); await import('@aws-sdk/lib-storage')"`,
                { ...env, NODE_PATH: join(ROOT, 'node_modules') },
              ).ms - timeCommand('node -e 0', env).ms,
          ),
        )
      : 0;
    const cliBudget = localMs + sdkMs + 4 * putMs;
    rows.push({
      name: `mlreg promote on a replica, CLI (${r.kind})`,
      measured: fmtMs(replicaMs),
      floor: `local ${fmtMs(localMs)} + SDK load ${fmtMs(sdkMs)} + 4 × PUT ${fmtMs(putMs)}`,
      ratio: replicaMs / cliBudget,
      target: '≤ 1.00',
      pass: replicaMs <= cliBudget,
    });

    // MLREG_BENCH_REPLICA_ROWS=promote measures the promote rows alone.
    if (process.env.MLREG_BENCH_REPLICA_ROWS === 'promote') return rows;
    // --- clone of a remote with 10,000 versions and 20,000 events ------------------------
    const versions = Number(process.env.MLREG_BENCH_REPLICA_VERSIONS ?? 10_000);
    const c = remoteUrl(work, 'clone');
    const big = join(work, 'big');
    Registry.init(big, runtime);
    const reg = Registry.open(big, runtime);
    writeFileSync(model, 'the same weights');
    const first = await addVersion(reg, { kind: 'model', name: 'fraud', path: model, actor: 'bench' });
    const objects = reg.db
      .prepare('SELECT digest, size FROM version_objects WHERE version_id = ?')
      .all(first.version.id) as {
      digest: string;
      size: number;
    }[];
    const at = new Date().toISOString();
    // Each version: its add event and a promote event (20,000 events for 10,000 versions).
    reg.write(() => {
      let below: number | null = null;
      let from: string | null = null;
      for (let i = 1; i < versions; i++) {
        const version = `1.${i}.0`;
        applyOperations(
          reg,
          [
            {
              op: 'version.add',
              at,
              name: 'fraud',
              kind: 'model',
              version,
              digest: first.version.digest,
              sourceType: 'file',
              size: first.bytesTotal,
              fileCount: 1,
              description: null,
              objects,
              metrics: { auc: 0.9 },
              params: {},
              tags: {},
              trainedOn: [],
              profile: null,
            },
          ],
          'bench',
        );
        const [moved] = applyOperations(
          reg,
          [
            {
              op: 'stage.move',
              at,
              name: 'fraud',
              stage: 'production',
              move: 'promote',
              version,
              from,
              below,
              reason: null,
              details: null,
            },
          ],
          'bench',
        );
        below = moved!.eventId;
        from = version;
      }
    });
    const cstore = await openStoreFor(c.url, c.env);
    let tail = 0;
    try {
      await attachRemote(reg, cstore, { url: c.url, endpoint: null, region: null });
      // A tail of entries after the checkpoint, as other writers leave them.
      const info = replicaInfo(reg)!;
      reg.journal = new WriteSession(reg, info.writerId, 'bench', false);
      for (let i = 0; i < 50; i++) {
        await runReplicated(reg, cstore, { command: 'promote', writerId: info.writerId }, async () =>
          promote(reg, { ref: `fraud@1.${i + 1}.0`, stage: 'staging', actor: 'bench' }),
        );
        tail++;
      }
    } finally {
      reg.close();
      cstore.close();
    }
    const events = versions * 2 - 1 + tail;
    const clones: number[] = [];
    for (let i = 0; i < 3; i++) {
      const dest = join(work, `clone-${i}`);
      clones.push(timeCommand(`node ${BIN} clone ${c.url} ${dest}`, { ...baseEnv, ...c.env }).ms);
      rmSync(dest, { recursive: true, force: true });
    }
    const cloneMs = median(clones);
    rows.push({
      name: `clone: ${versions} versions, ${events} events (${c.kind}, checkpoint + ${tail} entries)`,
      measured: fmtMs(cloneMs),
      floor: '(absolute)',
      ratio: cloneMs / 1000,
      target: '≤ 3.00 s',
      pass: cloneMs <= 3000,
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return rows;
}
