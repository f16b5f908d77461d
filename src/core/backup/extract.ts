import { createHash, type Hash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, statfsSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { DiskError, fromSystemError, IntegrityError, InvalidInputError, MlregError, NotFoundError } from '../errors.js';
import { checkEntry, memberDigest, objectMemberPath, type BackupManifest, type BackupMember } from './format.js';
import { badArchive, readBackup, readBackupManifest } from './read.js';
import { currentFormatVersion } from '../registry/migrations.js';
import type { EntrySink } from './tar.js';
import { checkHostileIndex, checkManifestPaths, hostileIndexError } from '../registry/index-check.js';
import { writeFully } from '../lib/fs.js';
import { optionRef } from '../lib/option-ref.js';

// Reading archives member by member, re-hashing every byte against the manifest, and checking the
// index inside: shared by restore (which writes the members) and backup verify (which does not).

/**
 * Extract the archive and, for an incremental one, the objects it needs from its bases. Every byte
 * is hashed on the way in and compared with the manifest. Returns the top manifest.
 */
export async function extractChain(
  file: string,
  baseFiles: readonly string[],
  dest: string | null,
  onProgress?: (done: number, total: number) => void,
  /**
   * Without `dest` (backup verify): objects of the bases to write all the same, into `keep.dir`,
   * so the caller can check them (the version manifests an incremental backup's index names).
   */
  keep?: { dir: string; digests: ReadonlySet<string> },
): Promise<{ manifest: BackupManifest; bases: string[]; heldBy: Map<string, string> }> {
  const top = await readBackupManifest(file);
  if (dest) checkSpace(dest, top.counts.memberBytes + top.external.reduce((s, x) => s + x.size, 0));
  const byId = new Map<string, string>();
  for (const b of baseFiles) byId.set((await readBackupManifest(resolve(b))).id, resolve(b));
  for (const r of top.requires) {
    if (!byId.has(r.id)) {
      throw new NotFoundError(
        `${basename(file)} is incremental and needs its base backup ${r.file} (id ${r.id}, made ${r.createdAt})`,
        {
          code: 'E_BASE_MISSING',
          hint: `Pass it with ${optionRef('base')} ${r.file} (give every base of the chain).`,
          details: { missing: r },
        },
      );
    }
  }
  const total = top.counts.memberBytes + top.external.reduce((s, x) => s + x.size, 0);
  let done = 0;
  const progress = (n: number): void => onProgress?.((done += n), total);
  await extractOne(file, top.id, null, dest, progress);
  const used: string[] = [];
  /** Which base archive each external object came from (for messages about what it holds). */
  const heldBy = new Map<string, string>();
  for (const r of top.requires) {
    const external = top.external.filter((x) => x.backup === r.id);
    for (const x of external) heldBy.set(x.digest, byId.get(r.id)!);
    const wanted = new Set(external.map((x) => objectMemberPath(x.digest)));
    if (wanted.size === 0) continue;
    if (dest === null && keep) {
      const kept = new Set(external.filter((x) => keep.digests.has(x.digest)).map((x) => objectMemberPath(x.digest)));
      await extractOne(byId.get(r.id)!, r.id, wanted, keep.dir, progress, kept);
    } else await extractOne(byId.get(r.id)!, r.id, wanted, dest, progress);
    used.push(byId.get(r.id)!);
    for (const p of wanted) {
      if (dest && !existsSync(join(dest, p)))
        throw badArchive(byId.get(r.id)!, `it lacks ${p}, which ${basename(file)} says it holds`);
    }
  }
  return { manifest: top, bases: used, heldBy };
}

/** Refuse before writing anything when the backup declares more bytes than the disk has free. */
function checkSpace(dest: string, bytes: number): void {
  let free: number;
  try {
    const st = statfsSync(dest);
    free = st.bavail * st.bsize;
  } catch {
    return; // a filesystem that cannot say: the write itself will fail with ENOSPC
  }
  if (bytes > free) {
    throw new InvalidInputError(
      `the backup declares ${bytes} bytes; only ${free} are free where it would be restored`,
      {
        code: 'E_NO_SPACE',
        hint: 'Free some space or restore elsewhere; nothing was written.',
      },
    );
  }
}

/**
 * Read one archive, checking every entry (checkEntry), hashing every member, and writing those
 * wanted (all when `only` is null) under `dest` (nothing when dest is null: backup verify), or only
 * those of `write` when given.
 */
async function extractOne(
  file: string,
  expectId: string,
  only: Set<string> | null,
  dest: string | null,
  progress: (n: number) => void,
  write?: ReadonlySet<string>,
): Promise<void> {
  const seen = new Set<string>();
  let expected = new Map<string, BackupMember>();
  const manifest = await readBackup(
    file,
    (m) => {
      if (m.id !== expectId) throw badArchive(file, `it is backup ${m.id}, not ${expectId}`);
      expected = new Map(m.members.map((x) => [x.path, x]));
    },
    async (e) => {
      const member = checkEntry(basename(file), e, expected, seen);
      const wanted = only === null || only.has(member.path);
      const keep = dest !== null && wanted && (write === undefined || write.has(member.path));
      return hashingSink(file, member, keep ? join(dest!, member.path) : null, progress);
    },
  );
  const missing = manifest.members.filter((m) => !seen.has(m.path));
  if (missing.length)
    throw badArchive(
      file,
      `it is truncated: ${missing.length} member(s) its manifest lists are absent, e.g. ${missing[0]!.path}`,
    );
}

/** Hash an entry's bytes, writing them to `path` (created new, fsynced) when given. */
export async function hashingSink(
  file: string,
  m: BackupMember,
  path: string | null,
  progress: (n: number) => void,
): Promise<EntrySink> {
  const hash: Hash = createHash('sha256');
  let fh: FileHandle | undefined;
  let pos = 0;
  if (path) {
    mkdirSync(dirname(path), { recursive: true });
    fh = await open(path, 'wx', 0o600);
  }
  return {
    write: async (chunk) => {
      hash.update(chunk);
      if (fh) {
        await writeFully(fh, chunk, pos);
      }
      pos += chunk.length;
      progress(chunk.length);
    },
    abort: async () => {
      const open = fh;
      fh = undefined;
      await open?.close().catch(() => {});
    },
    end: async () => {
      if (fh) {
        const open = fh;
        fh = undefined;
        try {
          await open.sync();
        } finally {
          await open.close();
        }
      }
      const actual = hash.digest('hex');
      if (actual !== m.sha256) {
        throw new IntegrityError(
          `${basename(file)}: ${m.path} is corrupt: its bytes hash to sha256:${actual}, the manifest says sha256:${m.sha256}`,
          {
            code: 'E_BACKUP_CORRUPT',
            hint: 'Nothing was restored. Use another backup; run `mlreg backup verify` on your backups to find a good one.',
          },
        );
      }
      if (path && memberDigest(m.path)) chmodSync(path, 0o444);
    },
  };
}

/**
 * Check an extracted index against the manifest and the objects that came with it. The index was
 * just written to a disk that may fail a read: a failure that does not repeat on a second look is
 * that disk's fault (exit 7), not damage to the archive (exit 5, "use another backup").
 */
export function checkIndex(
  file: string,
  dbPath: string,
  manifest: BackupManifest,
  objectSize: (digest: string) => number | undefined,
  /** The bytes of a version's manifest object, when the caller has them (undefined: not checked). */
  readManifest: (digest: string) => Buffer | undefined = () => undefined,
  /** The base archive an object came from, when not from `file` itself. */
  heldBy: (digest: string) => string | undefined = () => undefined,
): void {
  const once = (): void => checkIndexOnce(file, dbPath, manifest, objectSize, readManifest, heldBy);
  try {
    once();
    return;
  } catch (err) {
    const fault = readFault(file, dbPath, err);
    if (fault) throw fault;
    if (!(err instanceof IntegrityError) && !isSqliteDamage(err)) throw err;
    try {
      once();
    } catch (again) {
      throw readFault(file, dbPath, again) ?? (isSqliteDamage(again) ? damagedIndex(file, again) : again);
    }
    throw extractedReadFault(file, dbPath, (err as Error).message);
  }
}

/** SQLite's "malformed" / "not a database": damage, or a read that failed once. */
function isSqliteDamage(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? '';
  return !(err instanceof MlregError) && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

function damagedIndex(file: string, err: unknown): IntegrityError {
  return new IntegrityError(`${basename(file)}: its index is damaged (${(err as Error).message})`, {
    code: 'E_BACKUP_CORRUPT',
    hint: 'Nothing was restored. Use another backup.',
    cause: err,
  });
}

/** A DiskError when `err` is the disk failing a read of the extracted index (an errno or SQLite I/O error). */
function readFault(file: string, dbPath: string, err: unknown): DiskError | undefined {
  if (err instanceof MlregError) return undefined;
  const code = (err as { code?: string }).code ?? '';
  const mapped = fromSystemError(err, 'reading the extracted index');
  if (code.startsWith('SQLITE_IOERR') || mapped instanceof DiskError)
    return extractedReadFault(file, dbPath, (err as Error).message);
  return undefined;
}

function extractedReadFault(file: string, dbPath: string, what: string): DiskError {
  return new DiskError(
    `${basename(file)}: the disk failed a read of the index extracted from it to ${dbPath} (${what}); a second look reads it clean or fails the same way`,
    {
      code: 'E_IO',
      hint: `An I/O error of the disk holding ${dirname(dbPath)}, not damage to the archive: nothing was put in place. Run the command again; if it persists, check that disk (dmesg).`,
    },
  );
}

function checkIndexOnce(
  file: string,
  dbPath: string,
  manifest: BackupManifest,
  objectSize: (digest: string) => number | undefined,
  readManifest: (digest: string) => Buffer | undefined,
  heldBy: (digest: string) => string | undefined,
): void {
  let db: Database.Database;
  try {
    db = new Database(dbPath, { readonly: true });
  } catch (err) {
    if (readFault(file, dbPath, err)) throw err;
    throw new IntegrityError(`${basename(file)}: its mlreg.db cannot be opened (${(err as Error).message})`, {
      code: 'E_BACKUP_CORRUPT',
      hint: 'Use another backup.',
    });
  }
  try {
    const fail = (what: string): IntegrityError =>
      new IntegrityError(`${basename(file)}: its index ${what}`, {
        code: 'E_BACKUP_CORRUPT',
        hint: 'Nothing was restored. Use another backup.',
      });
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > currentFormatVersion()) {
      throw new InvalidInputError(
        `${basename(file)} holds a registry of format ${version}, newer than this mlreg understands (${currentFormatVersion()})`,
        {
          code: 'E_FORMAT_TOO_NEW',
          hint: 'Upgrade mlreg to restore it; nothing was written.',
        },
      );
    }
    const check = db.prepare('PRAGMA integrity_check').pluck().all() as string[];
    if (check[0] !== 'ok') throw fail(`fails integrity_check: ${check.slice(0, 3).join('; ')}`);
    const hostile = checkHostileIndex(db);
    if (hostile.length)
      throw hostileIndexError(
        basename(file),
        hostile,
        'Nothing was restored. Use another backup; do not put this index in place by hand.',
      );
    const fk = db.prepare('PRAGMA foreign_key_check').all() as { table: string }[];
    if (fk.length) throw fail(`has ${fk.length} broken foreign key(s), e.g. in ${fk[0]!.table}`);
    const count = (t: string): number => db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get() as number;
    for (const t of ['artifacts', 'versions', 'events'] as const) {
      if (count(t) !== manifest.counts[t])
        throw fail(`holds ${count(t)} ${t}; the manifest says ${manifest.counts[t]}`);
    }
    const objects = db.prepare('SELECT digest, MAX(size) AS size FROM version_objects GROUP BY digest').all() as {
      digest: string;
      size: number;
    }[];
    for (const o of objects) {
      const size = objectSize(o.digest);
      if (size !== o.size)
        throw fail(
          `references object sha256:${o.digest} (${o.size} bytes), which the backup ${size === undefined ? 'does not hold' : `holds with ${size} bytes`}`,
        );
    }
    const paths = checkManifestPaths(db, readManifest, (d) => {
      const base = heldBy(d);
      return base && basename(base);
    });
    if (paths.length) throw hostileIndexError(basename(file), paths, 'Nothing was restored. Use another backup.');
  } finally {
    db.close();
  }
}
