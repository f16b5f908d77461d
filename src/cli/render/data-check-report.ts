import type { CheckRecord, DataCheckReport, CheckStatus } from '../../core/datasets/check-profiles.js';
import { formatNumber, type Ui } from '../terminal/style.js';

/** Human renderings of a data check report: an aligned table for terminals, markdown for pull requests. */

function value(v: number | null): string {
  return v === null ? '' : formatNumber(v, 'short');
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

export function renderCheckTable(r: DataCheckReport, ui: Ui): string {
  const lines = [
    `Checking ${ui.c.bold(r.current.label)} (${r.current.rows} rows) against ${ui.c.bold(r.reference.label)} (${r.reference.rows} rows)`,
  ];
  lines.push(
    ui.table(
      ['STATUS', 'COLUMN', 'CHECK', 'VALUE', 'THRESHOLD', 'MESSAGE'],
      r.records.map((x) => [paint(x.status, ui), x.column, x.check, value(x.value), x.threshold ?? '', x.message]),
    ),
  );
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
        `| ${icon[x.status]} | ${cell(x.column)} | ${x.check} | ${value(x.value)} | ${cell(x.threshold ?? '')} | ${cell(x.message)} |`,
    ),
  ].join('\n');
}

export function renderCheckMarkdown(r: DataCheckReport): string {
  return [
    `### Data check: ${r.status === 'PASS' ? '✅ PASS' : '❌ FAIL'}`,
    '',
    `\`${cell(r.current.label)}\` (${r.current.rows} rows) against \`${cell(r.reference.label)}\` (${r.reference.rows} rows): ${r.summary}`,
    '',
    markdownRecords(r.records),
    '',
  ].join('\n');
}
