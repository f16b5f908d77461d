import type { ColumnChange, DatasetComparison } from '../../core/datasets/compare.js';
import type { Ui } from '../terminal/style.js';
import { formatBytes, formatNumber } from '../terminal/style.js';
import { markdownRecords, renderCheckTable } from './data-check-report.js';

/** `compare DS@a DS@b` for people (table) and pull requests (markdown). */

const num = (v: number | null): string =>
  v === null || !Number.isFinite(v) ? '-' : formatNumber(Number(v.toPrecision(5)));
const pct = (v: number | null): string => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);
const both = (p: [number | null, number | null], f: (v: number | null) => string = num): string =>
  p[0] === p[1] ? f(p[0]) : `${f(p[0])} → ${f(p[1])}`;

function changedColumns(d: DatasetComparison): ColumnChange[] {
  return d.columns.filter(
    (c) =>
      c.presence !== 'both' ||
      c.type[0] !== c.type[1] ||
      c.missingRate[0] !== c.missingRate[1] ||
      c.mean[0] !== c.mean[1] ||
      c.std[0] !== c.std[1] ||
      c.distinct[0] !== c.distinct[1],
  );
}

function schemaLines(d: DatasetComparison): string[] {
  const s = d.schema;
  const out: string[] = [];
  if (s.added.length) out.push(`added:   ${s.added.map((c) => `${c.name} (${c.type})`).join(', ')}`);
  if (s.removed.length) out.push(`removed: ${s.removed.map((c) => `${c.name} (${c.type})`).join(', ')}`);
  for (const c of s.changed) out.push(`changed: ${c.name}: ${c.from} → ${c.to}`);
  if (!out.length) out.push(`unchanged (${s.unchanged} columns)`);
  return out;
}

function rowsLine(d: DatasetComparison): string {
  const sign = d.rows.delta > 0 ? '+' : '';
  return `${d.rows.a} → ${d.rows.b} (${sign}${d.rows.delta}${d.rows.change !== null ? `, ${sign}${(d.rows.change * 100).toFixed(1)}%` : ''})`;
}

export function renderDatasetCompareTable(d: DatasetComparison, ui: Ui): string {
  const lines = [`${ui.c.bold(d.a.label)} → ${ui.c.bold(d.b.label)}`];
  lines.push(`rows     ${rowsLine(d)}`, `size     ${formatBytes(d.a.bytes)} → ${formatBytes(d.b.bytes)}`);
  lines.push('', ui.c.bold('Schema'), ...schemaLines(d));
  const cols = changedColumns(d);
  lines.push('', ui.c.bold('Columns'));
  lines.push(
    cols.length
      ? ui.table(
          ['COLUMN', 'KIND', 'MISSING', 'DISTINCT', 'MEAN', 'STD', 'MIN', 'MAX'],
          cols.map((c) => [
            c.column,
            c.kind[0] === c.kind[1] ? c.kind[0] : `${c.kind[0] ?? '-'} → ${c.kind[1] ?? '-'}`,
            both(c.missingRate, pct),
            both(c.distinct),
            both(c.mean),
            both(c.std),
            both(c.min),
            both(c.max),
          ]),
        )
      : '(no column changed)',
  );
  lines.push(
    '',
    ui.c.bold('Drift'),
    d.drift ? renderCheckTable(d.drift, ui) : ui.c.dim(`(not tested: ${d.a.label} has fewer than 2 rows)`),
  );
  return lines.join('\n');
}

export function renderDatasetCompareMarkdown(d: DatasetComparison): string {
  const cols = changedColumns(d);
  return [
    `### Dataset \`${d.a.label}\` → \`${d.b.label}\``,
    '',
    `- rows: ${rowsLine(d)}`,
    ...schemaLines(d).map((l) => `- schema ${l.replace(/\s+/g, ' ')}`),
    '',
    '| column | kind | missing | distinct | mean | std | min | max |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
    ...cols.map(
      (c) =>
        `| ${c.column} | ${c.kind[0] === c.kind[1] ? c.kind[0] : `${c.kind[0] ?? '-'} → ${c.kind[1] ?? '-'}`} | ${both(c.missingRate, pct)} | ${both(c.distinct)} | ${both(c.mean)} | ${both(c.std)} | ${both(c.min)} | ${both(c.max)} |`,
    ),
    '',
    d.drift
      ? `**Drift:** ${d.drift.summary}\n\n${markdownRecords(d.drift.records)}`
      : '**Drift:** not tested (fewer than 2 rows in the first version)',
    '',
  ].join('\n');
}
