import { runCommand } from '../lib/run-command.js';

/**
 * The reload hook of `mlreg follow --exec CMD`: run through the shell after each switch, told what
 * was switched through MLREG_* variables, bounded by a timeout (its whole process group is killed).
 * A hook that fails or hangs is recorded and reported; it never undoes the switch.
 */

export interface HookSpec {
  command: string;
  timeoutMs: number;
  cwd: string;
  /** The environment the hook inherits (the MLREG_* variables are added to it). */
  env: Readonly<Record<string, string | undefined>>;
  signalGroup?: ((pgid: number, signal: NodeJS.Signals) => void) | undefined;
  /** Where the hook's own output goes (stderr: stdout may carry NDJSON). */
  onOutput?: ((chunk: Buffer) => void) | undefined;
  /** Time between TERM and KILL on a timeout (ms). */
  graceMs?: number;
}

export interface HookResult {
  command: string;
  /** ok: exit 0; failed: another exit code or a signal; timeout: killed after timeoutMs; error: could not start. */
  result: 'ok' | 'failed' | 'timeout' | 'error';
  exitCode: number | null;
  ms: number;
  message: string | null;
}

export interface HookSubject {
  name: string;
  stage: string;
  version: string;
  digest: string;
  path: string;
  previous: string | null;
}

export function hookEnv(spec: HookSpec, s: HookSubject): Record<string, string | undefined> {
  return {
    ...spec.env,
    MLREG_NAME: s.name,
    MLREG_STAGE: s.stage,
    MLREG_VERSION: s.version,
    MLREG_DIGEST: s.digest,
    MLREG_PATH: s.path,
    MLREG_PREVIOUS_VERSION: s.previous ?? '',
  };
}

export async function runHook(spec: HookSpec, subject: HookSubject): Promise<HookResult> {
  const outcome = await runCommand({
    argv: ['/bin/sh', '-c', spec.command],
    env: hookEnv(spec, subject),
    cwd: spec.cwd,
    timeoutMs: spec.timeoutMs,
    signalGroup: spec.signalGroup,
    onStderr: spec.onOutput,
    maxStdoutBytes: 1 << 20,
    ...(spec.graceMs !== undefined ? { graceMs: spec.graceMs } : {}),
  });
  const base = { command: spec.command };
  switch (outcome.kind) {
    case 'exited':
      if (outcome.stdout && spec.onOutput) spec.onOutput(Buffer.from(outcome.stdout));
      return outcome.code === 0
        ? { ...base, result: 'ok', exitCode: 0, ms: outcome.ms, message: null }
        : { ...base, result: 'failed', exitCode: outcome.code, ms: outcome.ms, message: `exited with ${outcome.code}` };
    case 'signalled':
      return { ...base, result: 'failed', exitCode: null, ms: outcome.ms, message: `killed by ${outcome.signal}` };
    case 'timeout':
      return {
        ...base,
        result: 'timeout',
        exitCode: null,
        ms: outcome.ms,
        message: `still running after ${spec.timeoutMs} ms; its process group was killed`,
      };
    case 'too-much-output':
      return { ...base, result: 'failed', exitCode: null, ms: outcome.ms, message: 'printed more than 1 MiB' };
    case 'spawn-error':
      return { ...base, result: 'error', exitCode: null, ms: 0, message: `could not start: ${outcome.message}` };
  }
}
