import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addVersion } from '../../../src/core/versions/add.js';
import { resolveRef, parseRef } from '../../../src/core/versions/refs.js';
import { InvalidInputError } from '../../../src/core/errors.js';
import { objectPath } from '../../../src/core/store/objects.js';
import { verifyRegistry } from '../../../src/core/store/verify.js';
import { asPrinted, tempRegistry } from '../../helpers.js';

/** A model folder as it comes out of a working tree: the model, and what a working tree carries along. */
function clutteredFolder(root: string): string {
  const dir = join(root, 'model-dir');
  mkdirSync(join(dir, '.git', 'objects'), { recursive: true });
  writeFileSync(join(dir, '.git', 'objects', 'ab'), 'history');
  mkdirSync(join(dir, '__pycache__'));
  writeFileSync(join(dir, '__pycache__', 'train.cpython-311.pyc'), 'bytecode');
  writeFileSync(join(dir, '.DS_Store'), 'finder');
  writeFileSync(join(dir, 'model.joblib'), 'weights');
  mkdirSync(join(dir, 'logs'));
  writeFileSync(join(dir, 'logs', 'train.log'), 'epoch 1');
  writeFileSync(join(dir, 'notes.tmp'), 'scratch');
  return dir;
}

test('a model folder is stored without VCS and OS clutter, and says what it left out', async () => {
  const t = tempRegistry();
  try {
    const dir = clutteredFolder(t.root);
    const r = await addVersion(t.reg, { kind: 'model', name: 'm', path: dir, actor: 'a' });
    assert.deepEqual(
      r.manifest.files.map((f) => f.path),
      ['logs/train.log', 'model.joblib', 'notes.tmp'],
    );
    assert.deepEqual(r.skipped, ['.DS_Store', '.git/', '__pycache__/']);
    const all = await addVersion(t.reg, { kind: 'model', name: 'm', path: dir, actor: 'a', includeHidden: true });
    assert.equal(all.manifest.files.length, 6);
    assert.deepEqual(all.skipped, []);
  } finally {
    t.cleanup();
  }
});

test('.mlregignore at the folder root leaves out what it names (gitignore rules) and is not stored', async () => {
  const t = tempRegistry();
  try {
    const dir = clutteredFolder(t.root);
    writeFileSync(join(dir, '.mlregignore'), '# scratch\n*.tmp\nlogs/\n');
    const r = await addVersion(t.reg, { kind: 'model', name: 'm', path: dir, actor: 'a' });
    assert.deepEqual(
      r.manifest.files.map((f) => f.path),
      ['model.joblib'],
    );
    assert.deepEqual(r.skipped, ['.DS_Store', '.git/', '__pycache__/', 'logs/', 'notes.tmp']);
  } finally {
    t.cleanup();
  }
});

test('a folder of nothing but clutter is refused, naming what was skipped', async () => {
  const t = tempRegistry();
  try {
    const dir = join(t.root, 'only-git');
    mkdirSync(join(dir, '.git'), { recursive: true });
    writeFileSync(join(dir, '.git', 'HEAD'), 'ref');
    await assert.rejects(addVersion(t.reg, { kind: 'model', name: 'm', path: dir, actor: 'a' }), (err: unknown) => {
      assert.ok(err instanceof InvalidInputError);
      assert.equal(err.code, 'E_EMPTY_FOLDER');
      assert.match(err.message, /\.git/);
      assert.match(asPrinted(err.hint), /--include-hidden/);
      return true;
    });
  } finally {
    t.cleanup();
  }
});

test('an empty file and content identical to an earlier version are reported, not refused', async () => {
  const t = tempRegistry();
  try {
    const empty = join(t.root, 'empty.joblib');
    writeFileSync(empty, '');
    const r = await addVersion(t.reg, { kind: 'model', name: 'm', path: empty, actor: 'a' });
    assert.deepEqual(r.emptyFiles, ['empty.joblib']);
    assert.deepEqual(r.sameContentAs, []);
    const again = await addVersion(t.reg, { kind: 'model', name: 'm', path: empty, actor: 'a' });
    assert.deepEqual(again.sameContentAs, ['1.0.0']);
  } finally {
    t.cleanup();
  }
});

test('a digest prefix naming versions of identical content says so instead of asking for more digits', async () => {
  const t = tempRegistry();
  try {
    const f = join(t.root, 'model.bin');
    writeFileSync(f, 'same bytes');
    let digest = '';
    for (let i = 0; i < 3; i++)
      digest = (await addVersion(t.reg, { kind: 'model', name: 'm', path: f, actor: 'a' })).version.digest;
    assert.throws(
      () => resolveRef(t.reg, parseRef(`m@sha256:${digest.slice(0, 4)}`)),
      (err: unknown) => {
        assert.ok(err instanceof InvalidInputError);
        assert.match(err.message, /identical content: 1\.0\.0, 1\.1\.0, 1\.2\.0/);
        assert.doesNotMatch(err.hint, /more digits/);
        assert.match(err.hint, /m@1\.2\.0/);
        return true;
      },
    );
  } finally {
    t.cleanup();
  }
});

test('adding a file whose stored copy was damaged replaces the copy with the good bytes', async () => {
  const t = tempRegistry();
  try {
    const f = join(t.root, 'model.bin');
    writeFileSync(f, 'the good model bytes');
    const first = await addVersion(t.reg, { kind: 'model', name: 'm', path: f, actor: 'a' });
    const sha = first.manifest.files[0]!.sha256;
    const stored = objectPath(t.reg, sha);
    // A flipped byte of the same size, written the way a stray process or a bad disk would.
    chmodSync(stored, 0o644);
    writeFileSync(stored, 'the g00d model bytes');
    chmodSync(stored, 0o444);
    const again = await addVersion(t.reg, { kind: 'model', name: 'm', path: f, actor: 'a' });
    assert.deepEqual(again.repaired, ['model.bin']);
    assert.equal(readFileSync(stored, 'utf8'), 'the good model bytes');
    const report = await verifyRegistry(t.reg, {});
    assert.equal(report.problems.length, 0);
    // Intact content is reused without being read again, and nothing is reported.
    const third = await addVersion(t.reg, { kind: 'model', name: 'm', path: f, actor: 'a' });
    assert.deepEqual(third.repaired, []);
    assert.equal(third.bytesWritten, 0);
  } finally {
    t.cleanup();
  }
});
