import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, cliInProcess, tempDir, writeBigFile } from '../helpers.js';

/**
 * A write may take fewer bytes than asked (a full disk, a file size limit). The store and checkout
 * hash what they read, so a short write they did not notice left a truncated file under a digest
 * or in a version folder that claimed to be complete. A file size limit (ulimit -f, in KiB) in the
 * middle of the last 1 MiB chunk makes the short write happen on demand.
 */

function limited(kib: number, args: string[], cwd: string): { code: number | null; stdout: string } {
  const r = spawnSync('bash', ['-c', `ulimit -f ${kib}; exec "$@"`, 'bash', process.execPath, BIN, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', MLREG_ACTOR: 'tester' },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout };
}

function objectSizes(reg: string): number[] {
  const base = join(reg, 'objects', 'sha256');
  return readdirSync(base).flatMap((d) => readdirSync(join(base, d)).map((f) => statSync(join(base, d, f)).size));
}

test('add under a file size limit fails and registers nothing, instead of storing a truncated blob', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    assert.equal((await cliInProcess(['init'], { cwd })).code, 0);
    writeBigFile(join(cwd, 'model.bin'), 2); // 2 MiB; the limit cuts the second chunk short
    const r = limited(1100, ['add', 'model', 'm', join(cwd, 'model.bin'), '--json'], cwd);
    assert.notEqual(r.code, 0, `add must not succeed: ${r.stdout}`);
    assert.deepEqual((await cliInProcess(['list', '--json'], { cwd })).json?.data.artifacts, []);
    assert.ok(
      objectSizes(join(cwd, '.mlreg')).every((s) => s !== 1100 * 1024),
      'no truncated object',
    );
  } finally {
    t.cleanup();
  }
});

test('checkout under a file size limit fails before current moves, instead of serving a truncated file', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    assert.equal((await cliInProcess(['init'], { cwd })).code, 0);
    writeBigFile(join(cwd, 'model.bin'), 2);
    assert.equal((await cliInProcess(['add', 'model', 'm', join(cwd, 'model.bin')], { cwd })).code, 0);
    const srv = join(cwd, 'srv');
    const r = limited(1100, ['checkout', 'm@1.0.0', srv, '--json'], cwd);
    assert.notEqual(r.code, 0, `checkout must not succeed: ${r.stdout}`);
    assert.equal(existsSync(join(srv, 'current')), false, 'current was not switched');
    assert.equal(existsSync(join(srv, 'versions', '1.0.0')), false, 'no version folder claims to be complete');
    assert.equal((await cliInProcess(['verify', '--json'], { cwd })).code, 0);
  } finally {
    t.cleanup();
  }
});
