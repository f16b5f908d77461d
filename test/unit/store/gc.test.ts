import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { addVersion } from '../../../src/core/versions/add.js';
import { promote } from '../../../src/core/stages/promote.js';
import { deleteVersion } from '../../../src/core/versions/retire.js';
import { gc } from '../../../src/core/store/gc.js';
import { verifyRegistry } from '../../../src/core/store/verify.js';
import { objectPath, putFile } from '../../../src/core/store/objects.js';
import { listVersions } from '../../../src/core/versions/queries.js';
import { tempRegistry } from '../../helpers.js';
import type { Registry } from '../../../src/core/registry/registry.js';
import { registryState } from '../../registry-state.js';

async function add(
  reg: Registry,
  dir: string,
  name: string,
  content: string,
): Promise<{ version: string; digest: string }> {
  const f = join(dir, `${name}-${content}.bin`);
  writeFileSync(f, content.repeat(1000));
  const r = await addVersion(reg, { kind: 'model', name, path: f, actor: 'alice' });
  return { version: r.version.version, digest: r.manifest.files[0]!.sha256 };
}

/** Make every object look old, as if the grace period had passed. */
function age(reg: Registry): void {
  const old = new Date(Date.now() - 3_600_000);
  for (const d of readdirSync(join(reg.objectsDir, 'sha256')))
    for (const f of readdirSync(join(reg.objectsDir, 'sha256', d)))
      utimesSync(join(reg.objectsDir, 'sha256', d, f), old, old);
}

test('gc removes only what no version references; --dry-run lists it and changes nothing', async () => {
  const t = tempRegistry();
  try {
    const a = await add(t.reg, t.dir, 'fraud', 'a');
    const b = await add(t.reg, t.dir, 'fraud', 'b');
    deleteVersion(t.reg, `fraud@${a.version}`, { actor: 'bob' });
    age(t.reg);
    const before = registryState(t.root);
    const dry = gc(t.reg, { actor: 'bob', dryRun: true });
    assert.equal(dry.objectsRemoved, 2, 'the file blob and the manifest of the deleted version');
    assert.ok(dry.bytesFreed > 1000, 'the 1000-byte blob and its manifest');
    assert.deepEqual(registryState(t.root), before, 'a dry run changes nothing');
    const real = gc(t.reg, { actor: 'bob' });
    assert.deepEqual([real.objectsRemoved, real.bytesFreed], [dry.objectsRemoved, dry.bytesFreed]);
    assert.ok(!existsSync(objectPath(t.reg, a.digest)));
    assert.ok(existsSync(objectPath(t.reg, b.digest)));
    assert.equal((await verifyRegistry(t.reg)).ok, true);
    assert.equal(gc(t.reg, { actor: 'bob' }).objectsRemoved, 0, 'nothing left to collect');
  } finally {
    t.cleanup();
  }
});

test('gc leaves young unreferenced objects (grace period) and removes temp files of dead writers', async () => {
  const t = tempRegistry();
  try {
    const f = join(t.dir, 'pending.bin');
    writeFileSync(f, 'blob of an add that has not committed yet');
    const stored = await putFile(t.reg, f);
    const stale = join(t.reg.tmpDir, `${hostname().replace(/[^A-Za-z0-9.]/g, '_')}-999999-abc.obj`);
    writeFileSync(stale, 'left by a killed add');
    const r = gc(t.reg, { actor: 'bob' });
    assert.equal(r.objectsRemoved, 0);
    assert.equal(r.objectsInGrace, 1);
    assert.equal(r.bytesInGrace, stored.size);
    assert.equal(r.graceSeconds, 600);
    assert.ok(existsSync(objectPath(t.reg, stored.digest)));
    assert.equal(r.tempFilesRemoved, 1);
    assert.ok(!existsSync(stale));
    assert.equal(gc(t.reg, { actor: 'bob', graceMs: 0 }).objectsRemoved, 1);
  } finally {
    t.cleanup();
  }
});

test('add stores again an object a gc swept between storing it and indexing it', async () => {
  const t = tempRegistry();
  try {
    const dir = join(t.dir, 'model');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a-weights.bin'), 'first file, stored first');
    writeFileSync(join(dir, 'b-config.json'), 'x'.repeat(3 << 20)); // several progress calls
    let sweptWhileAdding = 0;
    const r = await addVersion(t.reg, {
      kind: 'model',
      name: 'fraud',
      path: dir,
      actor: 'alice',
      // While the second file is being stored, a gc (no grace) sweeps the first one's blob, which
      // no version references yet: exactly the race with a gc in another process.
      onProgress: (done) => {
        if (done > 1 << 20 && sweptWhileAdding === 0)
          sweptWhileAdding = gc(t.reg, { actor: 'gc', graceMs: -60_000 }).objectsRemoved;
      },
    });
    assert.equal(sweptWhileAdding, 1, 'the gc did take the first blob');
    for (const f of r.manifest.files)
      assert.ok(existsSync(objectPath(t.reg, f.sha256)), `${f.path} is back in the store`);
    assert.equal((await verifyRegistry(t.reg)).ok, true);
  } finally {
    t.cleanup();
  }
});

test('gc --keep-last N keeps the newest N, staged and recently staged versions', async () => {
  const t = tempRegistry();
  try {
    for (const c of ['a', 'b', 'c', 'd', 'e']) await add(t.reg, t.dir, 'fraud', c);
    promote(t.reg, { ref: 'fraud@1.0.0', stage: 'production', actor: 'alice' }); // staged now
    promote(t.reg, { ref: 'fraud@1.1.0', stage: 'canary', actor: 'alice' });
    promote(t.reg, { ref: 'fraud@1.4.0', stage: 'canary', actor: 'alice' }); // 1.1.0: recently staged
    const dry = gc(t.reg, { actor: 'bob', keepLast: 2, dryRun: true });
    assert.deepEqual(dry.versionsDeleted, [{ name: 'fraud', version: '1.2.0' }]);
    assert.deepEqual(
      dry.versionsKept.map((k) => [k.version, k.why]),
      [
        ['1.1.0', 'held a stage within 30 days'],
        ['1.0.0', 'holds a stage'],
      ],
    );
    assert.equal(listVersions(t.reg, 'fraud').versions.length, 5, 'the dry run deleted nothing');
    gc(t.reg, { actor: 'bob', keepLast: 2, graceMs: 0 });
    assert.deepEqual(
      listVersions(t.reg, 'fraud').versions.map((v) => v.version),
      ['1.4.0', '1.3.0', '1.1.0', '1.0.0'],
    );
    // With no protection window 1.1.0 is still kept: it is canary's only way back (delete's rule).
    const strict = gc(t.reg, { actor: 'bob', keepLast: 2, stagedWithinDays: 0, graceMs: 0 });
    assert.match(strict.versionsKept.find((k) => k.version === '1.1.0')!.why, /only way back/);
    promote(t.reg, { ref: 'fraud@1.3.0', stage: 'canary', actor: 'alice' }); // now 1.4.0 is a way back too
    gc(t.reg, { actor: 'bob', keepLast: 2, stagedWithinDays: 0, graceMs: 0 });
    assert.deepEqual(
      listVersions(t.reg, 'fraud').versions.map((v) => v.version),
      ['1.4.0', '1.3.0', '1.0.0'],
    );
    assert.equal((await verifyRegistry(t.reg)).ok, true);
  } finally {
    t.cleanup();
  }
});
