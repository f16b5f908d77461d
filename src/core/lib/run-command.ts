import { spawn } from 'node:child_process';

/**
 * Run a user's command as its own process group: stdout captured (bounded), stderr handed to the
 * caller as it comes, and on a timeout the whole group is signalled (TERM, then KILL after a grace
 * period), so a shell wrapper cannot leave its children running.
 */

export interface RunCommandOptions {
  argv: readonly string[];
  env: Record<string, string | undefined>;
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
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so a timeout can kill everything it started
    });
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
      // If a process outside the group still holds the pipes open, do not wait for it forever.
      timers.push(
        setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          finish(
            reason === 'timeout'
              ? { kind: 'timeout', stdout: '', ms: Date.now() - started }
              : { kind: 'too-much-output', ms: Date.now() - started },
          );
        }, graceMs + 1000).unref(),
      );
    };
    child.stdout!.on('data', (d: Buffer) => {
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
      if (why) killGroup('SIGKILL');
      if (why === 'timeout') finish({ kind: 'timeout', stdout, ms });
      else if (why === 'too-much-output') finish({ kind: 'too-much-output', ms });
      else if (code !== null) finish({ kind: 'exited', code, stdout, ms });
      else finish({ kind: 'signalled', signal: signal ?? 'unknown', stdout, ms });
    });
  });
}
