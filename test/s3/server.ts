import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

/**
 * The real S3 server the tests use: Ceph radosgw started by test/s3/start-s3.sh (`npm run test:s3`, or
 * .ci/run), which exports MLREG_TEST_S3_ENDPOINT, MLREG_TEST_S3_BUCKET, MLREG_TEST_S3_DIR and the test
 * keys as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Without MLREG_TEST_S3_ENDPOINT, S3 tests skip with
 * `S3_SKIP` as the reason.
 *
 * Fault tests must not stop the gateway every other test file is using (files run in parallel), so
 * `faultGateway()` starts one more radosgw on the same cluster and data, on a port of its own, that the
 * test stops, pauses and restarts at will.
 */

export interface S3TestServer {
  endpoint: string;
  bucket: string;
  /** The server's state folder (S3_DIR of the scripts). */
  dir: string;
}

export const S3_SKIP =
  'MLREG_TEST_S3_ENDPOINT is unset: S3 tests skipped (`npm run test:s3` starts a real radosgw and runs them)';

// The SDK pinned for Node 20 warns once per process that later releases need Node 22: noise in tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export function s3TestServer(): S3TestServer | undefined {
  const endpoint = process.env.MLREG_TEST_S3_ENDPOINT;
  if (!endpoint) return undefined;
  return {
    endpoint,
    bucket: process.env.MLREG_TEST_S3_BUCKET ?? 'mlreg-test',
    dir: process.env.MLREG_TEST_S3_DIR ?? '/tmp/mlreg-test-s3',
  };
}

/**
 * Why fault tests cannot run, or false: they start extra gateways on the radosgw that start-s3.sh made,
 * so another server (MinIO, AWS: MLREG_TEST_S3_ENDPOINT set by hand) runs the contract suite only.
 */
export function faultSkip(): string | false {
  const server = s3TestServer();
  if (!server) return S3_SKIP;
  if (!process.env.MLREG_TEST_S3_DIR || !existsSync(join(server.dir, 'ceph.conf')))
    return 'S3 fault tests need the radosgw of test/s3/start-s3.sh (MLREG_TEST_S3_DIR): skipped for this server';
  return false;
}

/** A fresh prefix in the test bucket for one test: s3://BUCKET/t-<label>-<random>. */
export function s3TestUrl(server: S3TestServer, label: string): string {
  return `s3://${server.bucket}/t-${label}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

export interface FaultGateway {
  endpoint: string;
  /** SIGKILL the gateway, as a crash would: connections are refused until `start`. */
  stop(): void;
  /** (Re)start it on the same data; returns once it answers. */
  start(): void;
  /** SIGSTOP: connections are accepted but nothing answers (a hung server) until `resume`. */
  pause(): void;
  resume(): void;
}

const script = (name: string) => join(ROOT, 'test', 's3', name);

function run(name: string, args: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync('bash', [script(name), ...args], { env, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${name} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** One more radosgw named `name` on the test server's cluster, started before this returns. */
export async function faultGateway(server: S3TestServer, name = `fault${process.pid}`): Promise<FaultGateway> {
  const port = await freePort();
  const env = {
    ...process.env,
    S3_DIR: server.dir,
    S3_PORT: String(port),
    S3_GATEWAY: name,
    S3_BUCKET: server.bucket,
    ...(process.env.AWS_ACCESS_KEY_ID ? { S3_ACCESS_KEY: process.env.AWS_ACCESS_KEY_ID } : {}),
    ...(process.env.AWS_SECRET_ACCESS_KEY ? { S3_SECRET_KEY: process.env.AWS_SECRET_ACCESS_KEY } : {}),
  };
  const pidFile = join(server.dir, 'run', `client.rgw.${name}.pid`);
  const signal = (sig: NodeJS.Signals) => {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    // Only a process started with this server's conf: a pid file can outlive its process.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes(join(server.dir, 'ceph.conf'))) throw new Error(`pid ${pid} is not our gateway`);
    process.kill(pid, sig);
  };
  const gw: FaultGateway = {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => run('stop-s3.sh', ['--gateway', name], env),
    start: () => run('start-s3.sh', [], env),
    pause: () => signal('SIGSTOP'),
    resume: () => signal('SIGCONT'),
  };
  gw.start();
  return gw;
}
