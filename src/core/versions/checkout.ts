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
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ExitCode, fromSystemError, IntegrityError, InvalidInputError, MlregError } from '../errors.js';
import { containedPath } from '../lib/contained-path.js';
import { isValidVersionString } from './version-plan.js';
import { isSafeRelativePath, parseManifest, type Manifest } from '../store/manifest.js';
import { resolveRef, type VersionRecord } from './refs.js';
import type { Registry } from '../registry/registry.js';
import { fsyncDir } from '../lib/fs.js';
import { copyObjectVerified, readObject } from '../store/objects.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * Materialise a version into `DIR/versions/<version>/` and point `DIR/current` at it atomically.
 * Every byte is re-hashed while it is copied; a mismatch removes the partial copy and throws
 * (exit 5) before `current` moves, so corruption never reaches a serving folder.
 */

/**
 * The file every switch writes into the version folder just before `current` points at it, so a
 * server reads what it serves through `DIR/current/.mlreg-version.json` (docs/serving.md).
 */
export const VERSION_INFO_FILE = '.mlreg-version.json';

export interface VersionInfo {
  name: string;
  version: string;
  digest: string;
  kind: VersionRecord['kind'];
  /** The stage the folder follows (null for a checkout of a plain version). */
  stage: string | null;
  /** When DIR/current was switched to this version (ISO 8601). */
  switchedAt: string;
  /** The version DIR/current served before, if any. */
  previous: string | null;
}

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
  const stage = typeof refOrVersion === 'string' ? stageOfRef(refOrVersion) : null;
  return prepared.switch({ stage });
}

/** `fraud@production` names a stage; `fraud@1.2.0`, `fraud@^1.2`, `fraud@sha256:…` and `fraud` do not. */
function stageOfRef(ref: string): string | null {
  const at = ref.indexOf('@');
  if (at === -1) return null;
  const sel = ref.slice(at + 1);
  return /^[a-z][a-z0-9_-]*$/i.test(sel) && sel !== 'latest' && !sel.startsWith('sha256') ? sel : null;
}

export type PreparedCheckout = Awaited<ReturnType<typeof prepareCheckout>>;

/**
 * The slow half of a checkout: materialise the version folder (or reuse a complete one) without
 * touching `current`. `switch()` is the instant half: it writes the version's metadata file, then
 * moves the link. promote/rollback --checkout call it only once the stage move committed
 * (switchAfterCommit), so the serving folder never points at a version the stage did not hold.
 */
export async function prepareCheckout(
  reg: Registry,
  refOrVersion: string | VersionRecord,
  dir: string,
  opts: { onProgress?: (done: number, total: number) => void } = {},
): Promise<{
  version: VersionRecord;
  switch: (opts?: { stage?: string | null }) => CheckoutResult;
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
    switch: ({ stage = null }: { stage?: string | null } = {}) => {
      const previous = readCurrent(current);
      writeVersionInfo(target, {
        name: version.name,
        version: version.version,
        digest: version.digest,
        kind: version.kind,
        stage,
        switchedAt: reg.nowIso(),
        previous,
      });
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
  };
}

/**
 * Switch DIR/current to a prepared version once the stage move committed (the index is the truth;
 * the folder follows it). The stage must still hold the version when the switch is made; a switch
 * that fails, or a stage that moved on meanwhile, leaves the move standing and fails the command
 * with a hint to reconcile: a disk fault keeps its exit code (7), anything else is E_CHECKOUT_BEHIND (exit 4).
 */
export function switchAfterCommit(
  reg: Registry,
  prepared: PreparedCheckout,
  dir: string,
  move: { name: string; stage: string; to: string },
): CheckoutResult {
  const holder = (): string | null => {
    try {
      return reg.read(() => resolveRef(reg, `${move.name}@${move.stage}`)).version;
    } catch {
      return null;
    }
  };
  const before = holder();
  if (before !== prepared.version.version)
    throw checkoutBehind(dir, move, undefined, `the stage moved on to ${before ?? '(none)'} meanwhile`);
  let done: CheckoutResult;
  try {
    done = prepared.switch({ stage: move.stage });
  } catch (err) {
    throw checkoutBehind(dir, move, err, err instanceof Error ? err.message : String(err));
  }
  // Another command moved the stage while this one switched: the folder may now be behind it.
  const after = holder();
  if (after !== prepared.version.version)
    throw checkoutBehind(dir, move, undefined, `the stage moved on to ${after ?? '(none)'} while it was switched`);
  return done;
}

export function checkoutBehind(
  dir: string,
  move: { name: string; stage: string; to: string },
  cause: unknown,
  why: string,
): MlregError {
  const disk = cause instanceof MlregError && cause.exitCode === ExitCode.disk;
  return new MlregError(
    disk ? cause.code : 'E_CHECKOUT_BEHIND',
    disk ? ExitCode.disk : ExitCode.conflict,
    `${move.name}@${move.stage} now holds ${move.to}, but ${join(dir, 'current')} was not switched to it: ${why}`,
    {
      hint: `The stage move stands (the index is the truth). Bring the folder up to the stage with \`mlreg follow ${move.name}@${move.stage} ${dir} ${optionRef('once')}\`${disk ? ' once the disk is fixed' : ''}.`,
      details: { move, dir },
      cause,
    },
  );
}

/** Write the version's metadata into its folder (temp file, fsync, rename), read through DIR/current. */
function writeVersionInfo(target: string, info: VersionInfo): void {
  const tmp = join(target, `.mlreg-version-${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, JSON.stringify(info, null, 2) + '\n', { flush: true });
    renameSync(tmp, join(target, VERSION_INFO_FILE));
    fsyncDir(target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw fromSystemError(err, 'checkout folder');
  }
}

/** The metadata of the version DIR/current serves, or null when there is none (or it is unreadable). */
export function readVersionInfo(dir: string): VersionInfo | null {
  try {
    const v = JSON.parse(readFileSync(join(dir, 'current', VERSION_INFO_FILE), 'utf8')) as VersionInfo;
    return typeof v?.version === 'string' ? v : null;
  } catch {
    return null;
  }
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
