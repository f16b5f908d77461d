import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addVersion } from '../../../src/core/versions/add.js';
import { promote } from '../../../src/core/stages/promote.js';
import { showVersion } from '../../../src/core/versions/show.js';
import { NotFoundError } from '../../../src/core/errors.js';
import { tempRegistry } from '../../helpers.js';

test('show NAME@STAGE --at T is the version that held the stage at T, not today', async () => {
  const t = tempRegistry();
  try {
    let clock = Date.parse('2026-11-01T00:00:00Z');
    (t.reg.runtime as { now: () => Date }).now = () => new Date((clock += 60_000));
    for (const i of [1, 2]) {
      writeFileSync(join(t.dir, `m${i}.bin`), `weights ${i}`);
      await addVersion(t.reg, { kind: 'model', name: 'm', path: join(t.dir, `m${i}.bin`), actor: 'a' });
    }
    const beforeAny = new Date(clock).toISOString();
    promote(t.reg, { ref: 'm@1.0.0', stage: 'production', actor: 'a' });
    const then = new Date(clock + 30_000).toISOString();
    promote(t.reg, { ref: 'm@1.1.0', stage: 'production', actor: 'a' });

    const past = await showVersion(t.reg, 'm@production', { at: then });
    assert.equal(past.version.version, '1.0.0');
    assert.deepEqual(past.stagesAt, { at: then, stages: { production: '1.0.0' } });
    assert.equal((await showVersion(t.reg, 'm@production')).version.version, '1.1.0');
    // Selectors other than a stage do not move with time.
    assert.equal((await showVersion(t.reg, 'm@1.1.0', { at: then })).version.version, '1.1.0');
    await assert.rejects(showVersion(t.reg, 'm@production', { at: beforeAny }), (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.match(err.message, /m@production held no version at/);
      return true;
    });
  } finally {
    t.cleanup();
  }
});
