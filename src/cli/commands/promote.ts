import type { Command } from 'commander';
import type { StageMove } from '../../core/stages.js';
import type { CheckoutResult } from '../../core/checkout.js';
import { result } from '../output.js';
import { action, examples } from '../command.js';
import type { Ui } from '../ui.js';

interface PromoteOpts {
  to: string;
  reason?: string;
  expect?: string;
  dryRun?: boolean;
  allowPrerelease?: boolean;
  checkout?: string;
}

export function register(program: Command): void {
  program
    .command('promote')
    .argument('<ref>', 'the version to promote, e.g. fraud@1.4.0')
    .description('point a stage (production, staging, canary, …) at a version')
    .requiredOption('--to <stage>', 'the stage to move')
    .option('--reason <text>', 'why, for the audit log')
    .option('--expect <version>', 'only if the stage holds this version now ("none" for an empty stage); else exit 4')
    .option('--allow-prerelease', 'allow a prerelease version into production')
    .option('--checkout <dir>', 'also materialise the version into DIR and switch DIR/current to it')
    .option('--dry-run', 'say what would happen, change nothing')
    .addHelpText(
      'after',
      examples(
        'mlreg promote fraud@1.4.0 --to production --reason "beats 1.3.2 on holdout"',
        'mlreg promote fraud@1.4.0 --to production --expect 1.3.2 --json',
        'mlreg promote fraud@1.4.0 --to production --checkout /srv/fraud',
      ),
    )
    .action(
      action<PromoteOpts>(async (ctx, [ref], opts) => {
        const { promote } = await import('../../core/stages.js');
        const reg = ctx.registry();
        const actor = ctx.actor();
        let prepared: Awaited<ReturnType<typeof import('../../core/checkout.js').prepareCheckout>> | undefined;
        if (opts.checkout && !opts.dryRun) {
          const { prepareCheckout } = await import('../../core/checkout.js');
          prepared = await prepareCheckout(reg, ref!, opts.checkout);
        }
        const move = promote(reg, { ref: prepared ? `${prepared.version.name}@${prepared.version.version}` : ref!, stage: opts.to, actor, reason: opts.reason, expect: opts.expect, dryRun: opts.dryRun, allowPrerelease: opts.allowPrerelease });
        const checkout = prepared ? prepared.switch() : undefined;
        return result({ ...move, ...(checkout ? { checkout } : {}) }, renderMove);
      }),
    );
}

export function renderMove(m: StageMove & { checkout?: CheckoutResult; skipped?: { version: string; why: string }[] }, ui: Ui, verb = 'Promoted'): string {
  const arrow = `${m.from ?? '(none)'} → ${m.to}`;
  let out: string;
  if (m.dryRun) out = `${ui.c.yellow('Dry run:')} would move ${m.name}@${m.stage}: ${arrow}`;
  else if (!m.changed) out = `${m.name}@${m.stage} already holds ${m.to}; nothing changed`;
  else out = `${ui.c.green(verb)} ${ui.c.bold(m.name)}@${ui.c.cyan(m.stage)}: ${arrow}  by ${m.actor}${m.reason ? `: ${m.reason}` : ''}`;
  if (m.skipped?.length) out += `\n  skipped ${m.skipped.map((s) => `${s.version} (${s.why})`).join(', ')}`;
  if (m.checkout) out += `\n  ${m.checkout.current} → versions/${m.checkout.version}${m.checkout.reused ? ' (already materialised)' : ''}`;
  return out;
}
