import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addVersion } from '../../../src/core/versions/add.js';
import { promote } from '../../../src/core/stages/promote.js';
import { rollback } from '../../../src/core/stages/rollback.js';
import { history } from '../../../src/core/registry/history.js';
import { deleteVersion, deprecate, undeprecate } from '../../../src/core/versions/retire.js';
import { ConflictError, NotFoundError } from '../../../src/core/errors.js';
import { tempRegistry } from '../../helpers.js';
import type { Registry } from '../../../src/core/registry/registry.js';
import { registryState } from '../../registry-state.js';

async function add(
  reg: Registry,
  dir: string,
  name: string,
  content: string,
  extra: { kind?: 'model' | 'dataset'; trainedOn?: string[]; version?: string } = {},
): Promise<string> {
  const f = join(dir, `${name}-${content.replace(/\W/g, '_')}.bin`);
  writeFileSync(f, content);
  return (
    await addVersion(reg, {
      kind: extra.kind ?? 'model',
      name,
      path: f,
      actor: 'alice',
      trainedOn: extra.trainedOn,
      version: extra.version,
    })
  ).version.version;
}

test('deprecate: promote refuses it, rollback skips it, undeprecate restores both; each is an event', async () => {
  const t = tempRegistry();
  try {
    for (const c of ['w1', 'w2', 'w3']) await add(t.reg, t.dir, 'fraud', c);
    for (const v of ['1.0.0', '1.1.0', '1.2.0'])
      promote(t.reg, { ref: `fraud@${v}`, stage: 'production', actor: 'alice' });
    const d = deprecate(t.reg, 'fraud@1.1.0', { actor: 'bob', reason: 'leaks the label' });
    assert.equal(d.changed, true);
    assert.equal(deprecate(t.reg, 'fraud@1.1.0', { actor: 'bob' }).changed, false, 'twice changes nothing');
    assert.throws(
      () => promote(t.reg, { ref: 'fraud@1.1.0', stage: 'staging', actor: 'alice' }),
      (e: unknown) => e instanceof ConflictError && e.code === 'E_DEPRECATED',
    );
    const rb = rollback(t.reg, { name: 'fraud', actor: 'oncall' });
    assert.equal(rb.to, '1.0.0');
    assert.deepEqual(rb.skipped, [{ version: '1.1.0', why: 'deprecated' }]);
    undeprecate(t.reg, 'fraud@1.1.0', { actor: 'bob' });
    promote(t.reg, { ref: 'fraud@1.1.0', stage: 'staging', actor: 'alice' });
    const kinds = history(t.reg, 'fraud', { all: true }).events.map((e) => e.kind);
    assert.deepEqual(
      kinds.filter((k) => k.includes('deprecate')),
      ['undeprecate', 'deprecate'],
    );
  } finally {
    t.cleanup();
  }
});

test('delete is refused (exit 4, registry unchanged) while a stage points at the version', async () => {
  const t = tempRegistry();
  try {
    await add(t.reg, t.dir, 'fraud', 'w1');
    promote(t.reg, { ref: 'fraud@1.0.0', stage: 'production', actor: 'alice' });
    const before = registryState(t.root);
    for (const force of [false, true]) {
      assert.throws(
        () => deleteVersion(t.reg, 'fraud@1.0.0', { actor: 'bob', force }),
        (e: unknown) =>
          e instanceof ConflictError &&
          e.exitCode === 4 &&
          e.code === 'E_VERSION_IN_USE' &&
          /holds the production stage/.test(e.message),
      );
    }
    assert.throws(() => deleteVersion(t.reg, 'fraud@9.9.9', { actor: 'bob' }), NotFoundError);
    assert.deepEqual(registryState(t.root), before);
  } finally {
    t.cleanup();
  }
});

test('delete of the only way back needs --force, which is logged; rollback then has nowhere to go', async () => {
  const t = tempRegistry();
  try {
    for (const c of ['w1', 'w2', 'w3']) await add(t.reg, t.dir, 'fraud', c);
    promote(t.reg, { ref: 'fraud@1.0.0', stage: 'production', actor: 'alice' });
    promote(t.reg, { ref: 'fraud@1.1.0', stage: 'production', actor: 'alice' });
    // 1.2.0 never held a stage: deletable at once.
    assert.equal(deleteVersion(t.reg, 'fraud@1.2.0', { actor: 'bob' }).forcedStages.length, 0);
    const before = registryState(t.root);
    assert.throws(
      () => deleteVersion(t.reg, 'fraud@1.0.0', { actor: 'bob' }),
      (e: unknown) => e instanceof ConflictError && e.code === 'E_ONLY_WAY_BACK' && /production/.test(e.message),
    );
    assert.deepEqual(registryState(t.root), before);
    const forced = deleteVersion(t.reg, 'fraud@1.0.0', { actor: 'bob', force: true, reason: 'legal hold lifted' });
    assert.deepEqual(forced.forcedStages, ['production']);
    const ev = history(t.reg, 'fraud', { all: true }).events[0]!;
    assert.equal(ev.kind, 'delete');
    assert.deepEqual(ev.details, {
      digest: (ev.details as { digest: string }).digest,
      forced: true,
      stagesLosingTheirWayBack: ['production'],
    });
    assert.throws(
      () => rollback(t.reg, { name: 'fraud', actor: 'oncall' }),
      (e: unknown) => e instanceof ConflictError && e.code === 'E_NO_ROLLBACK_TARGET',
    );
    // History outlives the row: the promote of 1.0.0 still reads 1.0.0.
    const promotes = history(t.reg, 'fraud').events.map((e) => [e.from, e.to]);
    assert.deepEqual(promotes, [
      ['1.0.0', '1.1.0'],
      [null, '1.0.0'],
    ]);
  } finally {
    t.cleanup();
  }
});

test('a deleted version number is never reused by a later add (explicit or bumped)', async () => {
  const t = tempRegistry();
  try {
    await add(t.reg, t.dir, 'fraud', 'w1');
    await add(t.reg, t.dir, 'fraud', 'w2');
    deleteVersion(t.reg, 'fraud@1.1.0', { actor: 'bob' });
    assert.equal(await add(t.reg, t.dir, 'fraud', 'w3'), '1.2.0', 'the bump counts past the deleted 1.1.0');
    await assert.rejects(
      add(t.reg, t.dir, 'fraud', 'w4', { version: '1.1.0' }),
      (e: unknown) => e instanceof ConflictError && e.code === 'E_VERSION_EXISTS',
    );
    deleteVersion(t.reg, 'fraud@1.2.0', { actor: 'bob' });
    assert.equal(await add(t.reg, t.dir, 'fraud', 'w5'), '1.3.0', 'even when the deleted one was the highest');
  } finally {
    t.cleanup();
  }
});

test('a dataset version a model was trained on cannot be deleted (lineage stays true), even with --force', async () => {
  const t = tempRegistry();
  try {
    await add(t.reg, t.dir, 'train', 'a,b\n1,2\n', { kind: 'dataset' });
    await add(t.reg, t.dir, 'fraud', 'w1', { trainedOn: ['train@1.0.0'] });
    const before = registryState(t.root);
    assert.throws(
      () => deleteVersion(t.reg, 'train@1.0.0', { actor: 'bob', force: true }),
      (e: unknown) => e instanceof ConflictError && e.code === 'E_VERSION_REFERENCED' && /fraud@1\.0\.0/.test(e.hint),
    );
    assert.deepEqual(registryState(t.root), before);
    deleteVersion(t.reg, 'fraud@1.0.0', { actor: 'bob' });
    deleteVersion(t.reg, 'train@1.0.0', { actor: 'bob' });
  } finally {
    t.cleanup();
  }
});
