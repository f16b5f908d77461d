import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planVersion } from '../../../src/core/versions/version-plan.js';
import { ConflictError, InvalidInputError, UsageError } from '../../../src/core/errors.js';

test('first version is 1.0.0 and later ones bump minor by default', () => {
  assert.equal(planVersion([], {}), '1.0.0');
  assert.equal(planVersion(['1.0.0'], {}), '1.1.0');
  assert.equal(planVersion(['1.0.0', '1.2.0', '1.1.5'], {}), '1.3.0');
});

test('bumps count on from the highest version', () => {
  assert.equal(planVersion(['1.2.3'], { bump: 'patch' }), '1.2.4');
  assert.equal(planVersion(['1.2.3'], { bump: 'major' }), '2.0.0');
  assert.equal(planVersion(['1.2.3'], { bump: 'prerelease', preid: 'rc' }), '1.2.4-rc.0');
  assert.equal(planVersion(['1.2.3', '1.2.4-rc.0'], { bump: 'prerelease', preid: 'rc' }), '1.2.4-rc.1');
  assert.equal(planVersion([], { bump: 'prerelease', preid: 'beta' }), '1.0.0-beta.0');
});

test('explicit versions must be new, valid semver', () => {
  assert.equal(planVersion(['1.0.0'], { version: '0.9.0' }), '0.9.0');
  assert.throws(
    () => planVersion(['1.0.0'], { version: '1.0.0' }),
    (e: unknown) => e instanceof ConflictError && e.exitCode === 4,
  );
  for (const bad of ['1.0', 'v1.0.0', '01.0.0', 'latest', '1.0.0 ']) {
    assert.throws(
      () => planVersion([], { version: bad }),
      (e: unknown) => e instanceof InvalidInputError && e.code === 'E_BAD_VERSION',
      bad,
    );
  }
  assert.throws(() => planVersion([], { version: '1.0.0', bump: 'patch' }), UsageError);
  assert.throws(() => planVersion([], { bump: 'patch', preid: 'rc' }), UsageError);
});
