import { ExitCode, MlregError, UnavailableError, UsageError } from '../core/errors.js';
import type { Registry } from '../core/registry/registry.js';
import type { ReplicaInfo } from '../core/remote/replica-state.js';
import type { RemoteStore } from '../core/remote/transport.js';
import type { Context } from './context.js';
import { FailureWithReport, notice, type CommandResult } from './output.js';

/**
 * Every command on a replica of a remote registry goes through here (from `action`). A registry that
 * is only local is not touched. On a replica:
 * - write commands run through core/remote/session.ts: pull to the head, run, send the change as the
 *   next log entry, commit locally; retried from the new head when another writer won the race;
 * - every other command first refreshes the replica (a listing of the log after its position, with a
 *   short timeout) and, when the remote does not answer, answers from the replica with a warning;
 *   `--offline` skips the refresh. A command that would write without being shared is refused.
 * Objects a command needs that this folder lacks are fetched from the remote (hash-checked).
 */

/** Commands whose writes are shared through the remote log (their full path: `eval record`). */
export const REPLICATED_WRITES = new Set([
  'add',
  'promote',
  'rollback',
  'deprecate',
  'undeprecate',
  'delete',
  'eval record',
  'eval run',
  'config set',
  'config unset',
  'monitor record',
  'monitor score',
  'monitor data',
  'monitor check',
  'monitor rule add',
  'monitor rule remove',
  'review sample',
  'review import',
  'scan',
  'profile',
  'webhook add',
  'webhook remove',
]);

/** Replicated writes that often write nothing (`scan PATH`, `profile` of a profiled version): run offline until they would write. */
const WRITE_SOMETIMES = new Set(['scan', 'profile']);

/** Commands that send their changes themselves through `ctx.replica.replicate` (gc: a local part, then the remote). */
const REPLICATE_THEMSELVES = new Set(['gc']);

/** Writes that read or run much before they write (hash files, run an evaluation): pulled first, never repeated for a stale replica. */
const EXPENSIVE_TO_REPEAT = new Set([
  'add',
  'eval run',
  'monitor score',
  'monitor data',
  'review sample',
  'review import',
  'scan',
  'profile',
  'gc',
]);

/** Commands that handle the remote themselves, or do not use the registry they run in. */
const MANAGE_THEMSELVES = new Set(['init', 'clone', 'pull', 'remote attach', 'remote status', 'restore', 'follow']);

/** A reading command waits this long for the remote before answering from the replica. */
const REFRESH_TIMEOUT_MS = 5_000;
const WRITE_TIMEOUT_MS = 30_000;

export async function openStore(
  ctx: Context,
  url: string,
  endpoint: string | null | undefined,
  region: string | null | undefined,
  timeoutMs = WRITE_TIMEOUT_MS,
): Promise<RemoteStore> {
  const { openRemote, resolveEndpoint } = await import('../core/remote/transport.js');
  const ep = endpoint ?? resolveEndpoint(undefined, ctx.env);
  const store = await openRemote(url, {
    ...(ep ? { endpoint: ep } : {}),
    ...(region ? { region } : {}),
    timeoutMs: Number(ctx.env.MLREG_REMOTE_TIMEOUT) > 0 ? Number(ctx.env.MLREG_REMOTE_TIMEOUT) : timeoutMs,
  });
  ctx.onClose(() => store.close());
  return store;
}

function storeFor(ctx: Context, info: ReplicaInfo, timeoutMs: number): () => Promise<RemoteStore> {
  let opened: Promise<RemoteStore> | undefined;
  return () => {
    opened ??= openStore(ctx, info.url, info.endpoint, info.region, timeoutMs);
    return opened;
  };
}

/**
 * For the fault tests: MLREG_TEST_STOP_AT=STEP stops a writer at a step of the protocol until it is
 * killed; MLREG_TEST_PAUSE_AT=STEP:MS pauses it there (while the test stops the server).
 */
async function testStep(ctx: Context, step: string): Promise<void> {
  const pause = /^([a-z-]+):(\d+)$/.exec(ctx.env.MLREG_TEST_PAUSE_AT ?? '');
  if (pause && pause[1] === step) {
    ctx.io.stderr.write(`mlreg-test: paused at ${step}\n`);
    await new Promise((r) => setTimeout(r, Number(pause[2])));
  }
  if (ctx.env.MLREG_TEST_STOP_AT !== step) return;
  ctx.io.stderr.write(`mlreg-test: stopped at ${step}\n`);
  await new Promise(() => setInterval(() => {}, 1 << 30));
}

function isGateNotMet(err: unknown): boolean {
  const e = err instanceof FailureWithReport ? err.error : err;
  return e instanceof MlregError && e.exitCode === ExitCode.gateNotMet;
}

function isUnavailable(err: unknown): boolean {
  return err instanceof MlregError && err.exitCode === ExitCode.unavailable;
}

export async function runOnReplica(
  ctx: Context,
  path: string,
  run: () => Promise<CommandResult>,
): Promise<CommandResult> {
  if (MANAGE_THEMSELVES.has(path)) return run();
  let reg: Registry;
  try {
    reg = ctx.registry();
  } catch {
    return run(); // no registry here: the command says so itself
  }
  const { replicaInfo } = await import('../core/remote/replica-state.js');
  const info = replicaInfo(reg);
  if (!info) return run();
  // The modules a write sends its entry with load while the session module does and the command
  // runs, not one after the other once it is planned (a file:// store's own; never the AWS SDK, which
  // an s3:// command loads only once it sends a request).
  if (!ctx.offline && info.url.startsWith('file:')) void import('../core/remote/file-store.js').catch(() => undefined);
  const { WriteSession, runReplicated } = await import('../core/remote/session.js');
  const store = storeFor(ctx, info, WRITE_TIMEOUT_MS);
  reg.journal = new WriteSession(reg, info.writerId, path, false, {}, ctx.offline);
  if (!ctx.offline)
    reg.fetchObject = async (digest) => {
      const { fetchObject } = await import('../core/remote/objects-sync.js');
      return fetchObject(reg, await store(), digest);
    };
  const replicate = async <T>(write: () => Promise<T>): Promise<T> => {
    if (ctx.offline)
      throw new UsageError(`\`mlreg ${path}\` changes the shared registry, which needs its remote; --offline cannot`, {
        code: 'E_OFFLINE_WRITE',
        hint: offlineHint(path),
      });
    // A command can end in "gate not met" after its change (`monitor check` records the alert and
    // rolls back, then exits 1): as on a local registry, that change stands, so it is sent and
    // committed first and the failure reported after. Any other error undoes the command's change.
    let failedAfterChange: unknown;
    try {
      // The remote is opened (for s3://, the AWS SDK loaded) only once a request is needed.
      const out = await runReplicated(
        reg,
        store,
        {
          command: path,
          writerId: info.writerId,
          onNotice: (text) => notice(ctx.io, text),
          onStep: (step) => testStep(ctx, step),
          pullFirst: EXPENSIVE_TO_REPEAT.has(path),
        },
        async () => {
          failedAfterChange = undefined;
          try {
            return await write();
          } catch (err) {
            // Without a change, the error is the command's as before (a stale replica is re-checked at the head).
            if (!isGateNotMet(err) || !(reg.journal instanceof WriteSession && reg.journal.hasChanges)) throw err;
            failedAfterChange = err;
            return undefined;
          }
        },
      );
      if (failedAfterChange !== undefined) throw failedAfterChange;
      return out!;
    } catch (err) {
      if (!isUnavailable(err)) throw err;
      throw new UnavailableError(`${(err as Error).message}; nothing was changed`, {
        code: (err as MlregError).code,
        hint: `The remote ${info.url} holds the truth of this registry, so it must answer for a change. ${offlineHint(path)}`,
        cause: err,
      });
    }
  };
  ctx.replica = { url: info.url, store, replicate };

  if (REPLICATE_THEMSELVES.has(path)) return run();
  if (REPLICATED_WRITES.has(path) && !(ctx.offline && WRITE_SOMETIMES.has(path))) return replicate(run);

  if (!ctx.offline) {
    const refresh = storeFor(ctx, info, REFRESH_TIMEOUT_MS);
    try {
      const { pull } = await import('../core/remote/pull.js');
      await pull(reg, await refresh());
    } catch (err) {
      if (!(err instanceof MlregError)) throw err;
      notice(
        ctx.io,
        `warning: could not refresh from ${info.url} (${err.message}); answering from this replica as of log entry ${replicaInfo(reg)?.position ?? info.position}`,
      );
    }
  }
  return run();
}

function offlineHint(path: string): string {
  if (path === 'rollback' || path === 'promote')
    return 'During an incident, a serving host can switch its own folder from its replica without the remote: `mlreg checkout NAME@VERSION DIR --offline` (see `mlreg history NAME --offline` for the versions). Run the rollback itself once the remote answers.';
  return 'Run it again once the remote answers (`mlreg remote status` shows the remote).';
}
