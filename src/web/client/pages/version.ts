import { get } from '../api.js';
import { categoryBars, histogram, lineageGraph, REF_COLOR } from '../charts.js';
import {
  badge,
  fmtBytes,
  fmtNum,
  fmtPct,
  fmtTime,
  h,
  hrefs,
  keyValues,
  link,
  replace,
  section,
  table,
} from '../dom.js';
import type { ArtifactDoc, ColumnProfile, Profile, StatusDoc, VersionDetails } from '../../wire.js';

const FILES_SHOWN = 200;
const LEVELS = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];

/** One version: what `show REF --json` says, drawn. */
export async function versionPage(app: HTMLElement, name: string, version: string): Promise<void> {
  const [d, art, status] = await Promise.all([
    get<VersionDetails>(`/artifacts/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`),
    get<ArtifactDoc>(`/artifacts/${encodeURIComponent(name)}?limit=1`),
    get<StatusDoc>(`/artifacts/${encodeURIComponent(name)}/status`),
  ]);
  const v = d.version;
  const ref = `${v.name}@${v.version}`;
  document.title = `${ref} · mlreg`;
  const order = art.chart.versions;
  const previous = order[order.indexOf(v.version) - 1];
  const production = art.stages.production;
  const compareWith: [string, string][] = [];
  if (production && production !== v.version) compareWith.push([`production (${production})`, production]);
  if (previous && previous !== production) compareWith.push([`the previous version (${previous})`, previous]);
  const lineageBox = h('div', { class: 'chartbox', id: 'lineage' });
  replace(
    app,
    h('p', { class: 'crumbs' }, link(hrefs.artifacts(), 'Artifacts'), ' / ', link(hrefs.artifact(v.name), v.name)),
    h(
      'h1',
      null,
      ref,
      ' ',
      badge(v.kind, v.kind),
      ' ',
      d.stages.map((s) => badge(s, s === 'production' ? 'prod' : 'stage')),
      v.deprecated ? [' ', badge('deprecated', 'warn')] : null,
    ),
    v.description ? h('p', { class: 'description', id: 'description' }, v.description) : null,
    v.deprecated
      ? h(
          'p',
          { class: 'warnline' },
          `Deprecated ${fmtTime(v.deprecated.at)} by ${v.deprecated.by}${v.deprecated.reason ? `: ${v.deprecated.reason}` : ''}`,
        )
      : null,
    h(
      'dl',
      { class: 'facts' },
      h('dt', null, 'digest'),
      h('dd', { class: 'mono' }, `sha256:${v.digest}`),
      h('dt', null, 'created'),
      h('dd', null, `${fmtTime(v.createdAt)} by ${v.createdBy}`),
      h('dt', null, 'content'),
      h('dd', null, `${v.fileCount} file${v.fileCount === 1 ? '' : 's'}, ${fmtBytes(v.size)}`),
      h('dt', null, 'deployed as'),
      h('dd', null, d.stages.length ? d.stages.join(', ') : 'no stage points here'),
    ),
    compareWith.length
      ? h(
          'nav',
          { class: 'sub' },
          'Compare with ',
          compareWith.map(([label, other], i) => [
            i ? ' · ' : '',
            link(hrefs.compare(`${v.name}@${other}`, ref), label),
          ]),
          v.kind === 'dataset' && production && production !== v.version
            ? [' · ', link(hrefs.check(ref, `${v.name}@${production}`), 'check against production')]
            : null,
        )
      : null,
    whereDeployed(status, v.version),
    Object.keys(d.metrics).length ? section('Metrics', keyValues(d.metrics)) : null,
    Object.keys(d.params).length ? section('Params', keyValues(d.params)) : null,
    Object.keys(d.tags).length ? section('Tags', h('div', { id: 'tags' }, keyValues(d.tags))) : null,
    d.lineage.trainedOn.length || d.lineage.usedBy.length ? section('Lineage', lineageBox) : null,
    d.evaluations.length
      ? section(
          'Evaluations',
          table(
            ['dataset', 'slice', 'metric', 'value', 'recorded', 'by'],
            d.evaluations.map((e) => [
              e.dataset
                ? link(hrefs.version(e.dataset.name, e.dataset.version), `${e.dataset.name}@${e.dataset.version}`)
                : '–',
              e.slice,
              e.metric,
              h('span', { class: 'num' }, fmtNum(e.value)),
              `${fmtTime(e.recordedAt)} (${e.source})`,
              e.actor,
            ]),
            'list',
          ),
        )
      : null,
    section(
      `Files (${d.manifest.files.length})`,
      table(
        ['path', 'size', 'mode', 'sha256'],
        d.manifest.files
          .slice(0, FILES_SHOWN)
          .map((f) => [
            f.path,
            fmtBytes(f.size),
            f.mode.toString(8),
            h('span', { class: 'mono' }, f.sha256.slice(0, 12)),
          ]),
        'list',
      ),
      d.manifest.files.length > FILES_SHOWN
        ? h(
            'p',
            { class: 'muted' },
            `… and ${d.manifest.files.length - FILES_SHOWN} more (mlreg show ${ref} --json lists all)`,
          )
        : null,
    ),
    d.profile ? profileSection(d.profile) : null,
    v.kind === 'dataset' && d.profile === null
      ? section('Profile', h('p', { class: 'muted' }, 'This version was added with --no-profile.'))
      : null,
  );
  if (d.lineage.trainedOn.length || d.lineage.usedBy.length) {
    const node = (t: { name: string; version: string }) => ({
      label: `${t.name}@${t.version}`,
      href: hrefs.version(t.name, t.version),
    });
    lineageBox.appendChild(
      lineageGraph(
        d.lineage.trainedOn.map(node),
        { label: ref },
        d.lineage.usedBy.map(node),
        Math.max(480, Math.min(900, lineageBox.clientWidth)),
      ),
    );
  }
}

function profileSection(p: Profile): HTMLElement {
  return section(
    `Profile: ${p.table.rows.toLocaleString('en-US')} rows, ${p.columns.length} columns (${p.table.format})`,
    h('div', { class: 'cards', id: 'profile' }, ...p.columns.map(columnCard)),
  );
}

function columnCard(c: ColumnProfile): HTMLElement {
  const facts: [string, string][] = [
    ['type', `${c.type} (${c.kind})`],
    ['missing', `${fmtNum(c.missing)} (${fmtPct(c.missingRate)})`],
    ['distinct', `≈ ${fmtNum(c.distinct)}`],
  ];
  const parts: (HTMLElement | SVGElement)[] = [];
  if (c.numeric) {
    const n = c.numeric;
    facts.push(
      ['mean ± std', `${fmtNum(n.mean)} ± ${fmtNum(n.std)}`],
      ['min … max', `${fmtNum(n.min)} … ${fmtNum(n.max)}`],
    );
    parts.push(histogram([{ label: c.name, color: REF_COLOR, bins: n.bins }], 360, 110));
    const cells = LEVELS.map((lv) => {
      const i = n.quantiles.p.findIndex((p) => Math.abs(p - lv) < 1e-9);
      return [`p${Math.round(lv * 100)}`, fmtNum(i >= 0 ? n.quantiles.x[i] : null)] as const;
    });
    parts.push(
      table(
        cells.map(([k]) => k),
        [cells.map(([, x]) => x)],
        'quantiles',
      ),
    );
  }
  if (c.categories?.top.length) {
    parts.push(
      categoryBars([{ label: c.name, color: REF_COLOR, top: c.categories.top, other: c.categories.other }], 360, 8),
    );
  }
  if (c.datetime) facts.push(['range', `${c.datetime.min} … ${c.datetime.max}`]);
  if (c.text) facts.push(['length', `${c.text.minLength} … ${c.text.maxLength}`]);
  return h(
    'div',
    { class: 'card' },
    h('h3', null, c.name),
    h('dl', { class: 'facts small' }, ...facts.flatMap(([k, x]) => [h('dt', null, k), h('dd', null, x)])),
    ...parts,
  );
}

/** The followers (mlreg follow) serving this version, from their reports; nothing when the artifact has none. */
function whereDeployed(status: StatusDoc, version: string): HTMLElement | null {
  const all = status.stages.flatMap((s) => s.followers.map((f) => ({ ...f, stage: s.stage })));
  if (all.length === 0) return null;
  const here = all.filter((f) => f.version === version);
  return section(
    'Where deployed',
    here.length
      ? table(
          ['follower', 'host', 'stage', 'switched', 'last report', 'reload hook'],
          here.map((f) => [
            f.follower,
            f.host,
            f.stage,
            fmtTime(f.switchedAt),
            f.stale ? [fmtTime(f.reportedAt), ' ', badge('stale', 'warn')] : fmtTime(f.reportedAt),
            f.hook ? f.hook.result : '–',
          ]),
          'list',
        )
      : h('p', { class: 'muted', id: 'not-deployed' }, 'No follower serves this version.'),
  );
}
