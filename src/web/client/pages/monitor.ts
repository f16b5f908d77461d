import { get } from '../api.js';
import { lineChart } from '../charts.js';
import { badge, fmtNum, fmtTime, h, hrefs, link, replace, section, table } from '../dom.js';
import type { MonitorDoc } from '../../wire.js';

/** `monitor show NAME@STAGE`: each live metric over time, stage moves as markers, rule thresholds as lines. */
export async function monitorPage(app: HTMLElement, name: string): Promise<void> {
  const stage = new URLSearchParams(location.search).get('stage') || 'production';
  const doc = await get<MonitorDoc>(
    `/artifacts/${encodeURIComponent(name)}/monitor?stage=${encodeURIComponent(stage)}`,
  );
  const r = doc.report;
  document.title = `Monitoring ${r.name}@${r.stage} · mlreg`;
  const boxes = r.series.map((sr) => ({ sr, box: h('div', { class: 'chartbox monitor-chart' }) }));
  replace(
    app,
    h('p', { class: 'crumbs' }, link(hrefs.artifacts(), 'Artifacts'), ' / ', link(hrefs.artifact(r.name), r.name)),
    h('h1', null, `Monitoring ${r.name}@${r.stage}`),
    r.series.length
      ? null
      : h(
          'p',
          { class: 'muted' },
          `No observations of ${r.name}@${r.stage}. Record some with \`mlreg monitor record ${r.name} auc=0.9\`.`,
        ),
    ...boxes.map(({ sr, box }) =>
      section(
        `${sr.metric}${sr.slice === 'all' ? '' : ` [${sr.slice}]`}`,
        box,
        table(
          ['version', 'from', 'to', 'n', 'mean', 'last'],
          sr.segments.map((g) => [g.version, fmtTime(g.from), fmtTime(g.to), g.count, fmtNum(g.mean), fmtNum(g.last)]),
          'list',
        ),
      ),
    ),
    section(
      'Stage moves',
      r.changes.length
        ? table(
            ['when', 'what', 'from → to', 'by', 'reason'],
            r.changes.map((c) => [
              fmtTime(c.at),
              badge(c.kind, c.kind === 'rollback' ? 'fail' : ''),
              `${c.from ?? '(none)'} → ${c.to ?? '(deleted)'}`,
              c.actor,
              c.reason ?? '',
            ]),
            'list',
          )
        : h('p', { class: 'muted' }, 'No promotion or rollback in this period.'),
    ),
    section(
      'Rules',
      doc.rules.length
        ? table(
            ['rule', 'window', 'added'],
            doc.rules.map((x) => [x.rule, x.window, `${fmtTime(x.createdAt)} by ${x.createdBy}`]),
            'list',
          )
        : h('p', { class: 'muted' }, `No stored rule. Add one with \`mlreg monitor rule add ${r.name} "auc < 0.85"\`.`),
    ),
  );
  for (const { sr, box } of boxes) {
    const points = sr.segments.flatMap((g) => g.points).sort((a, b) => a.at.localeCompare(b.at));
    lineChart(box, {
      time: true,
      x: points.map((p) => Date.parse(p.at) / 1000),
      series: [{ label: sr.metric, values: points.map((p) => p.value) }],
      vlines: r.changes.map((c) => ({
        x: Date.parse(c.at) / 1000,
        label: `${c.kind} → ${c.to ?? '?'}`,
        color: c.kind === 'rollback' ? '#dc2626' : '#16a34a',
      })),
      hlines: doc.rules
        .filter((x) => x.threshold && x.threshold.metric === sr.metric && x.threshold.slice === sr.slice)
        .map((x) => ({ y: x.threshold!.value, label: x.rule, color: '#ca8a04' })),
    });
  }
}
