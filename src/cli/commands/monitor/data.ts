import type { Command } from 'commander';
import { GateNotMetError } from '../../../core/errors.js';
import type { DataMonitorReport } from '../../../core/monitor/data.js';
import type { Raised } from '../../../core/monitor/raise.js';
import { action, collect, examples } from '../../command.js';
import { webhookTimeoutOption } from '../../options.js';
import { failWithReport, result } from '../../output.js';
import { renderCheckTable } from '../../render/data-check-report.js';
import type { Ui } from '../../terminal/style.js';

interface DataOpts {
  batch: string;
  failOnColumn?: string[];
  strict?: boolean;
  webhook?: string;
  webhookTimeout: number;
  alertCmd?: string;
}

type DataOutcome = Omit<DataMonitorReport, 'alert'> & Partial<Raised>;

export function registerData(monitor: Command): void {
  monitor
    .command('data')
    .argument('<target>', 'NAME or NAME@STAGE (default stage: production)')
    .description(
      'check a live input batch against the dataset the deployed version was trained on; record drift share and missing rates; exit 1 and alert when the check fails',
    )
    .requiredOption('--batch <file>', 'the live input batch: a CSV, NDJSON or Parquet file or folder')
    .option('--fail-on-column <column>', 'a critical column: any warning on it fails (repeatable)', collect)
    .option('--strict', 'fail on warnings too')
    .option('--webhook <url>', 'POST the alert as JSON to this URL (timeout, 3 attempts)')
    .addOption(webhookTimeoutOption())
    .option('--alert-cmd <cmd>', 'run this shell command with the alert JSON on stdin')
    .addHelpText(
      'after',
      examples(
        'mlreg monitor data fraud --batch incoming/2026-11-24.csv',
        'mlreg monitor data fraud --batch incoming/today.parquet --fail-on-column amount --webhook https://hooks.example.com/mlreg',
        'mlreg config set check.drift_share 0.3   # thresholds of `mlreg check` apply',
      ),
    )
    .action(
      action<DataOpts>(async (ctx, [target], opts) => {
        const { parseTarget } = await import('../../../core/monitor/observations.js');
        const { parseWebhookUrl } = await import('../../../core/monitor/alerts.js');
        const { monitorData } = await import('../../../core/monitor/data.js');
        const t = parseTarget(target!);
        const webhook = opts.webhook === undefined ? undefined : parseWebhookUrl(opts.webhook);
        const reg = ctx.registry();
        const actor = ctx.actor();
        const { alert, ...report } = await monitorData(reg, {
          target: t,
          batch: opts.batch,
          actor,
          failOnColumns: opts.failOnColumn ?? [],
          strict: opts.strict,
        });
        if (alert.status !== 'alert') return result(report as DataOutcome, renderData);
        const { raiseAlert } = await import('../../../core/monitor/raise.js');
        const raised = await raiseAlert(reg, alert, {
          actor,
          channels: { webhook, webhookOptions: { timeoutMs: opts.webhookTimeout }, command: opts.alertCmd },
          details: { batch: opts.batch, summary: report.check.summary },
        });
        const outcome: DataOutcome = { ...report, ...raised };
        return failWithReport(
          ctx.json,
          outcome,
          renderData,
          new GateNotMetError(
            `the live batch ${opts.batch} fails the data check against ${report.check.reference.label}: ${report.check.summary}`,
            {
              code: 'E_MONITOR_DATA_ALERT',
              hint: 'See the FAIL rows above: fix the upstream data, or retrain on data like it. Rolling the model back does not change its input.',
              details: outcome,
            },
          ),
        );
      }),
    );
}

function renderData(d: DataOutcome, ui: Ui): string {
  const lines = [
    `${ui.c.bold(d.name)}@${ui.c.cyan(d.stage)} (${d.version}): live batch ${d.batch}`,
    renderCheckTable(d.check, ui),
    `Recorded ${d.recorded.observations.length} observations [data]: drift_share and missing rates`,
  ];
  for (const x of d.deliveries ?? [])
    lines.push(
      x.ok
        ? `Alert sent to ${x.channel} ${x.target}`
        : ui.c.red(
            `Alert NOT delivered to ${x.channel} ${x.target}: ${x.error} (after ${x.attempts} attempt${x.attempts === 1 ? '' : 's'})`,
          ),
    );
  return lines.join('\n');
}
