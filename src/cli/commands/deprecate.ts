import type { Command } from 'commander';
import type { RetireResult } from '../../core/versions/retire.js';
import { result } from '../output.js';
import { action, examples } from '../command.js';
import type { Ui } from '../terminal/style.js';

interface RetireOpts {
  reason?: string;
}

export function register(program: Command): void {
  program
    .command('deprecate')
    .argument('<ref>', 'the version, e.g. fraud@1.2.0')
    .description('mark a version deprecated: it stays stored, cannot be promoted, and rollback skips it')
    .option('--reason <text>', 'why, for the audit log')
    .addHelpText(
      'after',
      examples('mlreg deprecate fraud@1.2.0 --reason "leaks the label"', 'mlreg undeprecate fraud@1.2.0'),
    )
    .action(
      action<RetireOpts>(async (ctx, [ref], opts) => {
        const { deprecate } = await import('../../core/versions/retire.js');
        return result(deprecate(ctx.registry(), ref!, { actor: ctx.actor(), reason: opts.reason }), (r, ui) =>
          renderRetire(r, ui, 'Deprecated', 'was already deprecated'),
        );
      }),
    );
}

export function renderRetire(r: RetireResult, ui: Ui, verb: string, unchanged: string): string {
  if (!r.changed) return `${r.name}@${r.version} ${unchanged}; nothing changed`;
  return `${ui.c.green(verb)} ${ui.c.bold(`${r.name}@${r.version}`)} by ${r.actor}${r.reason ? `: ${r.reason}` : ''}`;
}
