import type { Command } from 'commander';
import type { CheckoutResult } from '../../core/versions/checkout.js';
import { result } from '../output.js';
import { action, examples } from '../command.js';
import { progressFor } from '../terminal/progress.js';
import { formatBytes } from '../terminal/style.js';

export function register(program: Command): void {
  program
    .command('checkout')
    .argument('<ref>', 'the version, e.g. fraud@production')
    .argument('<dir>', 'the serving folder: files go to DIR/versions/<version>, DIR/current links to it')
    .description('materialise a version into DIR (hash-checked) and switch DIR/current to it atomically')
    .addHelpText('after', examples('mlreg checkout fraud@production /srv/fraud', 'ls -l /srv/fraud/current'))
    .action(
      action(async (ctx, [ref, dir]) => {
        const { checkout } = await import('../../core/versions/checkout.js');
        const bar = await progressFor(ctx, `checking out ${ref}`);
        let done: CheckoutResult;
        try {
          done = await checkout(ctx.registry(), ref!, dir!, { onProgress: bar.update });
        } finally {
          bar.stop();
        }
        return result(
          done,
          (r: CheckoutResult, ui) =>
            `${ui.c.green('Checked out')} ${r.name}@${r.version} into ${r.path} (${formatBytes(r.bytes)}${r.reused ? ', already there' : ''})\n  ${r.current} → versions/${r.version}${r.previous && r.previous !== r.version ? ` (was ${r.previous})` : ''}`,
        );
      }),
    );
}
