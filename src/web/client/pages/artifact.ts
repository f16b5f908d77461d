import { get } from '../api.js';
import { lineChart, stageTimeline } from '../charts.js';
import { badge, fmtBytes, fmtNum, fmtTime, h, hrefs, link, replace, section } from '../dom.js';
import type { ArtifactDoc, VersionSummary } from '../../wire.js';

/** One artifact: stages, a metric across versions, the stage timeline, the versions page by page. */
export async function artifactPage(app: HTMLElement, name: string): Promise<void> {
  const params = new URLSearchParams(location.search);
  const offset = Number(params.get('offset') ?? 0) || 0;
  const doc = await get<ArtifactDoc>(`/artifacts/${encodeURIComponent(name)}?offset=${offset}&limit=50`);
  document.title = `${doc.name} · mlreg`;
  const chartBox = h('div', { class: 'chartbox', id: 'metric-chart' });
  const timelineBox = h('div', { class: 'chartbox', id: 'timeline' });
  const metrics = Object.keys(doc.chart.metrics);
  const picker = h(
    'select',
    { id: 'metric', 'aria-label': 'metric' },
    ...metrics.map((m) => h('option', { value: m }, m)),
  );
  // Start on the metric most versions have (ties: the first by name).
  const have = (m: string) => doc.chart.metrics[m]!.filter((x) => x !== null).length;
  picker.value = metrics.reduce((best, m) => (have(m) > have(best) ? m : best), metrics[0] ?? '');
  const selected = new Set<string>();
  const compareBtn = h('button', { id: 'compare', disabled: true }, 'Compare selected');
  compareBtn.addEventListener('click', () => {
    const [a, b] = [...selected];
    if (a && b) location.href = hrefs.compare(`${doc.name}@${a}`, `${doc.name}@${b}`);
  });
  const onPick = (v: string, on: boolean) => {
    if (on) selected.add(v);
    else selected.delete(v);
    compareBtn.disabled = selected.size !== 2;
  };
  replace(
    app,
    h(
      'h1',
      null,
      doc.name,
      ' ',
      badge(doc.kind, doc.kind),
      ' ',
      Object.entries(doc.stages).map(([s, v]) => badge(`${s} ${v}`, s === 'production' ? 'prod' : 'stage')),
    ),
    h(
      'nav',
      { class: 'sub' },
      link(hrefs.history(doc.name), 'History'),
      doc.kind === 'model'
        ? h(
            'span',
            { class: 'group' },
            'Monitoring: ',
            (Object.keys(doc.stages).length ? Object.keys(doc.stages) : ['production']).map((stage, i) => [
              i ? ' · ' : '',
              link(hrefs.monitor(doc.name, stage), stage),
            ]),
          )
        : null,
    ),
    metrics.length ? section('Metric across versions', h('div', { class: 'toolbar' }, picker), chartBox) : null,
    section(
      'Stage timeline',
      doc.timeline.length ? timelineBox : h('p', { class: 'muted' }, 'No stage has been set yet.'),
    ),
    section(
      `Versions (${doc.total})`,
      h('div', { class: 'toolbar' }, compareBtn, h('span', { class: 'muted' }, 'tick two versions to compare them')),
      versionsTable(doc, onPick),
      pager(doc),
    ),
  );
  if (metrics.length) {
    const draw = () => {
      chartBox.replaceChildren();
      const m = picker.value;
      lineChart(chartBox, {
        x: doc.chart.versions.map((_v, i) => i),
        xLabels: doc.chart.versions,
        series: [{ label: m, values: doc.chart.metrics[m] ?? [] }],
        vlines: Object.entries(doc.stages).map(([stage, v]) => ({
          x: doc.chart.versions.indexOf(v),
          label: stage,
          color: stage === 'production' ? '#16a34a' : '#9333ea',
        })),
      });
    };
    picker.addEventListener('change', draw);
    draw();
  }
  if (doc.timeline.length) timelineBox.appendChild(stageTimeline(doc.timeline, Math.max(480, timelineBox.clientWidth)));
}

function versionsTable(doc: ArtifactDoc, onPick: (v: string, on: boolean) => void): HTMLTableElement {
  const keys = Object.keys(doc.chart.metrics).slice(0, 4);
  return h(
    'table',
    { class: 'list', id: 'versions' },
    h(
      'thead',
      null,
      h('tr', null, ...['', 'version', 'stages', 'created', 'by', 'size', ...keys].map((c) => h('th', null, c))),
    ),
    h(
      'tbody',
      null,
      ...doc.versions.map((v: VersionSummary) => {
        const box = h('input', { type: 'checkbox', 'aria-label': `select ${v.version}` });
        box.addEventListener('change', () => onPick(v.version, box.checked));
        return h(
          'tr',
          v.deprecated ? { class: 'deprecated' } : null,
          h('td', null, box),
          h(
            'td',
            null,
            link(hrefs.version(doc.name, v.version), v.version),
            v.deprecated ? [' ', badge('deprecated', 'warn')] : null,
            v.unsafe ? [' ', badge('unsafe', 'fail')] : null,
          ),
          h(
            'td',
            null,
            v.stages.map((s) => badge(s, s === 'production' ? 'prod' : 'stage')),
          ),
          h('td', null, fmtTime(v.createdAt)),
          h('td', null, v.createdBy),
          h('td', { class: 'num' }, fmtBytes(v.size)),
          ...keys.map((k) => h('td', { class: 'num' }, fmtNum(v.metrics[k]))),
        );
      }),
    ),
  );
}

function pager(doc: ArtifactDoc): HTMLElement | null {
  if (doc.total <= doc.limit) return null;
  const last = doc.offset + doc.versions.length;
  return h(
    'div',
    { class: 'pager' },
    doc.offset > 0 ? link(hrefs.artifact(doc.name, Math.max(0, doc.offset - doc.limit)), '← newer') : null,
    h('span', null, ` ${doc.offset + 1}–${last} of ${doc.total} `),
    last < doc.total ? link(hrefs.artifact(doc.name, last), 'older →') : null,
  );
}
