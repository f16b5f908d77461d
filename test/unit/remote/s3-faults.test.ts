import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { InvalidInputError, NotFoundError, UnavailableError } from '../../../src/core/errors.js';
import { openRemote, type RemoteStore } from '../../../src/core/remote/transport.js';
import { type FaultGateway, faultGateway, faultSkip, s3TestServer, s3TestUrl } from '../../s3/server.js';
import { tempDir } from '../../helpers.js';
import { collect, enc } from './stores.js';

/**
 * The S3 store when the server is gone, hung, or refuses us: a gateway of our own (on the test server's
 * data) is killed, paused and restarted; every failure is the documented error, quickly, never a hang.
 */

const server = s3TestServer();

const unavailable = (e: unknown) => {
  assert.ok(e instanceof UnavailableError, String(e));
  assert.equal(e.code, 'E_REMOTE_UNAVAILABLE');
  assert.equal(e.exitCode, 6);
  assert.match(e.message, /did not answer/);
  assert.ok(e.hint.length > 0);
  return true;
};

async function timed<T>(p: Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const t0 = Date.now();
  const [result] = await Promise.allSettled([p]);
  return { ms: Date.now() - t0, result: result! };
}

/** Run `fn` with some environment variables changed (the SDK reads credentials from there). */
async function withEnv(vars: Record<string, string | undefined>, fn: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  try {
    await fn();
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}

describe('S3 store faults', { skip: faultSkip() }, () => {
  let gw: FaultGateway;
  const scratch = tempDir('mlreg-s3-faults-');
  before(async () => {
    gw = await faultGateway(server!);
  });
  // Idempotent (a health check when it is up): a failed test never leaves the next one without a gateway.
  beforeEach(() => gw.start());
  after(() => {
    gw?.stop();
    scratch.cleanup();
  });

  test('gateway killed: every operation fails with UnavailableError within seconds; back after restart', async () => {
    const url = s3TestUrl(server!, 'down');
    const s = await openRemote(url, { endpoint: gw.endpoint, timeoutMs: 2000 });
    const src = join(scratch.path, 'small');
    writeFileSync(src, 'abc');
    try {
      assert.equal(await s.putIfAbsent('log/1', enc('a')), 'created');
      gw.stop();
      // The first request may go out on a pooled connection the dead server had accepted: the create may
      // have been sent, so 'unknown' is the honest answer to it (the caller reads back: unavailable too).
      const first = await timed(s.putIfAbsent('log/2', enc('b')));
      if (first.result.status === 'fulfilled') assert.equal(first.result.value, 'unknown');
      else assert.ok(unavailable(first.result.reason));
      assert.ok(first.ms < 5000, `putIfAbsent took ${first.ms} ms`);
      const ops: [string, () => Promise<unknown>][] = [
        ['putIfAbsent', () => s.putIfAbsent('log/2', enc('b'))],
        ['get', () => s.get('log/1', 10)],
        ['head', () => s.head('log/1')],
        ['list', () => collect(s.list('log/'))],
        ['upload', () => s.upload('objects/x', src, 3)],
        ['download', () => s.download('log/1', join(scratch.path, 'dl'), 10)],
        ['delete', () => s.delete('log/1')],
      ];
      for (const [name, op] of ops) {
        const { ms, result } = await timed(op());
        assert.equal(result.status, 'rejected', name);
        assert.ok(unavailable((result as PromiseRejectedResult).reason));
        assert.ok(ms < 5000, `${name} took ${ms} ms`);
      }
      gw.start();
      assert.equal(await s.putIfAbsent('log/2', enc('b')), 'created', 'the refused create was not made');
      assert.deepEqual(
        (await collect(s.list('log/'))).map((e) => e.key),
        ['log/1', 'log/2'],
      );
    } finally {
      s.close();
    }
  });

  test('gateway hung: requests time out (UnavailableError), a conditional create is "unknown"', async () => {
    const url = s3TestUrl(server!, 'hung');
    const s = await openRemote(url, { endpoint: gw.endpoint, timeoutMs: 1000 });
    try {
      assert.equal(await s.putIfAbsent('log/1', enc('a')), 'created');
      gw.pause();
      try {
        const get = await timed(s.get('log/1', 10));
        assert.equal(get.result.status, 'rejected');
        assert.ok(unavailable((get.result as PromiseRejectedResult).reason));
        assert.ok(get.ms < 8000, `get took ${get.ms} ms (3 attempts of 1 s)`);
        const put = await timed(s.putIfAbsent('log/2', enc('b')));
        assert.deepEqual(put.result, { status: 'fulfilled', value: 'unknown' });
        assert.ok(put.ms < 4000, `putIfAbsent took ${put.ms} ms (one attempt of 1 s)`);
      } finally {
        gw.resume();
      }
      // The ambiguous create is settled by reading back: here the server did take it once resumed, or not.
      const back = await s.get('log/2', 10);
      assert.ok(back === undefined || new TextDecoder().decode(back) === 'b');
    } finally {
      s.close();
    }
  });

  test('gateway killed during a 48 MiB upload: UnavailableError, and the retry after restart succeeds', async () => {
    const url = s3TestUrl(server!, 'midupload');
    const s = await openRemote(url, { endpoint: gw.endpoint, timeoutMs: 2000 });
    const src = join(scratch.path, 'big');
    writeFileSync(src, randomBytes(48 << 20));
    try {
      const up = s.upload('objects/big', src, 48 << 20);
      await new Promise((r) => setTimeout(r, 150));
      gw.stop();
      await assert.rejects(up, unavailable);
      gw.start();
      assert.equal(await s.head('objects/big'), undefined, 'nothing half-made is visible');
      await s.upload('objects/big', src, 48 << 20);
      assert.equal((await s.head('objects/big'))?.size, 48 << 20);
    } finally {
      s.close();
    }
  });

  test('refused credentials: a clear error naming credentials, the secret never printed', async () => {
    const url = s3TestUrl(server!, 'denied');
    await withEnv({ AWS_SECRET_ACCESS_KEY: 'wrong-s3cr3t-v4lue', AWS_PROFILE: undefined }, async () => {
      const s = await openRemote(url, { endpoint: server!.endpoint, timeoutMs: 5000 });
      try {
        for (const op of [() => collect(s.list('')), () => s.putIfAbsent('log/1', enc('x')), () => s.get('x', 1)])
          await assert.rejects(op(), (e: unknown) => {
            assert.ok(e instanceof InvalidInputError, String(e));
            assert.equal(e.code, 'E_REMOTE_ACCESS_DENIED');
            assert.match(e.message, /refused the credentials/);
            assert.match(e.hint, /AWS_ACCESS_KEY_ID/);
            assert.doesNotMatch(`${e.message} ${e.hint}`, /wrong-s3cr3t-v4lue/);
            return true;
          });
      } finally {
        s.close();
      }
    });
  });

  test('no credentials at all: a clear error saying where the SDK looks', async () => {
    const empty = tempDir('mlreg-s3-nocreds-');
    try {
      await withEnv(
        {
          AWS_ACCESS_KEY_ID: undefined,
          AWS_SECRET_ACCESS_KEY: undefined,
          AWS_SESSION_TOKEN: undefined,
          AWS_PROFILE: undefined,
          AWS_SHARED_CREDENTIALS_FILE: join(empty.path, 'credentials'),
          AWS_CONFIG_FILE: join(empty.path, 'config'),
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
          AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
          AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
        },
        async () => {
          const s = await openRemote(s3TestUrl(server!, 'nocreds'), { endpoint: server!.endpoint, timeoutMs: 5000 });
          try {
            await assert.rejects(collect(s.list('')), (e: unknown) => {
              assert.ok(e instanceof InvalidInputError, String(e));
              assert.equal(e.code, 'E_REMOTE_ACCESS_DENIED');
              assert.match(e.message, /no credentials/);
              return true;
            });
          } finally {
            s.close();
          }
        },
      );
    } finally {
      empty.cleanup();
    }
  });

  test('a bucket that does not exist is NotFound (E_REMOTE_NOT_FOUND)', async () => {
    const s: RemoteStore = await openRemote('s3://mlreg-no-such-bucket/x', { endpoint: server!.endpoint });
    try {
      for (const op of [() => collect(s.list('')), () => s.putIfAbsent('log/1', enc('x')), () => s.get('x', 1)])
        await assert.rejects(op(), (e: unknown) => {
          assert.ok(e instanceof NotFoundError, String(e));
          assert.equal(e.code, 'E_REMOTE_NOT_FOUND');
          assert.match(e.message, /mlreg-no-such-bucket/);
          return true;
        });
    } finally {
      s.close();
    }
  });
});
