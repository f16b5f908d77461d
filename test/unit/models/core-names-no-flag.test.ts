import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MlregError } from '../../../src/core/errors.js';
import { allowlistFor, readGivenSignature } from '../../../src/core/models/add-hooks.js';
import { cliInProcess, FIXTURES, tempDir } from '../../helpers.js';

/** Core says what is wrong with a value (details.option); the CLI puts the flag of the command that ran in front. */

function noFlag(err: unknown, option: string): boolean {
  assert.ok(err instanceof MlregError, String(err));
  assert.doesNotMatch(err.message, /--[a-z]/, err.message);
  assert.deepEqual((err.details as { option?: string }).option, option);
  return true;
}

test('core: a bad allowed import and a bad signature file name no flag, only details.option', async () => {
  assert.throws(
    () => allowlistFor(undefined, ['bad name']),
    (e) => noFlag(e, 'allowImport'),
  );
  const t = tempDir();
  try {
    const bad = join(t.path, 'sig.json');
    writeFileSync(bad, '{not json');
    await assert.rejects(readGivenSignature(bad), (e) => noFlag(e, 'signature'));
    writeFileSync(bad, '{"features": []}');
    await assert.rejects(readGivenSignature(bad), (e) => noFlag(e, 'signature'));
  } finally {
    t.cleanup();
  }
});

test('the CLI names the flag: scan --allow-import', async () => {
  const r = await cliInProcess([
    'scan',
    join(FIXTURES, 'models', 'cancer-v1.joblib'),
    '--allow-import',
    'bad name',
    '--json',
  ]);
  assert.equal(r.code, 2, r.stdout);
  assert.match(r.json!.error!.message, /^--allow-import: .*"bad name"/);
});
