import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import type { FollowEvent, Served } from '../../core/follow/follow.js';
import { action, examples } from '../command.js';
import type { Context } from '../context.js';
import { notice, result } from '../output.js';
import { durationOption, numberOption } from '../options.js';
import type { Ui } from '../terminal/style.js';

interface FollowOpts {
  exec?: string;
  hookTimeout: number;
  interval: number;
  once?: boolean;
  keep?: number;
  allowUnsafe?: boolean;
  id?: string;
  heartbeat?: number;
}

/** A follower reports at least this often when nothing changes (a replica: one remote log entry each). */
const HEARTBEAT_LOCAL_MS = 60_000;
const HEARTBEAT_REPLICA_MS = 5 * 60_000;

export function register(program: Command): void {
  program
    .command('follow')
    .argument('<target>', 'NAME or NAME@STAGE (default stage: production)')
    .argument('<dir>', 'the serving folder: DIR/current links to DIR/versions/<version>')
    .description('keep DIR/current on the version a stage holds: materialise, switch, run a reload hook, report')
    .option(
      '--exec <command>',
      'after each switch run this shell command (MLREG_NAME, MLREG_VERSION, MLREG_PATH … set)',
    )
    .addOption(
      durationOption('--hook-timeout <duration>', 'stop the --exec command after this long (default 30s)', {
        code: 'E_BAD_TIMEOUT',
      }).default(30_000),
    )
    .addOption(
      durationOption('--interval <duration>', 'time between checks of the stage (default 5s)', {
        code: 'E_BAD_INTERVAL',
      }).default(5_000),
    )
    .option('--once', 'reconcile once and exit (cron, a host coming back)')
    .addOption(
      numberOption('--keep <n>', 'keep at most N version folders (never the current one nor the one before it)', {
        integer: true,
        min: 1,
        code: 'E_BAD_KEEP',
        example: '3',
      }),
    )
    .option('--allow-unsafe', 'also switch to a version the model scan flagged unsafe')
    .option('--id <follower>', 'how this follower is named in `mlreg status` (default: HOST:DIR)')
    .addOption(
      durationOption(
        '--heartbeat <duration>',
        'report what is served at least this often when nothing changes (default 1m; 5m on a replica)',
        { code: 'E_BAD_INTERVAL' },
      ),
    )
    .addHelpText(
      'after',
      examples(
        "mlreg follow fraud@production /srv/fraud --exec 'kill -HUP $(cat /run/fraud.pid)'",
        'mlreg follow fraud /srv/fraud --interval 1s --keep 3 --json',
        'mlreg follow fraud@canary /srv/fraud-canary --once   # from cron',
      ),
    )
    .action(
      action<FollowOpts>(async (ctx, [target, dir], opts) => {
        const { name, stage } = followTarget(target!);
        const reg = ctx.registry();
        const { follow } = await import('../../core/follow/follow.js');
        const replica = await replicaOf(ctx);
        const folder = ctx.path(dir!);
        const { reporter, recordReport } = await import('../../core/follow/reports.js');
        const { hostname } = await import('node:os');
        const actor = ctx.actor();
        const host = hostname();
        const follower = opts.id ?? `${host}:${folder}`;
        const { FOLLOWER_RE } = await import('../../core/remote/ops.js');
        if (!FOLLOWER_RE.test(follower))
          throw new UsageError(`--id ${JSON.stringify(follower)} is not a follower name`, {
            code: 'E_BAD_FOLLOWER_ID',
            hint: 'Give 1 to 512 printable characters, e.g. --id web-1.',
          });
        const report = reporter({
          follower,
          host,
          actor,
          heartbeatMs: Math.max(opts.heartbeat ?? (replica ? HEARTBEAT_REPLICA_MS : HEARTBEAT_LOCAL_MS), opts.interval),
          now: ctx.runtime.now,
          write: async (op) => {
            if (replica) await replica.write(op);
            else recordReport(reg, op, actor);
            // A follower runs until stopped: the webhooks of its deployments go out as they happen
            // (with --once, when the command ends, in the --json envelope like any command's).
            if (!opts.once) {
              const { announceChanges } = await import('../webhooks.js');
              await announceChanges(ctx);
            }
          },
        });
        const summary = await follow(reg, {
          name,
          stage,
          dir: folder,
          intervalMs: opts.interval,
          once: !!opts.once,
          keep: opts.keep,
          allowUnsafe: !!opts.allowUnsafe,
          hook: opts.exec
            ? {
                command: opts.exec,
                timeoutMs: opts.hookTimeout,
                cwd: ctx.cwd,
                env: ctx.env,
                signalGroup: ctx.runtime.signalProcessGroup,
                onOutput: (chunk) => ctx.io.stderr.write(chunk),
              }
            : undefined,
          signal: opts.once ? undefined : ctx.io.stopSignal?.(),
          refresh: replica?.refresh,
          report,
          onEvent: (e) => say(ctx, e, !opts.once),
        });
        if (!opts.once) return { data: null, silent: true };
        const served = summary.served!;
        const hookFailed = served.hook !== null && served.hook.result !== 'ok';
        return result(served, renderOnce, hookFailed ? 1 : 0);
      }),
    );
}

/** `fraud` follows production; `fraud@canary` follows canary. */
function followTarget(target: string): { name: string; stage: string } {
  const at = target.indexOf('@');
  if (at === -1) return { name: target, stage: 'production' };
  const name = target.slice(0, at);
  const stage = target.slice(at + 1);
  if (!name || !stage)
    throw new UsageError(`${JSON.stringify(target)} is not NAME or NAME@STAGE`, {
      code: 'E_USAGE',
      hint: 'e.g. mlreg follow fraud@production /srv/fraud',
    });
  return { name, stage };
}

/**
 * On a replica: refresh it from the remote each round (one list request when nothing is new),
 * fetch the objects of a version this folder lacks, and send reports as remote log entries (so
 * every machine sees them). A registry that is only local needs none of this.
 */
async function replicaOf(ctx: Context): Promise<
  | {
      refresh: () => Promise<boolean>;
      write: (op: import('../../core/remote/ops.js').FollowerReportOp) => Promise<void>;
    }
  | undefined
> {
  const reg = ctx.registry();
  const { replicaInfo } = await import('../../core/remote/replica-state.js');
  const info = replicaInfo(reg);
  if (!info) return undefined;
  if (ctx.offline)
    throw new UsageError('follow on a replica reads the stage from the remote; --offline cannot', {
      code: 'E_OFFLINE_WRITE',
      hint: 'To switch this host from its replica without the remote, use `mlreg checkout NAME@VERSION DIR --offline`.',
    });
  const { openStore } = await import('../replica.js');
  const { pull } = await import('../../core/remote/pull.js');
  const { fetchObject } = await import('../../core/remote/objects-sync.js');
  const { runReplicated } = await import('../../core/remote/session.js');
  const { recordReport } = await import('../../core/follow/reports.js');
  let store: Awaited<ReturnType<typeof openStore>> | undefined;
  const opened = async () => {
    store ??= await openStore(ctx, info.url, info.endpoint, info.region, 5_000);
    return store;
  };
  reg.fetchObject = async (digest) => fetchObject(reg, await opened(), digest);
  const actor = ctx.actor();
  return {
    refresh: async () => (await pull(reg, await opened())).applied > 0,
    write: async (op) => {
      await runReplicated(
        reg,
        await opened(),
        { command: 'follow', writerId: info.writerId, pullFirst: false, onNotice: (text) => notice(ctx.io, text) },
        async () => recordReport(reg, op, actor),
      );
    },
  };
}

/** One line on stderr per change; with --json in loop mode, the event as one NDJSON line on stdout too. */
function say(ctx: Context, e: FollowEvent, ndjson: boolean): void {
  if (ndjson && ctx.json) ctx.io.stdout.write(JSON.stringify(e) + '\n');
  notice(ctx.io, `mlreg follow: ${e.time} ${describe(e)}`);
}

function describe(e: FollowEvent): string {
  switch (e.event) {
    case 'switch':
      return `${e.name}@${e.stage}: switched to ${e.version}${e.previous ? ` (was ${e.previous})` : ''}${e.reused ? ', already materialised' : ''}${hookText(e.hook)}`;
    case 'waiting':
      return e.message;
    case 'error':
      return `${e.name}@${e.stage}: error ${e.code}: ${e.message}${e.hint ? ` (hint: ${e.hint})` : ''}`;
    case 'unreachable':
      return `the remote is unreachable: ${e.message}`;
    case 'reachable':
      return 'the remote answers again';
    case 'stopped':
      return 'stopped';
    case 'started':
      return `following ${e.name}@${e.stage} into ${e.dir} (serving ${e.serving ?? 'nothing yet'})`;
  }
}

function hookText(hook: Served['hook']): string {
  if (!hook) return '';
  if (hook.result === 'ok') return `; hook ok (${hook.ms} ms)`;
  return `; hook ${hook.result}: ${hook.message}`;
}

function renderOnce(s: Served, ui: Ui): string {
  const head = s.changed
    ? `${ui.c.green('Switched')} ${s.name}@${s.stage} to ${s.version}${s.previous ? ` (was ${s.previous})` : ''}`
    : `${s.name}@${s.stage} holds ${s.version}; ${s.path.replace(/\/versions\/[^/]*$/, '/current')} already serves it`;
  return `${head}\n  ${s.path}${hookText(s.hook)}`;
}
