import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addVersion } from '../../../src/core/versions/add.js';
import { verifyRegistry } from '../../../src/core/store/verify.js';
import { objectPath } from '../../../src/core/store/objects.js';
import { tempRegistry } from '../../helpers.js';

test('verify: clean registry passes every step; each kind of damage is reported with the versions it touches', async () => {
  const t = tempRegistry();
  try {
    const dir = join(t.dir, 'model');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    writeFileSync(join(dir, 'weights.bin'), 'w'.repeat(5000));
    writeFileSync(join(dir, 'config.json'), '{"layers":3}');
    const v1 = await addVersion(t.reg, { kind: 'model', name: 'fraud', path: dir, actor: 'a' });
    writeFileSync(join(dir, 'config.json'), '{"layers":4}');
    const v2 = await addVersion(t.reg, { kind: 'model', name: 'fraud', path: dir, actor: 'a' });
    const clean = await verifyRegistry(t.reg, { workers: 2 });
    assert.equal(clean.ok, true);
    assert.deepEqual(
      clean.steps.map((s) => s.ok),
      [true, true, true, true, true, true, true],
    );
    assert.equal(clean.objects.referenced, 5, 'shared weights once, two configs, two manifests');
    assert.equal(clean.objects.hashedBytes, clean.objects.bytes);

    // The shared weights blob: corrupt, same size -> found by the full check only, touching both versions.
    const weights = v1.manifest.files.find((f) => f.path === 'weights.bin')!.sha256;
    chmodSync(objectPath(t.reg, weights), 0o644);
    writeFileSync(objectPath(t.reg, weights), 'x'.repeat(5000));
    assert.equal((await verifyRegistry(t.reg, { quick: true })).ok, true);
    const full = await verifyRegistry(t.reg);
    assert.equal(full.ok, false);
    assert.deepEqual(
      full.steps.map((s) => [s.id, s.problems]),
      [
        ['index-integrity', 0],
        ['index-schema', 0],
        ['index-values', 0],
        ['foreign-keys', 0],
        ['objects', 1],
        ['manifests', 0],
        ['digest-columns', 0],
      ],
    );
    assert.equal(full.steps.find((s) => s.id === 'manifests')!.checked, 2);
    assert.deepEqual(
      full.problems.map((p) => [p.kind, p.digest, p.affects.map((a) => a.version)]),
      [['object-corrupt', weights, ['1.0.0', '1.1.0']]],
    );

    // v2's manifest goes missing: reported as missing, touching v2 only.
    unlinkSync(objectPath(t.reg, v2.version.digest));
    const again = await verifyRegistry(t.reg, { quick: true });
    assert.deepEqual(
      again.problems.map((p) => [p.kind, p.affects.map((a) => a.version)]),
      [['object-missing', ['1.1.0']]],
    );

    // A dangling row: version_objects points at an object no file backs, and a foreign key broken.
    t.reg.db.pragma('foreign_keys = OFF');
    t.reg.db
      .prepare('INSERT INTO stages (artifact_id, stage, version_id, event_id) VALUES (1, ?, 999, 999)')
      .run('ghost');
    t.reg.db.pragma('foreign_keys = ON');
    const fk = await verifyRegistry(t.reg, { quick: true });
    assert.ok(fk.problems.some((p) => p.kind === 'foreign-key' && p.table === 'stages'));
  } finally {
    t.cleanup();
  }
});
