import type { Command } from 'commander';
import type { ImportResult, SampleResult } from '../../core/monitor/review.js';
import { action, examples } from '../command.js';
import { numberOption } from '../options.js';
import { result } from '../output.js';
import { formatNumber } from '../terminal/style.js';

interface SampleOpts {
  predictions: string;
  n: number;
  id: string;
  predictionColumn: string;
  stratify?: string;
  seed?: number;
  at?: string;
  output: string;
}

export function register(program: Command): void {
  const review = program
    .command('review')
    .description('human review: sample predictions for people to label, then import their labels as observations')
    .addHelpText(
      'after',
      examples(
        'mlreg review sample fraud --predictions preds.csv --id txn_id --n 200 --stratify region --seed 7 -o review.csv',
        'mlreg review import review.csv',
      ),
    );
  review
    .command('sample')
    .argument('<target>', 'NAME or NAME@STAGE whose predictions these are (default stage: production)')
    .description('write a reproducible random sample of predictions with an empty review_label column')
    .requiredOption('--predictions <file>', 'CSV of predictions')
    .addOption(
      numberOption('--n <count>', 'how many rows to sample', {
        integer: true,
        min: 1,
        code: 'E_BAD_N',
        example: '200',
      }).makeOptionMandatory(),
    )
    .requiredOption('-o, --output <file>', 'the review file to write (atomically)')
    .option('--id <column>', 'the id column', 'id')
    .option('--prediction-column <column>', 'the prediction column', 'prediction')
    .option('--stratify <column>', 'sample every value of this column in proportion (at least one row each)')
    .addOption(
      numberOption(
        '--seed <n>',
        'random seed: the same seed and file give the same sample (default: random, printed)',
        {
          integer: true,
          min: 0,
          max: 0xffffffff,
          code: 'E_BAD_SEED',
          example: '42',
        },
      ),
    )
    .option('--at <time>', 'when the predictions were made (ISO 8601): the version holding the stage then made them')
    .addHelpText(
      'after',
      examples(
        'mlreg review sample fraud --predictions preds.csv --id txn_id --n 200 --seed 7 -o review.csv',
        'mlreg review sample fraud@canary --predictions preds.csv --n 100 --stratify region -o review.csv',
      ),
    )
    .action(
      action<SampleOpts>(async (ctx, [target], opts) => {
        const { parseTarget } = await import('../../core/monitor/observations.js');
        const { sampleReview } = await import('../../core/monitor/review.js');
        const { n, seed } = opts;
        const data = await sampleReview(ctx.registry(), {
          at: opts.at,
          target: parseTarget(target!),
          predictions: opts.predictions,
          idColumn: opts.id,
          predictionColumn: opts.predictionColumn,
          n,
          stratify: opts.stratify,
          seed,
          out: opts.output,
          actor: ctx.actor(),
        });
        return result(data, (d: SampleResult) => {
          const strata = d.strata
            ? `\n  ${Object.entries(d.strata)
                .map(([s, v]) => `${s}: ${v.sampled} of ${v.rows}`)
                .join(', ')}`
            : '';
          return `Wrote ${d.size} of ${d.rows} predictions of ${d.name}@${d.stage} (${d.version}) to ${d.out} (sample ${d.sample}, seed ${d.seed})${strata}\nFill in the review_label column, then: mlreg review import ${d.out}`;
        });
      }),
    );
  review
    .command('import')
    .argument('<file>', 'a review file with its review_label column filled in')
    .description('compute agreement and metrics on the reviewed rows and record them as observations (source review)')
    .addHelpText('after', examples('mlreg review import review.csv', 'mlreg review import review.csv --json'))
    .action(
      action(async (ctx, [file]) => {
        const { importReview } = await import('../../core/monitor/review.js');
        const data = await importReview(ctx.registry(), file!, ctx.actor());
        return result(data, (d: ImportResult) => {
          const values = d.recorded.observations.map((o) => `${o.metric}=${formatNumber(o.value)}`).join(' ');
          return `Imported ${d.reviewed} reviewed of ${d.rows} rows (sample ${d.sample}, ${d.task}) for ${d.recorded.name}@${d.recorded.stage} (${d.recorded.version}): ${values}`;
        });
      }),
    );
}
