import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConflictError, fromSystemError, IntegrityError, InvalidInputError } from '../errors.js';
import { DB_MEMBER, MAX_MANIFEST_BYTES, objectMemberPath, type BackupManifest } from './format.js';
import { checkIndex, extractChain } from './extract.js';
import { Registry, type Runtime } from '../registry/registry.js';
import { fsyncDir } from '../lib/fs.js';
import { verifyRegistry } from '../store/verify.js';
import { ASIDE_PREFIX, recoverInterruptedRestore, recoveryPending, removeTree } from './interrupted-restore.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * `mlreg restore FILE --into DIR` (`backup verify` is in verify-archive.ts; both read through extract.ts).
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
  /** The registry an earlier, killed restore --force had left aside and that was put back first. */
  recovered: string | undefined;
}

const TEMP_PREFIX = '.mlreg-restore-';

export async function restoreBackup(fileArg: string, opts: RestoreOptions): Promise<RestoreResult> {
  const file = resolve(fileArg);
  const into = resolve(opts.into);
  const parent = dirname(into);
  if (!recoveryPending(into, opts.runtime)) checkTarget(into, !!opts.force);
  mkdirSync(parent, { recursive: true });
  cleanLeftovers(parent, opts.runtime);
  // A restore --force killed between its two renames left DIR without its registry: put it back first.
  const recovered = recoverInterruptedRestore(into, opts.runtime);
  const replacing = checkTarget(into, !!opts.force);
  const work = mkdtempSync(join(parent, `${TEMP_PREFIX}${opts.runtime.pid}-`));
  const staged = join(work, 'registry');
  let replacedAside: string | undefined;
  try {
    mkdirSync(staged);
    const { manifest, bases, heldBy } = await extractChain(file, opts.bases ?? [], staged, opts.onProgress);
    for (const sub of ['objects/sha256', 'tmp']) mkdirSync(join(staged, sub), { recursive: true });
    checkIndex(
      file,
      join(staged, DB_MEMBER),
      manifest,
      (digest) => sizeOf(join(staged, objectMemberPath(digest))),
      (digest) => readSmall(join(staged, objectMemberPath(digest))),
      (digest) => heldBy.get(digest),
    );
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
      // The new registry is in place and verified: from here on nothing may report failure.
      // An old copy that cannot be removed now is removed by the next restore into this folder.
      removeTree(replacedAside);
    }
    return {
      into,
      id: manifest.id,
      kind: manifest.kind,
      createdAt: manifest.createdAt,
      counts: manifest.counts,
      bases,
      replaced: replacing,
      recovered,
    };
  } catch (err) {
    throw fromSystemError(err, 'restore', {
      writing: `the restore's temp folder ${work}`,
      reading: file,
      leftAs: `the temp folder was removed and ${into} is as it was`,
    });
  } finally {
    // The result above is already true: a temp folder that cannot be removed now is not a failure
    // of the restore (the next restore next to DIR removes it).
    removeTree(work);
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
      hint: `Restore into a new folder, or pass ${optionRef('force')} to replace it (the old one is kept aside until the new one verifies).`,
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

/** A version manifest's bytes (checked for its paths before the registry is put in place). */
function readSmall(path: string): Buffer | undefined {
  try {
    return statSync(path).size <= MAX_MANIFEST_BYTES ? readFileSync(path) : undefined;
  } catch {
    return undefined;
  }
}

function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}
