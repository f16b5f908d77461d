import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fromSystemError, MlregError } from '../errors.js';
import { checkEntry, DB_MEMBER, memberDigest, type BackupManifest } from './format.js';
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
