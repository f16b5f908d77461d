import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  copyObjectVerified,
  hasObject,
  objectPath,
  putBytes,
  putFile,
  readObject,
} from '../../../src/core/store/objects.js';
import { IntegrityError } from '../../../src/core/errors.js';
import { FIXTURES, tempRegistry } from '../../helpers.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('putFile stores a real model under its sha256, read-only, and leaves no temp file', async () => {
  const t = tempRegistry();
  try {
    const src = join(FIXTURES, 'models', 'cancer-v2.joblib');
    const bytes = readFileSync(src);
    const stored = await putFile(t.reg, src);
    assert.equal(stored.digest, sha(bytes));
    assert.equal(stored.size, bytes.length);
    assert.equal(stored.written, true);
    const path = objectPath(t.reg, stored.digest);
    assert.ok(path.endsWith(join('sha256', stored.digest.slice(0, 2), stored.digest.slice(2))));
    assert.deepEqual(readFileSync(path), bytes);
    assert.equal(statSync(path).mode & 0o222, 0, 'objects are read-only');
    assert.deepEqual(readdirSync(t.reg.tmpDir), []);
  } finally {
    t.cleanup();
  }
});

test('identical content is stored once and an existing object is never overwritten', async () => {
  const t = tempRegistry();
  try {
    const a = join(t.dir, 'a.bin');
    writeFileSync(a, 'same bytes');
    const first = await putFile(t.reg, a);
    const second = await putFile(t.reg, a);
    assert.equal(second.digest, first.digest);
    assert.equal(second.written, false);
    const again = await putBytes(t.reg, Buffer.from('same bytes'));
    assert.equal(again.written, false);
    assert.deepEqual(readdirSync(t.reg.tmpDir), []);
  } finally {
    t.cleanup();
  }
});

test('copyObjectVerified refuses bytes that do not match their name and removes the partial copy', async () => {
  const t = tempRegistry();
  try {
    const obj = await putBytes(t.reg, Buffer.from('model weights v1'));
    const path = objectPath(t.reg, obj.digest);
    chmodSync(path, 0o644);
    writeFileSync(path, 'model weights v2'); // same length, flipped content
    const dest = join(t.dir, 'out.bin');
    await assert.rejects(
      copyObjectVerified(t.reg, obj.digest, dest, 0o644),
      (err: unknown) => err instanceof IntegrityError && err.exitCode === 5 && /corrupt/.test(err.message),
    );
    assert.equal(hasObject(t.reg, obj.digest), true);
    assert.throws(() => statSync(dest), /ENOENT/);
    await assert.rejects(readObject(t.reg, obj.digest), IntegrityError);
  } finally {
    t.cleanup();
  }
});

test('a missing object is an integrity error naming the digest', async () => {
  const t = tempRegistry();
  try {
    const digest = 'ab'.repeat(32);
    await assert.rejects(
      readObject(t.reg, digest),
      (err: unknown) =>
        err instanceof IntegrityError && err.code === 'E_OBJECT_MISSING' && err.message.includes(digest),
    );
  } finally {
    t.cleanup();
  }
});

test('putFile notices a file that changed size since it was listed', async () => {
  const t = tempRegistry();
  try {
    const a = join(t.dir, 'growing.bin');
    writeFileSync(a, 'abc');
    await assert.rejects(
      putFile(t.reg, a, { expectedSize: 2 }),
      (err: unknown) => err instanceof IntegrityError && err.code === 'E_SOURCE_CHANGED',
    );
    assert.deepEqual(readdirSync(t.reg.tmpDir), []);
  } finally {
    t.cleanup();
  }
});
