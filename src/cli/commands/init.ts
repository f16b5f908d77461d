import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { notice, result } from '../output.js';
import { action, examples } from '../command.js';

export function register(program: Command): void {
  program
    .command('init')
    .argument('[dir]', 'folder for the registry (default: --registry, else $MLREG_REGISTRY, else ./.mlreg)')
    .description('create an empty registry')
    .addHelpText(
      'after',
      examples('mlreg init', 'mlreg init /srv/models/registry', 'export MLREG_REGISTRY=/srv/models/registry'),
    )
    .action(
      action<Record<string, never>>(async (ctx, [dir]) => {
        const { Registry, DEFAULT_DIR_NAME, enclosingRegistry } = await import('../../core/registry/registry.js');
        const target = ctx.path(dir ?? ctx.explicitRegistry() ?? DEFAULT_DIR_NAME);
        const created = Registry.init(target, ctx.runtime);
        // Only a registry that is found by walking up (a .mlreg folder) can shadow another one.
        const shadows = basename(target) === DEFAULT_DIR_NAME ? (enclosingRegistry(target) ?? null) : null;
        if (shadows)
          notice(
            ctx.io,
            `notice: commands run in and below ${resolve(target, '..')} now use this registry, not ${shadows} above it (--registry picks one)`,
          );
        return result(
          { registry: created.root, format: created.format, shadows },
          (d, ui) => `${ui.c.green('Created')} an empty mlreg registry in ${d.registry} (format ${d.format})`,
        );
      }),
    );
}
