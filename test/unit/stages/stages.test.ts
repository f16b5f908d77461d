import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addVersion } from '../../../src/core/versions/add.js';
import { promote, stagesAt } from '../../../src/core/stages/promote.js';
import { rollback } from '../../../src/core/stages/rollback.js';
import { history } from '../../../src/core/registry/history.js';
import { resolveRef } from '../../../src/core/versions/refs.js';
import { ConflictError, NotFoundError, UsageError } from '../../../src/core/errors.js';
import { editDistance } from '../../../src/core/stages/new-stage.js';
import { tempRegistry } from '../../helpers.js';
import type { Registry } from '../../../src/core/registry/registry.js';

async function addN(reg: Registry, dir: string, name: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 1; i <= n; i++) {
    const f = join(dir, `${name}-${i}.bin`);
    writeFileSync(f, `${name} weights ${i}`);
    out.push((await addVersion(reg, { kind: 'model', name, path: f, actor: 'alice' })).version.version);
  }
  return out;
}

const counts = (reg: Registry) =>
  reg.db.prepare('SELECT (SELECT COUNT(*) FROM events) e, (SELECT COUNT(*) FROM stages) s').get();

test('rollback is undo: v1→v2→v3, rollback → v2, rollback → v1, then nowhere (exit 4)', async () => {
  const t = tempRegistry();
  try {
    const [v1, v2, v3] = await addN(t.reg, t.dir, 'fraud', 3);
    for (const v of [v1, v2, v3]) promote(t.reg, { ref: `fraud@${v}`, stage: 'production', actor: 'alice' });
    const r1 = rollback(t.reg, { name: 'fraud', actor: 'oncall', reason: 'INC-1' });
    assert.deepEqual([r1.from, r1.to, r1.changed], [v3, v2, true]);
    const r2 = rollback(t.reg, { name: 'fraud', actor: 'oncall', reason: 'INC-1 still bad' });
    assert.deepEqual([r2.from, r2.to], [v2, v1]);
    const before = counts(t.reg);
    assert.throws(
      () => rollback(t.reg, { name: 'fraud', actor: 'oncall' }),
      (e: unknown) => e instanceof ConflictError && e.code === 'E_NO_ROLLBACK_TARGET' && e.exitCode === 4,
    );
    assert.deepEqual(counts(t.reg), before, 'a refused rollback writes nothing');
    assert.equal(resolveRef(t.reg, 'fraud@production').version, v1);
  } finally {
    t.cleanup();
  }
});

test('rollback never bounces back to the version it left, and walks past deprecated versions', async () => {
  const t = tempRegistry();
  try {
    const [v1, v2, v3, v4] = await addN(t.reg, t.dir, 'm', 4);
    promote(t.reg, { ref: `m@${v1}`, stage: 'production', actor: 'a' });
    promote(t.reg, { ref: `m@${v2}`, stage: 'production', actor: 'a' });
    promote(t.reg, { ref: `m@${v3}`, stage: 'production', actor: 'a' });
    rollback(t.reg, { name: 'm', actor: 'a' }); // → v2
    promote(t.reg, { ref: `m@${v4}`, stage: 'production', actor: 'a' }); // v4 on top of v2
    assert.equal(rollback(t.reg, { name: 'm', actor: 'a' }).to, v2, 'back to v2, not to the bad v3');
    // promote v3 again, then deprecate v2: rollback from v3 skips v2 and lands on v1.
    promote(t.reg, { ref: `m@${v3}`, stage: 'production', actor: 'a' });
    t.reg.db
      .prepare("UPDATE versions SET deprecated_at = '2026-01-01T00:00:00Z', deprecated_by = 'a' WHERE version = ?")
      .run(v2);
    const r = rollback(t.reg, { name: 'm', actor: 'a' });
    assert.equal(r.to, v1);
    assert.deepEqual(r.skipped, [{ version: v2, why: 'deprecated' }]);
  } finally {
    t.cleanup();
  }
});

test('rollback --to, --stage, --dry-run and --expect', async () => {
  const t = tempRegistry();
  try {
    const [v1, v2, v3] = await addN(t.reg, t.dir, 'm', 3);
    for (const v of [v1, v2, v3]) promote(t.reg, { ref: `m@${v}`, stage: 'canary', actor: 'a' });
    const before = counts(t.reg);
    const dry = rollback(t.reg, { name: 'm', stage: 'canary', actor: 'a', dryRun: true });
    assert.deepEqual([dry.to, dry.changed, dry.dryRun], [v2, false, true]);
    assert.deepEqual(counts(t.reg), before);
    assert.throws(
      () => rollback(t.reg, { name: 'm', stage: 'canary', actor: 'a', expect: v2 }),
      (e: unknown) => e instanceof ConflictError && e.code === 'E_STAGE_MOVED',
    );
    const jump = rollback(t.reg, { name: 'm', stage: 'canary', actor: 'a', to: v1, expect: v3 });
    assert.equal(jump.to, v1);
    assert.throws(
      () => rollback(t.reg, { name: 'm', actor: 'a' }),
      (e: unknown) => e instanceof NotFoundError && e.code === 'E_STAGE_NOT_FOUND',
    );
  } finally {
    t.cleanup();
  }
});

test('promote: compare-and-swap, prerelease and deprecated guards, idempotence, unknown stage names', async () => {
  const t = tempRegistry();
  try {
    const [v1, v2] = await addN(t.reg, t.dir, 'm', 2);
    const f = join(t.dir, 'rc.bin');
    writeFileSync(f, 'rc');
    const rc = (
      await addVersion(t.reg, { kind: 'model', name: 'm', path: f, bump: 'prerelease', preid: 'rc', actor: 'a' })
    ).version.version;
    assert.throws(
      () => promote(t.reg, { ref: `m@${v1}`, stage: 'production', actor: 'a', expect: v2 }),
      (e: unknown) => e instanceof ConflictError && e.code === 'E_STAGE_MOVED',
    );
    promote(t.reg, { ref: `m@${v1}`, stage: 'production', actor: 'a', expect: 'none' });
    const before = counts(t.reg);
    assert.throws(
      () => promote(t.reg, { ref: `m@${v2}`, stage: 'production', actor: 'a', expect: 'none' }),
      ConflictError,
    );
    assert.throws(
      () => promote(t.reg, { ref: `m@${rc}`, stage: 'production', actor: 'a' }),
      (e: unknown) => e instanceof UsageError && e.code === 'E_PRERELEASE',
    );
    assert.throws(
      () => promote(t.reg, { ref: `m@${v2}`, stage: 'Prod!', actor: 'a' }),
      (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'E_BAD_STAGE',
    );
    assert.deepEqual(counts(t.reg), before);
    assert.equal(promote(t.reg, { ref: `m@${rc}`, stage: 'production', actor: 'a', allowPrerelease: true }).to, rc);
    assert.equal(
      promote(t.reg, { ref: `m@${rc}`, stage: 'staging', actor: 'a' }).changed,
      true,
      'prereleases go to other stages freely',
    );
    const again = promote(t.reg, { ref: `m@${rc}`, stage: 'staging', actor: 'a' });
    assert.equal(again.changed, false);
    t.reg.db.prepare("UPDATE versions SET deprecated_at = 'x', deprecated_by = 'a' WHERE version = ?").run(v2);
    assert.throws(
      () => promote(t.reg, { ref: `m@${v2}`, stage: 'staging', actor: 'a' }),
      (e: unknown) => e instanceof ConflictError && e.code === 'E_DEPRECATED',
    );
  } finally {
    t.cleanup();
  }
});

test('history lists every move with actor and reason; stagesAt answers for a past moment', async () => {
  const t = tempRegistry();
  try {
    let clock = Date.parse('2026-11-01T00:00:00Z');
    (t.reg.runtime as { now: () => Date }).now = () => new Date((clock += 60_000));
    const [v1, v2] = await addN(t.reg, t.dir, 'm', 2);
    promote(t.reg, { ref: `m@${v1}`, stage: 'production', actor: 'alice', reason: 'first' });
    const between = new Date(clock + 30_000).toISOString();
    promote(t.reg, { ref: `m@${v2}`, stage: 'production', actor: 'bob', reason: 'better auc' });
    rollback(t.reg, { name: 'm', actor: 'carol', reason: 'INC-7' });
    const h = history(t.reg, 'm');
    assert.deepEqual(
      h.events.map((e) => [e.kind, e.from, e.to, e.actor, e.reason]),
      [
        ['rollback', v2, v1, 'carol', 'INC-7'],
        ['promote', v1, v2, 'bob', 'better auc'],
        ['promote', null, v1, 'alice', 'first'],
      ],
    );
    assert.equal(history(t.reg, 'm', { limit: 1 }).events.length, 1);
    assert.equal(history(t.reg, 'm', { all: true }).events.filter((e) => e.kind === 'add').length, 2);
    const artifactId = resolveRef(t.reg, 'm').artifactId;
    assert.deepEqual(stagesAt(t.reg, artifactId, between), { production: v1 });
    assert.deepEqual(stagesAt(t.reg, artifactId, '2026-10-01'), {});
  } finally {
    t.cleanup();
  }
});

test('rollback expectTarget: refused (nothing written) unless the walk lands on the planned version', async () => {
  const t = tempRegistry();
  try {
    const [v1, v2, v3] = await addN(t.reg, t.dir, 'm', 3);
    for (const v of [v1, v2, v3]) promote(t.reg, { ref: `m@${v}`, stage: 'production', actor: 'a' });
    const before = counts(t.reg);
    assert.throws(
      () => rollback(t.reg, { name: 'm', actor: 'a', expectTarget: v1 }),
      (e: unknown) => e instanceof ConflictError && e.code === 'E_STAGE_MOVED',
    );
    assert.deepEqual(counts(t.reg), before);
    assert.equal(rollback(t.reg, { name: 'm', actor: 'a', expectTarget: v2 }).to, v2);
  } finally {
    t.cleanup();
  }
});

test('beforeCommit runs inside the move: it sees the new holder, and a throw undoes promote and rollback', async () => {
  const t = tempRegistry();
  try {
    const [v1, v2, v3] = await addN(t.reg, t.dir, 'm', 3);
    promote(t.reg, { ref: `m@${v1}`, stage: 'production', actor: 'a' });
    let seen: string | undefined;
    promote(t.reg, {
      ref: `m@${v2}`,
      stage: 'production',
      actor: 'a',
      beforeCommit: () => void (seen = resolveRef(t.reg, 'm@production').version),
    });
    assert.equal(seen, v2, 'the hook runs after the stage row is written');
    const before = counts(t.reg);
    const failSwitch = (): void => {
      throw new Error('switch failed');
    };
    assert.throws(
      () => promote(t.reg, { ref: `m@${v3}`, stage: 'production', actor: 'a', beforeCommit: failSwitch }),
      /switch failed/,
    );
    assert.throws(() => rollback(t.reg, { name: 'm', actor: 'a', beforeCommit: failSwitch }), /switch failed/);
    assert.deepEqual(counts(t.reg), before, 'nothing was written');
    assert.equal(resolveRef(t.reg, 'm@production').version, v2);
    let ran = 0;
    promote(t.reg, { ref: `m@${v3}`, stage: 'production', actor: 'a', dryRun: true, beforeCommit: () => void ran++ });
    assert.equal(ran, 0, 'a dry run switches nothing');
  } finally {
    t.cleanup();
  }
});

test('a new stage within two edits of a known one is refused as a likely typo; --new-stage creates it', async () => {
  const t = tempRegistry();
  try {
    const [v1] = await addN(t.reg, t.dir, 'fraud', 1);
    assert.throws(
      () => promote(t.reg, { ref: `fraud@${v1}`, stage: 'prodution', actor: 'a' }),
      (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.equal(err.code, 'E_STAGE_TYPO');
        assert.match(err.message, /did you mean production\?/);
        return true;
      },
    );
    assert.equal((counts(t.reg) as { s: number }).s, 0, 'nothing was written');
    promote(t.reg, { ref: `fraud@${v1}`, stage: 'eu-west', actor: 'a' });
    assert.throws(() => promote(t.reg, { ref: `fraud@${v1}`, stage: 'eu-wst', actor: 'a' }), /did you mean eu-west\?/);
    const made = promote(t.reg, { ref: `fraud@${v1}`, stage: 'eu-wst', actor: 'a', newStage: true });
    assert.equal(made.changed, true);
    // A stage that exists (anywhere) is no typo.
    promote(t.reg, { ref: `fraud@${v1}`, stage: 'eu-wst', actor: 'a' });
    assert.equal(editDistance('prodution', 'production'), 1);
  } finally {
    t.cleanup();
  }
});
