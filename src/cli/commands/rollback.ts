import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import type { CheckoutResult } from '../../core/versions/checkout.js';
import { result } from '../output.js';
import { action, examples } from '../command.js';
import { renderMove } from './promote.js';

interface RollbackOpts {
  stage?: string;
  to?: string;
  reason?: string;
  expect?: string;
  dryRun?: boolean;
  checkout?: string;
}

export function register(program: Command): void {
  program
    .command('rollback')
    .argument('<name>', 'the artifact, or NAME@STAGE (same as --stage)')
    .description('move a stage back to the version that held it before (undo); again walks further back')
    .option('--stage <stage>', 'the stage to roll back (default: production)')
    .option('--to <version>', 'roll back to this version instead')
    .option('--reason <text>', 'why, for the audit log')
    .option('--expect <version>', 'only if the stage holds this version now; else exit 4')
    .option('--checkout <dir>', 'also switch DIR/current to the version rolled back to')
    .option('--dry-run', 'say what would happen, change nothing')
    .addHelpText(
      'after',
      examples(
        'mlreg rollback fraud --reason "INC-1234: false positives doubled"',
        'mlreg rollback fraud@canary --reason "INC-1235"',
        'mlreg rollback fraud --checkout /srv/fraud --reason "INC-1234"',
        'mlreg rollback fraud --stage canary --to 1.3.2',
        'mlreg rollback fraud --dry-run',
      ),
    )
    .action(
      action<RollbackOpts>(async (ctx, [target], opts) => {
        const { rollback } = await import('../../core/stages/rollback.js');
        const { name, stage } = rollbackTarget(target!, opts.stage);
        const reg = ctx.registry();
        const { whenCommitted } = await import('../../core/registry/registry.js');
        const actor = ctx.actor();
        const base = { name, stage, to: opts.to, reason: opts.reason, expect: opts.expect, actor };
        if (!opts.checkout || opts.dryRun) {
          return result(rollback(reg, { ...base, dryRun: opts.dryRun }), (d, ui) => renderMove(d, ui, 'Rolled back'));
        }
        // Plan, materialise the target, then roll back only if the stage still holds what was planned.
        const plan = rollback(reg, { ...base, dryRun: true });
        const { prepareCheckout } = await import('../../core/versions/checkout.js');
        const prepared = await prepareCheckout(reg, `${plan.name}@${plan.to}`, opts.checkout);
        // The same walk as the plan (so the skipped versions are reported and logged), pinned to its holder and target.
        let checkout: CheckoutResult | undefined;
        const move = rollback(reg, {
          ...base,
          expect: opts.expect ?? plan.from ?? undefined,
          expectTarget: plan.to,
        });
        // DIR/current follows the index: switched only once the rollback committed (on a replica,
        // once the remote took it), so it never serves a version the stage did not hold.
        const { switchAfterCommit } = await import('../../core/versions/checkout.js');
        const dir = opts.checkout;
        whenCommitted(reg, () => void (checkout = switchAfterCommit(reg, prepared, dir, move)));
        return result(
          Object.defineProperty({ ...move }, 'checkout', { enumerable: true, get: () => checkout }) as typeof move & {
            checkout?: CheckoutResult;
          },
          (d, ui) => renderMove(d, ui, 'Rolled back'),
        );
      }),
    );
}

/** `fraud@canary` is what on call types first: the same as `fraud --stage canary`. */
function rollbackTarget(target: string, stageOption: string | undefined): { name: string; stage: string } {
  const at = target.indexOf('@');
  if (at === -1) return { name: target, stage: stageOption ?? 'production' };
  const name = target.slice(0, at);
  const stage = target.slice(at + 1);
  if (stageOption !== undefined && stageOption !== stage)
    throw new UsageError(`${target} names stage ${stage} and --stage says ${stageOption}`, {
      code: 'E_USAGE',
      hint: `Give the stage once: mlreg rollback ${name}@${stage}, or mlreg rollback ${name} --stage ${stageOption}.`,
    });
  return { name, stage };
}
