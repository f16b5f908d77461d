import { spawn } from 'node:child_process';

/**
 * The one way mlreg runs a user's command (evaluation commands, alert commands): as its own process
 * group, stdout captured (bounded), stderr handed to the caller as it comes. On a timeout the whole
 * group is signalled (TERM, then KILL after a grace period), so a shell wrapper cannot leave its
 * children running, and the run ends as soon as the command itself has exited: a process that left
 * the group and still holds the pipes open is not waited for.
 */

export interface RunCommandOptions {
  argv: readonly string[];
  /** The child's environment; undefined inherits this process's. */
  env?: Record<string, string | undefined> | undefined;
  /** Written to the child's stdin, which is then closed (no stdin at all when undefined). */
  input?: string | undefined;
  /** Do not capture stdout (the command's output is not wanted). */
  ignoreStdout?: boolean | undefined;
  cwd: string;
  /** No limit when undefined. */
  timeoutMs?: number | undefined;
  onStderr?: ((chunk: Buffer) => void) | undefined;
  /** Stop reading (and kill) past this much stdout. */
  maxStdoutBytes?: number;
  /** Time between TERM and KILL of the group on a timeout. */
  graceMs?: number;
  /** Signals the child's process group (Runtime.signalProcessGroup); without it only the child is signalled. */
  signalGroup?: ((pgid: number, signal: NodeJS.Signals) => void) | undefined;
}

export type RunOutcome =
  | { kind: 'exited'; code: number; stdout: string; ms: number }
  | { kind: 'signalled'; signal: string; stdout: string; ms: number }
  | { kind: 'timeout'; stdout: string; ms: number }
  | { kind: 'too-much-output'; ms: number }
  | { kind: 'spawn-error'; errno: string; message: string };

export function runCommand(opts: RunCommandOptions): Promise<RunOutcome> {
  const maxStdout = opts.maxStdoutBytes ?? 16 << 20;
  const graceMs = opts.graceMs ?? 2000;
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(opts.argv[0]!, opts.argv.slice(1), {
      cwd: opts.cwd,
      ...(opts.env ? { env: opts.env } : {}),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', opts.ignoreStdout ? 'ignore' : 'pipe', 'pipe'],
      detached: true, // its own process group, so a timeout can kill everything it started
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined); // the command may exit without reading its input
      child.stdin!.end(opts.input);
    }
    const chunks: Buffer[] = [];
    let stdoutBytes = 0;
    let why: 'timeout' | 'too-much-output' | undefined;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (outcome: RunOutcome): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      resolve(outcome);
    };
    const stopped = (reason: 'timeout' | 'too-much-output', stdout: string): RunOutcome =>
      reason === 'timeout'
        ? { kind: 'timeout', stdout, ms: Date.now() - started }
        : { kind: 'too-much-output', ms: Date.now() - started };
    const killGroup = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        if (opts.signalGroup) opts.signalGroup(child.pid, signal);
        else child.kill(signal);
      } catch {
        /* the group is already gone */
      }
    };
    const stop = (reason: 'timeout' | 'too-much-output'): void => {
      if (why) return;
      why = reason;
      killGroup('SIGTERM');
      timers.push(setTimeout(() => killGroup('SIGKILL'), graceMs).unref());
      // Should the command itself not even die of the KILL, stop waiting shortly after it.
      timers.push(setTimeout(() => giveUp(), graceMs + 1000).unref());
    };
    /** End a stopped run now: whatever still holds the pipes (an orphan outside the group) is not waited for. */
    const giveUp = (): void => {
      if (!why) return;
      child.stdout?.destroy();
      child.stderr?.destroy();
      finish(stopped(why, Buffer.concat(chunks).toString('utf8')));
    };
    // 'exit' comes when the command itself ends, 'close' only once every holder of its pipes has
    // closed them: after a stop, the first is enough (and the rest of the group gets the KILL then,
    // in case it ignored the TERM).
    child.on('exit', () => {
      if (!why) return;
      killGroup('SIGKILL');
      giveUp();
    });
    child.stdout?.on('data', (d: Buffer) => {
      stdoutBytes += d.length;
      if (stdoutBytes > maxStdout) stop('too-much-output');
      else chunks.push(d);
    });
    child.stderr!.on('data', (d: Buffer) => opts.onStderr?.(d));
    if (opts.timeoutMs !== undefined) timers.push(setTimeout(() => stop('timeout'), opts.timeoutMs));
    child.on('error', (err: NodeJS.ErrnoException) =>
      finish({ kind: 'spawn-error', errno: err.code ?? 'UNKNOWN', message: err.message }),
    );
    child.on('close', (code, signal) => {
      const ms = Date.now() - started;
      const stdout = Buffer.concat(chunks).toString('utf8');
      // A timed-out run may have exited from our TERM: that is still a timeout, and the rest of
      // the group gets the KILL anyway in case it ignored the TERM.
      if (why) {
        killGroup('SIGKILL');
        finish(stopped(why, stdout));
      } else if (code !== null) finish({ kind: 'exited', code, stdout, ms });
      else finish({ kind: 'signalled', signal: signal ?? 'unknown', stdout, ms });
    });
  });
}
