import { createHash, type Hash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statfsSync,
  statSync,
} from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import {
  ConflictError,
  fromSystemError,
  IntegrityError,
  InvalidInputError,
  MlregError,
  NotFoundError,
} from '../errors.js';
import {
  checkEntry,
  DB_MEMBER,
  memberDigest,
  objectMemberPath,
  type BackupManifest,
  type BackupMember,
} from './format.js';
import { badArchive, readBackup, readBackupManifest } from './read.js';
import { currentFormatVersion } from '../registry/migrations.js';
import { fsyncDir, Registry, type Runtime } from '../registry/registry.js';
import type { EntrySink } from './tar.js';
import { verifyRegistry } from '../store/verify.js';

/**
 * `mlreg restore FILE --into DIR` and `mlreg backup verify FILE`.
 *
 * Restore extracts into a private temp folder next to DIR (same filesystem, so the final step is
 * one rename), accepting only the regular files the manifest lists, with the manifest's sizes,
 * re-hashing every byte on the way in; then checks the index (integrity_check, foreign keys, every
 * referenced object present with the right size, the counts of the manifest) and only then renames
 * the folder into place. Any refusal removes the temp folder: nothing is left anywhere. With
 * `force`, an existing registry at DIR is moved aside first and removed only once the new one has
 * opened and passed a quick verify; otherwise it is moved back.
 */

export interface RestoreOptions {
  into: string;
  bases?: readonly string[] | undefined;
  force?: boolean | undefined;
  runtime: Runtime;
  onProgress?: ((done: number, total: number) => void) | undefined;
}

export interface RestoreResult {
  into: string;
  id: string;
  kind: BackupManifest['kind'];
  createdAt: string;
  counts: BackupManifest['counts'];
  bases: string[];
  /** True when --force replaced a registry (kept aside until the new one verified, then removed). */
  replaced: boolean;
}

const TEMP_PREFIX = '.mlreg-restore-';
const ASIDE_PREFIX = '.mlreg-replaced-';

export async function restoreBackup(fileArg: string, opts: RestoreOptions): Promise<RestoreResult> {
  const file = resolve(fileArg);
  const into = resolve(opts.into);
  const parent = dirname(into);
  const replacing = checkTarget(into, !!opts.force);
  mkdirSync(parent, { recursive: true });
  cleanLeftovers(parent, opts.runtime);
  const work = mkdtempSync(join(parent, `${TEMP_PREFIX}${opts.runtime.pid}-`));
  const staged = join(work, 'registry');
  let replacedAside: string | undefined;
  try {
    mkdirSync(staged);
    const { manifest, bases } = await extractChain(file, opts.bases ?? [], staged, opts.onProgress);
    for (const sub of ['objects/sha256', 'tmp']) mkdirSync(join(staged, sub), { recursive: true });
    checkIndex(file, join(staged, DB_MEMBER), manifest, (digest) => sizeOf(join(staged, objectMemberPath(digest))));
    for (const d of readdirSync(join(staged, 'objects', 'sha256'))) fsyncDir(join(staged, 'objects', 'sha256', d));
    for (const d of ['objects/sha256', 'objects', 'tmp', '']) fsyncDir(join(staged, d));

    if (replacing) {
      replacedAside = join(parent, `${ASIDE_PREFIX}${opts.runtime.pid}-${basename(into)}-${Date.now()}`);
      renameSync(into, replacedAside);
    } else if (existsSync(into)) rmdirSync(into); // an empty folder
    renameSync(staged, into);
    fsyncDir(parent);
    if (replacedAside) {
      try {
        const reg = Registry.open(into, opts.runtime);
        try {
          const quick = await verifyRegistry(reg, { quick: true });
          if (!quick.ok)
            throw new IntegrityError(`the restored registry failed verify: ${quick.problems[0]!.message}`, {
              code: 'E_RESTORE_VERIFY',
              hint: 'The registry that was there is back in place; use another backup.',
            });
        } finally {
          reg.close();
        }
      } catch (err) {
        renameSync(into, join(work, 'rejected'));
        renameSync(replacedAside, into);
        replacedAside = undefined;
        throw err;
      }
      rmSync(replacedAside, { recursive: true, force: true });
    }
    return {
      into,
      id: manifest.id,
      kind: manifest.kind,
      createdAt: manifest.createdAt,
      counts: manifest.counts,
      bases,
      replaced: replacing,
    };
  } catch (err) {
    throw fromSystemError(err, 'restore');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** True when DIR holds a registry that --force may replace; throws when DIR must not be touched. */
function checkTarget(into: string, force: boolean): boolean {
  if (!existsSync(into)) return false;
  if (!statSync(into).isDirectory())
    throw new InvalidInputError(`${into} exists and is not a folder`, {
      code: 'E_RESTORE_TARGET',
      hint: 'Restore into a new or empty folder.',
    });
  const names = readdirSync(into);
  if (names.length === 0) return false;
  const isRegistry = names.includes('mlreg.db');
  if (!isRegistry) {
    throw new ConflictError(`${into} is not empty and holds no registry; restore will not replace it`, {
      code: 'E_RESTORE_TARGET',
      hint: 'Restore into a new or empty folder.',
    });
  }
  if (!force) {
    throw new ConflictError(`${into} already holds a registry`, {
      code: 'E_RESTORE_TARGET',
      hint: 'Restore into a new folder, or pass --force to replace it (the old one is kept aside until the new one verifies).',
    });
  }
  return true;
}

/** Temp folders of restores that were killed (their pid is gone). */
function cleanLeftovers(parent: string, runtime: Runtime): void {
  for (const name of readdirSync(parent)) {
    const m = new RegExp(`^\\${TEMP_PREFIX}(\\d+)-`).exec(name);
    if (m && Number(m[1]) !== runtime.pid && !runtime.isProcessAlive(Number(m[1])))
      rmSync(join(parent, name), { recursive: true, force: true });
  }
}

function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/**
 * Extract the archive and, for an incremental one, the objects it needs from its bases. Every byte
 * is hashed on the way in and compared with the manifest. Returns the top manifest.
 */
async function extractChain(
  file: string,
  baseFiles: readonly string[],
  dest: string | null,
  onProgress?: (done: number, total: number) => void,
): Promise<{ manifest: BackupManifest; bases: string[] }> {
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
          hint: `Pass it with --base ${r.file} (give every base of the chain).`,
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
  for (const r of top.requires) {
    const wanted = new Set(top.external.filter((x) => x.backup === r.id).map((x) => objectMemberPath(x.digest)));
    if (wanted.size === 0) continue;
    await extractOne(byId.get(r.id)!, r.id, wanted, dest, progress);
    used.push(byId.get(r.id)!);
    for (const p of wanted) {
      if (dest && !existsSync(join(dest, p)))
        throw badArchive(byId.get(r.id)!, `it lacks ${p}, which ${basename(file)} says it holds`);
    }
  }
  return { manifest: top, bases: used };
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
 * wanted (all when `only` is null) under `dest` (nothing when dest is null: backup verify).
 */
async function extractOne(
  file: string,
  expectId: string,
  only: Set<string> | null,
  dest: string | null,
  progress: (n: number) => void,
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
      const write = dest !== null && (only === null || only.has(member.path));
      return hashingSink(file, member, write ? join(dest!, member.path) : null, progress);
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
async function hashingSink(
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
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off, pos + off)).bytesWritten;
      }
      pos += chunk.length;
      progress(chunk.length);
    },
    end: async () => {
      if (fh) {
        await fh.sync();
        await fh.close();
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

/** Check an extracted index against the manifest and the objects that came with it. */
function checkIndex(
  file: string,
  dbPath: string,
  manifest: BackupManifest,
  objectSize: (digest: string) => number | undefined,
): void {
  let db: Database.Database;
  try {
    db = new Database(dbPath, { readonly: true });
  } catch (err) {
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
  } finally {
    db.close();
  }
}

export interface BackupCheck {
  file: string;
  id: string;
  kind: BackupManifest['kind'];
  createdAt: string;
  tool: BackupManifest['tool'];
  counts: BackupManifest['counts'];
  /** Objects held by bases that were not given, so not checked. */
  unchecked: number;
  bases: string[];
}

/**
 * `mlreg backup verify FILE [--base …]`: read the whole archive (and the given bases), re-hash every
 * member against the manifest, and check the index inside it, without restoring anything.
 */
export async function verifyBackup(
  fileArg: string,
  opts: { bases?: readonly string[] | undefined } = {},
): Promise<BackupCheck> {
  const file = resolve(fileArg);
  const top = await readBackupManifest(file);
  const work = mkdtempSync(join(tmpdir(), 'mlreg-backup-verify-'));
  try {
    // Only mlreg.db is written (to a private temp folder) so its index can be checked.
    const seen = new Set<string>();
    const expected = new Map(top.members.map((x) => [x.path, x]));
    const sizes = new Map<string, number>();
    await readBackup(
      file,
      () => {},
      async (e) => {
        const m = checkEntry(basename(file), e, expected, seen);
        const d = memberDigest(m.path);
        if (d) sizes.set(d, m.size);
        return hashingSink(file, m, m.path === DB_MEMBER ? join(work, DB_MEMBER) : null, () => {});
      },
    );
    const missing = top.members.filter((m) => !seen.has(m.path));
    if (missing.length)
      throw badArchive(
        file,
        `it is truncated: ${missing.length} member(s) its manifest lists are absent, e.g. ${missing[0]!.path}`,
      );
    let bases: string[] = [];
    let unchecked = 0;
    if (top.external.length) {
      if (opts.bases?.length) {
        bases = (await extractChain(file, opts.bases, null)).bases;
      } else unchecked = top.external.length;
      for (const x of top.external) if (!sizes.has(x.digest)) sizes.set(x.digest, x.size);
    }
    checkIndex(file, join(work, DB_MEMBER), top, (d) => sizes.get(d));
    return {
      file,
      id: top.id,
      kind: top.kind,
      createdAt: top.createdAt,
      tool: top.tool,
      counts: top.counts,
      unchecked,
      bases,
    };
  } catch (err) {
    if (err instanceof MlregError) throw err;
    throw fromSystemError(err, 'backup verify');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
