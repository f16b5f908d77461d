import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DiskError, ExitCode, fromSystemError, MlregError } from '../../../src/core/errors.js';
import { translateSqliteError } from '../../../src/core/registry/sqlite-errors.js';
import { tempDir } from '../../helpers.js';

function sysErr(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${syscall}`), { code, syscall, ...(path ? { path } : {}) });
}

function sqliteErr(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

describe('I/O errors of the disk are exit 7, never 70', () => {
  it('EIO from read, write, open and fsync is E_IO naming the file', () => {
    for (const call of ['read', 'write', 'open', 'fsync']) {
      const e = fromSystemError(sysErr('EIO', call), 'copying a.bin into the registry', {
        reading: '/src/a.bin',
        writing: '/reg/tmp/x.obj',
      });
      assert.ok(e instanceof DiskError, call);
      assert.equal(e.exitCode, ExitCode.disk);
      assert.equal(e.code, 'E_IO');
      assert.match(e.message, call === 'read' ? /\/src\/a\.bin/ : /\/reg\/tmp\/x\.obj|\/src\/a\.bin/);
    }
  });
  it('EINVAL from an I/O call is E_IO; from anything else it is left alone', () => {
    assert.equal((fromSystemError(sysErr('EINVAL', 'write'), 'x') as MlregError).code, 'E_IO');
    assert.ok(!((fromSystemError(sysErr('EINVAL', 'stat'), 'x') as object) instanceof MlregError));
  });
  it('ENOSPC names the file being written, not the source, and does not say "nothing was registered" unless told', () => {
    const e = fromSystemError(sysErr('ENOSPC', 'write'), 'backup', { writing: 'the backup file /b/x.tgz.partial' });
    assert.ok(e instanceof DiskError);
    assert.equal(e.code, 'E_NO_SPACE');
    assert.match(e.message, /holding the backup file \/b\/x\.tgz\.partial/);
    assert.doesNotMatch(e.hint, /nothing was registered/);
  });
  it('SQLITE_FULL is E_NO_SPACE, SQLITE_IOERR_* is E_IO with no advice to restore', () => {
    const full = translateSqliteError(sqliteErr('SQLITE_FULL', 'database or disk is full'), '/r/mlreg.db');
    assert.ok(full instanceof DiskError);
    assert.equal(full.code, 'E_NO_SPACE');
    const io = translateSqliteError(sqliteErr('SQLITE_IOERR_READ', 'disk I/O error'), '/r/mlreg.db');
    assert.ok(io instanceof DiskError);
    assert.equal(io.code, 'E_IO');
    assert.doesNotMatch(io.hint, /restore/i);
  });
  it('"readonly database" on an index this process may write is an I/O fault, not a permission problem', () => {
    const t = tempDir();
    try {
      const file = join(t.path, 'mlreg.db');
      writeFileSync(file, '');
      const e = translateSqliteError(sqliteErr('SQLITE_READONLY', 'attempt to write a readonly database'), file);
      assert.ok(e instanceof DiskError);
      assert.doesNotMatch(e.message, /readonly/);
    } finally {
      t.cleanup();
    }
  });
});
