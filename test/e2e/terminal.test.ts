import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, cli, tempDir } from '../helpers.js';

/**
 * What a person at a terminal sees: colour and a progress bar on a TTY, neither in a pipe, and no
 * colour with NO_COLOR. `script` (util-linux) gives the CLI a real pseudo-terminal.
 */
function onTerminal(args: string[], cwd: string, env: Record<string, string | undefined>): string {
  const log = join(cwd, `tty-${Math.random().toString(36).slice(2)}.log`);
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, MLREG_ACTOR: 'tty', ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete fullEnv[k];
  const r = spawnSync('script', ['-qec', command, log], { cwd, env: fullEnv, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(log, 'utf8');
}

test('a large add shows a progress bar and colour on a terminal, neither in a pipe, and NO_COLOR turns colour off', () => {
  const t = tempDir();
  try {
    cli(['init'], { cwd: t.path });
    const big = join(t.path, 'big.bin');
    writeFileSync(big, randomBytes(80 * 1024 * 1024));
    const tty = onTerminal(['add', 'model', 'big', big], t.path, {
      CI: undefined,
      NO_COLOR: undefined,
      FORCE_COLOR: undefined,
    });
    assert.match(tty, /adding big \[.*\] \d+% \d+\/80 MiB/, 'progress bar on the terminal');
    assert.match(tty, /\x1b\[32mAdded\x1b\[39m/, 'colour on the terminal');
    const noColor = onTerminal(['list'], t.path, { CI: undefined, NO_COLOR: '1', FORCE_COLOR: undefined });
    assert.doesNotMatch(noColor, /\x1b\[[0-9;]*m/, 'NO_COLOR: no colour codes');
    writeFileSync(big, randomBytes(80 * 1024 * 1024));
    const piped = cli(['add', 'model', 'big', big], { cwd: t.path, env: { CI: undefined, NO_COLOR: undefined } });
    assert.equal(piped.code, 0);
    assert.equal(piped.stderr, '', 'no progress in a pipe');
    assert.doesNotMatch(piped.stdout, /\x1b/, 'no colour in a pipe');
  } finally {
    t.cleanup();
  }
});
