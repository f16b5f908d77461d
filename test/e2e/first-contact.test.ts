import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliInProcess, tempDir } from '../helpers.js';

test('--registry pointing at a project folder says where its registry is', async () => {
  const d = tempDir();
  try {
    assert.equal((await cliInProcess(['init'], { cwd: d.path })).code, 0);
    const r = await cliInProcess(['list', '--registry', d.path]);
    assert.equal(r.code, 3);
    assert.match(
      r.stderr,
      new RegExp(`its registry is ${join(d.path, '.mlreg').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`),
    );
    assert.doesNotMatch(r.stderr, /mlreg init/);
  } finally {
    d.cleanup();
  }
});

test('a nested init says which registry it shadows', async () => {
  const d = tempDir();
  try {
    assert.equal((await cliInProcess(['init'], { cwd: d.path })).code, 0);
    const sub = join(d.path, 'team', 'project');
    mkdirSync(sub, { recursive: true });
    const nested = await cliInProcess(['init', '--json'], { cwd: sub });
    assert.equal(nested.code, 0);
    assert.equal(nested.json!.data.shadows, join(d.path, '.mlreg'));
    assert.match(nested.stderr, /now use this registry, not .+ above it/);
    // A registry at an explicit folder is not found by walking up, so it shadows nothing.
    const explicit = await cliInProcess(['init', join(sub, 'elsewhere'), '--json'], { cwd: sub });
    assert.equal(explicit.json!.data.shadows, null);
    assert.equal(explicit.stderr, '');
  } finally {
    d.cleanup();
  }
});

test('rollback NAME@STAGE is what on call types first: the same as --stage', async () => {
  const d = tempDir();
  try {
    const run = (...args: string[]) => cliInProcess(args, { cwd: d.path });
    await run('init');
    for (const i of [1, 2]) {
      writeFileSync(join(d.path, `m${i}.bin`), `weights ${i}`);
      await run('add', 'model', 'fraud', `m${i}.bin`);
    }
    for (const v of ['1.0.0', '1.1.0']) await run('promote', `fraud@${v}`, '--to', 'canary');
    const rb = await run('rollback', 'fraud@canary', '--reason', 'INC-9', '--json');
    assert.equal(rb.code, 0, rb.stdout);
    assert.deepEqual([rb.json!.data.stage, rb.json!.data.from, rb.json!.data.to], ['canary', '1.1.0', '1.0.0']);
    const clash = await run('rollback', 'fraud@canary', '--stage', 'production', '--json');
    assert.equal(clash.code, 2);
    assert.match(clash.json!.error!.message, /names stage canary and --stage says production/);
  } finally {
    d.cleanup();
  }
});
