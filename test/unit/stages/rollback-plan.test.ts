import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRollback, type ChainStep } from '../../../src/core/stages/rollback-plan.js';
import type { VersionRecord } from '../../../src/core/versions/refs.js';
import { ConflictError } from '../../../src/core/errors.js';

function v(id: number, version: string, deprecated = false): VersionRecord {
  return {
    id,
    artifactId: 1,
    name: 'm',
    kind: 'model',
    version,
    digest: `d${id}`,
    sourceType: 'file',
    size: 1,
    fileCount: 1,
    description: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    createdBy: 't',
    deprecated: deprecated ? { at: '2026-01-02T00:00:00.000Z', by: 't', reason: null } : null,
  };
}
const v1 = v(1, '1.0.0');
const v2 = v(2, '1.1.0');
const v3 = v(3, '1.2.0');
const base = { name: 'm', stage: 'production', current: v3, currentEventId: 30 };

test('goes back to the assignment below, and sits on the event below it', () => {
  const chain: ChainStep[] = [
    { version: v2, belowEventId: 10 },
    { version: v1, belowEventId: null },
  ];
  const plan = planRollback({ ...base, chain });
  assert.equal(plan.to.version, '1.1.0');
  assert.equal(plan.belowEventId, 10);
  assert.deepEqual(plan.skipped, []);
});

test('skips deleted, deprecated and the current version on the way down', () => {
  const chain: ChainStep[] = [
    { version: null, belowEventId: 25 },
    { version: v(2, '1.1.0', true), belowEventId: 20 },
    { version: v3, belowEventId: 15 },
    { version: v1, belowEventId: null },
  ];
  const plan = planRollback({ ...base, chain });
  assert.equal(plan.to.version, '1.0.0');
  assert.equal(plan.belowEventId, null);
  assert.deepEqual(plan.skipped, [
    { version: '(deleted)', why: 'deleted' },
    { version: '1.1.0', why: 'deprecated' },
    { version: '1.2.0', why: 'the version being rolled back' },
  ]);
});

test('an explicit target that never held the stage goes on top of the current one', () => {
  const plan = planRollback({ ...base, chain: [{ version: v2, belowEventId: null }], wanted: v1 });
  assert.equal(plan.to.version, '1.0.0');
  assert.equal(plan.belowEventId, 30);
});

test('refuses with nowhere to go, the current version, or a moved target', () => {
  assert.throws(
    () => planRollback({ ...base, chain: [] }),
    (e: unknown) => e instanceof ConflictError && e.code === 'E_NO_ROLLBACK_TARGET',
  );
  assert.throws(
    () => planRollback({ ...base, chain: [], wanted: v3 }),
    (e: unknown) => e instanceof ConflictError && e.code === 'E_NOTHING_TO_DO',
  );
  assert.throws(
    () => planRollback({ ...base, chain: [], wanted: v(4, '0.9.0', true) }),
    (e: unknown) => e instanceof ConflictError && e.code === 'E_DEPRECATED',
  );
  assert.throws(
    () => planRollback({ ...base, chain: [{ version: v2, belowEventId: null }], expectTarget: '1.0.0' }),
    (e: unknown) => e instanceof ConflictError && e.code === 'E_STAGE_MOVED',
  );
});
