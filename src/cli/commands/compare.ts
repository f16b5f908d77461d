import type { Command } from 'commander';
import { InvalidInputError } from '../../core/errors.js';
import { result } from '../output.js';
import { action, examples } from '../command.js';
import type { Context } from '../context.js';

/**
 * `compare A B`: a thin dispatch on the kind of the two versions. Models: metrics and shared
 * evaluations, params, files, lineage (src/core/compare-models.ts). Datasets: schema, profile and
 * drift (src/core/datasets/compare.ts). A model and a dataset cannot be compared.
 */

interface CompareOpts {
  format?: string;
  output?: string;
}

const FORMATS = ['table', 'markdown', 'json', 'html'] as const;
type Format = Exclude<(typeof FORMATS)[number], 'html'>;

export function register(program: Command): void {
  program
    .command('compare')
    .argument('<a>', 'the baseline version, e.g. fraud@production or train@1.0.0')
    .argument('<b>', 'the version to compare with it, of the same kind')
    .description(
      'two versions side by side. Models: metrics and shared evaluations (better/worse by direction), params, files, lineage. Datasets: schema, row counts, profiles and drift',
    )
    .option(
      '--format <format>',
      'table, markdown (for a pull-request comment), json (the comparison alone) or html (a self-contained report)',
      'table',
    )
    .option('-o, --output <file>', 'with --format html: write the report to this file')
    .addHelpText(
      'after',
      examples(
        'mlreg compare fraud@production fraud@1.4.0',
        'mlreg compare fraud@production fraud@latest --format markdown >> comment.md',
        'mlreg compare train@1.0.0 train@1.1.0',
        'mlreg compare fraud@1.3.0 fraud@1.4.0 --json',
        'mlreg compare train@1.0.0 train@1.1.0 --format html -o drift.html',
      ),
    )
    .action(
      action<CompareOpts>(async (ctx, [a, b], opts) => {
        const format = opts.format ?? 'table';
        if (!(FORMATS as readonly string[]).includes(format)) {
          throw new InvalidInputError(`--format takes table, markdown, json or html, not ${JSON.stringify(format)}`, {
            code: 'E_BAD_FORMAT',
            hint: 'e.g. --format markdown for a pull-request comment.',
          });
        }
        if (opts.output !== undefined && format !== 'html')
          throw new InvalidInputError('-o/--output writes an HTML report: add --format html', {
            code: 'E_BAD_FORMAT',
            hint: 'e.g. --format html -o compare.html',
          });
        const reg = ctx.readRegistry();
        const { compareKind } = await import('../../core/versions/compare-kind.js');
        const kind = compareKind(reg, a!, b!);
        if (format === 'html') return compareHtml(ctx, reg, a!, b!, opts.output);
        if (kind === 'model') return compareModelsCommand(reg, a!, b!, format as Format);
        return compareDatasetsCommand(reg, a!, b!, format as Format);
      }),
    );
}

type Reg = Parameters<typeof import('../../core/evaluations/compare-models.js').compareModels>[0];

async function compareModelsCommand(reg: Reg, a: string, b: string, format: Format) {
  const { compareModels } = await import('../../core/evaluations/compare-models.js');
  const { renderCompareTable, renderCompareMarkdown } = await import('../render/compare-models.js');
  const cmp = await compareModels(reg, a, b);
  if (format === 'markdown') return result(cmp, (d) => renderCompareMarkdown(d));
  if (format === 'json') return result(cmp, (d) => JSON.stringify(d, null, 2));
  return result(cmp, renderCompareTable);
}

async function compareDatasetsCommand(reg: Reg, a: string, b: string, format: Format) {
  const { compareDatasets } = await import('../../core/datasets/compare.js');
  const { renderDatasetCompareMarkdown, renderDatasetCompareTable } = await import('../render/compare-datasets.js');
  const data = compareDatasets(reg, a, b);
  if (format === 'json') return result(data, (d) => JSON.stringify(d, null, 2));
  return result(data, format === 'markdown' ? (d) => renderDatasetCompareMarkdown(d) : renderDatasetCompareTable);
}

/** The same comparison as `--json` (plus, for datasets, both sides' distributions), as one HTML file. */
async function compareHtml(ctx: Context, reg: Reg, a: string, b: string, output?: string) {
  const { htmlReport } = await import('../render/html-report.js');
  const { compareDoc } = await import('../../web/sketch.js');
  const compare = await compareDoc(reg, a, b);
  const sides =
    compare.comparison.kind === 'model'
      ? [compare.comparison.a, compare.comparison.b].map((s) => `${s.name}@${s.version}`)
      : [compare.comparison.a.label, compare.comparison.b.label];
  const html = await htmlReport(
    ctx,
    { kind: 'compare', compare, generatedAt: ctx.runtime.now().toISOString() },
    `Compare ${sides[0]} with ${sides[1]}`,
    output,
  );
  return result(compare.comparison, () => html);
}
