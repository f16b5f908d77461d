import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, cli, tempDir, type CliResult } from '../helpers.js';
import { faultGateway, S3_SKIP, s3TestServer, s3TestUrl, type FaultGateway } from '../s3/server.js';

/**
 * Server faults on the real S3 server (radosgw from test/s3/start-s3.sh): the remote unreachable
 * during an incident, and the gateway stopped in the middle of a promote and of an add. The faults hit
 * a gateway of this file's own (test/s3/server.ts), never the one other test files use.
 */

const server = s3TestServer();
// Set in before(): a gateway of this file's own on the test cluster, which it stops and restarts.
let gw: FaultGateway | undefined;
const env: Record<string, string | undefined> = {};

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Run a writer that pauses at a protocol step; stop the gateway while it waits there. */
function stopServerDuring(args: string[], step: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args, '--json'], {
      env: { ...process.env, ...env, NO_COLOR: '1', MLREG_ACTOR: 'tester', MLREG_TEST_PAUSE_AT: `${step}:4000` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let stopped = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!stopped && stderr.includes(`paused at ${step}`)) {
        stopped = true;
        gw!.stop();
      }
    });
    child.on('close', (code) => {
      let json: CliResult['json'];
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code: code ?? -1, stdout, stderr, json });
    });
  });
}

describe('a replica on S3 when the server fails', { skip: server ? false : S3_SKIP }, () => {
  let tmp: { path: string; cleanup: () => void };
  let a: string;
  let url: string;
  const run = (args: string[], extra: Record<string, string | undefined> = env) =>
    cli(['--registry', a, ...args], { env: extra });
  const model = (): string => {
    const p = join(tmp.path, `${randomBytes(4).toString('hex')}.bin`);
    writeFileSync(p, randomBytes(4096));
    return p;
  };
  const history = () => ok(run(['history', 'fraud', '--all', '--json']), 'history').json!.data;

  before(async () => {
    gw = await faultGateway(server!, `replica${process.pid}`);
    env.AWS_ENDPOINT_URL_S3 = gw.endpoint;
    tmp = tempDir('mlreg-s3-faults-');
    a = join(tmp.path, 'a');
    url = s3TestUrl(server!, 'replica-faults');
    ok(cli(['init', a, '--remote', url], { env }), 'init --remote');
    for (let i = 0; i < 2; i++) ok(run(['add', 'model', 'fraud', model()]), 'add');
    ok(run(['promote', 'fraud@1.0.0', '--to', 'production']), 'promote');
    ok(run(['promote', 'fraud@1.1.0', '--to', 'production']), 'promote');
  });
  after(() => {
    gw?.stop();
    tmp?.cleanup();
  });

  test('remote unreachable during an incident: rollback exits 6, nothing changed, the hint switches the folder offline', () => {
    const before = history();
    const down = { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9', MLREG_REMOTE_TIMEOUT: '2000' };
    const r = run(['rollback', 'fraud', '--json'], down);
    assert.equal(r.code, 6, r.stdout + r.stderr);
    assert.equal(r.json?.error?.code, 'E_REMOTE_UNAVAILABLE');
    assert.match(r.json!.error!.message, /nothing was changed/);
    assert.match(r.json!.error!.hint, /mlreg checkout NAME@VERSION DIR --offline/);
    // Reading still answers, from the replica, with a warning.
    const l = run(['list', 'fraud', '--json'], down);
    assert.equal(l.code, 0);
    assert.match(l.stderr, /warning: could not refresh/);
    // The host switches its own serving folder from its replica.
    const dir = join(tmp.path, 'serve');
    ok(run(['checkout', 'fraud@1.0.0', dir, '--offline'], down), 'checkout --offline');
    assert.equal(readlinkSync(join(dir, 'current')), 'versions/1.0.0');
    assert.deepEqual(history(), before);
  });

  test('the gateway stopped in the middle of a promote: exit 6, nothing lost; the retry after restart succeeds', async () => {
    const before = history();
    const r = await stopServerDuring(
      ['--registry', a, 'promote', 'fraud@1.0.0', '--to', 'staging'],
      'objects-uploaded',
    );
    assert.equal(r.code, 6, r.stdout + r.stderr);
    assert.match(r.json!.error!.message, /nothing was changed/);
    gw!.start();
    assert.deepEqual(history(), before);
    ok(run(['promote', 'fraud@1.0.0', '--to', 'staging']), 'promote after the restart');
    assert.equal(history().events.filter((e: { stage: string | null }) => e.stage === 'staging').length, 1);
  });

  test('the gateway stopped in the middle of an add: exit 6, no version; the retry after restart succeeds', async () => {
    const file = model();
    const r = await stopServerDuring(['--registry', a, 'add', 'model', 'fraud', file], 'planned');
    assert.equal(r.code, 6, r.stdout + r.stderr);
    gw!.start();
    const list = () => ok(run(['list', 'fraud', '--json']), 'list').json!.data.versions.map((v: any) => v.version);
    assert.deepEqual(list().sort(), ['1.0.0', '1.1.0']);
    ok(run(['add', 'model', 'fraud', file]), 'add after the restart');
    assert.deepEqual(list().sort(), ['1.0.0', '1.1.0', '1.2.0']);
    assert.ok(existsSync(a));
  });
});
