import type { Command } from 'commander';
import { InvalidInputError } from '../../core/errors.js';
import { result } from '../output.js';
import { action, examples } from '../command.js';

/**
 * `compare A B`: a thin dispatch on the kind of the two versions. Models: metrics and shared
 * evaluations, params, files, lineage (src/core/compare-models.ts). Datasets: schema, profile and
 * drift (src/core/datasets/compare.ts). A model and a dataset cannot be compared.
 */

interface CompareOpts {
  format?: string;
}

const FORMATS = ['table', 'markdown', 'json'] as const;
type Format = (typeof FORMATS)[number];

export function register(program: Command): void {
  program
    .command('compare')
    .argument('<a>', 'the baseline version, e.g. fraud@production or train@1.0.0')
    .argument('<b>', 'the version to compare with it, of the same kind')
    .description(
      'two versions side by side. Models: metrics and shared evaluations (better/worse by direction), params, files, lineage. Datasets: schema, row counts, profiles and drift',
    )
    .option('--format <format>', 'table, markdown (for a pull-request comment) or json (the comparison alone)', 'table')
    .addHelpText(
      'after',
      examples(
        'mlreg compare fraud@production fraud@1.4.0',
        'mlreg compare fraud@production fraud@latest --format markdown >> comment.md',
        'mlreg compare train@1.0.0 train@1.1.0',
        'mlreg compare fraud@1.3.0 fraud@1.4.0 --json',
      ),
    )
    .action(
      action<CompareOpts>(async (ctx, [a, b], opts) => {
        const format = opts.format ?? 'table';
        if (!(FORMATS as readonly string[]).includes(format)) {
          throw new InvalidInputError(`--format takes table, markdown or json, not ${JSON.stringify(format)}`, {
            code: 'E_BAD_FORMAT',
            hint: 'e.g. --format markdown for a pull-request comment.',
          });
        }
        const reg = ctx.registry();
        const { compareKind } = await import('../../core/versions/compare-kind.js');
        const kind = compareKind(reg, a!, b!);
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
