import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planBackup, type Snapshot } from '../../../src/core/backup/backup-plan.js';
import { IntegrityError } from '../../../src/core/errors.js';

const a = 'a'.repeat(64);
const b = 'b'.repeat(64);
const snapshot: Snapshot = {
  userVersion: 5,
  counts: { artifacts: 1, versions: 2, events: 3 },
  objects: [
    { digest: a, size: 10 },
    { digest: b, size: 20 },
  ],
};
const common = {
  snapshot,
  db: { size: 4096, sha256: 'd'.repeat(64) },
  id: 'id-2',
  createdAt: '2026-11-30T10:00:00.000Z',
  toolVersion: '0.1.0',
};

test('a full backup carries the index first, then every object', () => {
  const plan = planBackup({
    ...common,
    storedSizes: new Map([
      [a, 10],
      [b, 20],
    ]),
  });
  assert.equal(plan.manifest.kind, 'full');
  assert.equal(plan.manifest.base, null);
  assert.deepEqual(
    plan.members.map((m) => m.size),
    [4096, 10, 20],
  );
  assert.equal(plan.members[0]!.path, 'mlreg.db');
  assert.deepEqual(plan.external, []);
  assert.equal(plan.manifest.counts.memberBytes, 4126);
  assert.equal(plan.manifest.counts.objectBytes, 30);
});

test('an incremental backup lists what its base holds and carries only the rest', () => {
  const full = planBackup({
    ...common,
    id: 'id-1',
    snapshot: { ...snapshot, objects: [{ digest: a, size: 10 }] },
    storedSizes: new Map([[a, 10]]),
  });
  const plan = planBackup({
    ...common,
    base: { manifest: full.manifest, file: 'full.tar' },
    storedSizes: new Map([[b, 20]]),
  });
  assert.equal(plan.manifest.kind, 'incremental');
  assert.deepEqual(plan.manifest.base, { id: 'id-1', file: 'full.tar', createdAt: common.createdAt });
  assert.deepEqual(plan.external, [{ digest: a, size: 10, backup: 'id-1' }]);
  assert.deepEqual(
    plan.manifest.requires.map((r) => r.id),
    ['id-1'],
  );
  assert.equal(plan.members.length, 2);
});

test('a missing or resized object refuses the plan', () => {
  assert.throws(
    () => planBackup({ ...common, storedSizes: new Map([[a, 10]]) }),
    (e: unknown) => e instanceof IntegrityError && e.code === 'E_OBJECT_MISSING',
  );
  assert.throws(
    () =>
      planBackup({
        ...common,
        storedSizes: new Map([
          [a, 10],
          [b, 19],
        ]),
      }),
    (e: unknown) => e instanceof IntegrityError && e.code === 'E_OBJECT_CORRUPT',
  );
});
