import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { result } from '../output.js';
import { action, collect, examples } from '../command.js';
import type { ScanTarget, RescanResult } from '../../core/models/scan-version.js';
import type { Ui } from '../terminal/style.js';

interface ScanOpts {
  all?: boolean;
  allowImport?: string[];
}

export function register(program: Command): void {
  program
    .command('scan')
    .argument('[path-or-ref]', 'a model file or folder on disk, or a model version (NAME@VERSION)')
    .description("list the imports a model's pickles would run, checked against the allowlist (exit 2 when unsafe)")
    .option('--all', 're-scan every model version with the current scanner and allowlist; report changes')
    .option('--allow-import <module.Name>', 'allow this import too (repeatable)', collect)
    .addHelpText('after', examples('mlreg scan model.joblib', 'mlreg scan fraud@production --json', 'mlreg scan --all'))
    .action(
      action<ScanOpts>(async (ctx, [target], opts) => {
        const { allowlistFor, unsafeModelError } = await import('../../core/models/add-hooks.js');
        const scan = await import('../../core/models/scan-version.js');
        const reg = ctx.registry.bind(ctx);
        if (opts.all) {
          if (target !== undefined)
            throw new UsageError('scan --all takes no path or reference', {
              code: 'E_USAGE',
              hint: 'mlreg scan --all, or mlreg scan PATH|REF.',
            });
          const done = await scan.rescanAll(reg(), allowlistFor(reg(), opts.allowImport ?? []), ctx.actor());
          return result(done, renderRescan);
        }
        if (target === undefined)
          throw new UsageError('scan needs a path or a model reference, or --all', {
            code: 'E_USAGE',
            hint: 'mlreg scan model.joblib, mlreg scan fraud@1.2.0, or mlreg scan --all.',
          });
        const { existsSync } = await import('node:fs');
        let done: ScanTarget;
        if (existsSync(target)) {
          // A path needs no registry; when one is found, its scan.allow setting counts.
          let configured: ReturnType<typeof reg> | undefined;
          try {
            configured = reg();
          } catch {
            configured = undefined;
          }
          done = await scan.scanPath(target, allowlistFor(configured, opts.allowImport ?? []));
        } else {
          done = await scan.scanRef(reg(), target, allowlistFor(reg(), opts.allowImport ?? []));
        }
        if (done.report.verdict === 'unsafe') throw unsafeModelError(done.report, done.target);
        return result(done, renderTarget);
      }),
    );
}

function renderTarget(r: ScanTarget, ui: Ui): string {
  const rows = r.report.files.flatMap((f) =>
    f.imports.length ? f.imports.map((i) => [f.path, f.format, i.import, i.verdict]) : [[f.path, f.format, '', '']],
  );
  return `${ui.c.green('Safe')} ${r.target}: no pickle imports anything outside the allowlist\n${ui.table(['FILE', 'FORMAT', 'IMPORT', 'VERDICT'], rows)}`;
}

function renderRescan(r: RescanResult, ui: Ui): string {
  const lines = [`Re-scanned ${r.scanned} model version${r.scanned === 1 ? '' : 's'}; ${r.unsafe.length} unsafe.`];
  for (const c of r.changes) {
    const was = c.before ? c.before.verdict : 'never scanned';
    lines.push(
      `  ${c.name}@${c.version}: ${was} → ${c.after.verdict === 'unsafe' ? ui.c.red('unsafe') : c.after.verdict}`,
    );
    for (const a of c.importsAdded) lines.push(`    + ${a}`);
    for (const d of c.importsRemoved) lines.push(`    - ${d}`);
  }
  if (r.changes.length === 0) lines.push('  No change since the last scans.');
  return lines.join('\n');
}
