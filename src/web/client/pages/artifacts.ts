import { get } from '../api.js';
import { badge, fmtTime, h, hrefs, link, replace } from '../dom.js';
import type { ArtifactsDoc, ArtifactSummary } from '../../wire.js';

/** Every artifact, filtered as you type (name, kind, stage, version). */
export async function artifactsPage(app: HTMLElement): Promise<void> {
  const { artifacts } = await get<ArtifactsDoc>('/artifacts');
  document.title = 'Artifacts · mlreg';
  if (artifacts.length === 0) {
    replace(
      app,
      h('h1', null, 'Artifacts'),
      h('p', { class: 'muted' }, 'The registry is empty. Add a version with `mlreg add model NAME PATH`.'),
    );
    return;
  }
  const body = h('tbody');
  const count = h('span', { class: 'muted' });
  const filter = h('input', {
    type: 'search',
    id: 'filter',
    placeholder: 'Filter by name, kind, stage or version…',
    autofocus: true,
    'aria-label': 'filter artifacts',
  });
  const draw = () => {
    const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const shown = artifacts.filter((a) => words.every((w) => haystack(a).includes(w)));
    replace(body, ...shown.map(row));
    count.textContent = `${shown.length} of ${artifacts.length}`;
  };
  filter.addEventListener('input', draw);
  replace(
    app,
    h('h1', null, 'Artifacts'),
    h('div', { class: 'toolbar' }, filter, count),
    h(
      'table',
      { class: 'list', id: 'artifacts' },
      h(
        'thead',
        null,
        h('tr', null, ...['name', 'kind', 'versions', 'latest', 'stages', 'updated'].map((c) => h('th', null, c))),
      ),
      body,
    ),
  );
  draw();
}

function haystack(a: ArtifactSummary): string {
  return [a.name, a.kind, a.latest ?? '', ...Object.entries(a.stages).flat()].join(' ').toLowerCase();
}

function row(a: ArtifactSummary): HTMLTableRowElement {
  return h(
    'tr',
    null,
    h('td', null, link(hrefs.artifact(a.name), a.name)),
    h('td', null, badge(a.kind, a.kind)),
    h('td', { class: 'num' }, a.versions),
    h('td', null, a.latest ? link(hrefs.version(a.name, a.latest), a.latest) : '–'),
    h(
      'td',
      null,
      Object.entries(a.stages).map(([stage, v]) => badge(`${stage} ${v}`, stage === 'production' ? 'prod' : 'stage')),
    ),
    h('td', null, fmtTime(a.updatedAt)),
  );
}
