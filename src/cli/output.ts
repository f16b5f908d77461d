import { ExitCode, fromSystemError, MlregError, type ExitCodeValue } from '../core/errors.js';
import { translateSqliteError } from '../core/registry/sqlite-errors.js';
import type { CliIo, OutStream } from './context.js';
import { spelledAsFlags } from './flags.js';
import { colorWanted, loadUi, type Ui } from './terminal/style.js';

/**
 * The one place that writes results. With --json: exactly one document on stdout,
 * {"ok":true,"data":…} or {"ok":false,"error":{code,message,hint[,details]}}. Without: the
 * command's renderer on stdout, errors and notices on stderr.
 */

/**
 * The run's IO with stdout and stderr spelling core's option marks (lib/option-ref.ts) as flags.
 * runCli wraps its IO once, so every path out (results, errors, notices, help, follow's NDJSON
 * lines, progress) is covered, `--json` documents included: a mark is plain text inside a JSON
 * string, and `--name` needs no escaping there. Only text is rewritten; bytes pass as they are.
 */
export function spellingOptionsAsFlags(io: CliIo): CliIo {
  // A copy that keeps getters as getters (the process adapter's stdin opens fd 0 only when read).
  const { stdout: _out, stderr: _err, ...rest } = Object.getOwnPropertyDescriptors(io);
  return Object.defineProperties({} as CliIo, {
    ...rest,
    stdout: { value: spellingFlags(io.stdout), enumerable: true, writable: true, configurable: true },
    stderr: { value: spellingFlags(io.stderr), enumerable: true, writable: true, configurable: true },
  });
}

function spellingFlags(stream: OutStream): OutStream {
  const write = (chunk: unknown, ...rest: unknown[]): boolean =>
    (stream.write as (...args: unknown[]) => boolean)(
      typeof chunk === 'string' ? spelledAsFlags(chunk) : chunk,
      ...rest,
    );
  // Everything else (isTTY, columns, cursor moves for progress bars, events) is the stream's own.
  return new Proxy(stream, {
    get(target, prop) {
      if (prop === 'write') return write;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export interface CommandResult<T = unknown> {
  data: T;
  render?: (data: T, ui: Ui) => string;
  /** Non-zero when the command ran but its gate was not met, and similar. */
  exitCode?: ExitCodeValue;
  /** The command printed its output as it went (follow's NDJSON lines): nothing more is printed. */
  silent?: boolean;
  /** The webhook deliveries of the change the command made (in --json: the envelope's `webhooks`). */
  webhooks?: unknown[];
}

/** Pair data with its renderer, keeping the renderer's parameter typed by the data. */
export function result<T>(data: T, render?: (data: T, ui: Ui) => string, exitCode?: ExitCodeValue): CommandResult {
  return {
    data,
    ...(render ? { render: render as (d: unknown, ui: Ui) => string } : {}),
    ...(exitCode !== undefined ? { exitCode } : {}),
  };
}

/** Print a command's result; returns the run's exit code. */
export async function emitResult(result: CommandResult, io: CliIo, json: boolean): Promise<ExitCodeValue> {
  if (result.silent) return result.exitCode ?? ExitCode.ok;
  if (json) {
    io.stdout.write(
      JSON.stringify({
        ok: true,
        data: result.data ?? null,
        ...(result.webhooks ? { webhooks: result.webhooks } : {}),
      }) + '\n',
    );
  } else if (result.render) {
    const ui = await loadUi(
      colorWanted({ isTTY: io.isTTY.stdout }, io.env),
      io.isTTY.stdout ? terminalWidth(io.columns, io.env) : undefined,
    );
    const { takeMissedExactWidth, loadExactWidths } = await import('./terminal/table.js');
    let text = result.render(result.data, ui);
    if (takeMissedExactWidth()) {
      await loadExactWidths();
      text = result.render(result.data, ui);
    }
    if (text) io.stdout.write(text.endsWith('\n') ? text : text + '\n');
  }
  return result.exitCode ?? ExitCode.ok;
}

/** Print an error (an MlregError as itself, anything else as an internal bug); returns its exit code. */
export async function emitError(
  raw: unknown,
  io: CliIo,
  json: boolean,
  /** Deliveries of a change committed before the command failed (a monitoring alert). */
  webhooks?: unknown[],
): Promise<ExitCodeValue> {
  const err = lastResort(raw);
  const known = err instanceof MlregError;
  const code = known ? err.code : 'E_INTERNAL';
  const message = known ? err.message : `internal error: ${err instanceof Error ? err.message : String(err)}`;
  const hint = known
    ? err.hint
    : 'This is a bug in mlreg. Please report it with the command you ran and the output of MLREG_DEBUG=1.';
  if (json) {
    const error: Record<string, unknown> = { code, message, hint };
    if (known && err.details !== undefined) error.details = err.details;
    io.stdout.write(JSON.stringify({ ok: false, error, ...(webhooks ? { webhooks } : {}) }) + '\n');
  } else {
    const ui = await loadUi(colorWanted({ isTTY: io.isTTY.stderr }, io.env));
    let text = `${ui.c.red('mlreg: error:')} ${message}\n`;
    if (hint) text += `${ui.c.dim('hint:')} ${hint}\n`;
    io.stderr.write(text);
  }
  if (!known && io.env.MLREG_DEBUG && err instanceof Error) io.stderr.write(`${err.stack}\n`);
  return known ? err.exitCode : ExitCode.internal;
}

/**
 * A system or SQLite error no caller translated is still a fault of the disk or the file system,
 * not a bug: map it to its documented code (naming the file when the error carries one) rather
 * than exit 70. Callers should translate with the right name first; this is the safety net.
 */
function lastResort(err: unknown): unknown {
  if (err instanceof MlregError || !(err instanceof Error)) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return err;
  if (code.startsWith('SQLITE_')) return translateSqliteError(err, 'mlreg.db');
  const path = (err as NodeJS.ErrnoException).path;
  return fromSystemError(err, path ? 'a file' : 'a file or folder mlreg was using');
}

/** Notices for a person (progress, warnings) go to stderr and never into a JSON document. */
export function notice(io: CliIo, text: string): void {
  io.stderr.write(text.endsWith('\n') ? text : text + '\n');
}

/** A failure whose report a person sees on stdout before the error (thrown by failWithReport, printed by action). */
export class FailureWithReport extends Error {
  constructor(
    readonly report: CommandResult,
    readonly error: MlregError,
  ) {
    super(error.message);
  }
}

/**
 * A gate or check that ran but was not met (or a verify that found damage): a person sees the
 * report on stdout and the error on stderr; `--json` gets one document, `{"ok":false,"error":{…,
 * "details": report}}`. The exit code is the error's (1 for gates).
 */
export async function failWithReport<T>(
  json: boolean,
  report: T,
  render: (data: T, ui: Ui) => string,
  err: MlregError,
): Promise<never> {
  if (json) throw err;
  throw new FailureWithReport(result(report, render), err);
}

/** The width tables are fitted to: COLUMNS when set (as shells and `gh` honour it), else the terminal's. */
function terminalWidth(columns: number | undefined, env: NodeJS.ProcessEnv): number | undefined {
  const fromEnv = Number(env.COLUMNS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return columns && columns > 0 ? columns : undefined;
}
