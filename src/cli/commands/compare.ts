import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { result } from '../output.js';
import { action, examples } from '../command.js';

interface CompareOpts {
  format?: string;
}

/**
 * `compare REF REF`: a thin dispatch on what the two references are. Datasets: schema, profile and
 * drift (src/core/datasets/compare.ts). Models are compared by their own module.
 */
export function register(program: Command): void {
  program
    .command('compare')
    .argument('<a>', 'the first version (e.g. train@1.0.0 or fraud@production)')
    .argument('<b>', 'the second version, of the same kind')
    .description('what changed between two versions; for datasets: schema, row counts, profiles and drift')
    .option('--format <format>', 'table, markdown (for pull requests) or json', 'table')
    .addHelpText('after', examples('mlreg compare train@1.0.0 train@1.1.0', 'mlreg compare train@production train@latest --format markdown', 'mlreg compare train@1.0.0 train@1.1.0 --json'))
    .action(
      action<CompareOpts>(async (ctx, [a, b], opts) => {
        const format = opts.format ?? 'table';
        if (!['table', 'markdown', 'json'].includes(format)) throw new UsageError(`--format takes table, markdown or json, not ${JSON.stringify(format)}`, { code: 'E_BAD_FORMAT' });
        const reg = ctx.registry();
        const { resolveRef } = await import('../../core/refs.js');
        const kinds = reg.read(() => [resolveRef(reg, a!).kind, resolveRef(reg, b!).kind]);
        if (kinds[0] !== kinds[1]) {
          throw new UsageError(`cannot compare a ${kinds[0]} (${a}) with a ${kinds[1]} (${b})`, { code: 'E_COMPARE_KINDS', hint: 'Compare two models, or two datasets.' });
        }
        if (kinds[0] === 'model') throw new UsageError('comparing models is not available in this build', { code: 'E_COMPARE_MODELS', hint: 'Compare two dataset versions, or use mlreg show on each model.' });
        const { compareDatasets } = await import('../../core/datasets/compare.js');
        const { renderDatasetCompareMarkdown, renderDatasetCompareTable } = await import('../render/compare-datasets.js');
        const data = compareDatasets(reg, a!, b!);
        if (format === 'json') return result(data, (d) => JSON.stringify(d, null, 2));
        return result(data, format === 'markdown' ? (d) => renderDatasetCompareMarkdown(d) : renderDatasetCompareTable);
      }),
    );
}
