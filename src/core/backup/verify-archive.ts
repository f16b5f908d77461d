import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fromSystemError, MlregError } from '../errors.js';
import {
  checkEntry,
  DB_MEMBER,
  MAX_MANIFEST_BYTES,
  memberDigest,
  objectMemberPath,
  type BackupManifest,
} from './format.js';
import { badArchive, readBackup, readBackupManifest } from './read.js';
import { checkIndex, extractChain, hashingSink } from './extract.js';

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
  let work: string | undefined;
  try {
    const top = await readBackupManifest(file);
    work = mkdtempSync(join(tmpdir(), 'mlreg-backup-verify-'));
    // Only mlreg.db is written (to a private temp folder) so its index can be checked.
    const seen = new Set<string>();
    const expected = new Map(top.members.map((x) => [x.path, x]));
    const sizes = new Map<string, number>();
    // Version manifests are kept too (mlreg.db comes first, so they are known by then), so the
    // paths they would check out to can be checked.
    let manifestDigests: Set<string> | undefined;
    await readBackup(
      file,
      () => {},
      async (e) => {
        const m = checkEntry(basename(file), e, expected, seen);
        const d = memberDigest(m.path);
        if (d) sizes.set(d, m.size);
        if (d && manifestDigests === undefined) manifestDigests = versionDigests(join(work!, DB_MEMBER));
        const keep =
          m.path === DB_MEMBER || (d !== undefined && m.size <= MAX_MANIFEST_BYTES && manifestDigests!.has(d));
        return hashingSink(file, m, keep ? join(work!, m.path) : null, () => {});
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
    /** Version manifests read from a base, by digest: named with their archive when refused. */
    let heldBy = new Map<string, string>();
    manifestDigests ??= versionDigests(join(work, DB_MEMBER));
    if (top.external.length) {
      if (opts.bases?.length) {
        // The version manifests the bases hold are kept too: their paths are checked like the top's.
        const digests = new Set(
          top.external
            .filter((x) => x.size <= MAX_MANIFEST_BYTES && manifestDigests!.has(x.digest))
            .map((x) => x.digest),
        );
        ({ bases, heldBy } = await extractChain(file, opts.bases, null, undefined, { dir: work, digests }));
      } else unchecked = top.external.length;
      for (const x of top.external) if (!sizes.has(x.digest)) sizes.set(x.digest, x.size);
    }
    checkIndex(
      file,
      join(work!, DB_MEMBER),
      top,
      (d) => sizes.get(d),
      (d) => {
        try {
          return readFileSync(join(work!, objectMemberPath(d)));
        } catch {
          return undefined; // held by a base that was not given: not checked here
        }
      },
      (d) => heldBy.get(d),
    );
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
    throw fromSystemError(err, 'backup verify', {
      reading: file,
      writing: `the temp folder ${work ?? tmpdir()}`,
      leftAs: 'nothing was changed',
    });
  } finally {
    if (work) rmSync(work, { recursive: true, force: true });
  }
}

/** The manifest digests of the versions an extracted index lists (empty when it cannot be read: checkIndex says why). */
function versionDigests(dbPath: string): Set<string> {
  try {
    const db = new Database(dbPath, { readonly: true });
    try {
      return new Set(db.prepare('SELECT digest FROM versions').pluck().all() as string[]);
    } finally {
      db.close();
    }
  } catch {
    return new Set();
  }
}
