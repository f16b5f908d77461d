import Database from 'better-sqlite3';
import { ConflictError, IntegrityError, InvalidInputError, MlregError } from '../errors.js';
import { currentFormatVersion, loadMigrations } from './migrations.js';

export type Db = Database.Database;

export interface OpenDbOptions {
  /** How long a writer waits for another writer before giving up (ms). */
  busyTimeoutMs: number;
  create: boolean;
}

/**
 * Open the index with the settings every connection needs: WAL (readers never block writers),
 * foreign keys, synchronous=FULL (a committed version survives power loss) and a busy timeout so
 * concurrent writers queue instead of failing. Refuses files that are not SQLite and registries of
 * a newer format; applies pending migrations in one transaction.
 */
export function openDb(file: string, opts: OpenDbOptions): Db {
  let db: Db;
  try {
    db = new Database(file, { fileMustExist: !opts.create, timeout: opts.busyTimeoutMs });
  } catch (err) {
    throw translateSqliteError(err, file);
  }
  try {
    const userVersion = db.pragma('user_version', { simple: true }) as number;
    const current = currentFormatVersion();
    if (userVersion > current) {
      throw new InvalidInputError(
        `the registry index ${file} is format ${userVersion}, newer than this mlreg understands (format ${current})`,
        {
          code: 'E_FORMAT_TOO_NEW',
          hint: 'Upgrade mlreg (npm install -g mlreg@latest) to use this registry; nothing was changed.',
        },
      );
    }
    if ((db.pragma('journal_mode', { simple: true }) as string) !== 'wal') db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = FULL');
    if (userVersion < current) migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw translateSqliteError(err, file);
  }
}

function migrate(db: Db): void {
  const apply = db.transaction(() => {
    // Re-read inside the write lock: another process may have migrated meanwhile.
    const from = db.pragma('user_version', { simple: true }) as number;
    for (const m of loadMigrations()) {
      if (m.version <= from) continue;
      try {
        db.exec(m.sql);
      } catch (err) {
        // The tables are not those of the format user_version claims (an index edited by hand or
        // restored from a hostile backup): not a bug, and nothing was changed (one transaction).
        throw new IntegrityError(
          `the registry index says it is format ${from}, but its tables are not (migration ${m.name}: ${(err as Error).message})`,
          {
            code: 'E_INDEX_SCHEMA',
            hint: 'Run `mlreg verify`, and restore the registry from a good backup (mlreg restore FILE --into DIR --force).',
            cause: err,
          },
        );
      }
      db.pragma(`user_version = ${m.version}`);
    }
  });
  apply.immediate();
}

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
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT_')) {
    return new IntegrityError(`the registry index ${file} is not a readable SQLite database (${err.message})`, {
      code: 'E_INDEX_CORRUPT',
      hint: 'Restore the registry from a backup (mlreg restore FILE --into DIR); do not write to it meanwhile.',
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
    return new InvalidInputError(`cannot open the registry index ${file} for writing (${err.message})`, {
      code: 'E_PERMISSION',
      hint: 'Check the owner and permissions of the registry folder and mlreg.db (ls -l); mlreg needs to write mlreg.db, mlreg.db-wal and mlreg.db-shm.',
      cause: err,
    });
  }
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR' || code.startsWith('SQLITE_IOERR_')) {
    return new InvalidInputError(`the registry index ${file} could not be written (${err.message})`, {
      code: 'E_DISK',
      hint: 'Check free space and the health of the disk; the last change was rolled back.',
      cause: err,
    });
  }
  return err;
}
