import type { Command } from 'commander';
import type { RecordResult } from '../../../core/monitor/observations.js';
import type { ScoreReport } from '../../../core/monitor/score.js';
import { action, examples } from '../../command.js';
import { numberOption } from '../../options.js';
import { result } from '../../output.js';
import { formatNumber, type Ui } from '../../terminal/style.js';

interface ScoreOpts {
  predictions: string;
  labels: string;
  id: string;
  predictionColumn: string;
  labelColumn: string;
  sliceColumn?: string;
  task?: string;
  threshold: number;
  at?: string;
  source: string;
  allowUnmatchedLabels?: boolean;
}

export function registerScore(monitor: Command): void {
  monitor
    .command('score')
    .argument('<target>', 'NAME or NAME@STAGE (default stage: production)')
    .description(
      'join predictions with late labels, compute auc/accuracy/f1/log_loss or rmse/mae/r2 (per slice too) and record them',
    )
    .requiredOption('--predictions <file>', 'CSV of predictions (id, prediction, optional slice column)')
    .requiredOption('--labels <file>', 'CSV of labels (id, label)')
    .requiredOption('--id <column>', 'the id column, in both files')
    .option('--prediction-column <column>', 'the prediction column (probability of class 1, or a number)', 'prediction')
    .option('--label-column <column>', 'the label column (0/1, or a number)', 'label')
    .option('--slice-column <column>', 'a column of the predictions file to compute metrics per value of')
    .option('--task <task>', 'classification or regression (default: classification when every label is 0 or 1)')
    .addOption(
      numberOption(
        '--threshold <p>',
        'probability from which a prediction counts as class 1 (accuracy, f1)',
        { min: 0, max: 1, code: 'E_BAD_THRESHOLD', takes: 'a probability between 0 and 1', example: '0.5' },
        0.5,
      ),
    )
    .option('--at <time>', 'when the predictions were made (ISO 8601); the holder at that time gets the metrics')
    .option('--source <name>', 'source recorded with the observations', 'score')
    .option('--allow-unmatched-labels', 'record even when some labels have no prediction (they are still reported)')
    .addHelpText(
      'after',
      examples(
        'mlreg monitor score fraud --predictions preds.csv --labels labels.csv --id txn_id',
        'mlreg monitor score fraud --predictions preds.csv --labels labels.csv --id txn_id --prediction-column p_fraud --slice-column region',
        'mlreg monitor score price --predictions preds.csv --labels sold.csv --id listing --task regression --json',
      ),
    )
    .action(
      action<ScoreOpts>(async (ctx, [target], opts) => {
        const { parseTarget, parseObservationTime, recordObservations, holderOf } = await import(
          '../../../core/monitor/observations.js'
        );
        const { scoreBatch, scoreObservations } = await import('../../../core/monitor/score.js');
        const { InvalidInputError } = await import('../../../core/errors.js');
        const t = parseTarget(target!);
        if (opts.task !== undefined && opts.task !== 'classification' && opts.task !== 'regression') {
          throw new InvalidInputError(`--task takes classification or regression, not ${JSON.stringify(opts.task)}`, {
            code: 'E_BAD_TASK',
            hint: 'Leave --task out to infer it from the labels.',
          });
        }
        const threshold = opts.threshold;
        const reg = ctx.registry();
        // Refuse a bad target or time before reading the files.
        const at = parseObservationTime(opts.at, reg.runtime.now());
        holderOf(reg, t, opts.at === undefined ? undefined : at);
        const report = await scoreBatch({
          predictions: opts.predictions,
          labels: opts.labels,
          idColumn: opts.id,
          predictionColumn: opts.predictionColumn,
          labelColumn: opts.labelColumn,
          sliceColumn: opts.sliceColumn,
          task: opts.task as 'classification' | 'regression' | undefined,
          threshold,
          allowUnmatched: opts.allowUnmatchedLabels,
        });
        const recorded = recordObservations(reg, {
          target: t,
          values: scoreObservations(report),
          at: opts.at,
          source: opts.source,
          actor: ctx.actor(),
          details: { task: report.task, rows: report.rows },
        });
        return result({ ...report, recorded }, renderScore);
      }),
    );
}

function renderScore(d: ScoreReport & { recorded: RecordResult }, ui: Ui): string {
  const r = d.rows;
  const metricNames = Object.keys(d.metrics);
  const rows = [['all', r.matched, ...metricNames.map((m) => formatNumber(d.metrics[m]!))]];
  for (const [s, v] of Object.entries(d.slices))
    rows.push([s, v.n, ...metricNames.map((m) => (v.metrics[m] === undefined ? '-' : formatNumber(v.metrics[m]!)))]);
  const lines = [
    `Scored ${d.recorded.name}@${d.recorded.stage} (${d.recorded.version}), ${d.task}: ${r.matched} rows with a label (${r.predictions} predictions, ${r.labels} labels)`,
    ui.table(['SLICE', 'ROWS', ...metricNames.map((m) => m.toUpperCase())], rows),
  ];
  if (r.predictionsWithoutLabel) lines.push(ui.c.dim(`${r.predictionsWithoutLabel} predictions have no label yet`));
  if (r.labelsWithoutPrediction)
    lines.push(
      ui.c.yellow(`${r.labelsWithoutPrediction} labels have no prediction, e.g. ${r.unmatchedLabelIds.join(', ')}`),
    );
  lines.push(`Recorded ${d.recorded.observations.length} observations [${d.recorded.source}]`);
  return lines.join('\n');
}
