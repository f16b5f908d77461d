import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRef, resolveRef } from '../../../src/core/versions/refs.js';
import { addVersion } from '../../../src/core/versions/add.js';
import { listArtifacts } from '../../../src/core/versions/queries.js';
import { promote } from '../../../src/core/stages/promote.js';
import { InvalidInputError, NotFoundError } from '../../../src/core/errors.js';
import { tempRegistry } from '../../helpers.js';

test('parseRef tells versions, ranges, stages, digests and latest apart', () => {
  assert.deepEqual(parseRef('fraud').selector, { kind: 'latest' });
  assert.deepEqual(parseRef('fraud@latest').selector, { kind: 'latest' });
  assert.deepEqual(parseRef('fraud@1.2.3').selector, { kind: 'exact', version: '1.2.3' });
  assert.deepEqual(parseRef('fraud@1.2.3-rc.1').selector, { kind: 'exact', version: '1.2.3-rc.1' });
  assert.deepEqual(parseRef('fraud@^1.2').selector, { kind: 'range', range: '^1.2' });
  assert.deepEqual(parseRef('fraud@1.2').selector, { kind: 'range', range: '1.2' });
  assert.deepEqual(parseRef('fraud@production').selector, { kind: 'stage', stage: 'production' });
  assert.deepEqual(parseRef('fraud@sha256:3F9A').selector, { kind: 'digest', prefix: '3f9a' });
  for (const bad of ['Fraud', '@1.0.0', 'fraud@', 'fraud@sha256:xyz', 'fraud@sha256:ab', 'fraud@!!']) {
    assert.throws(
      () => parseRef(bad),
      (e: unknown) => e instanceof InvalidInputError && e.code === 'E_BAD_REF',
      bad,
    );
  }
});

test('resolveRef: latest skips prereleases and deprecated versions; ranges pick the highest match', async () => {
  const t = tempRegistry();
  try {
    const add = async (version: string) => {
      const f = join(t.dir, `${version}.bin`);
      writeFileSync(f, version);
      await addVersion(t.reg, { kind: 'model', name: 'm', path: f, version, actor: 'a' });
    };
    for (const v of ['1.0.0', '1.2.0', '1.10.0', '2.0.0-rc.1', '0.9.0']) await add(v);
    assert.equal(resolveRef(t.reg, 'm').version, '1.10.0');
    assert.equal(resolveRef(t.reg, 'm@^1.2').version, '1.10.0');
    assert.equal(resolveRef(t.reg, 'm@~1.2').version, '1.2.0');
    assert.equal(resolveRef(t.reg, 'm@2.0.0-rc.1').version, '2.0.0-rc.1');
    t.reg.db.prepare("UPDATE versions SET deprecated_at = 'x', deprecated_by = 'a' WHERE version = '1.10.0'").run();
    assert.equal(resolveRef(t.reg, 'm').version, '1.2.0');
    assert.equal(resolveRef(t.reg, 'm@1.10.0').version, '1.10.0', 'an exact number still resolves');
    promote(t.reg, { ref: 'm@1.0.0', stage: 'canary', actor: 'a' });
    assert.equal(resolveRef(t.reg, 'm@canary').version, '1.0.0');
    assert.throws(
      () => resolveRef(t.reg, 'm@production'),
      (e: unknown) => e instanceof NotFoundError && e.code === 'E_STAGE_NOT_FOUND' && /canary/.test(e.hint),
    );
    assert.throws(
      () => resolveRef(t.reg, 'm@3.0.0'),
      (e: unknown) => e instanceof NotFoundError && e.exitCode === 3,
    );
    assert.throws(() => resolveRef(t.reg, 'm@^5'), NotFoundError);
    assert.throws(
      () => resolveRef(t.reg, 'nope'),
      (e: unknown) => e instanceof NotFoundError && e.code === 'E_ARTIFACT_NOT_FOUND',
    );
  } finally {
    t.cleanup();
  }
});

test('digest prefixes resolve, and an ambiguous prefix lists the candidates', async () => {
  const t = tempRegistry();
  try {
    const digests: { version: string; digest: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const f = join(t.dir, `f${i}.bin`);
      writeFileSync(f, `content ${i}`);
      const v = (await addVersion(t.reg, { kind: 'model', name: 'm', path: f, actor: 'a' })).version;
      digests.push({ version: v.version, digest: v.digest });
    }
    const one = digests[0]!;
    assert.equal(resolveRef(t.reg, `m@sha256:${one.digest.slice(0, 12)}`).version, one.version);
    assert.throws(() => resolveRef(t.reg, 'm@sha256:' + 'f'.repeat(64)), NotFoundError);
    // Two real sha256 digests sharing 8 hex digits are impractical to make; alias one in the index instead.
    t.reg.db
      .prepare('UPDATE versions SET digest = ? WHERE version = ?')
      .run(one.digest.slice(0, 8) + 'f'.repeat(56), digests[1]!.version);
    assert.throws(
      () => resolveRef(t.reg, `m@sha256:${one.digest.slice(0, 8)}`),
      (e: unknown) =>
        e instanceof InvalidInputError &&
        e.code === 'E_AMBIGUOUS_REF' &&
        e.hint.includes(one.version) &&
        e.hint.includes(digests[1]!.version),
    );
  } finally {
    t.cleanup();
  }
});

test('list shows as latest what NAME resolves to, also when only a prerelease is not deprecated', async () => {
  const t = tempRegistry();
  try {
    for (const version of ['2.0.0', '1.0.0-rc.0']) {
      const f = join(t.dir, `${version}.bin`);
      writeFileSync(f, version);
      await addVersion(t.reg, { kind: 'model', name: 'm', path: f, version, actor: 'a' });
    }
    t.reg.db.prepare("UPDATE versions SET deprecated_at = 'x', deprecated_by = 'a' WHERE version = '2.0.0'").run();
    assert.equal(resolveRef(t.reg, 'm').version, '1.0.0-rc.0');
    assert.equal(listArtifacts(t.reg)[0]!.latest, '1.0.0-rc.0');
  } finally {
    t.cleanup();
  }
});
