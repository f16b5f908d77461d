import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import type { BackupResult } from '../../core/backup/create.js';
import type { BackupCheck } from '../../core/backup/verify-archive.js';
import { result } from '../output.js';
import { action, collect, examples } from '../command.js';
import { progressFor } from '../terminal/progress.js';
import { formatBytes } from '../terminal/style.js';

export function register(program: Command): void {
  const backup = program
    .command('backup')
    .argument('<file>', 'the archive to write: .tar, or .tar.gz / .tgz to compress')
    .description(
      'write a consistent backup of the registry (index snapshot + every referenced object) while others keep working',
    )
    // main.ts gives the global options to leaf commands only; backup has a subcommand (verify) yet
    // runs itself too, so it declares them.
    .option('--json', 'print exactly one JSON document on stdout: {"ok":true,"data":…} or {"ok":false,"error":…}')
    .option(
      '--registry <dir>',
      'the registry folder (default: $MLREG_REGISTRY, else the nearest .mlreg/ above the current folder)',
    )
    .option('--actor <name>', 'who is acting, for the audit log (default: $MLREG_ACTOR, git user, OS user)')
    // Repeatable because commander hands `backup verify F --base B1 --base B2` to this command's
    // --base (options of a parent are parsed first); `backup` itself takes one.
    .option('--base <backup>', 'incremental: store only objects this earlier backup (or its bases) lacks', collect, [])
    .addHelpText(
      'after',
      examples(
        'mlreg backup /backups/registry-$(date +%F).tar',
        'mlreg backup /backups/registry-$(date +%F-%H).tar --base /backups/registry-2026-11-01.tar',
        'mlreg backup verify /backups/registry-2026-11-24.tar',
        'mlreg restore /backups/registry-2026-11-24.tar --into /srv/mlreg-restored',
      ),
    )
    .action(
      action<{ base: string[] }>(async (ctx, [file], opts) => {
        if (opts.base.length > 1)
          throw new UsageError('backup takes one --base: the latest backup of the chain', {
            code: 'E_USAGE',
            hint: 'Its own bases are found from its manifest.',
          });
        const { createBackup } = await import('../../core/backup/create.js');
        const bar = await progressFor(ctx, `backing up to ${file}`);
        let done: BackupResult;
        try {
          done = await createBackup(ctx.readRegistry(), file!, {
            base: opts.base[0],
            now: new Date(),
            onProgress: bar.update,
          });
        } finally {
          bar.stop();
        }
        return result(done, (r: BackupResult, ui) => {
          const kind = r.kind === 'incremental' ? `incremental on ${r.base!.file}` : 'full';
          return `${ui.c.green('Backed up')} to ${r.file} (${kind}, ${formatBytes(r.bytes)})\n  ${r.counts.artifacts} artifacts, ${r.counts.versions} versions, ${r.counts.events} events; ${r.objectsStored} objects stored${r.objectsInBases ? `, ${r.objectsInBases} held by the base` : ''}`;
        });
      }),
    );
  backup
    .command('verify')
    .argument('<file>', 'the archive to check')
    .description('check a backup without restoring it: every member re-hashed, the index inside checked')
    .option(
      '--base <backup>',
      'the base backups of an incremental one (repeatable), so their objects are checked too',
      collect,
      [],
    )
    .addHelpText(
      'after',
      examples(
        'mlreg backup verify /backups/registry-2026-11-24.tar',
        'mlreg backup verify inc.tar --base full.tar --json',
      ),
    )
    .action(
      action<{ base: string[] }>(async (_ctx, [file], opts) => {
        const { verifyBackup } = await import('../../core/backup/verify-archive.js');
        const check = await verifyBackup(file!, {
          bases: [...opts.base, ...(backup.opts() as { base: string[] }).base],
        });
        return result(check, (c: BackupCheck, ui) =>
          [
            `${ui.c.green('Backup intact:')} ${c.file}`,
            `  ${c.kind}, made ${c.createdAt} by mlreg ${c.tool.version}; ${c.counts.artifacts} artifacts, ${c.counts.versions} versions, ${c.counts.objects} objects (${formatBytes(c.counts.objectBytes)})`,
            ...(c.unchecked
              ? [
                  ui.c.yellow(
                    `  ${c.unchecked} objects are held by base backups that were not given (--base): not checked`,
                  ),
                ]
              : []),
          ].join('\n'),
        );
      }),
    );
}
