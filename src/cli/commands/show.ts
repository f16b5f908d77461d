import type { Command } from 'commander';
import type { VersionDetails } from '../../core/versions/show.js';
import { result } from '../output.js';
import { action, examples } from '../command.js';
import type { Ui } from '../terminal/style.js';
import { renderProfileSummary } from '../render/profile-summary.js';
import { formatBytes, formatNumber, formatTime } from '../terminal/style.js';

interface ShowOpts {
  at?: string;
}

export function register(program: Command): void {
  program
    .command('show')
    .argument('<ref>', 'NAME, NAME@1.2.3, NAME@^1.2, NAME@production or NAME@sha256:PREFIX')
    .description('one version: files, metrics, params, lineage, stages; for a dataset its profile (--json: in full)')
    .option('--at <time>', 'also show which version held each stage at that moment (ISO 8601)')
    .addHelpText(
      'after',
      examples(
        'mlreg show fraud@production',
        'mlreg show fraud@1.2.0 --json',
        'mlreg show fraud --at 2026-11-20T14:00:00Z',
      ),
    )
    .action(
      action<ShowOpts>(async (ctx, [ref], opts) => {
        const { showVersion } = await import('../../core/versions/show.js');
        const details = await showVersion(ctx.readRegistry(), ref!, { at: opts.at });
        return result(details, renderDetails);
      }),
    );
}

function describeSignature(s: NonNullable<VersionDetails['signature']>): string {
  if (s.format === 'onnx')
    return s.inputs.map((i) => `${i.name}: ${i.type}[${(i.shape ?? []).map((d) => d ?? '?').join(', ')}]`).join(', ');
  if (s.format === 'given') return s.features.map((f) => `${f.name} (${f.kind})`).join(', ');
  const what = `${s.class}${s.steps ? ` [${s.steps.map((x) => x.name).join(' → ')}]` : ''}`;
  const inputs = s.features
    ? s.features.map((f) => `${f.name} (${f.kind})`).join(', ')
    : s.n_features_in !== null
      ? `${s.n_features_in} unnamed features`
      : 'unknown';
  return `${inputs}  — ${what}${s.sklearn_version ? `, scikit-learn ${s.sklearn_version}` : ''}`;
}

export function renderDetails(d: VersionDetails, ui: Ui): string {
  const v = d.version;
  const lines: string[] = [];
  lines.push(
    `${ui.c.bold(`${v.name}@${v.version}`)}  ${v.kind}${v.deprecated ? ui.c.yellow(`  DEPRECATED ${formatTime(v.deprecated.at)} by ${v.deprecated.by}${v.deprecated.reason ? `: ${v.deprecated.reason}` : ''}`) : ''}`,
  );
  lines.push(`digest   sha256:${v.digest}`);
  lines.push(`created  ${formatTime(v.createdAt)} by ${v.createdBy}`);
  if (v.description) lines.push(`about    ${v.description}`);
  lines.push(`stages   ${d.stages.length ? d.stages.map((s) => ui.c.cyan(s)).join(', ') : '-'}`);
  lines.push(`content  ${v.fileCount} file${v.fileCount === 1 ? '' : 's'}, ${formatBytes(v.size)}`);
  if (d.scan) {
    const s = d.scan;
    lines.push(
      s.verdict === 'unsafe'
        ? ui.c.red(
            `scan     UNSAFE: ${s.report.findings.length} finding(s)${s.override ? `, registered with ${s.override}` : ''}; see \`mlreg scan ${v.name}@${v.version}\``,
          )
        : `scan     safe (${s.scanner}, ${formatTime(s.scannedAt)})`,
    );
  }
  if (d.signature) lines.push(`inputs   ${describeSignature(d.signature)}`);
  if (d.lineage.trainedOn.length)
    lines.push(`trained on  ${d.lineage.trainedOn.map((t) => `${t.name}@${t.version}`).join(', ')}`);
  if (d.lineage.usedBy.length)
    lines.push(`models trained on it  ${d.lineage.usedBy.map((t) => `${t.name}@${t.version}`).join(', ')}`);
  const kv = (title: string, rec: Record<string, string | number>): void => {
    const entries = Object.entries(rec);
    if (!entries.length) return;
    lines.push('', ui.c.bold(title));
    lines.push(
      ui.table(
        ['NAME', 'VALUE'],
        entries.map(([k, x]) => [k, typeof x === 'number' ? formatNumber(x) : x]),
      ),
    );
  };
  kv('Metrics', d.metrics);
  kv('Params', d.params);
  kv('Tags', d.tags);
  if (d.evaluations.length) {
    lines.push('', ui.c.bold('Evaluations'));
    lines.push(
      ui.table(
        ['DATASET', 'SLICE', 'METRIC', 'VALUE', 'RECORDED'],
        d.evaluations.map((e) => [
          e.dataset ? `${e.dataset.name}@${e.dataset.version}` : '-',
          e.slice,
          e.metric,
          formatNumber(e.value),
          `${formatTime(e.recordedAt)} (${e.source})`,
        ]),
      ),
    );
  }
  lines.push('', ui.c.bold('Files'));
  const shown = d.manifest.files.slice(0, 50);
  lines.push(
    ui.table(
      ['PATH', 'SIZE', 'MODE', 'SHA256'],
      shown.map((f) => [f.path, formatBytes(f.size), f.mode.toString(8), f.sha256.slice(0, 12)]),
    ),
  );
  if (d.manifest.files.length > shown.length)
    lines.push(ui.c.dim(`… and ${d.manifest.files.length - shown.length} more (--json lists all)`));
  if (d.profile !== undefined) lines.push('', ...renderProfileSummary(d.profile, ui));
  if (d.stagesAt) {
    lines.push('', ui.c.bold(`Stages at ${d.stagesAt.at}`));
    const e = Object.entries(d.stagesAt.stages);
    lines.push(e.length ? ui.table(['STAGE', 'VERSION'], e) : '(no stage was set then)');
  }
  return lines.join('\n');
}
