import { get } from '../api.js';
import { badge, fmtBytes, fmtDelta, fmtNum, fmtPct, h, hrefs, link, replace, section, table } from '../dom.js';
import type { CompareDoc, DatasetComparison, DriftDoc, ModelComparison } from '../../wire.js';
import { driftSection } from './drift.js';

type MetricRow = ModelComparison['metrics'][number];

export async function comparePage(app: HTMLElement): Promise<void> {
  const q = new URLSearchParams(location.search);
  const a = q.get('a') ?? '';
  const b = q.get('b') ?? '';
  const doc = await get<CompareDoc>(`/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
  document.title = `Compare ${a} ↔ ${b} · mlreg`;
  replace(app, ...compareView(doc));
}

/** `compare A B`: the same view in the app and in the HTML report. */
export function compareView(doc: CompareDoc): HTMLElement[] {
  return doc.kind === 'model' ? modelView(doc.comparison) : datasetView(doc.comparison, doc.drift);
}

function verdict(v: MetricRow['verdict']): HTMLElement | string {
  if (v === null) return '–';
  return badge(v, v === 'better' ? 'pass' : v === 'worse' ? 'fail' : '');
}

function metricTable(rows: MetricRow[], a: string, b: string): HTMLTableElement {
  return table(
    ['metric', a, b, 'Δ (B − A)', 'B is'],
    rows.map((r) => [
      r.metric,
      h('span', { class: 'num' }, fmtNum(r.a)),
      h('span', { class: 'num' }, fmtNum(r.b)),
      h('span', { class: 'num' }, fmtDelta(r.delta)),
      verdict(r.verdict),
    ]),
    'list metrics',
  );
}

function modelView(c: ModelComparison): HTMLElement[] {
  const a = `${c.a.name}@${c.a.version}`;
  const b = `${c.b.name}@${c.b.version}`;
  const side = (s: ModelComparison['a']) =>
    h(
      'div',
      { class: 'side' },
      h(
        'h3',
        null,
        link(hrefs.version(s.name, s.version), `${s.name}@${s.version}`),
        ' ',
        s.stages.map((x) => badge(x, x === 'production' ? 'prod' : 'stage')),
      ),
      s.description ? h('p', { class: 'description' }, s.description) : null,
      h('p', { class: 'muted' }, `${s.fileCount} files, ${fmtBytes(s.size)}; by ${s.createdBy}`),
    );
  return [
    h('h1', null, 'Compare ', a, ' ↔ ', b),
    h('div', { class: 'sides' }, side(c.a), side(c.b)),
    c.sameContent ? h('p', { class: 'warnline' }, 'Both versions have identical content.') : h('span'),
    section(
      'Metrics',
      c.metrics.length ? metricTable(c.metrics, 'A', 'B') : h('p', { class: 'muted' }, 'No metric recorded.'),
    ),
    ...c.evaluations.map((e) =>
      section(
        `Evaluation on ${e.dataset ? `${e.dataset.name}@${e.dataset.version}` : '(no dataset)'}${e.slice === 'all' ? '' : `, slice ${e.slice}`}`,
        metricTable(e.rows, 'A', 'B'),
      ),
    ),
    section(
      'Params',
      c.params.length
        ? table(
            ['param', 'A', 'B', 'change'],
            c.params.map((p) => [p.key, p.a ?? '–', p.b ?? '–', p.status === 'same' ? '' : badge(p.status, 'warn')]),
            'list',
          )
        : h('p', { class: 'muted' }, 'No params.'),
    ),
    section(
      'Files',
      h(
        'p',
        { class: 'muted' },
        `${c.files.unchanged} unchanged; ${fmtBytes(c.files.sizeA)} → ${fmtBytes(c.files.sizeB)}`,
      ),
      c.files.changes.length
        ? table(
            ['path', 'change', 'size A', 'size B'],
            c.files.changes.map((f) => [
              f.path,
              badge(f.status, 'warn'),
              f.sizeA === null ? '–' : fmtBytes(f.sizeA),
              f.sizeB === null ? '–' : fmtBytes(f.sizeB),
            ]),
            'list',
          )
        : h('span'),
    ),
    section(
      'Lineage',
      h(
        'p',
        null,
        c.lineage.same
          ? `Both trained on ${c.lineage.a.map((t) => `${t.name}@${t.version}`).join(', ') || 'no recorded dataset'}.`
          : `A trained on ${c.lineage.a.map((t) => `${t.name}@${t.version}`).join(', ') || '–'}; B trained on ${c.lineage.b.map((t) => `${t.name}@${t.version}`).join(', ') || '–'}.`,
      ),
    ),
  ];
}

function datasetView(c: DatasetComparison, drift: DriftDoc | null): HTMLElement[] {
  const s = c.schema;
  return [
    h('h1', null, 'Compare ', c.a.label, ' ↔ ', c.b.label),
    h(
      'p',
      null,
      `Rows ${fmtNum(c.rows.a)} → ${fmtNum(c.rows.b)} (${fmtDelta(c.rows.delta)}${c.rows.change === null ? '' : `, ${fmtPct(c.rows.change)}`}); columns ${c.a.columns} → ${c.b.columns}.`,
    ),
    section(
      'Schema',
      s.added.length || s.removed.length || s.changed.length
        ? table(
            ['column', 'change'],
            [
              ...s.added.map((x) => [x.name, `added (${x.type})`]),
              ...s.removed.map((x) => [x.name, `removed (${x.type})`]),
              ...s.changed.map((x) => [x.name, `${x.from} → ${x.to}`]),
            ],
            'list',
          )
        : h('p', { class: 'muted' }, `No schema change (${s.unchanged} columns).`),
    ),
    drift
      ? driftSection('Drift (B against A)', drift)
      : section('Drift', h('p', { class: 'muted' }, 'A has too few rows to test drift against.')),
  ];
}
