import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { notice, result } from '../output.js';
import { action, examples } from '../command.js';

interface InitOpts {
  remote?: string;
  endpoint?: string;
  region?: string;
}

export function register(program: Command): void {
  program
    .command('init')
    .argument('[dir]', 'folder for the registry (default: --registry, else $MLREG_REGISTRY, else ./.mlreg)')
    .description('create an empty registry (with --remote: a new team registry and a replica of it)')
    .option('--remote <url>', 'create the registry on a remote too: s3://BUCKET/PREFIX or file:///path')
    .option('--endpoint <url>', 'S3 endpoint for a non-AWS server (default: $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL)')
    .option('--region <region>', 'S3 region (default us-east-1)')
    .addHelpText(
      'after',
      examples(
        'mlreg init',
        'mlreg init /srv/models/registry',
        'export MLREG_REGISTRY=/srv/models/registry',
        'mlreg init --remote s3://ml-team/registry',
      ),
    )
    .action(
      action<InitOpts>(async (ctx, [dir], opts) => {
        const { Registry, DEFAULT_DIR_NAME, enclosingRegistry } = await import('../../core/registry/registry.js');
        const target = ctx.path(dir ?? ctx.explicitRegistry() ?? DEFAULT_DIR_NAME);
        if (opts.remote) {
          const { openStore } = await import('../replica.js');
          const { initRemote } = await import('../../core/remote/setup.js');
          const { resolveEndpoint } = await import('../../core/remote/transport.js');
          const endpoint = resolveEndpoint(opts.endpoint, ctx.env) ?? null;
          const store = await openStore(ctx, opts.remote, endpoint, opts.region);
          const made = await initRemote(
            target,
            store,
            { url: opts.remote, endpoint: opts.endpoint ?? null, region: opts.region ?? null },
            ctx.runtime,
          );
          return result(
            made,
            (d, ui) =>
              `${ui.c.green('Created')} a team registry on ${d.url} and its replica in ${d.registry}\n  others join with: mlreg clone ${d.url}`,
          );
        }
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
