import type { Command } from 'commander';
import type { DeleteResult } from '../../core/versions/retire.js';
import { result } from '../output.js';
import { action, examples } from '../command.js';
import { formatBytes } from '../terminal/style.js';

interface DeleteOpts {
  reason?: string;
  force?: boolean;
}

export function register(program: Command): void {
  program
    .command('delete')
    .argument('<ref>', 'the version, e.g. fraud@1.0.0')
    .description('remove a version from the index (its number is never reused; its bytes go with the next gc)')
    .option('--reason <text>', 'why, for the audit log')
    .option(
      '--force',
      "delete even when it is the only way back in a stage's rollback history (logged); never while a stage points at it",
    )
    .addHelpText(
      'after',
      examples(
        'mlreg delete fraud@1.0.0 --reason "trained on leaked data"',
        'mlreg delete fraud@1.0.0 --force',
        'mlreg gc',
      ),
    )
    .action(
      action<DeleteOpts>(async (ctx, [ref], opts) => {
        const { deleteVersion } = await import('../../core/versions/retire.js');
        const done = deleteVersion(ctx.registry(), ref!, {
          actor: ctx.actor(),
          reason: opts.reason,
          force: opts.force,
        });
        return result(done, (r: DeleteResult, ui) => {
          let out = `${ui.c.green('Deleted')} ${ui.c.bold(`${r.name}@${r.version}`)} by ${r.actor}${r.reason ? `: ${r.reason}` : ''}`;
          if (r.forcedStages.length)
            out += `\n  ${ui.c.yellow('forced:')} ${r.forcedStages.join(', ')} can no longer roll back`;
          out += `\n  ${formatBytes(r.bytesForGc)} become free with \`mlreg gc\``;
          return out;
        });
      }),
    );
}
