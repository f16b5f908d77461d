import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliInProcess, FIXTURES, tempDir } from '../helpers.js';

const HOLDOUT = join(FIXTURES, 'datasets', 'holdout.csv');

test('a dataset stored with --no-profile is profiled later with mlreg profile, as the check hint says', async () => {
  const d = tempDir();
  try {
    const reg = join(d.path, 'reg');
    const run = (...args: string[]) => cliInProcess(['--registry', reg, ...args], { cwd: d.path });
    await run('init', reg);
    assert.equal((await run('add', 'dataset', 'train', HOLDOUT, '--no-profile')).code, 0);
    const before = await run('check', 'train@1.0.0', '--against', 'train@1.0.0');
    assert.equal(before.code, 3);
    assert.match(before.stderr, /mlreg profile train@1\.0\.0/);

    const profiled = await run('profile', 'train@1.0.0', '--json');
    assert.equal(profiled.code, 0, profiled.stderr);
    assert.equal(profiled.json!.data.computed, true);
    assert.ok(profiled.json!.data.profile.table.rows > 0);
    assert.equal((await run('check', 'train@1.0.0', '--against', 'train@1.0.0')).code, 0);
    assert.equal(
      (await run('profile', 'train@1.0.0', '--json')).json!.data.computed,
      false,
      'a second run changes nothing',
    );
    const events = (await run('history', 'train', '--all', '--json')).json!.data.events.map(
      (e: { kind: string }) => e.kind,
    );
    assert.deepEqual(events, ['profile', 'add']);
  } finally {
    d.cleanup();
  }
});

test('mlreg profile refuses damaged stored bytes (exit 5) and writes no profile', async () => {
  const d = tempDir();
  try {
    const reg = join(d.path, 'reg');
    const run = (...args: string[]) => cliInProcess(['--registry', reg, ...args], { cwd: d.path });
    await run('init', reg);
    const added = await run('add', 'dataset', 'train', HOLDOUT, '--no-profile', '--json');
    const sha = added.json!.data.manifest.files[0].sha256 as string;
    const object = join(reg, 'objects', 'sha256', sha.slice(0, 2), sha.slice(2));
    const bytes = readFileSync(object);
    bytes[bytes.length - 2]! ^= 1;
    chmodSync(object, 0o644);
    writeFileSync(object, bytes);
    const r = await run('profile', 'train', '--json');
    assert.equal(r.code, 5);
    assert.equal(r.json!.error!.code, 'E_OBJECT_CORRUPT');
    assert.equal((await run('show', 'train', '--json')).json!.data.profile, null);
  } finally {
    d.cleanup();
  }
});
