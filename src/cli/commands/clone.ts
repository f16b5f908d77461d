import type { Command } from 'commander';
import { result } from '../output.js';
import { action, examples } from '../command.js';

interface CloneOpts {
  endpoint?: string;
  region?: string;
}

export function register(program: Command): void {
  program
    .command('clone')
    .argument('<url>', 'the remote: s3://BUCKET/PREFIX or file:///path')
    .argument('[dir]', 'folder for the replica (default: --registry, else $MLREG_REGISTRY, else ./.mlreg)')
    .description('make a replica of a team registry: its newest checkpoint, then the log after it')
    .option('--endpoint <url>', 'S3 endpoint for a non-AWS server (default: $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL)')
    .option('--region <region>', 'S3 region (default us-east-1)')
    .addHelpText(
      'after',
      examples(
        'mlreg clone s3://ml-team/registry',
        'mlreg clone s3://ml-team/registry /srv/registry --endpoint http://minio:9000',
        'mlreg clone file:///mnt/shared/registry',
      ),
    )
    .action(
      action<CloneOpts>(async (ctx, [url, dir], opts) => {
        const { DEFAULT_DIR_NAME } = await import('../../core/registry/registry.js');
        const { openStore } = await import('../replica.js');
        const { cloneRemote } = await import('../../core/remote/setup.js');
        const { resolveEndpoint } = await import('../../core/remote/transport.js');
        const target = ctx.path(dir ?? ctx.explicitRegistry() ?? DEFAULT_DIR_NAME);
        const endpoint = resolveEndpoint(opts.endpoint, ctx.env) ?? null;
        const store = await openStore(ctx, url!, endpoint, opts.region);
        const made = await cloneRemote(
          target,
          store,
          { url: url!, endpoint: opts.endpoint ?? null, region: opts.region ?? null },
          ctx.runtime,
        );
        return result(
          made,
          (d, ui) =>
            `${ui.c.green('Cloned')} ${d.url} into ${d.registry} (log entry ${d.position}${d.checkpoint !== null ? `, from checkpoint ${d.checkpoint}` : ''})`,
        );
      }),
    );
}
