import type { CheckRecord, DataCheckReport, CheckStatus } from '../../core/datasets/check-profiles.js';
import { formatNumber, type Ui } from '../terminal/style.js';

/** Human renderings of a data check report: an aligned table for terminals, markdown for pull requests. */

/**
 * A statistic as a person reads it. A distance or ratio within rounding error of 0 (identical data
 * gives a PSI of 3e-30) is 0; a small p-value keeps its exponent, which is the point of it.
 */
function value(v: number | null, statistic = ''): string {
  if (v === null) return '';
  if (Math.abs(v) < 1e-9 && !/p-value/i.test(statistic)) return '0';
  return formatNumber(v, 'short');
}

/** Which rows a person sees: FAIL and WARN by default (the summary says what is left out), every row with --all. */
export interface RenderOptions {
  all?: boolean | undefined;
}

function shown(r: DataCheckReport, opts: RenderOptions): { rows: CheckRecord[]; hidden: string } {
  if (opts.all) return { rows: r.records, hidden: '' };
  const rows = r.records.filter((x) => x.status === 'FAIL' || x.status === 'WARN');
  const left = r.records.length - rows.length;
  return {
    rows,
    hidden: left ? `${left} PASS/INFO row${left === 1 ? '' : 's'} not shown (--all shows every row)` : '',
  };
}

function paint(status: CheckStatus, ui: Ui): string {
  switch (status) {
    case 'FAIL':
      return ui.c.red.bold(status);
    case 'WARN':
      return ui.c.yellow(status);
    case 'PASS':
      return ui.c.green(status);
    case 'INFO':
      return ui.c.dim(status);
  }
}

export function renderCheckTable(r: DataCheckReport, ui: Ui, opts: RenderOptions = {}): string {
  const lines = [
    `Checking ${ui.c.bold(r.current.label)} (${r.current.rows} rows) against ${ui.c.bold(r.reference.label)} (${r.reference.rows} rows)`,
  ];
  const { rows, hidden } = shown(r, opts);
  if (rows.length)
    lines.push(
      ui.table(
        ['STATUS', 'COLUMN', 'CHECK', 'VALUE', 'THRESHOLD', 'MESSAGE'],
        rows.map((x) => [
          paint(x.status, ui),
          x.column,
          x.check,
          value(x.value, x.statistic),
          x.threshold ?? '',
          x.message,
        ]),
      ),
    );
  if (hidden) lines.push(ui.c.dim(hidden));
  lines.push('', `${r.status === 'PASS' ? ui.c.green.bold('PASS') : ui.c.red.bold('FAIL')}  ${r.summary}`);
  return lines.join('\n');
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdownRecords(records: readonly CheckRecord[]): string {
  const icon: Record<CheckStatus, string> = { FAIL: '❌ FAIL', WARN: '⚠️ WARN', PASS: '✅ PASS', INFO: 'ℹ️ INFO' };
  return [
    '| status | column | check | value | threshold | message |',
    '|---|---|---|---:|---|---|',
    ...records.map(
      (x) =>
        `| ${icon[x.status]} | ${cell(x.column)} | ${x.check} | ${value(x.value, x.statistic)} | ${cell(x.threshold ?? '')} | ${cell(x.message)} |`,
    ),
  ].join('\n');
}

export function renderCheckMarkdown(r: DataCheckReport, opts: RenderOptions = {}): string {
  const { rows, hidden } = shown(r, opts);
  return [
    `### Data check: ${r.status === 'PASS' ? '✅ PASS' : '❌ FAIL'}`,
    '',
    `\`${cell(r.current.label)}\` (${r.current.rows} rows) against \`${cell(r.reference.label)}\` (${r.reference.rows} rows): ${r.summary}`,
    '',
    ...(rows.length ? [markdownRecords(rows), ''] : []),
    ...(hidden ? [`_${hidden}_`, ''] : []),
  ].join('\n');
}
