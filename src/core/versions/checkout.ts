import { randomBytes } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fromSystemError, IntegrityError, InvalidInputError } from '../errors.js';
import { containedPath } from '../lib/contained-path.js';
import { isValidVersionString } from './version-plan.js';
import { isSafeRelativePath, parseManifest, type Manifest } from '../store/manifest.js';
import { resolveRef, type VersionRecord } from './refs.js';
import type { Registry } from '../registry/registry.js';
import { fsyncDir } from '../lib/fs.js';
import { copyObjectVerified, readObject } from '../store/objects.js';

/**
 * Materialise a version into `DIR/versions/<version>/` and point `DIR/current` at it atomically.
 * Every byte is re-hashed while it is copied; a mismatch removes the partial copy and throws
 * (exit 5) before `current` moves, so corruption never reaches a serving folder.
 */

export interface CheckoutResult {
  name: string;
  version: string;
  kind: VersionRecord['kind'];
  dir: string;
  path: string;
  current: string;
  previous: string | null;
  /** True when the version folder was already there, complete and hash-checked, and was reused. */
  reused: boolean;
  bytes: number;
}

export async function checkout(
  reg: Registry,
  refOrVersion: string | VersionRecord,
  dir: string,
  opts: { onProgress?: (done: number, total: number) => void } = {},
): Promise<CheckoutResult> {
  const prepared = await prepareCheckout(reg, refOrVersion, dir, opts);
  return prepared.switch();
}

/**
 * The slow half of a checkout: materialise the version folder (or reuse a complete one) without
 * touching `current`. `switch()` is the instant half. promote/rollback --checkout call `switch`
 * only after the stage has moved, so the serving folder never points at a version the stage does not hold.
 */
export async function prepareCheckout(
  reg: Registry,
  refOrVersion: string | VersionRecord,
  dir: string,
  opts: { onProgress?: (done: number, total: number) => void } = {},
): Promise<{
  version: VersionRecord;
  switch: () => CheckoutResult;
  switchBack: (done: { previous: string | null }) => void;
}> {
  const version = typeof refOrVersion === 'string' ? reg.read(() => resolveRef(reg, refOrVersion)) : refOrVersion;
  const manifest = parseManifest(await readObject(reg, version.digest), version.digest);
  const versionsDir = join(dir, 'versions');
  // The version string comes from the index: it must be a version `add` accepts, and a single
  // folder inside DIR/versions whatever it holds.
  if (!isValidVersionString(version.version))
    throw new IntegrityError(
      `${version.name}@${JSON.stringify(version.version)} is not a semantic version; refusing to check it out`,
      {
        code: 'E_HOSTILE_INDEX',
        hint: 'The registry index holds a version string no mlreg command writes: run `mlreg verify`, and restore the registry from a good backup.',
      },
    );
  const target = containedPath(versionsDir, version.version);
  const current = join(dir, 'current');
  // Refuse a DIR/current that cannot be switched now, before promote/rollback move the stage:
  // failing after the move would leave the serving folder on a version the stage no longer holds.
  checkCurrentSwitchable(current);
  try {
    mkdirSync(versionsDir, { recursive: true });
  } catch (err) {
    throw fromSystemError(err, 'checkout folder');
  }
  const reused = matchesStamp(versionsDir, target, manifest, version.digest);
  if (!reused) {
    await materialise(reg, manifest, versionsDir, target, { onProgress: opts.onProgress });
    try {
      writeStamp(versionsDir, target, manifest, version.digest);
    } catch (err) {
      throw fromSystemError(err, 'checkout folder');
    }
  }
  return {
    version,
    switch: () => {
      const previous = readCurrent(current);
      switchCurrent(dir, `versions/${version.version}`);
      return {
        name: version.name,
        version: version.version,
        kind: version.kind,
        dir,
        path: target,
        current,
        previous,
        reused,
        bytes: manifest.files.reduce((s, f) => s + f.size, 0),
      };
    },
    /**
     * Put DIR/current back where switch() found it: the stage move it was switched for did not
     * commit (a disk fault), and DIR/current must never serve a version the stage did not hold.
     */
    switchBack: (done: { previous: string | null }) => {
      try {
        if (done.previous === null) unlinkSync(current);
        else switchCurrent(dir, `versions/${done.previous}`);
      } catch (err) {
        throw fromSystemError(err, 'checkout folder (putting current back)');
      }
    },
  };
}

/**
 * Write every file of a manifest into a fresh folder `target` (via a temp sibling and one rename).
 * `durable: false` skips the fsyncs, for a private copy that is deleted after use (eval run's).
 */
export async function materialise(
  reg: Registry,
  manifest: Manifest,
  parent: string,
  target: string,
  { onProgress, durable = true }: { onProgress?: (done: number, total: number) => void; durable?: boolean } = {},
): Promise<void> {
  const staging = join(parent, `.tmp-${randomBytes(6).toString('hex')}`);
  const total = manifest.files.reduce((s, f) => s + f.size, 0);
  let done = 0;
  try {
    mkdirSync(staging);
    for (const f of manifest.files) {
      if (!isSafeRelativePath(f.path))
        throw new IntegrityError(`manifest path ${JSON.stringify(f.path)} would leave the folder`, {
          code: 'E_MANIFEST_BAD',
          hint: 'Nothing was switched. Run `mlreg verify` and restore the registry from a backup.',
        });
      const dest = containedPath(staging, f.path);
      mkdirSync(dirname(dest), { recursive: true });
      const before = done;
      await copyObjectVerified(
        reg,
        f.sha256,
        dest,
        f.mode,
        onProgress ? (d) => onProgress(before + d, total) : undefined,
        durable,
        f.size,
      );
      done += f.size;
    }
    if (durable) fsyncDir(staging);
    // A stale or damaged copy of the same version is moved aside, then removed after the swap.
    let aside: string | undefined;
    try {
      lstatSync(target);
      aside = join(parent, `.old-${randomBytes(6).toString('hex')}`);
      renameSync(target, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    renameSync(staging, target);
    if (durable) fsyncDir(parent);
    if (aside) {
      try {
        rmSync(aside, { recursive: true, force: true });
      } catch {
        /* the good copy is in place; a leftover .old-* folder is harmless and never served */
      }
    }
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw fromSystemError(err, 'checkout folder');
  }
}

/**
 * A version folder written earlier is reused only when every file is there with the manifest's
 * size and sha256: sizes alone would serve a folder whose bytes changed since (or that another
 * artifact with the same version number and file names left in the same DIR).
 */
/**
 * A version folder is reused only when the stamp written after materialising it still matches:
 * the manifest digest, and each file's size, mtime, ctime and inode as they were then (what git's
 * index does). A folder of another artifact with the same version number, or a file changed in
 * place, fails the match and is written again from the verified store; an intact one costs a stat
 * per file, so `rollback --checkout` to a version already there stays instant however large it is.
 */
function stampPath(versionsDir: string, version: string): string {
  return join(versionsDir, `.${version}.mlreg-stamp`);
}

function stampOf(target: string, manifest: Manifest, digest: string): string {
  const files = manifest.files.map((f) => {
    const st = statSync(join(target, f.path));
    if (!st.isFile()) throw new Error('not a file');
    return [f.path, st.size, st.mtimeMs, st.ctimeMs, st.ino];
  });
  return JSON.stringify({ digest, files });
}

function matchesStamp(versionsDir: string, target: string, manifest: Manifest, digest: string): boolean {
  try {
    return readFileSync(stampPath(versionsDir, basename(target)), 'utf8') === stampOf(target, manifest, digest);
  } catch {
    return false;
  }
}

function writeStamp(versionsDir: string, target: string, manifest: Manifest, digest: string): void {
  const stamp = stampPath(versionsDir, basename(target));
  const tmp = join(versionsDir, `.stamp-${randomBytes(6).toString('hex')}`);
  writeFileSync(tmp, stampOf(target, manifest, digest), { flush: true });
  renameSync(tmp, stamp);
}

function readCurrent(current: string): string | null {
  try {
    return readlinkSync(current).replace(/^versions\//, '');
  } catch {
    return null;
  }
}

/** Point DIR/current at `linkTarget` with one rename, so readers see the old or the new version, never neither. */
export function switchCurrent(dir: string, linkTarget: string): void {
  const current = join(dir, 'current');
  checkCurrentSwitchable(current);
  const tmp = join(dir, `.current-${randomBytes(6).toString('hex')}`);
  try {
    symlinkSync(linkTarget, tmp);
    renameSync(tmp, current);
    fsyncDir(dir);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw fromSystemError(err, 'checkout folder');
  }
}

/** DIR/current must be absent or a symbolic link (what checkout makes); anything else is the user's and is left alone. */
function checkCurrentSwitchable(current: string): void {
  try {
    const st = lstatSync(current);
    if (!st.isSymbolicLink()) {
      throw new InvalidInputError(`${current} exists and is not a symbolic link made by mlreg checkout`, {
        code: 'E_CURRENT_NOT_LINK',
        hint: 'Move it away; mlreg keeps DIR/current as a link to DIR/versions/<version>.',
      });
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(err, 'checkout folder');
  }
}
