import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runCli } from '../../../src/cli/main.js';
import type { CliIo } from '../../../src/cli/context.js';
import { tempDir } from '../../helpers.js';

/** runCli takes everything from its io and returns the exit code: runs in one process do not leak into each other. */

function io(cwd: string, env: Record<string, string | undefined>): { io: CliIo; out: () => string; err: () => string } {
  const sink = () => {
    let text = '';
    const stream = new Writable({
      write(chunk, _enc, done) {
        text += String(chunk);
        done();
      },
    });
    return { stream, text: () => text };
  };
  const o = sink();
  const e = sink();
  return {
    io: { stdout: o.stream, stderr: e.stream, env, cwd, isTTY: { stdout: false, stderr: false } },
    out: o.text,
    err: e.text,
  };
}

const argv = (...words: string[]) => ['node', 'mlreg', ...words];

test('the exit code is returned, never left on the process, and one run does not carry over into the next', async () => {
  const t = tempDir();
  try {
    const env = { NO_COLOR: '1', MLREG_ACTOR: 'tester' };
    const missing = io(t.path, env);
    assert.equal(await runCli(argv('list'), missing.io), 3, 'no registry yet: not found');
    assert.match(missing.err(), /no mlreg registry found/);
    assert.equal(missing.out(), '');
    assert.equal(process.exitCode, undefined);

    assert.equal(await runCli(argv('init'), io(t.path, env).io), 0);
    const listed = io(t.path, env);
    assert.equal(await runCli(argv('list', '--json'), listed.io), 0);
    assert.deepEqual(JSON.parse(listed.out()), { ok: true, data: { artifacts: [] } });
    assert.equal(listed.err(), '');
    assert.equal(process.exitCode, undefined);
  } finally {
    t.cleanup();
  }
});

test("the registry and the actor are the io's, not this process's", async () => {
  const t = tempDir();
  try {
    const reg = join(t.path, 'elsewhere');
    const env = { NO_COLOR: '1', MLREG_REGISTRY: reg, MLREG_ACTOR: 'io-actor' };
    assert.equal(await runCli(argv('init'), io(t.path, env).io), 0, 'init creates $MLREG_REGISTRY of the io');
    assert.ok(existsSync(join(reg, 'mlreg.db')));
    writeFileSync(join(t.path, 'model.bin'), 'weights');
    const added = io(t.path, env);
    assert.equal(
      await runCli(argv('add', 'model', 'm', join(t.path, 'model.bin'), '--json'), added.io),
      0,
      added.out(),
    );
    const history = io(t.path, env);
    assert.equal(await runCli(argv('history', 'm', '--all', '--json'), history.io), 0, history.out());
    assert.equal(JSON.parse(history.out()).data.events[0].actor, 'io-actor');
  } finally {
    t.cleanup();
  }
});

test('bare mlreg prints its usage (exit 0); a group without its subcommand prints the group usage (exit 2)', async () => {
  const t = tempDir();
  try {
    const env = { NO_COLOR: '1' };
    const bare = io(t.path, env);
    assert.equal(await runCli(argv(), bare.io), 0);
    assert.match(bare.out(), /^Usage: mlreg/);
    const json = io(t.path, env);
    assert.equal(await runCli(argv('--json'), json.io), 0);
    assert.ok(JSON.parse(json.out()).data.commands.includes('promote'));
    for (const group of [['eval'], ['monitor'], ['config'], ['review'], ['monitor', 'rule']]) {
      const g = io(t.path, env);
      assert.equal(await runCli(argv(...group), g.io), 2, group.join(' '));
      assert.match(g.err(), new RegExp(`Usage: mlreg ${group.join(' ')}`), group.join(' '));
      assert.equal(g.out(), '');
    }
  } finally {
    t.cleanup();
  }
});
