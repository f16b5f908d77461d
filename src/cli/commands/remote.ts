import type { Command } from 'commander';
import { result } from '../output.js';
import { action, examples } from '../command.js';
import { formatBytes } from '../terminal/style.js';

interface AttachOpts {
  endpoint?: string;
  region?: string;
}

export function register(program: Command): void {
  const remote = program.command('remote').description('share this registry through a remote, or see its state');
  remote
    .command('attach')
    .argument('<url>', 'an empty remote: s3://BUCKET/PREFIX or file:///path')
    .description('upload this registry (objects, then its state as the first checkpoint) and make it a replica')
    .option('--endpoint <url>', 'S3 endpoint for a non-AWS server (default: $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL)')
    .option('--region <region>', 'S3 region (default us-east-1)')
    .addHelpText('after', examples('mlreg remote attach s3://ml-team/registry'))
    .action(
      action<AttachOpts>(async (ctx, [url], opts) => {
        const reg = ctx.registry();
        const { openStore } = await import('../replica.js');
        const { attachRemote } = await import('../../core/remote/setup.js');
        const { resolveEndpoint } = await import('../../core/remote/transport.js');
        const endpoint = resolveEndpoint(opts.endpoint, ctx.env) ?? null;
        const store = await openStore(ctx, url!, endpoint, opts.region);
        const done = await attachRemote(reg, store, {
          url: url!,
          endpoint: opts.endpoint ?? null,
          region: opts.region ?? null,
        });
        return result(
          done,
          (d, ui) =>
            `${ui.c.green('Attached')} ${d.registry} to ${d.url}: ${d.versions} versions, ${d.objects} objects (${formatBytes(d.bytes)} uploaded)\n  others join with: mlreg clone ${d.url}`,
        );
      }),
    );
  remote
    .command('status')
    .description('the remote of this replica: URL, remote head, local position, objects not yet here')
    .addHelpText('after', examples('mlreg remote status', 'mlreg remote status --offline --json'))
    .action(
      action(async (ctx) => {
        const reg = ctx.registry();
        const { requireReplica, remoteStatus } = await import('../../core/remote/setup.js');
        const info = requireReplica(reg);
        const { openStore } = await import('../replica.js');
        const store = ctx.offline ? undefined : await openStore(ctx, info.url, info.endpoint, info.region);
        const status = await remoteStatus(reg, store);
        return result({ ...status, offline: ctx.offline }, (d, ui) =>
          [
            `remote:    ${d.url}${d.endpoint ? ` (endpoint ${d.endpoint})` : ''}`,
            `position:  log entry ${d.position}${d.offline ? ' (offline: remote not asked)' : d.behind ? ui.c.yellow(` (${d.behind} behind the remote's ${d.remoteHead}: mlreg pull)`) : ' (up to date)'}`,
            `objects:   ${d.objectsNotLocal ? `${d.objectsNotLocal} not here yet (${formatBytes(d.bytesNotLocal)}; fetched when needed, or mlreg pull --objects)` : 'all here'}`,
            `writer id: ${d.writerId}`,
          ].join('\n'),
        );
      }),
    );
}
