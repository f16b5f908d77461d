import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import type { GcReport } from '../../core/store/gc.js';
import { DEFAULT_REMOTE_GRACE_MS, MIN_REMOTE_GRACE_MS, type RemoteGcReport } from '../../core/remote/gc.js';
import { result } from '../output.js';
import { action, examples } from '../command.js';
import { durationOption, numberOption } from '../options.js';
import { formatBytes, type Ui } from '../terminal/style.js';

interface GcOpts {
  dryRun?: boolean;
  keepLast?: number;
  stagedWithin: number;
  grace: number;
  remote?: boolean;
  remoteGrace: number;
}

/** What `gc` did: the local folder, and on a replica with --remote, the remote. */
type GcResult = GcReport & { remote: RemoteGcReport | null };

export function register(program: Command): void {
  program
    .command('gc')
    .description(
      'remove objects no version references and temp files of dead writers; optionally keep only the last N versions',
    )
    .option('--dry-run', 'list what would go and the bytes freed; change nothing')
    .addOption(
      numberOption(
        '--keep-last <n>',
        'also delete all but the newest N versions of each artifact (never staged or recently staged ones)',
        { integer: true, min: 1, example: '5' },
      ),
    )
    .addOption(
      numberOption(
        '--staged-within <days>',
        'with --keep-last: protect versions that held a stage within DAYS',
        { integer: true, min: 0, example: '30' },
        30,
      ),
    )
    .addOption(
      durationOption(
        '--grace <duration>',
        'leave unreferenced objects younger than this alone (a concurrent add may be about to index them; 30s, 10m; plain numbers are seconds)',
        { minMs: 0, code: 'E_BAD_NUMBER' },
      ).default(600_000, '10m'),
    )
    .option(
      '--remote',
      "on a replica: also remove from the remote the objects no version references that are older than --remote-grace (else only this folder's copies go)",
    )
    .addOption(
      durationOption(
        '--remote-grace <duration>',
        'with --remote: leave objects younger than this on the remote (writers on other machines may be about to reference them; at least 1h)',
        { minMs: MIN_REMOTE_GRACE_MS, code: 'E_BAD_NUMBER' },
      ).default(DEFAULT_REMOTE_GRACE_MS, '24h'),
    )
    .addHelpText(
      'after',
      examples(
        'mlreg gc --dry-run',
        'mlreg gc',
        'mlreg gc --keep-last 5 --dry-run --json',
        'mlreg gc --remote --dry-run',
      ),
    )
    .action(
      action<GcOpts>(async (ctx, _args, opts) => {
        const { gc } = await import('../../core/store/gc.js');
        const reg = ctx.registry();
        const replica = ctx.replica;
        if (opts.remote && !replica)
          throw new UsageError('gc --remote needs a replica of a remote registry; this registry is only local', {
            code: 'E_NOT_A_REPLICA',
            hint: 'Run `mlreg gc` without --remote here, or run gc --remote in a replica (`mlreg clone URL`).',
          });
        const local = (): GcReport =>
          gc(reg, {
            actor: ctx.actor(),
            dryRun: opts.dryRun,
            keepLast: opts.keepLast,
            stagedWithinDays: opts.stagedWithin,
            graceMs: opts.grace,
            cacheOnly: replica !== undefined,
          });
        if (!replica) return result<GcResult>({ ...local(), remote: null }, renderGc);
        // On a replica: the versions --keep-last deletes are a shared change; objects/ is only a cache.
        // A dry run changes nothing, but judges the head of the log (unless --offline).
        if (opts.dryRun && !ctx.offline) {
          const { pull } = await import('../../core/remote/pull.js');
          await pull(reg, await replica.store());
        }
        const report = opts.dryRun ? local() : await replica.replicate(async () => local());
        let remote: RemoteGcReport | null = null;
        if (opts.remote) {
          const { remoteGc } = await import('../../core/remote/gc.js');
          remote = await remoteGc(reg, await replica.store(), { graceMs: opts.remoteGrace, dryRun: opts.dryRun });
          const done = remote;
          if (!opts.dryRun && done.objectsRemoved > 0) {
            const { applyOperations } = await import('../../core/remote/apply.js');
            await replica.replicate(async () =>
              reg.write(() =>
                applyOperations(
                  reg,
                  [
                    {
                      op: 'gc.remote',
                      at: reg.nowIso(),
                      objectsRemoved: done.objectsRemoved,
                      bytesFreed: done.bytesFreed,
                      graceSeconds: done.graceSeconds,
                    },
                  ],
                  ctx.actor(),
                ),
              ),
            );
          }
        }
        return result<GcResult>({ ...report, remote }, renderGc);
      }),
    );
}

function renderGc(r: GcResult, ui: Ui): string {
  const would = r.dryRun ? 'would ' : '';
  const lines: string[] = [];
  if (r.dryRun) lines.push(ui.c.yellow('Dry run: nothing was changed.'));
  for (const v of r.versionsDeleted) lines.push(`${would}delete ${v.name}@${v.version}`);
  for (const v of r.versionsKept) lines.push(ui.c.dim(`keep ${v.name}@${v.version}: ${v.why}`));
  lines.push(
    `${r.dryRun ? 'Would remove' : 'Removed'} ${r.objectsRemoved} object${r.objectsRemoved === 1 ? '' : 's'}, ${formatBytes(r.bytesFreed)} freed`,
  );
  if (r.objectsInGrace)
    lines.push(
      `Kept ${r.objectsInGrace} unreferenced object${r.objectsInGrace === 1 ? '' : 's'} (${formatBytes(r.bytesInGrace)}) ` +
        `younger than the grace period of ${r.graceSeconds} s: an add still running may be about to index them.\n` +
        'Run gc again later, or with --grace 0 when no add is running.',
    );
  if (!r.dryRun && r.tempFilesRemoved) lines.push(`${r.tempFilesRemoved} stale temp file(s) removed`);
  if (r.remote) {
    const m = r.remote;
    lines.push(
      `Remote (log entry ${m.position}): ${m.objects} object${m.objects === 1 ? '' : 's'}, ${m.referenced} referenced; ` +
        `${r.dryRun ? 'would remove' : 'removed'} ${m.objectsRemoved} (${formatBytes(m.bytesFreed)})`,
    );
    if (m.objectsInGrace)
      lines.push(
        `Kept ${m.objectsInGrace} unreferenced remote object${m.objectsInGrace === 1 ? '' : 's'} (${formatBytes(m.bytesInGrace)}) ` +
          `younger than ${m.graceSeconds} s: a writer on another machine may be about to reference them.`,
      );
  }
  return lines.join('\n');
}
