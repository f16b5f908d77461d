import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { IntegrityError } from '../../../src/core/errors.js';
import { openRemote, type RemoteStore } from '../../../src/core/remote/transport.js';
import { tempDir } from '../../helpers.js';
import { collect, enc } from './stores.js';

/** What only a folder remote has: links planted by whoever else can write to the share. */

async function withRemote(fn: (s: RemoteStore, remote: string, outside: string, dir: string) => Promise<void>) {
  const t = tempDir();
  const remote = join(t.path, 'remote');
  const outside = join(t.path, 'outside');
  mkdirSync(remote);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret'), 'do not read');
  const s = await openRemote(pathToFileURL(remote).href);
  try {
    await fn(s, remote, outside, t.path);
  } finally {
    s.close();
    t.cleanup();
  }
}

const hostile = (e: unknown) => {
  assert.ok(e instanceof IntegrityError, String(e));
  assert.equal(e.code, 'E_REMOTE_HOSTILE');
  return true;
};

test('a symlinked folder in the remote never makes mlreg write or read outside it', async () => {
  await withRemote(async (s, remote, outside, dir) => {
    symlinkSync(outside, join(remote, 'log'));
    const src = join(dir, 'src');
    writeFileSync(src, 'abc');
    await assert.rejects(s.putIfAbsent('log/00000001.json', enc('{}')), hostile);
    await assert.rejects(s.upload('log/x', src, 3), hostile);
    await assert.rejects(s.get('log/secret', 100), hostile);
    await assert.rejects(s.head('log/secret'), hostile);
    await assert.rejects(s.download('log/secret', join(dir, 'dl'), 100), hostile);
    await assert.rejects(s.delete('log/secret'), hostile);
    assert.deepEqual(readdirSync(outside), ['secret'], 'nothing written outside');
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'do not read');
    assert.deepEqual(await collect(s.list('')), [], 'a symlink is not listed');
  });
});

test('a symlinked object is refused, never followed; delete removes the link only', async () => {
  await withRemote(async (s, remote, outside, dir) => {
    mkdirSync(join(remote, 'objects'));
    symlinkSync(join(outside, 'secret'), join(remote, 'objects', 'k'));
    await assert.rejects(s.get('objects/k', 100), hostile);
    await assert.rejects(s.download('objects/k', join(dir, 'dl'), 100), hostile);
    assert.equal(existsSync(join(dir, 'dl')), false);
    await assert.rejects(s.head('objects/k'), hostile);
    // A conditional create over a link does not write through it.
    assert.equal(await s.putIfAbsent('objects/k', enc('x')), 'exists');
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'do not read');
    // upload replaces the link itself (rename), never its target.
    writeFileSync(join(dir, 'src'), 'new');
    await s.upload('objects/k', join(dir, 'src'), 3);
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'do not read');
    assert.equal(readFileSync(join(remote, 'objects', 'k'), 'utf8'), 'new');
    await s.delete('objects/k');
    assert.equal(existsSync(join(outside, 'secret')), true);
  });
});

test('a symlinked temp folder is refused; temp files never show in listings or stay behind', async () => {
  await withRemote(async (s, remote, outside) => {
    assert.equal(await s.putIfAbsent('log/1', enc('a')), 'created');
    assert.equal(await s.putIfAbsent('log/1', enc('b')), 'exists');
    assert.deepEqual(readdirSync(join(remote, '.mlreg-tmp')), [], 'temp files are removed');
    assert.deepEqual(
      (await collect(s.list(''))).map((e) => e.key),
      ['log/1'],
    );
    writeFileSync(join(remote, 'log', 'stray name'), 'not a key');
    writeFileSync(join(remote, 'log', '.dot'), 'not a key');
    assert.deepEqual(
      (await collect(s.list('log/'))).map((e) => e.key),
      ['log/1'],
    );
    const { rmSync } = await import('node:fs');
    rmSync(join(remote, '.mlreg-tmp'), { recursive: true });
    symlinkSync(outside, join(remote, '.mlreg-tmp'));
    await assert.rejects(s.putIfAbsent('log/2', enc('x')), hostile);
    assert.deepEqual(readdirSync(outside), ['secret']);
  });
});

test('a file where a folder should be is refused for writes and absent for reads', async () => {
  await withRemote(async (s, remote) => {
    writeFileSync(join(remote, 'log'), 'a file');
    await assert.rejects(s.putIfAbsent('log/1', enc('x')), hostile);
    assert.equal(await s.get('log/1', 10), undefined);
    assert.equal(await s.head('log/1'), undefined);
    assert.deepEqual(
      (await collect(s.list(''))).map((e) => e.key),
      ['log'],
    );
  });
});
