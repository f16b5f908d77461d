/**
 * One error hierarchy for the whole tool. Every failure a user can cause or meet carries a stable
 * `code` (for scripts), an exit code (documented in README "Exit codes") and a hint saying what to
 * do next. The CLI's single catch in `main` maps these; anything else is a bug (exit 70).
 */

export const ExitCode = {
  ok: 0,
  gateNotMet: 1,
  usage: 2,
  notFound: 3,
  conflict: 4,
  integrity: 5,
  /** A remote registry (S3 or a shared folder) did not answer; nothing was changed. */
  unavailable: 6,
  /** The disk failed a read or write (no space, an I/O error); nothing half-done is visible. */
  disk: 7,
  internal: 70,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorOptions {
  hint?: string;
  /** Structured detail for `--json` consumers (e.g. the report of a failed gate). */
  details?: unknown;
  cause?: unknown;
}

export class MlregError extends Error {
  readonly code: string;
  readonly exitCode: ExitCodeValue;
  readonly hint: string;
  readonly details: unknown;

  constructor(code: string, exitCode: ExitCodeValue, message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.hint = opts.hint ?? '';
    this.details = opts.details;
  }
}

/** Bad usage or bad input: the command line or the files given cannot be used (exit 2). */
export class UsageError extends MlregError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'E_USAGE', ExitCode.usage, message, opts);
  }
}

/** Bad input found in a file or value the user gave (exit 2). */
export class InvalidInputError extends MlregError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'E_INVALID_INPUT', ExitCode.usage, message, opts);
  }
}

/** The remote of a team registry did not answer in time or refused the connection (exit 6). */
export class UnavailableError extends MlregError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'E_REMOTE_UNAVAILABLE', ExitCode.unavailable, message, opts);
  }
}

/** A registry, artifact, version, stage or file that does not exist (exit 3). */
export class NotFoundError extends MlregError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'E_NOT_FOUND', ExitCode.notFound, message, opts);
  }
}

/** The registry is not in the state the command needs: version exists, stage moved, in use, lock timeout (exit 4). */
export class ConflictError extends MlregError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'E_CONFLICT', ExitCode.conflict, message, opts);
  }
}

/** Bytes that do not match their digest, or an index that does not match the objects (exit 5). */
export class IntegrityError extends MlregError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'E_INTEGRITY', ExitCode.integrity, message, opts);
  }
}

/**
 * The disk or file system failed under a correct command: no space left, an I/O error, a write the
 * device refused (exit 7). Neither bad input (2: there is nothing to fix in the command) nor damage
 * (5: restoring a backup would be the wrong advice for a transient fault): free space or fix the
 * disk and run the same command again.
 */
export class DiskError extends MlregError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'E_IO', ExitCode.disk, message, opts);
  }
}

/** A gate or check that ran fine but was not met (exit 1): not better, drift over threshold. */
export class GateNotMetError extends MlregError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'E_GATE_NOT_MET', ExitCode.gateNotMet, message, opts);
  }
}

/** Error codes of the disk itself, not of the path or the input: a read or write the device failed. */
const IO_FAULTS = new Set(['EIO', 'ENXIO', 'ENODEV', 'ESTALE', 'EREMOTEIO', 'EUCLEAN']);
/** Calls whose EINVAL comes from the device or file system (O_DIRECT, a broken FUSE or network mount), not from mlreg. */
const IO_CALLS = new Set(['open', 'read', 'write', 'writev', 'pwrite', 'pwritev', 'fsync', 'fdatasync', 'close']);

export interface SystemErrorOptions {
  /** What a failed write concerned (e.g. the registry's temp file while copying a source in). */
  writing?: string;
  /** What a failed read concerned, when the error does not carry a path (a read on an open file). */
  reading?: string;
  /** The hint's second half for a disk fault: what the command left behind. */
  leftAs?: string;
}

/** System calls that write: their failure is about the file written, not the one read. */
const WRITE_CALLS = new Set([
  'write',
  'writev',
  'pwrite',
  'pwritev',
  'fsync',
  'fdatasync',
  'close',
  'ftruncate',
  'copyfile',
]);

/**
 * Translate operating-system errors met while touching the registry or the user's files into
 * MlregErrors with a hint. Unknown errors are returned unchanged (and end up as exit 70).
 */
export function fromSystemError(err: unknown, what: string, opts: SystemErrorOptions = {}): unknown {
  if (err instanceof MlregError || !(err instanceof Error)) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e.code;
  const left = opts.leftAs ?? 'what was half-written was removed';
  // A write (or no space) concerns the file written: `writing` when the caller names it.
  const isWrite = WRITE_CALLS.has(e.syscall ?? '') || code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG';
  const subject = what;
  const path = isWrite ? (opts.writing ?? e.path ?? what) : (e.path ?? opts.reading ?? what);
  switch (code) {
    case 'ENOENT':
      return new NotFoundError(`${what}: no such file or folder: ${path}`, {
        code: 'E_PATH_NOT_FOUND',
        hint: 'Check the path; relative paths are taken from the current folder.',
        cause: err,
      });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new InvalidInputError(`${what}: permission denied: ${path}`, {
        code: 'E_PERMISSION',
        hint: 'Check the owner and permissions of that path (ls -ld), or run as a user who may write there.',
        cause: err,
      });
    case 'ENOSPC':
    case 'EDQUOT':
      return new DiskError(`${subject}: no space left on the device holding ${path}`, {
        code: 'E_NO_SPACE',
        hint: `Free some space on that device (in the registry, mlreg gc removes unreferenced objects) and run the command again; ${left}.`,
        cause: err,
      });
    case 'EFBIG':
      return new DiskError(`${subject}: the file is larger than this file system or process may write (${path})`, {
        code: 'E_FILE_TOO_LARGE',
        hint: `Check the file size limit (ulimit -f) and the file system being written to; ${left}.`,
        cause: err,
      });
    case 'EEXIST':
      return new InvalidInputError(`${what}: something is already at ${path}`, {
        code: 'E_PATH_EXISTS',
        hint: 'Move it away or choose another path; mlreg does not overwrite what it did not make.',
        cause: err,
      });
    case 'ENOTDIR':
    case 'EISDIR':
      return new InvalidInputError(`${what}: ${err.message}`, {
        code: 'E_BAD_PATH',
        hint: 'A folder was expected where a file is, or a file where a folder is: check the path.',
        cause: err,
      });
    default:
      if (code && (IO_FAULTS.has(code) || (code === 'EINVAL' && IO_CALLS.has(e.syscall ?? '')))) {
        const op = e.syscall ? ` (${e.syscall}: ${code})` : ` (${code})`;
        const verb =
          e.syscall === 'open' ? 'an open' : /sync/.test(e.syscall ?? '') ? 'a flush' : isWrite ? 'a write' : 'a read';
        return new DiskError(`${subject}: the disk failed ${verb} of ${path}${op}`, {
          code: 'E_IO',
          hint: `An I/O error of the device, not of your command: ${left}. Run it again; if it persists, check the disk (dmesg, smartctl).`,
          cause: err,
        });
      }
      return err;
  }
}
