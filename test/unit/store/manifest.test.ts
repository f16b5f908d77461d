import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import {
  comparePaths,
  isSafeRelativePath,
  parseManifest,
  serialiseManifest,
  walkSource,
} from '../../../src/core/store/manifest.js';
import { InvalidInputError, NotFoundError } from '../../../src/core/errors.js';
import { asPrinted, FIXTURES, tempDir } from '../../helpers.js';

test('a model folder lists every file, sorted, with relative paths', async () => {
  const { type, files } = await walkSource(join(FIXTURES, 'models', 'cancer-folder'));
  assert.equal(type, 'dir');
  assert.deepEqual(
    files.map((f) => f.path),
    ['config.json', 'model.joblib', 'preprocessing/scaler.joblib'],
  );
});

test('the same tree gives the same manifest bytes wherever it lives and whatever the umask', async () => {
  const t = tempDir();
  try {
    const a = join(t.path, 'a');
    const b = join(t.path, 'b');
    cpSync(join(FIXTURES, 'models', 'cancer-folder'), a, { recursive: true });
    cpSync(join(FIXTURES, 'models', 'cancer-folder'), b, { recursive: true });
    chmodSync(join(b, 'config.json'), 0o600); // only the executable bit counts
    const fake = (files: { path: string; size: number; mode: number }[]) =>
      files.map((f) => ({ ...f, sha256: '0'.repeat(64) }));
    const ma = await walkSource(a);
    const mb = await walkSource(b);
    const bytesA = serialiseManifest({ format: 1, type: 'dir', files: fake(ma.files) });
    const bytesB = serialiseManifest({ format: 1, type: 'dir', files: fake([...mb.files].reverse()) });
    assert.deepEqual(bytesA, bytesB);
    chmodSync(join(b, 'config.json'), 0o755);
    const mc = await walkSource(b);
    assert.equal(mc.files.find((f) => f.path === 'config.json')?.mode, 0o755);
  } finally {
    t.cleanup();
  }
});

test('symlinks are refused unless followed', async () => {
  const t = tempDir();
  try {
    const dir = join(t.path, 'm');
    mkdirSync(dir);
    writeFileSync(join(t.path, 'outside.bin'), 'x');
    symlinkSync(join(t.path, 'outside.bin'), join(dir, 'weights.bin'));
    await assert.rejects(
      walkSource(dir),
      (e: unknown) =>
        e instanceof InvalidInputError && e.code === 'E_SYMLINK' && /--follow-symlinks/.test(asPrinted(e.hint)),
    );
    const followed = await walkSource(dir, { followSymlinks: true });
    assert.deepEqual(
      followed.files.map((f) => [f.path, f.size]),
      [['weights.bin', 1]],
    );
  } finally {
    t.cleanup();
  }
});

test('a symlink loop is refused when following links', async () => {
  const t = tempDir();
  try {
    const dir = join(t.path, 'm');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'a.bin'), 'x');
    symlinkSync(dir, join(dir, 'sub', 'back'));
    await assert.rejects(
      walkSource(dir, { followSymlinks: true }),
      (e: unknown) => e instanceof InvalidInputError && e.code === 'E_SYMLINK_LOOP',
    );
  } finally {
    t.cleanup();
  }
});

test('empty folders, nested empty folders, sockets and missing paths are refused', async () => {
  const t = tempDir();
  try {
    const empty = join(t.path, 'empty');
    mkdirSync(empty);
    await assert.rejects(
      walkSource(empty),
      (e: unknown) => e instanceof InvalidInputError && e.code === 'E_EMPTY_FOLDER',
    );
    const nested = join(t.path, 'nested');
    mkdirSync(join(nested, 'void'), { recursive: true });
    writeFileSync(join(nested, 'a.bin'), 'x');
    await assert.rejects(
      walkSource(nested),
      (e: unknown) => e instanceof InvalidInputError && e.code === 'E_EMPTY_FOLDER' && e.message.includes('void'),
    );
    await assert.rejects(
      walkSource('/dev/null'),
      (e: unknown) => e instanceof InvalidInputError && e.code === 'E_SPECIAL_FILE' && /device/.test(e.message),
    );
    const sock = join(t.path, 's.sock');
    const server = createServer().listen(sock);
    await new Promise((r) => server.once('listening', r));
    try {
      await assert.rejects(
        walkSource(sock),
        (e: unknown) => e instanceof InvalidInputError && /socket/.test(e.message),
      );
    } finally {
      server.close();
    }
    await assert.rejects(
      walkSource(join(t.path, 'nope')),
      (e: unknown) => e instanceof NotFoundError && e.code === 'E_PATH_NOT_FOUND',
    );
  } finally {
    t.cleanup();
  }
});

test('paths sort by UTF-8 bytes and unsafe manifest paths are rejected', () => {
  assert.ok(comparePaths('B', 'a') < 0);
  assert.ok(comparePaths('\uffff', '\u{1F600}') < 0, 'BMP char sorts before astral char in UTF-8 byte order');
  for (const bad of ['../x', '/etc/passwd', 'a/../../b', 'a//b', '.', 'a\\b', ''])
    assert.equal(isSafeRelativePath(bad), false, bad);
  assert.equal(isSafeRelativePath('a/b.c'), true);
  const bytes = Buffer.from(
    JSON.stringify({
      format: 1,
      type: 'dir',
      files: [{ path: '../evil', size: 1, mode: 420, sha256: 'a'.repeat(64) }],
    }),
  );
  assert.throws(() => parseManifest(bytes, 'x'), /invalid entry/);
});
