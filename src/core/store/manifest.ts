import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { basename, join } from 'node:path';
import { fromSystemError, IntegrityError, InvalidInputError, UsageError } from '../errors.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * A version's content: every file with its relative path, size, mode and sha256, sorted by path
 * bytes, serialised with a fixed key order, so the same tree always yields the same manifest digest.
 */
export interface ManifestEntry {
  path: string;
  size: number;
  /** 0o644, or 0o755 for executables: only the executable bit is kept, so umask does not change digests. */
  mode: number;
  sha256: string;
}

export interface Manifest {
  format: 1;
  type: 'file' | 'dir';
  files: ManifestEntry[];
}

/** A file found under the source path, before it is stored. */
export interface SourceFile {
  path: string; // relative, '/'-separated
  abs: string;
  size: number;
  mode: number;
}

export interface WalkOptions {
  followSymlinks?: boolean;
  /** Keep version-control folders and OS clutter (.git/, .DS_Store, __pycache__/ …), skipped by default. */
  includeHidden?: boolean;
  /**
   * A single file is stored under this relative path instead of its own name (`add --as
   * model.joblib`), so every version of a model has the same file a server loads.
   */
  storeAs?: string | undefined;
}

export interface WalkResult {
  type: 'file' | 'dir';
  files: SourceFile[];
  /** Relative paths left out of a folder (clutter or `.mlregignore`), a folder ending in '/'. */
  skipped: string[];
}

/**
 * Names that are never part of a model: version-control state, editor and OS droppings, Python's
 * bytecode cache. A model folder copied from a working tree carries them, and storing `.git/` can
 * multiply a version's size and leak history.
 */
const CLUTTER = new Set([
  '.git',
  '.hg',
  '.svn',
  '.DS_Store',
  'Thumbs.db',
  'desktop.ini',
  '__pycache__',
  '.ipynb_checkpoints',
]);

/** The ignore file read from the root of a folder being added: gitignore syntax, never stored itself. */
export const IGNORE_FILE = '.mlregignore';

type IgnoreTest = (relPath: string, isDir: boolean) => boolean;

const MAX_DEPTH = 64;

export function normaliseMode(mode: number): number {
  return mode & 0o111 ? 0o755 : 0o644;
}

/** List the regular files of a file or folder, refusing what a version cannot hold. */
export async function walkSource(source: string, opts: WalkOptions = {}): Promise<WalkResult> {
  let st: Stats;
  try {
    st = opts.followSymlinks ? await stat(source) : await lstat(source);
  } catch (err) {
    throw fromSystemError(err, 'the path to add');
  }
  if (st.isSymbolicLink()) throw symlinkRefused(source);
  if (st.isFile()) {
    return {
      type: 'file',
      files: [{ path: storedName(source, opts.storeAs), abs: source, size: st.size, mode: normaliseMode(st.mode) }],
      skipped: [],
    };
  }
  if (!st.isDirectory()) throw specialRefused(source, st);
  if (opts.storeAs !== undefined)
    throw new UsageError(`${optionRef('as')} names the file of a single-file version; ${source} is a folder`, {
      code: 'E_BAD_STORE_AS',
      hint: `Leave ${optionRef('as')} out for a folder: its files keep their paths inside it.`,
    });
  const walk: Walk = { files: [], skipped: [], seen: new Set(), opts, ignored: await readIgnoreFile(source) };
  await walkDir(source, '', 0, walk);
  if (walk.files.length === 0) {
    const why = walk.skipped.length ? ` (everything in it was skipped: ${walk.skipped.join(', ')})` : '';
    throw new InvalidInputError(`${source} is an empty folder: there is nothing to register${why}`, {
      code: 'E_EMPTY_FOLDER',
      hint: walk.skipped.length
        ? `Pass ${optionRef('include-hidden')} to keep version-control and OS files, or edit ${IGNORE_FILE}.`
        : 'Point to the model file itself, or to a folder that holds its files.',
    });
  }
  walk.files.sort((a, b) => comparePaths(a.path, b.path));
  return { type: 'dir', files: walk.files, skipped: walk.skipped.sort(comparePaths) };
}

/** The name a single file is stored under: its own, or `--as NAME` once it is a safe relative path. */
function storedName(source: string, storeAs: string | undefined): string {
  if (storeAs === undefined) return basename(source);
  // The metadata file of a checked-out version lives next to the model's files.
  if (!isSafeRelativePath(storeAs) || storeAs.length > 255 || storeAs === '.mlreg-version.json')
    throw new InvalidInputError(
      `${optionRef('as')} ${JSON.stringify(storeAs)} is not a name a version's file can have`,
      {
        code: 'E_BAD_STORE_AS',
        hint: 'Give a relative file name such as model.joblib (no leading /, no .. or empty parts, not .mlreg-version.json).',
      },
    );
  return storeAs;
}

interface Walk {
  files: SourceFile[];
  skipped: string[];
  seen: Set<string>;
  opts: WalkOptions;
  ignored: IgnoreTest | undefined;
}

/** The folder's `.mlregignore`, if it has one, as a test of relative paths (the `ignore` package: gitignore rules). */
async function readIgnoreFile(folder: string): Promise<IgnoreTest | undefined> {
  let text: string;
  try {
    text = await readFile(join(folder, IGNORE_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fromSystemError(err, IGNORE_FILE);
  }
  const { default: ignore } = await import('ignore');
  const rules = ignore().add(text);
  return (rel, isDir) => rules.ignores(isDir ? `${rel}/` : rel);
}

async function walkDir(abs: string, rel: string, depth: number, walk: Walk): Promise<void> {
  const { opts, seen } = walk;
  if (depth > MAX_DEPTH) {
    throw new InvalidInputError(`${abs} is nested more than ${MAX_DEPTH} folders deep`, {
      code: 'E_TOO_DEEP',
      hint: 'Flatten the folder, or check for a symlink loop.',
    });
  }
  if (opts.followSymlinks) {
    const real = await realpath(abs);
    if (seen.has(real))
      throw new InvalidInputError(`symlink loop at ${abs}`, {
        code: 'E_SYMLINK_LOOP',
        hint: 'Remove the link that points back up the tree.',
      });
    seen.add(real);
  }
  let names: string[];
  try {
    names = await readdir(abs);
  } catch (err) {
    throw fromSystemError(err, 'the folder to add');
  }
  if (names.length === 0 && depth > 0) {
    throw new InvalidInputError(`${abs} is an empty folder inside the version`, {
      code: 'E_EMPTY_FOLDER',
      hint: 'A version stores files only: remove the empty folder or put a file (for instance .keep) in it.',
    });
  }
  for (const name of names) {
    const childAbs = join(abs, name);
    const childRel = rel ? `${rel}/${name}` : name;
    if (depth === 0 && name === IGNORE_FILE && walk.ignored) continue;
    let st: Stats;
    try {
      st = await lstat(childAbs);
    } catch (err) {
      throw fromSystemError(err, 'the folder to add');
    }
    if ((!opts.includeHidden && CLUTTER.has(name)) || walk.ignored?.(childRel, st.isDirectory())) {
      walk.skipped.push(st.isDirectory() ? `${childRel}/` : childRel);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (!opts.followSymlinks) throw symlinkRefused(childAbs);
      try {
        st = await stat(childAbs);
      } catch (err) {
        throw fromSystemError(err, 'the folder to add');
      }
    }
    if (st.isDirectory()) await walkDir(childAbs, childRel, depth + 1, walk);
    else if (st.isFile())
      walk.files.push({ path: childRel, abs: childAbs, size: st.size, mode: normaliseMode(st.mode) });
    else throw specialRefused(childAbs, st);
  }
}

function symlinkRefused(path: string): InvalidInputError {
  return new InvalidInputError(`${path} is a symbolic link`, {
    code: 'E_SYMLINK',
    hint: `Links are not stored, so a version never depends on files outside it. Pass ${optionRef('follow-symlinks')} to store the files they point to.`,
  });
}

function specialRefused(path: string, st: Stats): InvalidInputError {
  const what = st.isSocket()
    ? 'a socket'
    : st.isFIFO()
      ? 'a named pipe'
      : st.isBlockDevice() || st.isCharacterDevice()
        ? 'a device'
        : 'not a regular file';
  return new InvalidInputError(`${path} is ${what}: only regular files and folders can be registered`, {
    code: 'E_SPECIAL_FILE',
    hint: 'Point to the model file or the folder of its files.',
  });
}

/** Order paths by their UTF-8 bytes (what `sort` does in the C locale), not UTF-16 units. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The canonical bytes of a manifest: fixed key order, no whitespace, a trailing newline. */
export function serialiseManifest(m: Manifest): Buffer {
  const files = [...m.files].sort((a, b) => comparePaths(a.path, b.path));
  const body = {
    format: m.format,
    type: m.type,
    files: files.map((f) => ({ path: f.path, size: f.size, mode: f.mode, sha256: f.sha256 })),
  };
  return Buffer.from(JSON.stringify(body) + '\n', 'utf8');
}

/** Parse and sanity-check a manifest read from the store. */
export function parseManifest(bytes: Buffer, digest: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(bytes.toString('utf8')) as Manifest;
  } catch {
    throw new IntegrityError(`manifest sha256:${digest} is not valid JSON`, {
      code: 'E_MANIFEST_BAD',
      hint: 'The stored manifest is damaged: run `mlreg verify` and restore the registry from a backup.',
    });
  }
  if (m.format !== 1 || (m.type !== 'file' && m.type !== 'dir') || !Array.isArray(m.files)) {
    throw new IntegrityError(`manifest sha256:${digest} is not an mlreg manifest of format 1`, {
      code: 'E_MANIFEST_BAD',
      hint: 'The stored manifest is damaged: run `mlreg verify` and restore the registry from a backup.',
    });
  }
  for (const f of m.files) {
    if (
      f === null ||
      typeof f !== 'object' ||
      typeof f.path !== 'string' ||
      !isSafeRelativePath(f.path) ||
      !Number.isSafeInteger(f.size) ||
      f.size < 0 ||
      typeof f.sha256 !== 'string' ||
      !/^[0-9a-f]{64}$/.test(f.sha256)
    ) {
      throw new IntegrityError(
        `manifest sha256:${digest} has an invalid entry ${JSON.stringify(f?.path)}${typeof f?.path === 'string' && !isSafeRelativePath(f.path) ? ': a path that would leave its folder' : ''}`,
        {
          code: 'E_MANIFEST_BAD',
          hint: 'The stored manifest is damaged: run `mlreg verify` and restore the registry from a backup.',
        },
      );
    }
  }
  return m;
}

/** A relative '/'-path that cannot escape its folder: no '..', no '.', no empty or absolute parts. */
export function isSafeRelativePath(p: string): boolean {
  if (p.length === 0 || p.startsWith('/') || p.includes('\\') || p.includes('\0')) return false;
  return p.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}
