import type { EvaluationDiff, MetricDiffRow, ModelComparison } from '../../core/evaluations/compare-models.js';
import { formatBytes, formatNumber, formatTime, type Ui } from '../terminal/style.js';

/** `compare` of two models as a terminal table or as markdown for a pull-request comment. */

const num = (v: number | null): string => (v === null ? '-' : formatNumber(v));
const signed = (v: number | null): string => (v === null ? '' : `${v > 0 ? '+' : ''}${formatNumber(v)}`);
const ref = (s: { name: string; version: string }): string => `${s.name}@${s.version}`;
const where = (e: EvaluationDiff): string => (e.dataset ? ref(e.dataset) : '(no dataset)');

function verdictText(r: MetricDiffRow): string {
  if (r.verdict === null) return r.a === null || r.b === null ? '' : r.direction === null ? 'no direction' : '';
  return r.verdict;
}

function metricTableRows(c: ModelComparison): { source: string; slice: string; row: MetricDiffRow }[] {
  return [
    ...c.metrics.map((row) => ({ source: 'at add', slice: '', row })),
    ...c.evaluations.flatMap((e) => e.rows.map((row) => ({ source: where(e), slice: e.slice, row }))),
  ];
}

export function renderCompareTable(c: ModelComparison, ui: Ui): string {
  const A = ref(c.a);
  const B = ref(c.b);
  const out: string[] = [`${ui.c.bold(A)} → ${ui.c.bold(B)}${c.sameContent ? ui.c.dim('  (identical content)') : ''}`];
  const colour = (r: MetricDiffRow): string => {
    const t = verdictText(r);
    return r.verdict === 'better' ? ui.c.green(t) : r.verdict === 'worse' ? ui.c.red(t) : ui.c.dim(t);
  };
  const metrics = metricTableRows(c);
  out.push('', ui.c.bold('Metrics'));
  out.push(
    metrics.length
      ? ui.table(
          ['METRIC', 'SOURCE', 'SLICE', A, B, 'CHANGE', 'B IS'],
          metrics.map(({ source, slice, row }) => [
            row.metric,
            source,
            slice,
            num(row.a),
            num(row.b),
            signed(row.delta),
            colour(row),
          ]),
        )
      : ui.c.dim('(no metrics or shared evaluations)'),
  );
  const unshared = [...c.unshared.a.map((u) => ({ ...u, who: A })), ...c.unshared.b.map((u) => ({ ...u, who: B }))];
  if (unshared.length)
    out.push(
      ui.c.dim(
        `not compared (only one side evaluated): ${unshared.map((u) => `${u.dataset ?? '(no dataset)'} ${u.slice} [${u.who}]`).join(', ')}`,
      ),
    );
  const params = c.params.filter((p) => p.status !== 'same');
  out.push('', ui.c.bold('Params'));
  out.push(
    params.length
      ? ui.table(
          ['PARAM', A, B, ''],
          params.map((p) => [p.key, p.a ?? '-', p.b ?? '-', p.status]),
        )
      : ui.c.dim('(no differences)'),
  );
  if (c.params.length > params.length) out.push(ui.c.dim(`${c.params.length - params.length} unchanged`));
  out.push('', ui.c.bold('Files'));
  out.push(
    c.files.changes.length
      ? ui.table(
          ['PATH', 'CHANGE', A, B],
          c.files.changes.map((f) => [
            f.path,
            f.status,
            f.sizeA === null ? '-' : formatBytes(f.sizeA),
            f.sizeB === null ? '-' : formatBytes(f.sizeB),
          ]),
        )
      : ui.c.dim('(no differences)'),
  );
  out.push(
    ui.c.dim(`${c.files.unchanged} unchanged; total ${formatBytes(c.files.sizeA)} → ${formatBytes(c.files.sizeB)}`),
  );
  if (c.signature) {
    const sg = c.signature;
    out.push('', ui.c.bold('Inputs'));
    // A feature the new version needs and the old one did not: whatever feeds the model must now send it.
    if (sg.newlyRequired.length)
      out.push(
        ui.c.red(
          ui.wrap(`NEW REQUIRED FEATURE${sg.newlyRequired.length > 1 ? 'S' : ''}: ${sg.newlyRequired.join(', ')}`),
        ),
      );
    if (sg.dropped.length) out.push(ui.wrap(`no longer used: ${sg.dropped.join(', ')}`));
    for (const k of sg.kindChanged) out.push(ui.wrap(`${k.name}: takes ${k.b} (was ${k.a})`));
    for (const o of sg.other) out.push(ui.wrap(`${o.what}: ${o.a} → ${o.b}`));
    if (!sg.newlyRequired.length && !sg.dropped.length && !sg.kindChanged.length && !sg.other.length)
      out.push(ui.c.dim('same inputs'));
  }
  out.push('', ui.c.bold('Details'));
  const lineage = (s: ModelComparison['a']) => (s.trainedOn.length ? s.trainedOn.map(ref).join(', ') : '-');
  out.push(
    ui.table(
      ['', A, B],
      [
        ['trained on', lineage(c.a), lineage(c.b)],
        ['stages', c.a.stages.join(', ') || '-', c.b.stages.join(', ') || '-'],
        ['created', formatTime(c.a.createdAt), formatTime(c.b.createdAt)],
        ['by', c.a.createdBy, c.b.createdBy],
        ['digest', `sha256:${c.a.digest.slice(0, 12)}`, `sha256:${c.b.digest.slice(0, 12)}`],
        ['deprecated', c.a.deprecated ? 'yes' : 'no', c.b.deprecated ? 'yes' : 'no'],
        ...(c.a.description || c.b.description ? [['about', c.a.description ?? '-', c.b.description ?? '-']] : []),
      ],
    ),
  );
  return out.join('\n');
}

/** Escape what would break a markdown table cell. */
function md(text: string): string {
  return text
    .replaceAll('\\', '\\\\')
    .replaceAll('|', '\\|')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('\n', ' ');
}

export function renderCompareMarkdown(c: ModelComparison): string {
  const A = ref(c.a);
  const B = ref(c.b);
  const out: string[] = [`### \`${A}\` → \`${B}\``, ''];
  const metrics = metricTableRows(c);
  if (metrics.length) {
    out.push(`| Metric | Source | Slice | ${md(A)} | ${md(B)} | Change | |`, '|---|---|---|--:|--:|--:|---|');
    for (const { source, slice, row } of metrics) {
      const v = verdictText(row);
      const mark = row.verdict === 'better' ? `**better**` : row.verdict === 'worse' ? `**worse**` : v;
      out.push(
        `| ${md(row.metric)} | ${md(source)} | ${md(slice)} | ${num(row.a)} | ${num(row.b)} | ${signed(row.delta)} | ${mark} |`,
      );
    }
  } else out.push('_No metrics or shared evaluations._');
  const unshared = [...c.unshared.a.map((u) => ({ ...u, who: A })), ...c.unshared.b.map((u) => ({ ...u, who: B }))];
  if (unshared.length)
    out.push(
      '',
      `Not compared (only one side evaluated): ${unshared.map((u) => `${md(u.dataset ?? '(no dataset)')} \`${md(u.slice)}\` (${md(u.who)})`).join(', ')}`,
    );
  const params = c.params.filter((p) => p.status !== 'same');
  if (params.length) {
    out.push('', `| Param | ${md(A)} | ${md(B)} |`, '|---|---|---|');
    for (const p of params) out.push(`| ${md(p.key)} | ${md(p.a ?? '-')} | ${md(p.b ?? '-')} |`);
  }
  out.push(
    '',
    `**Files:** ${c.files.changes.length} changed, ${c.files.unchanged} unchanged; ${formatBytes(c.files.sizeA)} → ${formatBytes(c.files.sizeB)}`,
  );
  if (c.files.changes.length) {
    out.push('', '| File | Change | Size before | Size after |', '|---|---|--:|--:|');
    for (const f of c.files.changes)
      out.push(
        `| ${md(f.path)} | ${f.status} | ${f.sizeA === null ? '-' : formatBytes(f.sizeA)} | ${f.sizeB === null ? '-' : formatBytes(f.sizeB)} |`,
      );
  }
  const lineage = (s: ModelComparison['a']) =>
    s.trainedOn.length ? s.trainedOn.map((t) => `\`${ref(t)}\``).join(', ') : '-';
  if (c.signature?.newlyRequired.length)
    out.push('', `**New required features:** ${c.signature.newlyRequired.map((n) => `\`${n}\``).join(', ')}  `);
  out.push('', `**Trained on:** ${lineage(c.a)} → ${lineage(c.b)}${c.lineage.same ? ' (same)' : ''}  `);
  out.push(`**Stages:** ${c.a.stages.join(', ') || '-'} → ${c.b.stages.join(', ') || '-'}  `);
  out.push(
    `**Created:** ${formatTime(c.a.createdAt)} by ${md(c.a.createdBy)} → ${formatTime(c.b.createdAt)} by ${md(c.b.createdBy)}`,
  );
  return out.join('\n');
}
