import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openRemote } from '../src/core/remote/transport.js';
import { type BenchRow, fmtMs, median, timeCommand, makeFile } from './lib.js';

/**
 * Remote transport benchmarks, against a real S3 server (Ceph radosgw on 127.0.0.1):
 * - upload of a MLREG_BENCH_REMOTE_MB (default 1024) MiB file through RemoteStore.upload ≥ 0.8 × the
 *   throughput of a bare @aws-sdk/lib-storage Upload of the same file (which goes first alternates),
 *   and its peak RSS ≤ 200 MB (GNU time, whole process);
 * - p50 latency of a small conditional PUT (put-if-absent of a log-entry-sized body), created and
 *   refused: the unit the replica's promote target is counted in.
 * The server: MLREG_BENCH_S3_ENDPOINT (+ MLREG_BENCH_S3_BUCKET, credentials from the environment) if set,
 * else one started here with test/s3/start-s3.sh and stopped at the end. Its OSD keeps objects in memory
 * (memstore; bluestore on a file fails with EPERM in the sandbox measured here), so after each upload
 * radosgw's garbage collection is run at once instead of after its 2-minute delay: memory stays at ~1 GiB.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUNS = Number(process.env.MLREG_BENCH_RUNS ?? 3);
const PUTS = 300;

interface Server {
  endpoint: string;
  bucket: string;
  /** Free the space of deleted objects now (our own server only). */
  collect: () => void;
  stop: () => void;
}

function server(): Server {
  if (process.env.MLREG_BENCH_S3_ENDPOINT)
    return {
      endpoint: process.env.MLREG_BENCH_S3_ENDPOINT,
      bucket: process.env.MLREG_BENCH_S3_BUCKET ?? 'mlreg-test',
      collect: () => undefined,
      stop: () => undefined,
    };
  const env = {
    ...process.env,
    S3_DIR: process.env.MLREG_BENCH_S3_DIR ?? join(tmpdir(), 'mlreg-bench-s3'),
    S3_PORT: process.env.MLREG_BENCH_S3_PORT ?? '7488',
    S3_MON_PORT: process.env.MLREG_BENCH_S3_MON_PORT ?? '3308',
    S3_OBJECTSTORE: 'memstore',
    S3_STORE_BYTES: String(6 * 2 ** 30),
  };
  const r = spawnSync('bash', [join(ROOT, 'test/s3/start-s3.sh'), '--env'], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`could not start the S3 server for the benchmark:\n${r.stderr}`);
  const vars = Object.fromEntries([...r.stdout.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  process.env.AWS_ACCESS_KEY_ID = vars.AWS_ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = vars.AWS_SECRET_ACCESS_KEY;
  return {
    endpoint: vars.MLREG_TEST_S3_ENDPOINT!,
    bucket: vars.MLREG_TEST_S3_BUCKET!,
    collect: () =>
      void spawnSync('radosgw-admin', ['-c', join(env.S3_DIR, 'ceph.conf'), 'gc', 'process', '--include-all'], {
        stdio: 'ignore',
        timeout: 120_000,
      }),
    stop: () => void spawnSync('bash', [join(ROOT, 'test/s3/stop-s3.sh')], { env, stdio: 'ignore' }),
  };
}

export async function run(): Promise<BenchRow[]> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const mib = Number(process.env.MLREG_BENCH_REMOTE_MB ?? 1024);
  const srv = server();
  const work = mkdtempSync(join(process.env.MLREG_BENCH_DIR ?? tmpdir(), 'mlreg-bench-remote-'));
  const rows: BenchRow[] = [];
  try {
    const file = join(work, 'model.bin');
    makeFile(file, mib);
    const script = join(ROOT, 'dist/bench/remote-upload.js');
    const ours: number[] = [];
    const plain: number[] = [];
    let rss = 0;
    let plainRss = 0;
    for (let i = 0; i < RUNS; i++) {
      const one = (mode: 'ours' | 'plain') => {
        const url = `s3://${srv.bucket}/bench-${process.pid}/${mode}-${i}`;
        const r = timeCommand(`node ${script} ${mode} ${file} ${url} ${srv.endpoint}`);
        srv.collect();
        return { ms: Number(r.stdout.trim().split('\n').at(-1)), rssMb: r.rssMb };
      };
      const floor = () => {
        const r = one('plain');
        plain.push(r.ms);
        plainRss = Math.max(plainRss, r.rssMb);
      };
      if (i % 2) floor();
      const r = one('ours');
      ours.push(r.ms);
      rss = Math.max(rss, r.rssMb);
      if (i % 2 === 0) floor();
    }
    const o = median(ours);
    const p = median(plain);
    const mibs = (ms: number) => `${((mib * 1000) / ms).toFixed(0)} MiB/s`;
    rows.push({
      name: `S3 upload ${mib} MiB (throughput)`,
      measured: `${fmtMs(o)} (${mibs(o)})`,
      floor: `lib-storage Upload ${fmtMs(p)} (${mibs(p)})`,
      ratio: p / o,
      target: '≥ 0.8×',
      pass: p / o >= 0.8,
    });
    rows.push({
      name: `S3 upload ${mib} MiB peak RSS`,
      measured: `${rss.toFixed(0)} MB`,
      floor: `lib-storage Upload ${plainRss.toFixed(0)} MB`,
      ratio: rss,
      target: '≤ 200 MB',
      pass: rss <= 200,
    });

    const store = await openRemote(`s3://${srv.bucket}/bench-${process.pid}-puts`, { endpoint: srv.endpoint });
    try {
      const body = new TextEncoder().encode(JSON.stringify({ writer: 'x'.repeat(32), ops: [{ op: 'promote' }] }));
      await store.putIfAbsent('warm-up', body);
      const created: number[] = [];
      const refused: number[] = [];
      for (let i = 0; i < PUTS; i++) {
        const key = `log/${String(i).padStart(8, '0')}.json`;
        let t0 = performance.now();
        if ((await store.putIfAbsent(key, body)) !== 'created') throw new Error(`${key} was not created`);
        created.push(performance.now() - t0);
        t0 = performance.now();
        if ((await store.putIfAbsent(key, body)) !== 'exists') throw new Error(`${key} was not refused`);
        refused.push(performance.now() - t0);
      }
      rows.push({
        name: 'S3 conditional PUT p50 (created)',
        measured: fmtMs(median(created)),
        floor: '-',
        ratio: median(created),
        target: 'figure (ms)',
        pass: true,
      });
      rows.push({
        name: 'S3 conditional PUT p50 (412, exists)',
        measured: fmtMs(median(refused)),
        floor: '-',
        ratio: median(refused),
        target: 'figure (ms)',
        pass: true,
      });
    } finally {
      store.close();
    }
    return rows;
  } finally {
    rmSync(work, { recursive: true, force: true });
    srv.stop();
  }
}
