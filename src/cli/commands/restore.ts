import type { Command } from 'commander';
import type { RestoreResult } from '../../core/backup/restore.js';
import { result } from '../output.js';
import { action, collect, examples } from '../command.js';
import { progressFor } from '../terminal/progress.js';

interface RestoreOpts {
  into: string;
  base: string[];
  force?: boolean;
}

export function register(program: Command): void {
  program
    .command('restore')
    .argument('<file>', 'the backup archive')
    .description(
      'restore a backup into a new or empty folder, every object re-hashed and the index checked before it appears',
    )
    .requiredOption('--into <dir>', 'the folder to restore into (new or empty)')
    .option('--base <backup>', 'for an incremental backup: its base backups (repeatable)', collect, [])
    .option('--force', 'replace the registry at DIR (kept aside until the new one verifies)')
    .addHelpText(
      'after',
      examples(
        'mlreg restore /backups/registry-2026-11-24.tar --into /srv/mlreg',
        'mlreg restore inc.tar --base full.tar --into /srv/mlreg',
        'mlreg restore /backups/registry-2026-11-24.tar --into /srv/mlreg --force',
      ),
    )
    .action(
      action<RestoreOpts>(async (ctx, [file], opts) => {
        const { restoreBackup } = await import('../../core/backup/restore.js');
        const bar = await progressFor(ctx, `restoring ${file}`);
        let done: RestoreResult;
        try {
          done = await restoreBackup(file!, {
            into: opts.into,
            bases: opts.base,
            force: opts.force,
            runtime: ctx.runtime,
            onProgress: bar.update,
          });
        } finally {
          bar.stop();
        }
        return result(
          done,
          (r: RestoreResult, ui) =>
            `${ui.c.green('Restored')} ${r.kind} backup of ${r.createdAt} into ${r.into}${r.replaced ? ' (replacing the registry that was there)' : ''}\n  ${r.counts.artifacts} artifacts, ${r.counts.versions} versions, ${r.counts.events} events, ${r.counts.objects} objects; every object re-hashed`,
        );
      }),
    );
}
