import type { Command } from 'commander';
import { result } from '../output.js';
import { action, examples } from '../command.js';
import { formatBytes } from '../terminal/style.js';

export function register(program: Command): void {
  program
    .command('pull')
    .description('bring this replica up to its remote: apply the new log entries (--objects: fetch every object too)')
    .option('--objects', 'also download every object this replica does not hold (for offline use)')
    .addHelpText('after', examples('mlreg pull', 'mlreg pull --objects'))
    .action(
      action<{ objects?: boolean }>(async (ctx, _args, opts) => {
        const reg = ctx.registry();
        const { requireReplica, pullAll } = await import('../../core/remote/setup.js');
        const info = requireReplica(reg);
        const { openStore } = await import('../replica.js');
        const store = await openStore(ctx, info.url, info.endpoint, info.region);
        const pulled = await pullAll(reg, store, { objects: !!opts.objects });
        return result(
          { url: info.url, ...pulled },
          (d, ui) =>
            `${d.applied ? ui.c.green('Pulled') : 'Up to date:'} ${d.applied ? `${d.applied} change${d.applied === 1 ? '' : 's'} (log entry ${d.from} → ${d.to})` : `log entry ${d.to}`} from ${d.url}${d.objectsFetched ? `; fetched ${d.objectsFetched} objects (${formatBytes(d.bytesFetched)})` : ''}`,
        );
      }),
    );
}
