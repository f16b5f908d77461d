import type { Command } from 'commander';
import { IntegrityError, UsageError } from '../../core/errors.js';
import type { RemoteObjectState, VerifyReport } from '../../core/store/verify.js';
import { failWithReport, result } from '../output.js';
import { action, examples } from '../command.js';
import { formatBytes, type Ui } from '../terminal/style.js';

export function register(program: Command): void {
  program
    .command('verify')
    .description('check the index and re-hash every referenced object; exit 5 when anything is damaged')
    .option('--quick', 'check that objects are present with the right size, without re-hashing')
    .option(
      '--remote',
      'on a replica: also check the objects not fetched yet on the remote (downloaded and re-hashed; with --quick only their presence and size)',
    )
    .addHelpText(
      'after',
      examples('mlreg verify', 'mlreg verify --quick', 'mlreg verify --json | jq .error.details.problems') +
        '\nExit codes: 0 intact; 5 corruption found (the report lists each problem and the versions it touches).\n',
    )
    .action(
      action<{ quick?: boolean; remote?: boolean }>(async (ctx, _args, opts) => {
        const { verifyRegistry } = await import('../../core/store/verify.js');
        const reg = ctx.readRegistry();
        const replica = ctx.replica;
        if (opts.remote && !replica)
          throw new UsageError('verify --remote needs a replica of a remote registry; this registry is only local', {
            code: 'E_NOT_A_REPLICA',
            hint: 'Run `mlreg verify` without --remote.',
          });
        if (opts.remote && ctx.offline)
          throw new UsageError('verify --remote asks the remote; --offline cannot', {
            code: 'E_USAGE',
            hint: 'Drop one of the two options.',
          });
        let check: ((digest: string, size: number, hash: boolean) => Promise<RemoteObjectState>) | undefined;
        if (opts.remote && replica) {
          const { checkRemoteObject } = await import('../../core/remote/objects-sync.js');
          const store = await replica.store();
          check = (digest, size, hash) => checkRemoteObject(reg, store, digest, size, hash);
        }
        const report = await verifyRegistry(reg, {
          quick: opts.quick,
          ...(replica ? { replica: check ? { check } : {} } : {}),
        });
        if (report.ok) return result(report, renderVerify);
        return failWithReport(
          ctx.json,
          report,
          renderVerify,
          new IntegrityError(
            `verify found ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} in the registry`,
            {
              code: 'E_VERIFY_FAILED',
              hint: 'Do not write to the registry; restore it from the latest good backup (mlreg restore FILE --into DIR --force), see docs/backup.md.',
              details: report,
            },
          ),
        );
      }),
    );
}

export function renderVerify(r: VerifyReport, ui: Ui): string {
  const lines = r.steps.map(
    (s) =>
      `${s.ok ? ui.c.green('ok  ') : ui.c.red('FAIL')}  ${s.name}: ${s.checked} checked${s.problems ? `, ${s.problems} problem${s.problems === 1 ? '' : 's'}` : ''} (${s.ms} ms)`,
  );
  for (const p of r.problems) {
    const who = p.affects.length
      ? `\n        affects ${p.affects.map((a) => `${a.name}@${a.version}`).join(', ')}`
      : '';
    lines.push(`  ${ui.c.red(p.kind)}: ${p.message}${who}`);
  }
  lines.push(
    `${r.objects.referenced} objects (${formatBytes(r.objects.bytes)})${r.quick ? ' present' : `, ${formatBytes(r.objects.hashedBytes)} re-hashed`}; ${r.unreferenced.objects} unreferenced (${formatBytes(r.unreferenced.bytes)}, removed by gc)`,
  );
  if (r.objects.notLocal)
    lines.push(
      `${r.objects.notLocal} object${r.objects.notLocal === 1 ? '' : 's'} not local (remote)` +
        (r.objects.remoteChecked
          ? `: ${r.objects.remoteChecked} checked on the remote`
          : ': not checked (`mlreg verify --remote` checks them there, `mlreg pull --objects` fetches them)'),
    );
  lines.push(
    r.ok
      ? ui.c.green('Registry intact.')
      : ui.c.red(`${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} found.`),
  );
  return lines.join('\n');
}
