import type { Command } from 'commander';
import { action, examples } from '../command.js';
import { result } from '../output.js';

export function register(program: Command): void {
  const config = program
    .command('config')
    .description('registry-wide settings shared by everyone who uses this registry')
    .addHelpText(
      'after',
      examples(
        'mlreg config list',
        'mlreg config set metric.latency_ms.direction lower',
        'mlreg config get metric.latency_ms.direction',
      ),
    );
  config
    .command('list')
    .description('every setting in effect: what is set here, and the built-in defaults of the rest')
    .action(
      action(async (ctx) => {
        const { configList } = await import('../../core/registry/config.js');
        const data = configList(ctx.registry());
        return result(data, (d, ui) =>
          ui.table(
            ['KEY', 'VALUE', 'SOURCE'],
            d.map((s) => [s.key, s.value, s.source]),
          ),
        );
      }),
    );
  config
    .command('get')
    .argument('<key>')
    .description('print one setting')
    .action(
      action(async (ctx, [key]) => {
        const { configGet } = await import('../../core/registry/config.js');
        const value = configGet(ctx.registry(), key!);
        return result({ key: key!, value }, (d) => d.value);
      }),
    );
  config
    .command('set')
    .argument('<key>')
    .argument('<value>')
    .description('set a setting (validated: unknown keys and bad values are refused)')
    .action(
      action(async (ctx, [key, value]) => {
        const { configSet } = await import('../../core/registry/config.js');
        const data = configSet(ctx.registry(), key!, value!, ctx.actor());
        return result(
          data,
          (d) => `${d.key} = ${d.value}${d.previous !== null && d.previous !== d.value ? ` (was ${d.previous})` : ''}`,
        );
      }),
    );
  config
    .command('unset')
    .argument('<key>')
    .description('remove a setting (back to the default)')
    .action(
      action(async (ctx, [key]) => {
        const { configUnset } = await import('../../core/registry/config.js');
        const data = configUnset(ctx.registry(), key!, ctx.actor());
        return result(data, (d) =>
          d.previous === null ? `${d.key} was not set` : `${d.key} unset (was ${d.previous})`,
        );
      }),
    );
}
