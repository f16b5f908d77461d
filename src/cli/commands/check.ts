import type { Command } from 'commander';
import { GateNotMetError, UsageError } from '../../core/errors.js';
import type { DataCheckReport } from '../../core/datasets/check-profiles.js';
import {
  DEFAULT_THRESHOLDS,
  isFractionThreshold,
  THRESHOLD_KEYS,
  THRESHOLD_NAMES,
  type CheckThresholds,
} from '../../core/datasets/thresholds.js';
import { failWithReport, result } from '../output.js';
import { action, collect, examples } from '../command.js';
import { csvDialectOf, csvDialectOptions, numberOption } from '../options.js';
import { renderCheckMarkdown, renderCheckTable } from '../render/data-check-report.js';
import type { Ui } from '../terminal/style.js';
import { htmlReport } from '../render/html-report.js';

type CheckOpts = {
  against?: string;
  againstModel?: string;
  failOnColumn?: string[];
  delimiter?: string;
  decimal?: string;
  ignoreColumn?: string[];
  all?: boolean;
  strict?: boolean;
  format?: string;
  output?: string;
} & Partial<Record<keyof CheckThresholds, number>>;

/** commander's camelCase of a `--drift-share`-style flag is the threshold's own key. */
const flagOf = (k: keyof CheckThresholds): string => `--${THRESHOLD_NAMES[k].replace(/_/g, '-')}`;

export function register(program: Command): void {
  const cmd = program
    .command('check')
    .argument(
      '<current>',
      'the data to check: a dataset reference, or a CSV/NDJSON/Parquet file or folder (not registered)',
    )
    .description('data quality and drift gate: compare data with a reference dataset; exit 1 when a check fails')
    .option('--against <dataset-ref>', 'the reference dataset version, e.g. train@production')
    .option('--against-model <model-ref>', 'use the dataset this model version was trained on as the reference')
    .option(
      '--fail-on-column <column>',
      'a critical column: any warning on it (drift included) fails (repeatable)',
      collect,
    )
    .option(
      '--ignore-column <column>',
      'leave this column out of every check, e.g. an id or a timestamp (repeatable)',
      collect,
    )
    .option('--all', 'show every row (PASS and INFO too), not only FAIL and WARN')
    .option('--strict', 'fail on warnings too')
    .option(
      '--format <format>',
      'table, markdown (for pull requests) or html (a self-contained report); --json for machines',
      'table',
    )
    .option('-o, --output <file>', 'with --format html: write the report to this file');
  for (const option of csvDialectOptions()) cmd.addOption(option);
  for (const k of THRESHOLD_KEYS)
    cmd.addOption(
      numberOption(
        `${flagOf(k)} <n>`,
        `threshold (default ${DEFAULT_THRESHOLDS[k]}; setting check.${THRESHOLD_NAMES[k]})`,
        {
          min: 0,
          ...(isFractionThreshold(k) ? { max: 1 } : {}),
          code: 'E_BAD_THRESHOLD',
          example: String(DEFAULT_THRESHOLDS[k]),
        },
      ),
    );
  cmd
    .addHelpText(
      'after',
      examples(
        'mlreg check batch@latest --against train@production',
        'mlreg check ./incoming/2026-11-24.csv --against-model fraud@production --json',
        'mlreg check batch@latest --against train@1.2.0 --drift-share 0.3 --fail-on-column amount --format markdown',
        'mlreg config set check.max_unseen_share 0.01',
        'mlreg check batch@latest --against train@production --format html -o drift.html',
      ),
    )
    .action(
      action<CheckOpts>(async (ctx, [current], opts) => {
        const format = opts.format ?? 'table';
        if (format !== 'table' && format !== 'markdown' && format !== 'html')
          throw new UsageError(`--format takes table, markdown or html, not ${JSON.stringify(format)}`, {
            code: 'E_BAD_FORMAT',
            hint: 'Use --json for machine-readable output.',
          });
        if (opts.output !== undefined && format !== 'html')
          throw new UsageError('-o/--output writes an HTML report: add --format html', {
            code: 'E_BAD_FORMAT',
            hint: 'e.g. --format html -o drift.html',
          });
        const thresholds: Partial<CheckThresholds> = {};
        for (const k of THRESHOLD_KEYS) if (opts[k] !== undefined) thresholds[k] = opts[k];
        const { checkDatasetWithProfiles } = await import('../../core/datasets/check.js');
        const checked = await checkDatasetWithProfiles(ctx.readRegistry(), {
          current: current!,
          reference: opts.against,
          againstModel: opts.againstModel,
          thresholds,
          failOnColumns: opts.failOnColumn ?? [],
          ignoreColumns: opts.ignoreColumn ?? [],
          dialect: await csvDialectOf(opts),
          strict: !!opts.strict,
        });
        const report = checked.report;
        const shown = { all: !!opts.all };
        let render =
          format === 'markdown'
            ? (r: DataCheckReport) => renderCheckMarkdown(r, shown)
            : (r: DataCheckReport, ui: Ui) => renderCheckTable(r, ui, shown);
        if (format === 'html') {
          const { driftDoc } = await import('../../web/sketch.js');
          const doc = driftDoc(report, checked.reference, checked.current);
          const html = await htmlReport(
            ctx,
            { kind: 'check', drift: doc, generatedAt: ctx.runtime.now().toISOString() },
            `Check ${report.current.label} against ${report.reference.label}`,
            opts.output,
          );
          render = () => html;
        }
        if (report.status === 'FAIL') {
          const failed = [
            ...new Set(
              report.records
                .filter((r) => r.status === 'FAIL' || (report.strict && r.status === 'WARN'))
                .map((r) => r.column),
            ),
          ];
          throw await failWithReport(
            ctx.json,
            report,
            render,
            new GateNotMetError(
              `data check failed on ${failed.length} column${failed.length === 1 ? '' : 's'} (${failed.slice(0, 8).join(', ')}${failed.length > 8 ? ', …' : ''}): ${report.summary}`,
              {
                code: 'E_CHECK_FAILED',
                hint: 'See the FAIL rows above; loosen a threshold with its flag or `mlreg config set check.…` only if the change is expected.',
                details: report,
              },
            ),
          );
        }
        return result(report, render);
      }),
    );
}
