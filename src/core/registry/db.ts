import { readFileSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { fromSystemError, IntegrityError, InvalidInputError } from '../errors.js';
import { translateSqliteError } from './sqlite-errors.js';

export { translateSqliteError };
import { currentFormatVersion, loadMigrations } from './migrations.js';
import { optionRef } from '../lib/option-ref.js';

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
    const userVersion = checkFormat(db, file, true);
    if ((db.pragma('journal_mode', { simple: true }) as string) !== 'wal') db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = FULL');
    if (userVersion < currentFormatVersion()) migrate(db);
    return db;
  } catch (err) {
    db.close();
    throw translateSqliteError(err, file);
  }
}

/** How a reading command got its view of the index. */
export type ReadMode =
  /** A normal read-only connection: locks and the WAL are honoured, so it sees every commit. */
  | 'shared'
  /**
   * A private in-memory copy of mlreg.db, taken when SQLite cannot open the index even read-only:
   * no -shm can be made (a read-only folder, another user's registry, a read-only mount) or the
   * disk is full. Needs no write anywhere; the trade-off is that commits still only in
   * mlreg.db-wal (not yet checkpointed) are not seen.
   */
  | 'copy';

/**
 * Open the index for a command that only reads: never migrates, never writes, and still works on
 * a read-only folder or a full disk (see ReadMode). Refuses a format it does not know.
 */
export function openDbForReading(file: string, opts: { busyTimeoutMs: number }): { db: Db; mode: ReadMode } {
  let db: Db | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: opts.busyTimeoutMs });
    checkFormat(db, file, false);
    return { db, mode: 'shared' };
  } catch (err) {
    db?.close();
    if (!needsCopy(err)) throw translateSqliteError(err, file);
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw fromSystemError(err, 'the registry index', { reading: file });
  }
  // Bytes 18-19 say "WAL"; an in-memory database cannot be in WAL mode, and the copy is complete
  // without it except for what only the -wal file holds (ReadMode 'copy').
  if (bytes.length >= 20 && bytes[18] === 2 && bytes[19] === 2) {
    bytes[18] = 1;
    bytes[19] = 1;
  }
  try {
    db = new Database(bytes, { readonly: true });
    checkFormat(db, file, false);
    return { db, mode: 'copy' };
  } catch (err) {
    db?.close();
    throw translateSqliteError(err, file);
  }
}

/** Failures a copy in memory gets around: opening the -shm or -wal, or a disk that cannot take them. */
function needsCopy(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  return /^SQLITE_(READONLY|CANTOPEN|IOERR|FULL|PERM)/.test(code);
}

/** True when mlreg.db-wal holds frames that a copy of mlreg.db alone would miss. */
export function walHasFrames(file: string): boolean {
  try {
    return statSync(`${file}-wal`).size > 32;
  } catch {
    return false;
  }
}

function checkFormat(db: Db, file: string, mayMigrate: boolean): number {
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
  if (userVersion < current && !mayMigrate) {
    throw new InvalidInputError(
      `the registry index ${file} is format ${userVersion}, older than this mlreg's ${current}, and cannot be upgraded here because it cannot be written`,
      {
        code: 'E_FORMAT_OLD',
        hint: 'Run any mlreg command once as a user who may write the registry folder: it upgrades the format in place.',
      },
    );
  }
  return userVersion;
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
            hint: `Run \`mlreg verify\`, and restore the registry from a good backup (mlreg restore FILE ${optionRef('into')} DIR ${optionRef('force')}).`,
            cause: err,
          },
        );
      }
      db.pragma(`user_version = ${m.version}`);
    }
  });
  apply.immediate();
}
