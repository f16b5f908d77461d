import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import { runCli } from '../../src/cli/main.js';
import { BIN, cliInProcess, tempDir, type CliResult } from '../helpers.js';
import { S3_SKIP, s3TestServer, s3TestUrl } from '../s3/server.js';

/**
 * What an idle `mlreg follow` costs a replica of an S3 remote, counted on the wire: the follower's
 * replica talks to the real radosgw through a forwarding proxy that passes every request on unchanged
 * and logs it. Once the follower is idle, each round (rounds are told apart by the --interval sleep
 * between them: nothing is sent while it sleeps) must send exactly one request, the GET that lists the
 * log after the replica's position; and a promote made on another replica (straight to the server)
 * must still reach the serving folder.
 *
 * file:// is not counted here: the follow command opens its remote itself (no store can be handed in),
 * and its idle round is the same one `list` call of `pull` on the store interface.
 */

const server = s3TestServer();
const INTERVAL_MS = 200;
const IDLE_ROUNDS = 5;
/** Rounds skipped after the switch is seen: its report may still be on its way. */
const SETTLE_ROUNDS = 3;

interface Seen {
  method: string;
  /** Path and query, as sent. */
  url: string;
  at: number;
  /** When the answer was passed back in full (the next round's sleep starts after it). */
  doneAt: number | undefined;
}

/** An HTTP proxy on 127.0.0.1 that forwards every request to `target` unchanged and logs it. */
async function countingProxy(target: string): Promise<{ endpoint: string; seen: Seen[]; close: () => Promise<void> }> {
  const to = new URL(target);
  const agent = new Agent({ keepAlive: true });
  const seen: Seen[] = [];
  const proxy: Server = createServer((req, res) => {
    const entry: Seen = { method: req.method ?? '', url: req.url ?? '', at: Date.now(), doneAt: undefined };
    seen.push(entry);
    // The Host header is passed on as the client signed it (SigV4 signs it), so the server checks the
    // signature the client made.
    const up = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
        answer.pipe(res);
        answer.on('end', () => (entry.doneAt = Date.now()));
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        agent.destroy();
        proxy.closeAllConnections();
        proxy.close(() => resolve());
      }),
  };
}

/** Requests grouped into rounds: a gap of half an interval with nothing in flight starts a new one. */
function rounds(seen: readonly Seen[]): Seen[][] {
  const out: Seen[][] = [];
  let lastDone = -Infinity;
  for (const s of seen) {
    if (s.at - lastDone >= INTERVAL_MS / 2 || out.length === 0) out.push([]);
    out[out.length - 1]!.push(s);
    lastDone = Math.max(lastDone, s.doneAt ?? Number.POSITIVE_INFINITY);
  }
  return out;
}

/** A log listing: GET /BUCKET/?list-type=2&prefix=<prefix>/log/… (path-style ListObjectsV2). */
function isLogListing(s: Seen, bucket: string, prefix: string): boolean {
  if (s.method !== 'GET') return false;
  const u = new URL(s.url, 'http://x');
  return (
    (u.pathname === `/${bucket}` || u.pathname === `/${bucket}/`) &&
    u.searchParams.get('list-type') === '2' &&
    u.searchParams.get('prefix') === `${prefix}/log/` &&
    u.searchParams.has('start-after')
  );
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

test('an idle follow on an S3 replica sends one list request per interval, and still sees a promote', {
  skip: server ? false : S3_SKIP,
}, async () => {
  const s3 = server!;
  const t = tempDir('mlreg-follow-requests-');
  const proxy = await countingProxy(s3.endpoint);
  const stop = new AbortController();
  let following: Promise<number> | undefined;
  try {
    const url = s3TestUrl(s3, 'follow-requests');
    const prefix = url.slice(`s3://${s3.bucket}/`.length);
    const [a, b] = [join(t.path, 'a'), join(t.path, 'b')];
    const direct = { AWS_ENDPOINT_URL_S3: s3.endpoint };
    const onA = (args: string[]) => cliInProcess(['--registry', a, ...args], { cwd: t.path, env: direct });
    ok(await cliInProcess(['init', a, '--remote', url], { cwd: t.path, env: direct }), 'init --remote');
    for (const v of ['1.0.0', '1.1.0']) {
      const f = join(t.path, `m-${v}.bin`);
      writeFileSync(f, randomBytes(1024));
      ok(await onA(['add', 'model', 'fraud', f, '--as', 'model.bin', '--version', v]), `add ${v}`);
    }
    ok(await onA(['promote', 'fraud@1.0.0', '--to', 'production']), 'promote 1.0.0');
    // B reaches the remote only through the proxy: its endpoint is stored in the replica at clone.
    ok(await cliInProcess(['clone', url, b, '--endpoint', proxy.endpoint], { cwd: t.path }), 'clone through the proxy');

    // The follower runs in this process until the test aborts its stop signal.
    let stdout = '';
    let stderr = '';
    const sink = (add: (text: string) => void) =>
      new Writable({
        write(chunk, _enc, done) {
          add(String(chunk));
          done();
        },
      });
    const srv = join(t.path, 'srv');
    following = runCli(
      [
        process.execPath,
        BIN,
        '--registry',
        b,
        'follow',
        'fraud@production',
        srv,
        '--interval',
        `${INTERVAL_MS}ms`,
        '--json',
        '--id',
        'b-1',
      ],
      {
        stdout: sink((s) => (stdout += s)),
        stderr: sink((s) => (stderr += s)),
        stdin: Readable.from([]),
        env: { ...process.env, NO_COLOR: '1', MLREG_ACTOR: 'tester', AWS_ENDPOINT_URL_S3: proxy.endpoint },
        cwd: t.path,
        isTTY: { stdout: false, stderr: false },
        stopSignal: () => stop.signal,
      },
    );
    const events = () =>
      stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { event: string; version?: string });
    const switchedTo = (v: string) => () => events().some((e) => e.event === 'switch' && e.version === v);

    await until('the switch to 1.0.0', switchedTo('1.0.0'));
    // The round that switched goes on to send its report; a few rounds later the follower is idle.
    const from = proxy.seen.length;
    await until(
      `${SETTLE_ROUNDS + IDLE_ROUNDS} rounds after the switch`,
      () => rounds(proxy.seen.slice(from)).length > SETTLE_ROUNDS + IDLE_ROUNDS,
    );
    const idle = rounds(proxy.seen.slice(from)).slice(SETTLE_ROUNDS, SETTLE_ROUNDS + IDLE_ROUNDS);
    const described = idle.map((r) => r.map((s) => `${s.method} ${s.url}`));
    assert.deepEqual(
      idle.map((r) => r.length),
      Array(IDLE_ROUNDS).fill(1),
      `requests per idle round:\n${JSON.stringify(described, null, 1)}`,
    );
    for (const [s] of idle) assert.ok(isLogListing(s!, s3.bucket, prefix), `not a log listing: ${s!.method} ${s!.url}`);

    // A promote on A (straight to the server) reaches B's serving folder through those listings.
    ok(await onA(['promote', 'fraud@1.1.0', '--to', 'production']), 'promote 1.1.0 on A');
    await until('the switch to 1.1.0', switchedTo('1.1.0'));

    stop.abort();
    assert.equal(await following, 0, stderr);
    assert.deepEqual(
      events().map((e) => e.event),
      ['started', 'switch', 'switch', 'stopped'],
      stderr,
    );
  } finally {
    stop.abort();
    await following?.catch(() => undefined);
    await proxy.close();
    t.cleanup();
  }
});
