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

/** A gate or check that ran fine but was not met (exit 1): not better, drift over threshold. */
export class GateNotMetError extends MlregError {
  constructor(message: string, opts: ErrorOptions & { code?: string } = {}) {
    super(opts.code ?? 'E_GATE_NOT_MET', ExitCode.gateNotMet, message, opts);
  }
}

/**
 * Translate operating-system errors met while touching the registry or the user's files into
 * MlregErrors with a hint. Unknown errors are returned unchanged (and end up as exit 70).
 */
export function fromSystemError(err: unknown, what: string): unknown {
  if (err instanceof MlregError || !(err instanceof Error)) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const path = (err as NodeJS.ErrnoException).path ?? what;
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
      return new InvalidInputError(`${what}: no space left on the device holding ${path}`, {
        code: 'E_NO_SPACE',
        hint: 'Free some space (mlreg gc removes unreferenced objects) and run the command again; nothing was registered.',
        cause: err,
      });
    case 'EFBIG':
      return new InvalidInputError(`${what}: the file is larger than this file system or process may write (${path})`, {
        code: 'E_FILE_TOO_LARGE',
        hint: 'Check the file size limit (ulimit -f) and the file system being written to; the partial file was removed and nothing was registered or switched.',
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
      return err;
  }
}
