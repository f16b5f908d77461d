import type { Command } from 'commander';
import { result } from '../output.js';
import { action, examples } from '../command.js';
import { renderRetire } from './deprecate.js';

export function register(program: Command): void {
  program
    .command('undeprecate')
    .argument('<ref>', 'the version, e.g. fraud@1.2.0')
    .description('undo a deprecation: the version can be promoted and rolled back to again')
    .option('--reason <text>', 'why, for the audit log')
    .addHelpText('after', examples('mlreg undeprecate fraud@1.2.0 --reason "label leak was a false alarm"'))
    .action(
      action<{ reason?: string }>(async (ctx, [ref], opts) => {
        const { undeprecate } = await import('../../core/versions/retire.js');
        return result(undeprecate(ctx.registry(), ref!, { actor: ctx.actor(), reason: opts.reason }), (r, ui) =>
          renderRetire(r, ui, 'Undeprecated', 'was not deprecated'),
        );
      }),
    );
}
