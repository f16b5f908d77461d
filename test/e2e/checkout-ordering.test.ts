import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliInProcess, tempDir } from '../helpers.js';

/**
 * promote/rollback --checkout: when DIR/current cannot be switched, the stage must not move either,
 * or the serving folder is left on a version the stage no longer holds (and a "bad input" exit
 * would have changed the registry).
 */

async function setup(cwd: string): Promise<void> {
  assert.equal((await cliInProcess(['init'], { cwd })).code, 0);
  for (const [v, body] of [
    ['1.0.0', 'weights one'],
    ['2.0.0', 'weights two!'],
  ] as const) {
    writeFileSync(join(cwd, `${v}.bin`), body);
    assert.equal((await cliInProcess(['add', 'model', 'm', join(cwd, `${v}.bin`), '--version', v], { cwd })).code, 0);
  }
}

const stageMoves = async (cwd: string): Promise<unknown> =>
  (await cliInProcess(['history', 'm', '--json'], { cwd })).json?.data.events;

test('promote --checkout into a DIR whose current is not a link refuses before the stage moves', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    await setup(cwd);
    assert.equal((await cliInProcess(['promote', 'm@1.0.0', '--to', 'production'], { cwd })).code, 0);
    const srv = join(cwd, 'srv');
    mkdirSync(join(srv, 'current'), { recursive: true });
    const before = await stageMoves(cwd);
    const r = await cliInProcess(['promote', 'm@2.0.0', '--to', 'production', '--checkout', srv, '--json'], { cwd });
    assert.equal(r.code, 2, r.stdout);
    assert.equal(r.json?.error?.code, 'E_CURRENT_NOT_LINK');
    assert.match(r.json?.error?.hint ?? '', /Move it away/);
    assert.deepEqual(await stageMoves(cwd), before, 'the refused promote wrote nothing');
    assert.equal((await cliInProcess(['show', 'm@production', '--json'], { cwd })).json?.data.version.version, '1.0.0');
  } finally {
    t.cleanup();
  }
});

test('rollback --checkout into a DIR whose current is not a link refuses before the stage moves', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    await setup(cwd);
    for (const v of ['1.0.0', '2.0.0'])
      assert.equal((await cliInProcess(['promote', `m@${v}`, '--to', 'production'], { cwd })).code, 0);
    const srv = join(cwd, 'srv');
    mkdirSync(srv);
    writeFileSync(join(srv, 'current'), 'a plain file the user put there');
    const before = await stageMoves(cwd);
    const r = await cliInProcess(['rollback', 'm', '--checkout', srv, '--json'], { cwd });
    assert.equal(r.code, 2, r.stdout);
    assert.equal(r.json?.error?.code, 'E_CURRENT_NOT_LINK');
    assert.deepEqual(await stageMoves(cwd), before, 'the refused rollback wrote nothing');
    assert.equal((await cliInProcess(['show', 'm@production', '--json'], { cwd })).json?.data.version.version, '2.0.0');
  } finally {
    t.cleanup();
  }
});

test('rollback --checkout walks back like rollback: it reports and logs the deprecated versions it skipped', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    await setup(cwd);
    writeFileSync(join(cwd, '3.0.0.bin'), 'weights three');
    assert.equal(
      (await cliInProcess(['add', 'model', 'm', join(cwd, '3.0.0.bin'), '--version', '3.0.0'], { cwd })).code,
      0,
    );
    for (const v of ['1.0.0', '2.0.0', '3.0.0'])
      assert.equal((await cliInProcess(['promote', `m@${v}`, '--to', 'production'], { cwd })).code, 0);
    assert.equal((await cliInProcess(['deprecate', 'm@2.0.0'], { cwd })).code, 0);
    const srv = join(cwd, 'srv');
    const r = await cliInProcess(['rollback', 'm', '--checkout', srv, '--json'], { cwd });
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual([r.json?.data.from, r.json?.data.to, r.json?.data.checkout.version], ['3.0.0', '1.0.0', '1.0.0']);
    assert.deepEqual(r.json?.data.skipped, [{ version: '2.0.0', why: 'deprecated' }]);
    const last = ((await stageMoves(cwd)) as { kind: string; details: unknown }[])[0]!;
    assert.equal(last.kind, 'rollback');
    assert.deepEqual(
      last.details,
      { skipped: [{ version: '2.0.0', why: 'deprecated' }] },
      'the audit log says what was skipped',
    );
  } finally {
    t.cleanup();
  }
});
