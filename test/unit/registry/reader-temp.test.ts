import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Registry } from '../../../src/core/registry/registry.js';
import { tempDir, testRuntime } from '../../helpers.js';

/** A registry opened for reading keeps its temp files out of the registry, and cleans up after itself and the dead. */

test('reading: temp files go to a private folder outside the registry, removed by close(); a dead reader’s folder is removed', () => {
  const t = tempDir();
  const host = hostname().replace(/[^A-Za-z0-9.]/g, '_') || 'host';
  // A pid that surely ran and is gone.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const leftover = join(tmpdir(), `mlreg-read-${host}-${dead.stdout}-left`);
  mkdirSync(leftover, { recursive: true });
  try {
    Registry.init(join(t.path, 'reg'), testRuntime);
    const reg = Registry.openForReading(join(t.path, 'reg'), { ...testRuntime, pid: process.pid });
    const p = reg.tempPath('sample.csv');
    assert.ok(!p.startsWith(join(t.path, 'reg')), p);
    assert.ok(existsSync(dirname(p)));
    assert.equal(existsSync(leftover), false, 'the folder of a dead reader was removed');
    assert.equal(reg.cleanStaleTemp().length, 0);
    reg.close();
    assert.equal(existsSync(dirname(p)), false, 'close() removes the private folder');
    assert.deepEqual(readdirSync(join(t.path, 'reg', 'tmp')), []);
  } finally {
    t.cleanup();
  }
});
