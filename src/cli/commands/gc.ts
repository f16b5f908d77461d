import type { Command } from 'commander';
import type { GcReport } from '../../core/store/gc.js';
import { result } from '../output.js';
import { action, examples } from '../command.js';
import { durationOption, numberOption } from '../options.js';
import { formatBytes, type Ui } from '../terminal/style.js';

interface GcOpts {
  dryRun?: boolean;
  keepLast?: number;
  stagedWithin: number;
  grace: number;
}

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
    .addHelpText('after', examples('mlreg gc --dry-run', 'mlreg gc', 'mlreg gc --keep-last 5 --dry-run --json'))
    .action(
      action<GcOpts>(async (ctx, _args, opts) => {
        const { gc } = await import('../../core/store/gc.js');
        const report = gc(ctx.registry(), {
          actor: ctx.actor(),
          dryRun: opts.dryRun,
          keepLast: opts.keepLast,
          stagedWithinDays: opts.stagedWithin,
          graceMs: opts.grace,
        });
        return result(report, renderGc);
      }),
    );
}

function renderGc(r: GcReport, ui: Ui): string {
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
  return lines.join('\n');
}
