import { get } from '../api.js';
import { badge, fmtTime, h, hrefs, link, replace } from '../dom.js';
import type { HistoryDoc, HistoryEntry } from '../../wire.js';

/** The audit log of one artifact (`history NAME --all`), filtered by stage, kind and actor. */
export async function historyPage(app: HTMLElement, name: string): Promise<void> {
  const doc = await get<HistoryDoc>(`/artifacts/${encodeURIComponent(name)}/history`);
  document.title = `History of ${doc.name} · mlreg`;
  const q = new URLSearchParams(location.search);
  const select = (id: string, label: string, values: string[]) => {
    const el = h(
      'select',
      { id, 'aria-label': label },
      h('option', { value: '' }, `any ${label}`),
      ...values.map((v) => h('option', { value: v }, v)),
    );
    el.value = values.includes(q.get(id) ?? '') ? q.get(id)! : '';
    return el;
  };
  const uniq = (f: (e: HistoryEntry) => string | null) =>
    [...new Set(doc.events.map(f).filter((x): x is string => !!x))].sort();
  const stage = select(
    'stage',
    'stage',
    uniq((e) => e.stage),
  );
  const kind = select(
    'kind',
    'kind',
    uniq((e) => e.kind),
  );
  const actor = select(
    'actor',
    'actor',
    uniq((e) => e.actor),
  );
  const body = h('tbody');
  const count = h('span', { class: 'muted' });
  const draw = () => {
    const shown = doc.events.filter(
      (e) =>
        (!stage.value || e.stage === stage.value) &&
        (!kind.value || e.kind === kind.value) &&
        (!actor.value || e.actor === actor.value),
    );
    count.textContent = `${shown.length} of ${doc.events.length} events`;
    replace(
      body,
      ...shown.map((e) =>
        h(
          'tr',
          null,
          h('td', { class: 'num' }, e.id),
          h('td', null, badge(e.kind, e.kind === 'rollback' ? 'fail' : e.kind === 'promote' ? 'pass' : '')),
          h('td', null, e.stage ?? ''),
          h(
            'td',
            null,
            // Only promotions and rollbacks move a stage; other events (observations, rules…) name a version at most.
            e.kind === 'promote' || e.kind === 'rollback'
              ? `${e.from ?? '(none)'} → ${e.to ?? '(deleted)'}`
              : e.to
                ? link(hrefs.version(doc.name, e.to), e.to)
                : '',
          ),
          h('td', null, e.actor),
          h('td', null, fmtTime(e.at)),
          h('td', { class: 'reason' }, e.reason ?? ''),
        ),
      ),
    );
    const params = new URLSearchParams();
    for (const el of [stage, kind, actor]) if (el.value) params.set(el.id, el.value);
    history.replaceState(null, '', `${location.pathname}${params.size ? `?${params}` : ''}`);
  };
  for (const el of [stage, kind, actor]) el.addEventListener('change', draw);
  replace(
    app,
    h('p', { class: 'crumbs' }, link(hrefs.artifacts(), 'Artifacts'), ' / ', link(hrefs.artifact(doc.name), doc.name)),
    h('h1', null, `History of ${doc.name}`),
    h('div', { class: 'toolbar' }, stage, kind, actor, count),
    h(
      'table',
      { class: 'list', id: 'history' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ...['#', 'what', 'stage', 'version (from → to)', 'by', 'when', 'reason'].map((c) => h('th', null, c)),
        ),
      ),
      body,
    ),
  );
  draw();
}
