import type { Command } from 'commander';
import { GateNotMetError } from '../../../core/errors.js';
import type { RuleCheckReport } from '../../../core/monitor/check.js';
import type { Raised } from '../../../core/monitor/raise.js';
import type { CheckoutResult } from '../../../core/versions/checkout.js';
import type { StoredRule } from '../../../core/monitor/rules-store.js';
import { action, collect, examples } from '../../command.js';
import { webhookTimeoutOption, windowOption } from '../../options.js';
import { failWithReport, result } from '../../output.js';
import type { Ui } from '../../terminal/style.js';

interface CheckOpts {
  rule?: string[];
  window?: number;
  webhook?: string;
  webhookTimeout: number;
  alertCmd?: string;
  autoRollback?: boolean;
  checkout?: string;
  source?: string;
}

export type CheckOutcome = RuleCheckReport & Partial<Raised> & { checkout?: CheckoutResult };

/** `monitor check` and `monitor rule add|list|remove`. */
export function registerCheck(monitor: Command): void {
  monitor
    .command('check')
    .argument('<target>', 'NAME or NAME@STAGE (default stage: production)')
    .description(
      'evaluate alert rules on the live observations of the version holding the stage; exit 1 when one fires',
    )
    .option(
      '--rule <rule>',
      'a rule, e.g. "auc < 0.85" or "auc drops 0.03 vs previous" (repeatable; default: the stored rules)',
      collect,
    )
    .addOption(windowOption('observations averaged per rule given with --rule (default 3)'))
    .option('--webhook <url>', 'POST the alert as JSON to this URL (timeout, 3 attempts)')
    .addOption(webhookTimeoutOption())
    .option('--alert-cmd <cmd>', 'run this shell command with the alert JSON on stdin')
    .option('--source <name>', 'count only observations of this source in every --rule (same as "… from NAME")')
    .option('--auto-rollback', 'roll the stage back when a rule fires (only if it still holds the failing version)')
    .option('--checkout <dir>', 'with --auto-rollback: switch DIR/current to the version rolled back to')
    .addHelpText(
      'after',
      examples(
        'mlreg monitor check fraud --rule "auc < 0.85" --window 3',
        'mlreg monitor check fraud --auto-rollback --webhook https://hooks.example.com/mlreg',
        'mlreg monitor check fraud --auto-rollback --checkout /srv/fraud',
        'mlreg monitor check fraud@canary --rule "auc drops 0.03 vs previous" --alert-cmd "mail -s mlreg oncall@example.com"',
      ),
    )
    .action(
      action<CheckOpts>(async (ctx, [target], opts) => {
        const { parseTarget } = await import('../../../core/monitor/observations.js');
        const { parseRule, DEFAULT_WINDOW } = await import('../../../core/monitor/rules.js');
        const { checkRules, assertKnownMetric } = await import('../../../core/monitor/check.js');
        const { storedSpecs } = await import('../../../core/monitor/rules-store.js');
        const { parseWebhookUrl } = await import('../../../core/monitor/alerts.js');
        const { getArtifact } = await import('../../../core/versions/refs.js');
        const { UsageError } = await import('../../../core/errors.js');
        const t = parseTarget(target!);
        if (opts.checkout !== undefined && !opts.autoRollback)
          throw new UsageError(
            '--checkout goes with --auto-rollback: it switches DIR/current to the version rolled back to',
            {
              code: 'E_USAGE',
              hint: `e.g. mlreg monitor check ${target} --auto-rollback --checkout /srv/${t.name}`,
            },
          );
        const window = opts.window ?? DEFAULT_WINDOW;
        const webhook = opts.webhook === undefined ? undefined : parseWebhookUrl(opts.webhook);
        const reg = ctx.registry();
        let specs: ReturnType<typeof storedSpecs>;
        if (opts.rule?.length) {
          const artifact = getArtifact(reg, t.name);
          specs = opts.rule.map((text) => {
            const rule = parseRule(text, opts.source);
            assertKnownMetric(reg, artifact.id, artifact.name, rule);
            return { rule, window };
          });
        } else {
          specs = storedSpecs(reg, t);
          if (specs.length === 0) {
            throw new UsageError(`${t.name}@${t.stage} has no stored rules and no --rule was given`, {
              code: 'E_NO_RULES',
              hint: `Give --rule "auc < 0.85", or store one: mlreg monitor rule add ${t.name} "auc < 0.85" --window 3.`,
            });
          }
        }
        const report = checkRules(reg, t, specs);
        if (report.status !== 'alert') return result(report as CheckOutcome, renderCheck);
        const { raiseAlert } = await import('../../../core/monitor/raise.js');
        const raised = await raiseAlert(reg, report, {
          actor: ctx.actor(),
          autoRollback: opts.autoRollback,
          channels: { webhook, webhookOptions: { timeoutMs: opts.webhookTimeout }, command: opts.alertCmd },
        });
        const outcome: CheckOutcome = { ...report, ...raised };
        if (opts.checkout !== undefined && raised.rollback?.done && raised.rollback.to) {
          // The folder follows the index: materialised now, switched once the rollback committed
          // (on a replica, once the remote took it).
          const { prepareCheckout, switchAfterCommit, checkoutBehind } = await import(
            '../../../core/versions/checkout.js'
          );
          const { whenCommitted } = await import('../../../core/registry/registry.js');
          const dir = opts.checkout;
          const move = { name: report.name, stage: report.stage, to: raised.rollback.to };
          let prepared: Awaited<ReturnType<typeof prepareCheckout>>;
          try {
            prepared = await prepareCheckout(reg, `${report.name}@${raised.rollback.to}`, dir);
          } catch (err) {
            throw checkoutBehind(dir, move, err, err instanceof Error ? err.message : String(err));
          }
          whenCommitted(reg, () => void (outcome.checkout = switchAfterCommit(reg, prepared, dir, move)));
        }
        return failWithReport(
          ctx.json,
          outcome,
          renderCheck,
          new GateNotMetError(
            `${report.fired.length} monitoring rule(s) fired for ${report.name}@${report.stage} (${report.version})`,
            {
              code: 'E_MONITOR_ALERT',
              hint: raised.rollback?.done
                ? `Rolled back to ${raised.rollback.to}; see \`mlreg history ${report.name}\`.`
                : `Investigate, or roll back with \`mlreg rollback ${report.name} --stage ${report.stage} --expect ${report.version}\`.`,
              details: outcome,
            },
          ),
        );
      }),
    );

  const rule = monitor
    .command('rule')
    .description('alert rules stored in the registry, checked by `monitor check NAME`')
    .addHelpText(
      'after',
      examples(
        'mlreg monitor rule add fraud "auc < 0.85" --window 3',
        'mlreg monitor rule list fraud',
        'mlreg monitor rule remove fraud 2',
      ),
    );
  rule
    .command('add')
    .argument('<target>', 'NAME or NAME@STAGE')
    .argument('<rule>', 'e.g. "auc < 0.85" or "auc drops 0.03 vs previous"')
    .addOption(windowOption('observations averaged (default 3)'))
    .option('--source <name>', 'count only observations of this source (same as "… from NAME" in the rule)')
    .description('store a rule (adding the same rule again only updates its window)')
    .addHelpText(
      'after',
      examples(
        'mlreg monitor rule add fraud "auc < 0.85" --window 3',
        'mlreg monitor rule add fraud "auc drops 0.03 vs previous"',
      ),
    )
    .action(
      action<{ window?: number; source?: string }>(async (ctx, [target, text], opts) => {
        const { parseTarget } = await import('../../../core/monitor/observations.js');
        const { DEFAULT_WINDOW } = await import('../../../core/monitor/rules.js');
        const { addRule } = await import('../../../core/monitor/rules-store.js');
        const data = addRule(
          ctx.registry(),
          parseTarget(target!),
          text!,
          opts.window ?? DEFAULT_WINDOW,
          ctx.actor(),
          opts.source,
        );
        return result(data, (d) =>
          d.added
            ? `Rule #${d.id} for ${d.name}@${d.stage}: ${d.rule} (window ${d.window})`
            : `${d.name}@${d.stage} already has rule #${d.id}: ${d.rule} (window ${d.window}); nothing changed`,
        );
      }),
    );
  rule
    .command('list')
    .argument('<name>', 'the artifact')
    .option('--stage <stage>', 'only this stage')
    .description('the stored rules')
    .addHelpText(
      'after',
      examples('mlreg monitor rule list fraud', 'mlreg monitor rule list fraud --stage canary --json'),
    )
    .action(
      action<{ stage?: string }>(async (ctx, [name], opts) => {
        const { listRules } = await import('../../../core/monitor/rules-store.js');
        const data = listRules(ctx.registry(), name!, opts.stage);
        return result(data, (d: StoredRule[], ui) =>
          d.length
            ? ui.table(
                ['#', 'STAGE', 'RULE', 'WINDOW', 'BY'],
                d.map((r) => [r.id, r.stage, r.rule, r.window, r.createdBy]),
              )
            : `No rules stored for ${name}.`,
        );
      }),
    );
  rule
    .command('remove')
    .argument('<target>', 'NAME or NAME@STAGE')
    .argument('<rule>', 'the rule number (from `rule list`) or its text')
    .description('remove a stored rule')
    .addHelpText('after', examples('mlreg monitor rule remove fraud 2', 'mlreg monitor rule remove fraud "auc < 0.85"'))
    .action(
      action(async (ctx, [target, which]) => {
        const { parseTarget } = await import('../../../core/monitor/observations.js');
        const { removeRule } = await import('../../../core/monitor/rules-store.js');
        const data = removeRule(ctx.registry(), parseTarget(target!), which!, ctx.actor());
        return result(data, (d) => `Removed rule #${d.id} of ${d.name}@${d.stage}: ${d.rule}`);
      }),
    );
}

export function renderCheck(r: CheckOutcome, ui: Ui): string {
  const head = `${ui.c.bold(r.name)}@${ui.c.cyan(r.stage)} (${r.version}): ${r.status === 'alert' ? ui.c.red('ALERT') : r.status === 'ok' ? ui.c.green('ok') : ui.c.yellow('insufficient data')}`;
  const rows = r.results.map((x) => [
    x.status === 'fired' ? ui.c.red('FIRED') : x.status === 'ok' ? ui.c.green('ok') : ui.c.yellow('insufficient data'),
    x.message,
  ]);
  const lines = [head, ui.table(['STATUS', 'RULE'], rows)];
  if (r.rollback)
    lines.push(
      r.rollback.done
        ? ui.c.yellow(`Rolled back ${r.name}@${r.stage}: ${r.rollback.from} → ${r.rollback.to} (${r.rollback.reason})`)
        : `Not rolled back: ${r.rollback.why}`,
    );
  for (const d of r.deliveries ?? [])
    lines.push(
      d.ok
        ? `Alert sent to ${d.channel} ${d.target}`
        : ui.c.red(
            `Alert NOT delivered to ${d.channel} ${d.target}: ${d.error} (after ${d.attempts} attempt${d.attempts === 1 ? '' : 's'})`,
          ),
    );
  return lines.join('\n');
}
