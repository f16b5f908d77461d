import { basename } from 'node:path';
import { IntegrityError, NotFoundError } from '../errors.js';
import {
  MANIFEST_NAME,
  MAX_MANIFEST_BYTES,
  parseBackupManifest,
  paddedTarBytes,
  type BackupManifest,
} from './format.js';
import { readTar, TarFormatError, type EntrySink, type ReadLimits, type TarEntry } from './tar.js';

/**
 * Reading backup archives: the manifest first (it must be the first entry), then every other entry
 * checked against it by the caller. Shared by restore, `backup verify` and incremental `backup --base`.
 */

/**
 * How much a compressed backup may inflate. mlreg writes gzip level 1, which inflates at most ~230:1
 * (all zeros); a stream that inflates further was not written by mlreg backup: a decompression bomb.
 * (tar's default maxDecompressionRatio, 1000, is above what gzip -9 of zeros reaches, ~1030.)
 */
export const MAX_DECOMPRESSION_RATIO = 300;
const RATIO_FLOOR_BYTES = 16 << 20;

class StopReading extends Error {}

/** A damaged or hostile archive is an integrity error (exit 5), as a corrupt registry is. */
export function badArchive(file: string, message: string): IntegrityError {
  return new IntegrityError(`${file} is not a usable mlreg backup: ${message}`, {
    code: 'E_BAD_BACKUP',
    hint: 'Nothing was written. Use an archive made by `mlreg backup`; check it with `mlreg backup verify FILE`.',
  });
}

/**
 * Read an archive: parse its manifest, then hand every later entry to `onEntry`. Limits the
 * inflated size to what the manifest declares and the compression ratio to MAX_DECOMPRESSION_RATIO.
 * With `manifestOnly`, stops after the manifest.
 */
export async function readBackup(
  file: string,
  onManifest: (m: BackupManifest) => void,
  onEntry: ((e: TarEntry, m: BackupManifest) => Promise<EntrySink | null> | EntrySink | null) | null,
): Promise<BackupManifest> {
  let manifest: BackupManifest | undefined;
  let maxBytes = MAX_MANIFEST_BYTES + 1024;
  const limits: ReadLimits = {
    maxRatio: MAX_DECOMPRESSION_RATIO,
    ratioFloorBytes: RATIO_FLOOR_BYTES,
    maxBytes: () => maxBytes,
  };
  try {
    await readTar(file, limits, (e) => {
      if (!manifest) {
        if (e.path !== MANIFEST_NAME || (e.type !== 'File' && e.type !== 'OldFile'))
          throw badArchive(file, `its first entry is ${JSON.stringify(e.path)}, not ${MANIFEST_NAME}`);
        if (e.size > MAX_MANIFEST_BYTES)
          throw badArchive(file, `its manifest is ${e.size} bytes, more than any backup needs`);
        const parts: Buffer[] = [];
        return {
          write: (c) => void parts.push(Buffer.from(c)),
          end: () => {
            manifest = parseBackupManifest(basename(file), Buffer.concat(parts));
            maxBytes =
              paddedTarBytes(
                e.size,
                manifest.members.map((m) => m.size),
              ) + 10240;
            onManifest(manifest);
            if (!onEntry) throw new StopReading();
          },
        };
      }
      return onEntry!(e, manifest!);
    });
  } catch (err) {
    if (err instanceof StopReading) return manifest!;
    if (err instanceof TarFormatError) throw badArchive(file, err.message);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new NotFoundError(`no backup at ${file}`, {
        code: 'E_BACKUP_NOT_FOUND',
        hint: 'Check the path of the archive.',
      });
    throw err;
  }
  if (!manifest) throw badArchive(file, 'it holds no manifest.json');
  return manifest;
}

export async function readBackupManifest(file: string): Promise<BackupManifest> {
  return readBackup(file, () => {}, null);
}
