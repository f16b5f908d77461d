import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { IntegrityError, InvalidInputError, NotFoundError } from '../../../src/core/errors.js';
import type { RemoteStore } from '../../../src/core/remote/transport.js';
import { writeBigFile } from '../../helpers.js';
import { Racers } from './race.js';
import { collect, dec, enc, pool, STORE_KINDS } from './stores.js';

/** The RemoteStore contract, run against every kind of remote (file:// and the real radosgw). */

const HOSTILE_KEYS = [
  '',
  '/etc/passwd',
  '../x',
  'log/../../x',
  'a/./b',
  'a//b',
  'log/',
  '.hidden',
  'log/.x',
  'a\\b',
  'a b',
  'a\0b',
  'é',
  'x'.repeat(1025),
];

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Peak RSS growth (MiB) while `fn` runs, sampled every 10 ms. */
async function peakGrowth(fn: () => Promise<void>): Promise<number> {
  globalThis.gc?.();
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  peak = Math.max(peak, process.memoryUsage.rss());
  return (peak - base) / (1 << 20);
}

/**
 * One round of a race: at most one racer was told 'created' and the key holds that racer's body. A
 * loser may be told 'unknown' (radosgw can answer 500 on a lost race): allowed, since the contract makes
 * the caller read back. Should the winner itself get 'unknown', the key holds one of the unknowns' bodies.
 */
async function judgeRound(store: RemoteStore, key: string, outcomes: string[]): Promise<number> {
  const body = dec(await store.get(key, 1024));
  const winners = outcomes.flatMap((o, i) => (o === 'created' ? [i] : []));
  const unknown = outcomes.flatMap((o, i) => (o === 'unknown' ? [i] : []));
  const others = outcomes.filter((o) => !['created', 'exists', 'unknown'].includes(o));
  assert.deepEqual(others, [], `${key}: only created/exists/unknown expected, got ${outcomes.join(',')}`);
  assert.ok(winners.length <= 1, `${key}: more than one winner: ${outcomes.join(',')}`);
  if (winners.length === 1) assert.equal(body, `p${winners[0]}`, `${key} holds the winner's body`);
  else
    assert.ok(
      unknown.some((i) => body === `p${i}`),
      `${key}: no winner and the body is nobody's unknown`,
    );
  return unknown.length;
}

for (const kind of STORE_KINDS) {
  describe(`RemoteStore contract: ${kind.name}`, { skip: kind.skip }, () => {
    test('putIfAbsent creates once, then reports exists and leaves the content unchanged', async () => {
      const r = await kind.make('pia');
      try {
        assert.equal(await r.store.putIfAbsent('log/00000001.json', enc('{"w":"a"}')), 'created');
        assert.equal(await r.store.putIfAbsent('log/00000001.json', enc('{"w":"b"}')), 'exists');
        assert.equal(dec(await r.store.get('log/00000001.json', 100)), '{"w":"a"}');
        assert.equal(await r.store.putIfAbsent('log/00000002.json', enc('')), 'created');
        assert.equal(dec(await r.store.get('log/00000002.json', 100)), '');
        const h = await r.store.head('log/00000001.json');
        assert.equal(h?.key, 'log/00000001.json');
        assert.equal(h?.size, 9);
        assert.ok(h && Math.abs(h.modified.getTime() - Date.now()) < 120_000, 'modified is about now');
        await assert.rejects(r.store.putIfAbsent('big', new Uint8Array((5 << 20) + 1)), InvalidInputError);
      } finally {
        r.cleanup();
      }
    });

    test('absent keys: get and head give undefined, download is NotFound, delete is fine', async () => {
      const r = await kind.make('absent');
      try {
        assert.equal(await r.store.get('nope/x', 10), undefined);
        assert.equal(await r.store.head('nope/x'), undefined);
        await assert.rejects(r.store.download('nope/x', join(r.scratch, 'd'), 10), (e: unknown) => {
          assert.ok(e instanceof NotFoundError);
          assert.equal(e.code, 'E_REMOTE_OBJECT_NOT_FOUND');
          return true;
        });
        assert.equal(existsSync(join(r.scratch, 'd')), false);
        await r.store.delete('nope/x');
        assert.deepEqual(await collect(r.store.list('')), []);
      } finally {
        r.cleanup();
      }
    });

    test('get and download refuse an object larger than maxBytes and leave no file behind', async () => {
      const r = await kind.make('max');
      try {
        await r.store.putIfAbsent('log/1.json', enc('x'.repeat(100)));
        assert.equal((await r.store.get('log/1.json', 100))?.byteLength, 100);
        await assert.rejects(r.store.get('log/1.json', 99), (e: unknown) => {
          assert.ok(e instanceof IntegrityError);
          assert.equal(e.code, 'E_REMOTE_TOO_LARGE');
          assert.equal(e.exitCode, 5);
          return true;
        });
        const dest = join(r.scratch, 'dl');
        await assert.rejects(r.store.download('log/1.json', dest, 99), IntegrityError);
        assert.equal(existsSync(dest), false, 'the partial download is removed');
        await r.store.download('log/1.json', dest, 100);
        assert.equal(readFileSync(dest, 'utf8'), 'x'.repeat(100));
      } finally {
        r.cleanup();
      }
    });

    test('hostile keys are refused by every operation before anything is sent', async () => {
      const r = await kind.make('hostile');
      try {
        const src = join(r.scratch, 'src');
        writeFileSync(src, 'x');
        for (const key of HOSTILE_KEYS) {
          const refused = (e: unknown) => {
            assert.ok(e instanceof InvalidInputError, `${JSON.stringify(key)}: ${e}`);
            assert.equal(e.code, 'E_REMOTE_KEY');
            return true;
          };
          await assert.rejects(r.store.putIfAbsent(key, enc('x')), refused);
          await assert.rejects(r.store.get(key, 10), refused);
          await assert.rejects(r.store.head(key), refused);
          await assert.rejects(r.store.upload(key, src, 1), refused);
          await assert.rejects(r.store.download(key, join(r.scratch, 'd'), 10), refused);
          await assert.rejects(r.store.delete(key), refused);
        }
        for (const prefix of ['../', '/', '..', 'a//', '.x']) await assert.rejects(collect(r.store.list(prefix)));
        assert.deepEqual(await collect(r.store.list('')), [], 'nothing was written');
      } finally {
        r.cleanup();
      }
    });

    test('list: byte order across folders, string prefixes, startAfter', async () => {
      const r = await kind.make('list');
      try {
        // "a-c" < "a.b" < "a/x" < "a0" in byte order, whatever a folder walk would suggest.
        const keys = ['a/x', 'a0', 'a-c', 'a.b', 'a/y/z', 'b', 'log/00000010.json', 'log/00000009.json'];
        for (const k of keys) assert.equal(await r.store.putIfAbsent(k, enc(k)), 'created');
        const all = (await collect(r.store.list(''))).map((e) => e.key);
        assert.deepEqual(all, [...keys].sort());
        assert.deepEqual(
          (await collect(r.store.list('a'))).map((e) => e.key),
          ['a-c', 'a.b', 'a/x', 'a/y/z', 'a0'],
        );
        assert.deepEqual(
          (await collect(r.store.list('a/'))).map((e) => e.key),
          ['a/x', 'a/y/z'],
        );
        assert.deepEqual(
          (await collect(r.store.list('log/0000000'))).map((e) => e.key),
          ['log/00000009.json'],
        );
        assert.deepEqual(
          (await collect(r.store.list('', 'a/x'))).map((e) => e.key),
          ['a/y/z', 'a0', 'b', 'log/00000009.json', 'log/00000010.json'],
        );
        assert.deepEqual(
          (await collect(r.store.list('log/', 'log/00000009.json'))).map((e) => e.key),
          ['log/00000010.json'],
        );
        const entry = (await collect(r.store.list('b')))[0];
        assert.equal(entry?.size, 1);
        assert.ok(entry?.modified instanceof Date);
      } finally {
        r.cleanup();
      }
    });

    test('list pages through more than 1,000 keys in order (S3 answers 1,000 per page)', async () => {
      const r = await kind.make('pages');
      try {
        const keys = Array.from({ length: 1050 }, (_, i) => `log/${String(i).padStart(8, '0')}.json`);
        await pool(keys, 32, (k) => r.store.putIfAbsent(k, enc('{}')));
        await r.store.putIfAbsent('objects/zz', enc('not a log entry'));
        const listed = (await collect(r.store.list('log/'))).map((e) => e.key);
        assert.deepEqual(listed, keys);
        const tail = (await collect(r.store.list('log/', keys[1010]))).map((e) => e.key);
        assert.deepEqual(tail, keys.slice(1011));
      } finally {
        r.cleanup();
      }
    });

    test('upload and download stream a 64 MiB file: identical bytes, replacing allowed', async () => {
      const r = await kind.make('stream');
      try {
        const src = join(r.scratch, 'src.bin');
        writeBigFile(src, 64);
        const size = 64 << 20;
        const key = 'objects/sha256/ab/' + 'c'.repeat(62);
        await r.store.upload(key, src, size);
        assert.equal((await r.store.head(key))?.size, size);
        const dest = join(r.scratch, 'dest.bin');
        await r.store.download(key, dest, size);
        assert.equal(sha256File(dest), sha256File(src));
        // Replacing an object (same content, as content addressing implies) is allowed.
        await r.store.upload(key, src, size);
        await r.store.delete(key);
        assert.equal(await r.store.head(key), undefined);
      } finally {
        r.cleanup();
      }
    });

    test('upload and download keep memory flat: a 160 MiB file grows RSS far less than its size', async () => {
      const r = await kind.make('memory');
      try {
        const src = join(r.scratch, 'src.bin');
        writeBigFile(src, 160);
        const size = 160 << 20;
        const up = await peakGrowth(() => r.store.upload('objects/big', src, size));
        const down = await peakGrowth(() => r.store.download('objects/big', join(r.scratch, 'dest.bin'), size));
        // Holding the file would take ≥ 160 MiB. S3 keeps 4 parts of 5 MiB in flight, plus the garbage of
        // assembling them (measured: ~65 MiB of growth for 64 MiB and 256 MiB files alike).
        assert.ok(up < 110, `upload grew RSS by ${up.toFixed(1)} MiB`);
        assert.ok(down < 64, `download grew RSS by ${down.toFixed(1)} MiB`);
        await r.store.delete('objects/big');
      } finally {
        r.cleanup();
      }
    });

    test('upload refuses a file whose size is not the size given and leaves nothing at the key', async () => {
      const r = await kind.make('changed');
      try {
        const src = join(r.scratch, 'src');
        writeFileSync(src, 'x'.repeat(1000));
        for (const size of [999, 1001]) {
          await assert.rejects(r.store.upload('objects/k', src, size), (e: unknown) => {
            assert.ok(e instanceof IntegrityError);
            assert.equal(e.code, 'E_SOURCE_CHANGED');
            return true;
          });
          assert.equal(await r.store.head('objects/k'), undefined);
        }
        await assert.rejects(r.store.upload('objects/k', join(r.scratch, 'missing'), 1), NotFoundError);
        writeFileSync(join(r.scratch, 'empty'), '');
        await r.store.upload('objects/empty', join(r.scratch, 'empty'), 0);
        assert.equal((await r.store.head('objects/empty'))?.size, 0);
      } finally {
        r.cleanup();
      }
    });

    test('8 concurrent promises racing on one key: exactly one winner every round', async (t) => {
      const r = await kind.make('race-promises');
      let unknown = 0;
      try {
        for (let round = 0; round < 60; round++) {
          const key = `log/${String(round).padStart(8, '0')}.json`;
          const outcomes = await Promise.all(
            Array.from({ length: 8 }, (_, i) => r.store.putIfAbsent(key, enc(`p${i}`))),
          );
          unknown += await judgeRound(r.store, key, outcomes);
        }
        t.diagnostic(`60 rounds, ${unknown} 'unknown' answers`);
      } finally {
        r.cleanup();
      }
    });

    test('8 processes racing on one key: exactly one winner every round', async (t) => {
      const r = await kind.make('race-procs');
      let unknown = 0;
      const racers = await Racers.start(8, r.url, r.endpoint);
      try {
        for (let round = 0; round < 60; round++) {
          const key = `log/${String(round).padStart(8, '0')}.json`;
          unknown += await judgeRound(r.store, key, await racers.round(key));
        }
        t.diagnostic(`60 rounds, ${unknown} 'unknown' answers`);
      } finally {
        await racers.stop();
        r.cleanup();
      }
    });
  });
}
