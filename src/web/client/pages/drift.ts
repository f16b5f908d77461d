import { categoryBars, CUR_COLOR, histogram, REF_COLOR } from '../charts.js';
import { badge, fmtNum, fmtPct, h, replace, section } from '../dom.js';
import type { CheckReport, ColumnSketch, DriftDoc } from '../../wire.js';

type Status = CheckReport['records'][number]['status'];
const RANK: Record<Status, number> = { FAIL: 0, WARN: 1, PASS: 2, INFO: 3 };

interface Row {
  column: string;
  drifted: boolean;
  status: Status;
  test: string;
  value: number | null;
  threshold: number | null;
  missingRef: number | null;
  missingCur: number | null;
  meanRef: number | null;
  meanCur: number | null;
  ref: ColumnSketch | undefined;
  cur: ColumnSketch | undefined;
}

/** Records about the whole table (row count…) rather than a column. */
const TABLE = '(dataset)';

type SortKey = 'drift' | 'column' | 'status' | 'value' | 'missing' | 'mean';

/** The drift of `check` (or of a dataset `compare`): drifted columns first, sortable, each expandable. */
export function driftView(doc: DriftDoc): HTMLElement {
  const r = doc.report;
  const rows = buildRows(doc);
  const tableRecords = r.records.filter((x) => x.column === TABLE);
  let sortKey: SortKey = 'drift';
  let ascending = true;
  const open = new Set<string>();
  const body = h('tbody');
  const headers: [SortKey | null, string][] = [
    [null, ''],
    ['column', 'column'],
    ['drift', 'drifted'],
    ['status', 'worst check'],
    ['value', 'test statistic'],
    ['missing', 'missing ref → cur'],
    ['mean', 'mean ref → cur'],
  ];
  const head = h(
    'tr',
    null,
    ...headers.map(([key, label]) => {
      if (!key) return h('th', null, label);
      const th = h('th', { class: 'sortable', 'data-key': key, title: 'sort' }, label);
      th.addEventListener('click', () => {
        ascending = sortKey === key ? !ascending : true;
        sortKey = key;
        draw();
      });
      return th;
    }),
  );
  const draw = () => {
    const sorted = [...rows].sort((a, b) => compareRows(a, b, sortKey) * (ascending ? 1 : -1));
    for (const th of head.querySelectorAll('th[data-key]'))
      th.setAttribute(
        'aria-sort',
        th.getAttribute('data-key') === sortKey ? (ascending ? 'ascending' : 'descending') : 'none',
      );
    replace(
      body,
      ...sorted.flatMap((row) => {
        const toggle = h(
          'button',
          { class: 'expand', 'aria-expanded': String(open.has(row.column)), title: 'show distributions' },
          open.has(row.column) ? '−' : '+',
        );
        toggle.addEventListener('click', () => {
          if (open.has(row.column)) open.delete(row.column);
          else open.add(row.column);
          draw();
        });
        const tr = h(
          'tr',
          { class: row.drifted ? 'drifted' : '', 'data-column': row.column },
          h('td', null, toggle),
          h('td', { class: 'colname' }, row.column),
          h('td', null, row.drifted ? badge('drift', 'fail') : badge('no', 'pass')),
          h('td', null, badge(row.status, row.status.toLowerCase())),
          h('td', { class: 'num' }, row.test ? `${row.test} ${fmtNum(row.value)} (≤ ${fmtNum(row.threshold)})` : '–'),
          h('td', { class: 'num' }, `${fmtPct(row.missingRef)} → ${fmtPct(row.missingCur)}`),
          h('td', { class: 'num' }, `${fmtNum(row.meanRef)} → ${fmtNum(row.meanCur)}`),
        );
        if (!open.has(row.column)) return [tr];
        return [tr, h('tr', { class: 'detail' }, h('td', { colspan: 7 }, detail(doc, row)))];
      }),
    );
  };
  draw();
  return h(
    'div',
    { class: 'drift' },
    h('p', { class: 'summary' }, badge(r.status, r.status.toLowerCase()), ' ', r.summary),
    h(
      'p',
      { class: 'legend' },
      h('span', { class: 'swatch ref' }),
      ` reference ${r.reference.label} (${fmtNum(r.reference.rows)} rows)   `,
      h('span', { class: 'swatch cur' }),
      ` current ${r.current.label} (${fmtNum(r.current.rows)} rows)`,
    ),
    h(
      'p',
      { class: 'muted' },
      `${r.drift.drifted} of ${r.drift.columns} columns drifted (${fmtPct(r.drift.share)}; the gate fails at ${fmtPct(r.drift.threshold)}). Checks: ${r.counts.FAIL} FAIL, ${r.counts.WARN} WARN, ${r.counts.PASS} PASS.`,
    ),
    tableRecords.length
      ? h(
          'ul',
          { class: 'records' },
          ...tableRecords.map((m) =>
            h('li', null, badge(m.status, m.status.toLowerCase()), ` ${m.check}: ${m.message}`),
          ),
        )
      : null,
    h('table', { class: 'list drift-table', id: 'drift' }, h('thead', null, head), body),
  );
}

function buildRows(doc: DriftDoc): Row[] {
  const r = doc.report;
  const refCols = new Map(doc.reference.columns.map((c) => [c.name, c]));
  const curCols = new Map(doc.current.columns.map((c) => [c.name, c]));
  const names = [...new Set([...refCols.keys(), ...curCols.keys(), ...r.records.map((x) => x.column)])];
  return names
    .filter((n) => n !== TABLE)
    .map((column) => {
      const test = r.drift.tests.find((t) => t.column === column);
      const records = r.records.filter((x) => x.column === column);
      const status = records.reduce<Status>((w, x) => (RANK[x.status] < RANK[w] ? x.status : w), 'INFO');
      const ref = refCols.get(column);
      const cur = curCols.get(column);
      return {
        column,
        drifted: !!test?.drifted,
        status: records.length ? status : 'PASS',
        test: test?.test ?? '',
        value: test?.value ?? null,
        threshold: test?.threshold ?? null,
        missingRef: ref?.missingRate ?? null,
        missingCur: cur?.missingRate ?? null,
        meanRef: ref?.numeric?.mean ?? null,
        meanCur: cur?.numeric?.mean ?? null,
        ref,
        cur,
      };
    });
}

function compareRows(a: Row, b: Row, key: SortKey): number {
  const byName = a.column.localeCompare(b.column);
  const num = (x: number | null, y: number | null) => (x ?? Number.POSITIVE_INFINITY) - (y ?? Number.POSITIVE_INFINITY);
  switch (key) {
    case 'column':
      return byName;
    case 'status':
      return RANK[a.status] - RANK[b.status] || byName;
    case 'value':
      return num(a.value, b.value) || byName;
    case 'missing':
      return (
        num(
          b.missingCur !== null && b.missingRef !== null ? -(b.missingCur - b.missingRef) : null,
          a.missingCur !== null && a.missingRef !== null ? -(a.missingCur - a.missingRef) : null,
        ) || byName
      );
    case 'mean':
      return num(shift(b), shift(a)) || byName;
    default:
      return Number(b.drifted) - Number(a.drifted) || RANK[a.status] - RANK[b.status] || byName;
  }
}

/** |Δmean| in reference standard deviations: largest first when sorted. */
function shift(r: Row): number | null {
  if (r.meanRef === null || r.meanCur === null) return null;
  const sd = r.ref?.numeric?.std || 1;
  return -Math.abs(r.meanCur - r.meanRef) / sd;
}

function detail(doc: DriftDoc, row: Row): HTMLElement {
  const parts: (HTMLElement | SVGElement)[] = [];
  const ref = row.ref;
  const cur = row.cur;
  if (ref?.numeric || cur?.numeric) {
    parts.push(
      histogram(
        [
          ...(ref?.numeric ? [{ label: 'reference', color: REF_COLOR, bins: ref.numeric.bins }] : []),
          ...(cur?.numeric ? [{ label: 'current', color: CUR_COLOR, bins: cur.numeric.bins }] : []),
        ],
        480,
        150,
      ),
    );
    const levels = (ref?.numeric ?? cur?.numeric)!.quantiles.p;
    parts.push(
      h(
        'table',
        { class: 'quantiles' },
        h(
          'thead',
          null,
          h('tr', null, h('th', null, ''), ...levels.map((p) => h('th', null, `p${Math.round(p * 100)}`))),
        ),
        h(
          'tbody',
          null,
          ...[
            ['reference', ref],
            ['current', cur],
          ].map(([label, c]) =>
            h(
              'tr',
              null,
              h('td', null, label as string),
              ...levels.map((_p, i) =>
                h('td', { class: 'num' }, fmtNum((c as ColumnSketch | undefined)?.numeric?.quantiles.x[i])),
              ),
            ),
          ),
        ),
      ),
    );
  }
  if (ref?.categories || cur?.categories) {
    parts.push(
      categoryBars(
        [
          ...(ref?.categories ? [{ label: 'reference', color: REF_COLOR, ...ref.categories }] : []),
          ...(cur?.categories ? [{ label: 'current', color: CUR_COLOR, ...cur.categories }] : []),
        ],
        520,
      ),
    );
  }
  const messages = doc.report.records.filter((x) => x.column === row.column);
  return h(
    'div',
    { class: 'overlay' },
    parts.length ? parts : h('p', { class: 'muted' }, 'No distribution to draw for this column.'),
    h(
      'ul',
      { class: 'records' },
      ...messages.map((m) => h('li', null, badge(m.status, m.status.toLowerCase()), ` ${m.check}: ${m.message}`)),
    ),
  );
}

export function driftSection(title: string, doc: DriftDoc): HTMLElement {
  return section(title, driftView(doc));
}
