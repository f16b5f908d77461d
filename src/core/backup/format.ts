import { IntegrityError, InvalidInputError } from '../errors.js';
import type { TarEntry } from './tar.js';

/**
 * The backup archive format (see docs/backup.md): a tar whose first entry is `manifest.json`,
 * followed by `mlreg.db` (a consistent snapshot of the index) and the objects at their registry
 * paths. The manifest lists every member with its size and sha256; an incremental backup lists the
 * objects its bases hold instead of carrying them. Nothing else may appear in an archive.
 */

export const BACKUP_FORMAT = 'mlreg-backup';
export const BACKUP_FORMAT_VERSION = 1;
export const MANIFEST_NAME = 'manifest.json';
export const DB_MEMBER = 'mlreg.db';
export const MAX_MANIFEST_BYTES = 256 << 20;
/** The deepest path a backup member can have (objects/sha256/ab/cdef…); deeper is refused. */
export const MAX_DEPTH = 4;
const OBJECT_MEMBER_RE = /^objects\/sha256\/([0-9a-f]{2})\/([0-9a-f]{62})$/;

export interface BackupMember {
  path: string;
  size: number;
  sha256: string;
}

export interface BackupRef {
  id: string;
  /** The file name it was written as (a hint for the person looking for it). */
  file: string;
  createdAt: string;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  formatVersion: number;
  id: string;
  tool: { name: 'mlreg'; version: string };
  createdAt: string;
  /** PRAGMA user_version of the index snapshot. */
  registryFormat: number;
  kind: 'full' | 'incremental';
  /** The backup given as --base (incremental only). */
  base: BackupRef | null;
  /** Every backup holding objects this one needs (the base and its own bases). */
  requires: BackupRef[];
  counts: {
    artifacts: number;
    versions: number;
    events: number;
    objects: number;
    objectBytes: number;
    members: number;
    memberBytes: number;
  };
  /** Files in this archive after manifest.json, in order. */
  members: BackupMember[];
  /** Objects the index references that a base backup holds. */
  external: { digest: string; size: number; backup: string }[];
}

export function objectMemberPath(digest: string): string {
  return `objects/sha256/${digest.slice(0, 2)}/${digest.slice(2)}`;
}

/** The digest an object member is named by, or undefined for other members. */
export function memberDigest(path: string): string | undefined {
  const m = OBJECT_MEMBER_RE.exec(path);
  return m ? m[1]! + m[2]! : undefined;
}

/** Why a member path is not acceptable, or undefined when it is one a backup may hold. */
export function unsafePathReason(path: string): string | undefined {
  if (path === '') return 'an empty path';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'an absolute path';
  if (path.includes('\\')) return 'a path with a backslash';
  if (path.includes('\0')) return 'a path with a NUL byte';
  const parts = path.split('/');
  if (parts.includes('..')) return 'a path that climbs out with ".."';
  if (parts.length > MAX_DEPTH) return `a path deeper than ${MAX_DEPTH} levels`;
  if (path !== DB_MEMBER && path !== MANIFEST_NAME && !OBJECT_MEMBER_RE.test(path))
    return 'a path a backup never holds';
  return undefined;
}

/** A damaged or hostile archive: an integrity error (exit 5), like a corrupt registry. */
export function refuse(file: string, message: string): IntegrityError {
  return new IntegrityError(`${file} is not a usable mlreg backup: ${message}`, {
    code: 'E_BAD_BACKUP',
    hint: 'Nothing was written. Use an archive made by `mlreg backup`; check it with `mlreg backup verify FILE`.',
  });
}

/** Refuse an archive entry that is anything but a regular file this backup's manifest lists with this size. */
export function checkEntry(
  file: string,
  e: TarEntry,
  expected: Map<string, BackupMember>,
  seen: Set<string>,
): BackupMember {
  const what = `entry ${JSON.stringify(e.path)}`;
  if (e.type !== 'File' && e.type !== 'OldFile') {
    const kind =
      e.type === 'SymbolicLink'
        ? `a symbolic link (to ${JSON.stringify(e.linkpath ?? '')})`
        : e.type === 'Link'
          ? `a hard link (to ${JSON.stringify(e.linkpath ?? '')})`
          : e.type === 'CharacterDevice' || e.type === 'BlockDevice'
            ? 'a device'
            : e.type === 'FIFO'
              ? 'a FIFO'
              : `of type ${e.type}`;
    throw refuse(file, `${what} is ${kind}; only regular files are accepted`);
  }
  const unsafe = unsafePathReason(e.path);
  if (unsafe) throw refuse(file, `${what} is refused: ${unsafe}`);
  const m = expected.get(e.path);
  if (!m) throw refuse(file, `${what} is not listed in its manifest`);
  if (seen.has(e.path)) throw refuse(file, `${what} appears twice`);
  if (e.size !== m.size) throw refuse(file, `${what} has ${e.size} bytes; the manifest says ${m.size}`);
  seen.add(e.path);
  return m;
}

/** Parse and check a manifest: the right format, only safe member paths, sizes and digests well formed. */
export function parseBackupManifest(file: string, bytes: Buffer): BackupManifest {
  let m: BackupManifest;
  try {
    m = JSON.parse(bytes.toString('utf8')) as BackupManifest;
  } catch {
    throw refuse(file, 'its manifest.json is not JSON');
  }
  if (m?.format !== BACKUP_FORMAT) throw refuse(file, 'its manifest.json is not an mlreg backup manifest');
  if (m.formatVersion > BACKUP_FORMAT_VERSION) {
    throw new InvalidInputError(
      `${file} is backup format ${m.formatVersion}, newer than this mlreg understands (${BACKUP_FORMAT_VERSION})`,
      {
        code: 'E_FORMAT_TOO_NEW',
        hint: 'Upgrade mlreg to restore it; nothing was written.',
      },
    );
  }
  const incomplete = missingField(m);
  if (incomplete) throw refuse(file, `its manifest.json is incomplete: ${incomplete}`);
  const seen = new Set<string>();
  for (const mem of m.members) {
    const unsafe = unsafePathReason(mem?.path ?? '');
    if (unsafe || mem.path === MANIFEST_NAME)
      throw refuse(file, `its manifest lists ${JSON.stringify(mem?.path)}: ${unsafe ?? 'a second manifest'}`);
    if (!Number.isSafeInteger(mem.size) || mem.size < 0 || !/^[0-9a-f]{64}$/.test(mem.sha256 ?? ''))
      throw refuse(file, `its manifest entry for ${mem.path} has a bad size or digest`);
    const d = memberDigest(mem.path);
    if (d !== undefined && d !== mem.sha256)
      throw refuse(file, `its manifest says ${mem.path} hashes to ${mem.sha256}, not to its own name`);
    if (seen.has(mem.path)) throw refuse(file, `its manifest lists ${mem.path} twice`);
    seen.add(mem.path);
  }
  if (!seen.has(DB_MEMBER)) throw refuse(file, 'its manifest lists no mlreg.db');
  const bases = new Set(m.requires.map((r) => r.id));
  for (const x of m.external) {
    if (!/^[0-9a-f]{64}$/.test(x?.digest ?? '') || !Number.isSafeInteger(x.size) || !bases.has(x.backup))
      throw refuse(file, 'its manifest has a bad external object entry');
  }
  return m;
}

const isCount = (n: unknown): boolean => Number.isSafeInteger(n) && (n as number) >= 0;
const isText = (t: unknown): boolean => typeof t === 'string' && t.length > 0 && t.length <= 1024;
const isRef = (r: unknown): boolean => {
  const x = r as Partial<BackupRef> | null;
  return x !== null && typeof x === 'object' && isText(x.id) && isText(x.file) && isText(x.createdAt);
};

/** What a manifest lacks or has of the wrong shape (every field later code reads), or undefined. */
function missingField(m: BackupManifest): string | undefined {
  if (!isText(m.id)) return 'no id';
  if (!isText(m.createdAt)) return 'no createdAt';
  if (m.tool === null || typeof m.tool !== 'object' || typeof m.tool.version !== 'string') return 'no tool';
  if (!isCount(m.registryFormat)) return 'no registryFormat';
  if (m.kind !== 'full' && m.kind !== 'incremental') return `kind ${JSON.stringify(m.kind)}`;
  if (m.base !== null && !isRef(m.base)) return 'a bad base';
  if (!Array.isArray(m.requires) || !m.requires.every(isRef)) return 'requires is not a list of backups';
  if (!Array.isArray(m.members) || !m.members.every((x) => x !== null && typeof x === 'object'))
    return 'members is not a list of files';
  if (!Array.isArray(m.external) || !m.external.every((x) => x !== null && typeof x === 'object'))
    return 'external is not a list of objects';
  const c = m.counts as Record<string, unknown> | null | undefined;
  if (c === null || typeof c !== 'object') return 'no counts';
  for (const k of ['artifacts', 'versions', 'events', 'objects', 'objectBytes', 'members', 'memberBytes'])
    if (!isCount(c[k])) return `counts.${k} is not a count`;
  return undefined;
}

/** The exact size of the tar stream of a backup: each member's header and padded data, plus the end marker. */
export function paddedTarBytes(manifestSize: number, memberSizes: readonly number[]): number {
  const entry = (size: number): number => 512 + Math.ceil(size / 512) * 512;
  return memberSizes.reduce((s, size) => s + entry(size), entry(manifestSize)) + 1024;
}
