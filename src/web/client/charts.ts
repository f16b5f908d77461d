import uPlot from 'uplot';
import { fmtNum, fmtTime, h, s } from './dom.js';

/**
 * Charts. Lines over many points (a metric across 10,000 versions, live metrics over months) are
 * drawn by uPlot on a canvas; small pictures (histograms, the stage timeline, lineage) are SVG made
 * with DOM calls, so every label is text and never markup.
 */

export const COLORS = ['#2563eb', '#ea580c', '#16a34a', '#9333ea', '#dc2626', '#0891b2', '#ca8a04', '#db2777'];
export const REF_COLOR = '#2563eb';
export const CUR_COLOR = '#ea580c';

export interface VLine {
  x: number;
  label: string;
  color: string;
}
export interface HLine {
  y: number;
  label: string;
  color: string;
}

export interface LineChartOptions {
  /** Ascending x values: an index, or seconds since 1970 when `time`. */
  x: number[];
  series: { label: string; values: (number | null)[] }[];
  time?: boolean;
  /** Labels of an index axis (e.g. version numbers). */
  xLabels?: string[];
  vlines?: VLine[];
  hlines?: HLine[];
  height?: number;
}

export function lineChart(container: HTMLElement, o: LineChartOptions): uPlot {
  const width = Math.max(320, container.clientWidth || 800);
  const labelOf = (v: number) => o.xLabels?.[Math.round(v)] ?? fmtNum(v);
  const opts: uPlot.Options = {
    width,
    height: o.height ?? 260,
    scales: { x: { time: !!o.time } },
    series: [
      o.time ? {} : { label: 'version', value: (_u, v) => (v === null ? '–' : labelOf(v)) },
      ...o.series.map((sr, i) => ({
        label: sr.label,
        stroke: COLORS[i % COLORS.length]!,
        width: 1.5,
        spanGaps: true,
        points: { show: o.x.length <= 200 },
        value: (_u: uPlot, v: number | null) => fmtNum(v),
      })),
    ],
    axes: [
      o.time
        ? {}
        : {
            // An index axis: ticks on whole versions only.
            incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000],
            space: 90,
            values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? labelOf(v) : '')),
          },
      { values: (_u, splits) => splits.map((v) => fmtNum(v)), size: 60 },
    ],
    hooks: {
      draw: [
        (u) => {
          const ctx = u.ctx;
          const { left, top, width: w, height: ht } = u.bbox;
          ctx.save();
          ctx.font = `${11 * devicePixelRatio}px sans-serif`;
          for (const l of o.vlines ?? []) {
            const px = u.valToPos(l.x, 'x', true);
            if (px < left || px > left + w) continue;
            ctx.strokeStyle = l.color;
            ctx.fillStyle = l.color;
            ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
            ctx.beginPath();
            ctx.moveTo(px, top);
            ctx.lineTo(px, top + ht);
            ctx.stroke();
            ctx.fillText(l.label, px + 3, top + 12 * devicePixelRatio);
          }
          for (const l of o.hlines ?? []) {
            const py = u.valToPos(l.y, 'y', true);
            if (py < top || py > top + ht) continue;
            ctx.strokeStyle = l.color;
            ctx.fillStyle = l.color;
            ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
            ctx.beginPath();
            ctx.moveTo(left, py);
            ctx.lineTo(left + w, py);
            ctx.stroke();
            ctx.textAlign = 'right';
            ctx.fillText(l.label, left + w - 4, py - 4);
          }
          ctx.restore();
        },
      ],
    },
  };
  // Thresholds must be inside the y range to be seen.
  const ys = o.series.flatMap((sr) => sr.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  if (o.hlines?.length && ys.length) {
    const all = [...ys, ...o.hlines.map((l) => l.y)];
    const lo = Math.min(...all);
    const hi = Math.max(...all);
    const pad = (hi - lo || Math.abs(hi) || 1) * 0.08;
    opts.scales!.y = { range: [lo - pad, hi + pad] };
  }
  const data = [o.x, ...o.series.map((sr) => sr.values)] as uPlot.AlignedData;
  const wrap = h('div', { class: 'chart' });
  container.appendChild(wrap);
  return new uPlot(opts, data, wrap);
}

export interface Distribution {
  label: string;
  color: string;
  bins: { edges: number[]; counts: number[] };
}

/** Histograms of one numeric column, overlaid as densities so different row counts compare. */
export function histogram(sides: Distribution[], width = 420, height = 140): SVGSVGElement {
  const pad = { l: 8, r: 8, t: 8, b: 22 };
  const edges = sides.flatMap((d) => d.bins.edges).filter(Number.isFinite);
  let lo = Math.min(...edges);
  let hi = Math.max(...edges);
  if (!(hi > lo)) {
    lo -= 0.5;
    hi += 0.5;
  }
  const bars = sides.map((d) => {
    const total = d.bins.counts.reduce((a, b) => a + b, 0) || 1;
    return d.bins.counts.map((c, i) => {
      const a = d.bins.edges[i] ?? lo;
      const b = d.bins.edges[i + 1] ?? a;
      const span = b > a ? b - a : (hi - lo) / 40;
      return { a, b: b > a ? b : a + span, c, density: c / total / span };
    });
  });
  const top = Math.max(...bars.flat().map((b) => b.density), 1e-12);
  const X = (v: number) => pad.l + ((v - lo) / (hi - lo)) * (width - pad.l - pad.r);
  const Y = (d: number) => height - pad.b - (d / top) * (height - pad.t - pad.b);
  return s(
    'svg',
    { class: 'hist', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' },
    bars.map((side, k) =>
      side.map((b) =>
        s(
          'rect',
          {
            x: X(b.a),
            y: Y(b.density),
            width: Math.max(1, X(b.b) - X(b.a) - 0.5),
            height: Math.max(0, height - pad.b - Y(b.density)),
            fill: sides[k]!.color,
            'fill-opacity': sides.length > 1 ? 0.45 : 0.75,
          },
          s('title', null, `${sides[k]!.label}: ${fmtNum(b.a)} … ${fmtNum(b.b)}: ${fmtNum(b.c)}`),
        ),
      ),
    ),
    s('line', { x1: pad.l, x2: width - pad.r, y1: height - pad.b, y2: height - pad.b, stroke: '#94a3b8' }),
    s('text', { x: pad.l, y: height - 6, class: 'axis' }, fmtNum(lo)),
    s('text', { x: width - pad.r, y: height - 6, class: 'axis', 'text-anchor': 'end' }, fmtNum(hi)),
  );
}

export interface CategorySide {
  label: string;
  color: string;
  top: [string, number][];
  other: number;
}

/** Shares of the most frequent categories, side by side (reference and current). */
export function categoryBars(sides: CategorySide[], width = 420, max = 12): SVGSVGElement {
  const totals = sides.map((d) => d.top.reduce((a, [, n]) => a + n, 0) + d.other || 1);
  const names: string[] = [];
  for (const d of sides) for (const [name] of d.top) if (!names.includes(name)) names.push(name);
  const shown = names.slice(0, max);
  const share = (k: number, name: string) => (sides[k]!.top.find(([n]) => n === name)?.[1] ?? 0) / totals[k]!;
  const rowH = 6 + sides.length * 8;
  const labelW = 130;
  const height = shown.length * rowH + 8;
  const X = (v: number) => v * (width - labelW - 50);
  return s(
    'svg',
    { class: 'cats', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' },
    shown.map((name, i) => {
      const y = 4 + i * rowH;
      const text = name.length > 18 ? `${name.slice(0, 17)}…` : name;
      return s(
        'g',
        null,
        s(
          'text',
          { x: labelW - 6, y: y + rowH / 2 + 2, 'text-anchor': 'end', class: 'axis' },
          s('title', null, name),
          text,
        ),
        sides.map((d, k) =>
          s(
            'rect',
            { x: labelW, y: y + k * 8, width: Math.max(1, X(share(k, name))), height: 7, fill: d.color },
            s('title', null, `${d.label}: ${name}: ${(share(k, name) * 100).toFixed(1)}%`),
          ),
        ),
        s(
          'text',
          { x: labelW + X(Math.max(...sides.map((_d, k) => share(k, name)))) + 4, y: y + rowH / 2 + 2, class: 'axis' },
          sides.map((_d, k) => `${(share(k, name) * 100).toFixed(1)}%`).join(' / '),
        ),
      );
    }),
  );
}

export interface StageMove {
  kind: string;
  stage: string | null;
  from: string | null;
  to: string | null;
  actor: string;
  reason: string | null;
  at: string;
}

/** Every stage as a row over time: which version held it when, promotions as dots, rollbacks red. */
export function stageTimeline(moves: StageMove[], width: number): SVGSVGElement {
  const stages = [...new Set(moves.map((m) => m.stage).filter((x): x is string => !!x))].sort();
  const times = moves.map((m) => Date.parse(m.at));
  const t0 = Math.min(...times);
  // The current holders run on past the last move: a tenth of the span, so old moves are not squeezed.
  const t1 = Math.max(...times) + Math.max((Math.max(...times) - t0) * 0.1, 3_600_000);
  const labelW = 90;
  const rowH = 30;
  const height = stages.length * rowH + 24;
  const X = (t: number) => labelW + ((t - t0) / (t1 - t0 || 1)) * (width - labelW - 16);
  const rows = stages.map((stage, r) => {
    const y = 6 + r * rowH;
    const own = moves.filter((m) => m.stage === stage);
    const parts: SVGElement[] = [s('text', { x: 4, y: y + 16, class: 'axis' }, stage)];
    own.forEach((m, i) => {
      const start = Date.parse(m.at);
      const end = i + 1 < own.length ? Date.parse(own[i + 1]!.at) : t1;
      // Thousands of moves: a segment narrower than a pixel or two cannot be seen, only counted.
      if (m.to && (own.length <= 200 || X(end) - X(start) >= 2)) {
        const w = Math.max(2, X(end) - X(start));
        parts.push(
          s(
            'rect',
            { x: X(start), y, width: w, height: rowH - 10, class: `seg seg${i % 2}` },
            s('title', null, `${stage}: ${m.to} from ${fmtTime(m.at)}`),
          ),
        );
        if (w > 8 * m.to.length) parts.push(s('text', { x: X(start) + 4, y: y + 14, class: 'seglabel' }, m.to));
      }
    });
    for (const m of own) {
      if (own.length > 200 && m.kind !== 'rollback') continue;
      parts.push(
        s(
          'circle',
          {
            cx: X(Date.parse(m.at)),
            cy: y + (rowH - 10) / 2,
            r: 5,
            class: m.kind === 'rollback' ? 'mark rollback' : 'mark',
          },
          s(
            'title',
            null,
            `${m.kind} ${stage}: ${m.from ?? '(none)'} → ${m.to ?? '(deleted)'} by ${m.actor} at ${fmtTime(m.at)}${m.reason ? `: ${m.reason}` : ''}`,
          ),
        ),
      );
    }
    return s('g', null, parts);
  });
  return s(
    'svg',
    { class: 'timeline', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' },
    rows,
    s('text', { x: labelW, y: height - 4, class: 'axis' }, fmtTime(new Date(t0).toISOString())),
    s(
      'text',
      { x: width - 16, y: height - 4, class: 'axis', 'text-anchor': 'end' },
      fmtTime(new Date(t1).toISOString()),
    ),
  );
}

export interface GraphNode {
  label: string;
  href?: string;
}

/** Lineage: the datasets a model was trained on → the version → the models trained on it. */
export function lineageGraph(left: GraphNode[], center: GraphNode, right: GraphNode[], width = 640): SVGSVGElement {
  const rowH = 34;
  const n = Math.max(left.length, right.length, 1);
  const height = n * rowH + 10;
  const boxW = 180;
  const col = [10, width / 2 - boxW / 2, width - boxW - 10];
  const cy = height / 2;
  const yOf = (i: number, count: number) => height / 2 + (i - (count - 1) / 2) * rowH;
  const node = (x: number, y: number, g: GraphNode, cls: string) => {
    const text = g.label.length > 26 ? `${g.label.slice(0, 25)}…` : g.label;
    const body = [
      s('rect', { x, y: y - 12, width: boxW, height: 24, rx: 5, class: `node ${cls}` }),
      s(
        'text',
        { x: x + boxW / 2, y: y + 4, 'text-anchor': 'middle', class: 'nodelabel' },
        s('title', null, g.label),
        text,
      ),
    ];
    return g.href ? s('a', { href: g.href }, body) : s('g', null, body);
  };
  const edges = [
    ...left.map((_g, i) =>
      s('line', { x1: col[0]! + boxW, y1: yOf(i, left.length), x2: col[1]!, y2: cy, class: 'edge' }),
    ),
    ...right.map((_g, i) =>
      s('line', { x1: col[1]! + boxW, y1: cy, x2: col[2]!, y2: yOf(i, right.length), class: 'edge' }),
    ),
  ];
  return s(
    'svg',
    { class: 'lineage', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img' },
    edges,
    left.map((g, i) => node(col[0]!, yOf(i, left.length), g, 'dataset')),
    node(col[1]!, cy, center, 'self'),
    right.map((g, i) => node(col[2]!, yOf(i, right.length), g, 'model')),
  );
}
