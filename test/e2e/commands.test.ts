import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { cliInProcess, copySeed, tempDir } from '../helpers.js';

/**
 * Walks every command the CLI defines (so commands added later are covered without editing this
 * test): each has a description, examples in its help, and honours --json with exactly one document.
 */
function leaves(cmd: Command, path: string[] = []): { path: string[]; cmd: Command; parent: Command }[] {
  return cmd.commands.flatMap((sub) => {
    const p = [...path, sub.name()];
    return sub.commands.length ? leaves(sub, p) : [{ path: p, cmd: sub, parent: cmd }];
  });
}

const commands = leaves(await buildProgram());
const LONG_RUNNING = new Set(['ui']);

test('the CLI defines the core commands', async () => {
  const names = commands.map((c) => c.path.join(' '));
  for (const n of ['init', 'add', 'list', 'show', 'promote', 'rollback', 'history', 'checkout', 'config set'])
    assert.ok(names.includes(n), n);
});

for (const { path, cmd, parent } of commands) {
  test(`mlreg ${path.join(' ')}: help text with examples, and --json`, async () => {
    assert.ok(cmd.description().length > 10, 'has a description');
    const help = await cliInProcess([...path, '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.ok(help.stdout.replace(/\s+/g, ' ').includes(cmd.description()), 'help shows the description');
    assert.match(help.stdout, /--json/, 'help lists --json');
    const examplesAt =
      path.length > 1 ? (await cliInProcess([...path.slice(0, -1), '--help'])).stdout + help.stdout : help.stdout;
    assert.match(
      examplesAt,
      /Examples:\n {2}\$ mlreg /,
      `examples in the help of ${path.join(' ')} or ${parent.name()}`,
    );

    // `mlreg ui` serves until it is stopped: its --json start line is tested in ui-cli.test.ts.
    if (LONG_RUNNING.has(path.join(' '))) return;
    const t = tempDir();
    try {
      await copySeed('empty', join(t.path, '.mlreg'), async (seedDir) => {
        await cliInProcess(['init'], { cwd: seedDir });
        return join(seedDir, '.mlreg');
      });
      const r = await cliInProcess([...path, '--json'], { cwd: t.path });
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 1, `exactly one line on stdout, got: ${r.stdout}`);
      const doc = JSON.parse(lines[0]!) as {
        ok: boolean;
        data?: unknown;
        error?: { code: string; message: string; hint: string };
      };
      if (doc.ok) assert.ok('data' in doc);
      else {
        assert.match(doc.error!.code, /^E_[A-Z_]+$/);
        assert.ok(doc.error!.message.length > 0);
        assert.equal(typeof doc.error!.hint, 'string');
        assert.notEqual(r.code, 0);
      }
    } finally {
      t.cleanup();
    }
  });
}
