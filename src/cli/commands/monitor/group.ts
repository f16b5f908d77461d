import type { Command } from 'commander';
import type { RecordResult } from '../../../core/monitor/observations.js';
import { action, examples } from '../../command.js';
import { result } from '../../output.js';
import { formatNumber, formatTime } from '../../terminal/style.js';
import { registerCheck } from './check.js';
import { registerData } from './data.js';
import { registerScore } from './score.js';
import { registerShow } from './show.js';

interface RecordOpts {
  at?: string;
  source: string;
}

export function register(program: Command): void {
  const monitor = program
    .command('monitor')
    .description(
      'live monitoring of deployed versions: observations, scores from late labels, alert rules, automatic rollback',
    )
    .addHelpText(
      'after',
      examples(
        'mlreg monitor record fraud auc=0.91 accuracy=0.88',
        'mlreg monitor score fraud --predictions preds.csv --labels labels.csv --id txn_id',
        'mlreg monitor check fraud --rule "auc < 0.85" --auto-rollback',
        'mlreg monitor show fraud --since 7d',
        'mlreg monitor data fraud --batch incoming/today.csv',
      ),
    );
  monitor
    .command('record')
    .argument('<target>', 'NAME or NAME@STAGE (default stage: production)')
    .argument('<values...>', 'metric=value pairs')
    .description('store live metric values for the version holding the stage (at --at, default now)')
    .option('--at <time>', 'when the observed traffic happened (ISO 8601); the holder at that time gets the values')
    .option('--source <name>', 'where the values come from', 'live')
    .addHelpText(
      'after',
      examples(
        'mlreg monitor record fraud auc=0.91 accuracy=0.88',
        'mlreg monitor record fraud@canary latency_ms=41 --source gateway',
        'mlreg monitor record fraud auc=0.87 --at 2026-11-23T00:00:00Z',
      ),
    )
    .action(
      action<RecordOpts>(async (ctx, [target, ...pairs], opts) => {
        const { parseTarget, recordObservations } = await import('../../../core/monitor/observations.js');
        const { parseMetricPairs } = await import('../../../core/lib/pairs.js');
        const values = Object.entries(parseMetricPairs(pairs)).map(([metric, value]) => ({ metric, value }));
        const data = recordObservations(ctx.registry(), {
          target: parseTarget(target!),
          values,
          at: opts.at,
          source: opts.source,
          actor: ctx.actor(),
        });
        return result(data, renderRecord);
      }),
    );
  registerScore(monitor);
  registerShow(monitor);
  registerCheck(monitor);
  registerData(monitor);
}

export function renderRecord(d: RecordResult): string {
  const values = d.observations
    .map((o) => `${o.metric}${o.slice === 'all' ? '' : `[${o.slice}]`}=${formatNumber(o.value)}`)
    .join(' ');
  return `Recorded for ${d.name}@${d.stage} (${d.version}) at ${formatTime(d.at)} [${d.source}]: ${values}`;
}
