import { accessSync, constants, statfsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { ConflictError, DiskError, IntegrityError, InvalidInputError, MlregError } from '../errors.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * SQLite's failures as errors a user can act on. Apart from db.ts so that the CLI's last-resort
 * mapping does not load better-sqlite3 for commands that never open the index.
 */

/** Map SQLite's failures to errors a user can act on. */
export function translateSqliteError(err: unknown, file: string): unknown {
  if (err instanceof MlregError || !(err instanceof Error)) return err;
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED') {
    return new ConflictError(`the registry is locked by another mlreg process and did not come free in time`, {
      code: 'E_LOCK_TIMEOUT',
      hint: 'Another writer held the index too long. Run the command again, or raise MLREG_LOCK_TIMEOUT (milliseconds).',
      cause: err,
    });
  }
  if ((code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_')) && !stillDamaged(file)) {
    // A read the disk failed once looks like damage to SQLite; a second look tells them apart.
    return new DiskError(`the registry index ${file} could not be read (${err.message}), but it reads clean now`, {
      code: 'E_IO',
      hint: 'A transient read error of the disk, not damage to the index: nothing was changed. Run the command again; if it recurs, check the disk (dmesg) and run `mlreg verify`.',
      cause: err,
    });
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_')) {
    return new IntegrityError(`the registry index ${file} is not a readable SQLite database (${err.message})`, {
      code: 'E_INDEX_CORRUPT',
      // A failing disk can return garbage once: only a damage that stays is worth a restore.
      hint: `If the disk reported errors (dmesg), run the command again first. If \`mlreg verify\` fails too, restore the registry from a backup (mlreg restore FILE ${optionRef('into')} DIR); do not write to it meanwhile.`,
      cause: err,
    });
  }
  if (code === 'SQLITE_FULL' || (code.startsWith('SQLITE_IOERR') && deviceFull(file))) {
    return new DiskError(`no space left on the device holding the registry index ${file}`, {
      code: 'E_NO_SPACE',
      hint: 'Free some space there (mlreg gc removes unreferenced objects) and run the command again; the change was rolled back.',
      cause: err,
    });
  }
  if (code === 'SQLITE_IOERR' || code.startsWith('SQLITE_IOERR_')) {
    return new DiskError(`the disk failed a read or write of the registry index ${file} (${err.message}, ${code})`, {
      code: 'E_IO',
      hint: 'An I/O error of the device, not damage to the index: the change was rolled back. Run the command again; if it persists, check the disk (dmesg) and then run `mlreg verify`.',
      cause: err,
    });
  }
  if (
    code === 'SQLITE_READONLY' ||
    code.startsWith('SQLITE_READONLY_') ||
    code === 'SQLITE_CANTOPEN' ||
    code === 'SQLITE_PERM' ||
    code === 'SQLITE_AUTH'
  ) {
    // SQLite reports any failed open (EIO too) as "cannot open" or, after falling back to a
    // read-only open, as "readonly database": blame permissions only when they are the cause.
    if (mayWrite(file)) {
      return new DiskError(
        `the registry index ${file} could not be opened although its permissions allow it (SQLite: ${code})`,
        {
          code: 'E_IO',
          hint: 'The disk or file system refused to open it (an I/O error, a full disk, too many open files). Run the command again; if it persists, check the disk (dmesg).',
          cause: err,
        },
      );
    }
    return new InvalidInputError(`cannot open the registry index ${file} for writing (${err.message})`, {
      code: 'E_PERMISSION',
      hint: 'Check the owner and permissions of the registry folder and mlreg.db (ls -l); mlreg needs to write mlreg.db, mlreg.db-wal and mlreg.db-shm.',
      cause: err,
    });
  }
  return err;
}

/** A fresh read-only look at the index: true unless it opens and passes quick_check. */
function stillDamaged(file: string): boolean {
  let db: import('better-sqlite3').Database | undefined;
  try {
    const require = createRequire(import.meta.url);
    const Database = require('better-sqlite3') as typeof import('better-sqlite3');
    db = new Database(file, { readonly: true, fileMustExist: true });
    return db.pragma('quick_check', { simple: true }) !== 'ok';
  } catch {
    return true;
  } finally {
    db?.close();
  }
}

/** True when the device holding `file` has no block left (SQLite reports a full disk as an I/O error of -shm). */
function deviceFull(file: string): boolean {
  try {
    return statfsSync(dirname(file)).bavail === 0;
  } catch {
    return false;
  }
}

/** True when this process may write the index and create its -wal and -shm next to it. */
function mayWrite(file: string): boolean {
  try {
    accessSync(file, constants.W_OK | constants.R_OK);
    accessSync(dirname(file), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
