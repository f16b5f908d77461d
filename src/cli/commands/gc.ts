import type { Command } from 'commander';
import { InvalidInputError } from '../../core/errors.js';
import type { GcReport } from '../../core/store/gc.js';
import { result } from '../output.js';
import { action, examples } from '../command.js';
import { formatBytes, type Ui } from '../terminal/style.js';

interface GcOpts {
  dryRun?: boolean;
  keepLast?: string;
  stagedWithin?: string;
  grace?: string;
}

function wholeNumber(text: string | undefined, option: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min)
    throw new InvalidInputError(`${option} takes a whole number ≥ ${min}, not ${JSON.stringify(text)}`, {
      code: 'E_BAD_NUMBER',
      hint: `Example: ${option} ${Math.max(min, 5)}.`,
    });
  return n;
}

export function register(program: Command): void {
  program
    .command('gc')
    .description(
      'remove objects no version references and temp files of dead writers; optionally keep only the last N versions',
    )
    .option('--dry-run', 'list what would go and the bytes freed; change nothing')
    .option(
      '--keep-last <n>',
      'also delete all but the newest N versions of each artifact (never staged or recently staged ones)',
    )
    .option('--staged-within <days>', 'with --keep-last: protect versions that held a stage within DAYS', '30')
    .option(
      '--grace <seconds>',
      'leave unreferenced objects younger than this alone (a concurrent add may be about to index them)',
      '600',
    )
    .addHelpText('after', examples('mlreg gc --dry-run', 'mlreg gc', 'mlreg gc --keep-last 5 --dry-run --json'))
    .action(
      action<GcOpts>(async (ctx, _args, opts) => {
        const keepLast = wholeNumber(opts.keepLast, '--keep-last', 1);
        const stagedWithinDays = wholeNumber(opts.stagedWithin, '--staged-within', 0);
        const grace = wholeNumber(opts.grace, '--grace', 0)!;
        const { gc } = await import('../../core/store/gc.js');
        const report = gc(ctx.registry(), {
          actor: ctx.actor(),
          dryRun: opts.dryRun,
          keepLast,
          stagedWithinDays,
          graceMs: grace * 1000,
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
