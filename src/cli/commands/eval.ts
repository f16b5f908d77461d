import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import type { RecordedEvaluation } from '../../core/evaluations/record.js';
import type { EvalRunResult } from '../../core/evaluations/run.js';
import { result } from '../output.js';
import { action, examples } from '../command.js';
import { durationOption } from '../options.js';
import { formatNumber, type Ui } from '../terminal/style.js';

interface RecordOpts {
  on?: string;
  slice?: string;
}

interface RunOpts {
  on: string;
  timeout?: number;
  allowUnsafe?: boolean;
}

export function register(program: Command): void {
  const ev = program
    .command('eval')
    .description('record evaluations of model versions, or run your evaluation command and record what it prints')
    .addHelpText(
      'after',
      examples(
        'mlreg eval record fraud@1.4.0 --on holdout@2.0.0 auc=0.931 log_loss=0.21',
        'mlreg eval record fraud@1.4.0 --on holdout@2.0.0 --slice recent auc=0.902',
        'mlreg eval run fraud@1.4.0 fraud@production --on holdout@latest --timeout 600 -- python eval.py --model {model} --data {dataset}',
      ),
    );

  ev.command('record')
    .argument('<model-ref>', 'the model version, e.g. fraud@1.4.0')
    .argument('<metric=value...>', 'metric values, e.g. auc=0.91 log_loss=0.23')
    .description(
      'store metric values of a model version, optionally on a dataset version and a slice (newest value counts; history is kept)',
    )
    .option('--on <dataset-ref>', 'the dataset version the values were measured on')
    .option('--slice <name>', 'the subset of the dataset (default: all)')
    .addHelpText(
      'after',
      examples(
        'mlreg eval record fraud@1.4.0 --on holdout@latest auc=0.931',
        'mlreg eval record fraud@1.4.0 --on holdout@latest --slice recent auc=0.902 --json',
      ),
    )
    .action(
      action<RecordOpts>(async (ctx, [ref, ...pairs], opts) => {
        const { parseMetricPairs } = await import('../../core/lib/pairs.js');
        const { recordEvaluation, DEFAULT_SLICE, validateSlice } = await import('../../core/evaluations/record.js');
        const slice = validateSlice(opts.slice ?? DEFAULT_SLICE);
        const metrics = parseMetricPairs(pairs);
        const recorded = recordEvaluation(ctx.registry(), {
          model: ref!,
          dataset: opts.on ?? null,
          results: { [slice]: metrics },
          actor: ctx.actor(),
          source: 'record',
        });
        return result(recorded, renderRecorded);
      }),
    );

  ev.command('run')
    .argument('<refs-and-command...>', 'model references, then -- and the evaluation command with its arguments')
    .description(
      'for each model: check model and dataset out into a private temp folder (hash-checked), run COMMAND, record the JSON it prints',
    )
    .requiredOption('--on <dataset-ref>', 'the dataset version to evaluate on')
    .addOption(
      durationOption(
        '--timeout <duration>',
        'stop the command (and everything it started) after this long (600, 10m; plain numbers are seconds); nothing is recorded',
        { code: 'E_BAD_TIMEOUT' },
      ),
    )
    .option('--allow-unsafe', 'evaluate a model version even if the model scan flagged it unsafe')
    .addHelpText(
      'after',
      `
The command runs with MLREG_MODEL_DIR, MLREG_MODEL_REF, MLREG_DATASET_DIR and MLREG_DATASET_REF set;
"{model}" and "{dataset}" in its arguments become the two folders. Its stderr is passed through; its
stdout must be one JSON object: {"auc": 0.91} (slice "all") or {"all": {"auc": 0.91}, "recent": {…}}.
A non-zero exit, a timeout, or output that is not such JSON records nothing (exit 2; 3 when the
command does not exist). Values of all models are recorded together, or none.
` +
        examples(
          'mlreg eval run fraud@1.4.0 --on holdout@latest -- python eval.py',
          'mlreg eval run fraud@1.4.0 fraud@production --on holdout@latest --timeout 600 -- python eval.py --model {model}/model.joblib --data {dataset}/holdout.csv',
        ),
    )
    .action(
      action<RunOpts>(async (ctx, args, opts) => {
        const command = commandAfterDoubleDash(ctx.argv);
        if (command.length === 0) {
          throw new UsageError('eval run needs the evaluation command after --', {
            code: 'E_NO_COMMAND',
            hint: 'mlreg eval run MODEL_REF… --on DATASET_REF -- COMMAND ARGS…',
          });
        }
        const refs = args.slice(0, args.length - command.length);
        const { evalRun } = await import('../../core/evaluations/run.js');
        const done = await evalRun(ctx.registry(), {
          models: refs,
          dataset: opts.on,
          command,
          timeoutMs: opts.timeout,
          env: ctx.env,
          cwd: ctx.cwd,
          onStderr: (chunk) => ctx.io.stderr.write(chunk),
          actor: ctx.actor(),
          allowUnsafe: !!opts.allowUnsafe,
        });
        return result(done, renderRun);
      }),
    );
}

/** Commander merges what follows `--` into the operands; the command is everything after the first `--`. */
export function commandAfterDoubleDash(argv: readonly string[]): string[] {
  const i = argv.indexOf('--');
  return i === -1 ? [] : argv.slice(i + 1);
}

function on(r: RecordedEvaluation): string {
  return r.dataset ? ` on ${r.dataset.name}@${r.dataset.version}` : '';
}

export function renderRecorded(r: RecordedEvaluation, ui: Ui): string {
  const rows = Object.entries(r.results).flatMap(([slice, m]) =>
    Object.entries(m).map(([metric, v]) => [slice, metric, formatNumber(v)]),
  );
  return `${ui.c.green('Recorded')} evaluation of ${ui.c.bold(`${r.model.name}@${r.model.version}`)}${on(r)}\n${ui.table(['SLICE', 'METRIC', 'VALUE'], rows)}`;
}

export function renderRun(d: EvalRunResult, ui: Ui): string {
  const rows = d.runs.flatMap((run) =>
    Object.entries(run.results).flatMap(([slice, m]) =>
      Object.entries(m).map(([metric, v]) => [
        `${run.model.name}@${run.model.version}`,
        slice,
        metric,
        formatNumber(v),
      ]),
    ),
  );
  return `${ui.c.green('Evaluated')} ${d.runs.length} model${d.runs.length === 1 ? '' : 's'} on ${ui.c.bold(`${d.dataset.name}@${d.dataset.version}`)}\n${ui.table(['MODEL', 'SLICE', 'METRIC', 'VALUE'], rows)}`;
}
