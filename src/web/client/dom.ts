/**
 * The only way pages make elements: createElement + textContent, never innerHTML, so a description,
 * a reason, a tag or a column name is always shown as text and can never become markup.
 */

export type Child = Node | string | number | null | undefined | false | Child[];
type Attr = string | number | boolean | null | undefined | ((ev: Event) => void);

function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else if (typeof c === 'string' || typeof c === 'number') parent.appendChild(document.createTextNode(String(c)));
    else parent.appendChild(c);
  }
}

function setAttrs(el: Element, attrs: Record<string, Attr> | null | undefined): void {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Record<string, Attr> | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs?: Record<string, Attr> | null,
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** Static reports open from a file: there is no server to link to, so links become plain text. */
let linksOn = true;
export function disableLinks(): void {
  linksOn = false;
}

export function link(href: string, ...children: Child[]): HTMLElement {
  return linksOn ? h('a', { href }, ...children) : h('span', null, ...children);
}

export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

export const enc = encodeURIComponent;
export const hrefs = {
  artifacts: () => '/',
  artifact: (name: string, offset = 0) => `/artifacts/${enc(name)}${offset ? `?offset=${offset}` : ''}`,
  version: (name: string, version: string) => `/artifacts/${enc(name)}/versions/${enc(version)}`,
  history: (name: string) => `/artifacts/${enc(name)}/history`,
  monitor: (name: string, stage?: string) => `/artifacts/${enc(name)}/monitor${stage ? `?stage=${enc(stage)}` : ''}`,
  compare: (a: string, b: string) => `/compare?a=${enc(a)}&b=${enc(b)}`,
  check: (current: string, against: string) => `/check?current=${enc(current)}&against=${enc(against)}`,
};

export function fmtNum(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

export function fmtDelta(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  return (v > 0 ? '+' : '') + fmtNum(v);
}

export function fmtPct(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return `${(v * 100).toFixed(v !== 0 && Math.abs(v) < 0.01 ? 2 : 1)}%`;
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  return iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, 'Z');
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function badge(text: string, kind = ''): HTMLElement {
  return h('span', { class: `badge ${kind}`.trim() }, text);
}

export function section(title: string, ...children: Child[]): HTMLElement {
  return h('section', null, h('h2', null, title), ...children);
}

/** A plain table: header row, then one row per item. */
export function table(head: string[], rows: Child[][], cls = ''): HTMLTableElement {
  return h(
    'table',
    cls ? { class: cls } : null,
    h('thead', null, h('tr', null, ...head.map((c) => h('th', null, c)))),
    h('tbody', null, ...rows.map((r) => h('tr', null, ...r.map((c) => h('td', null, c))))),
  );
}

export function keyValues(rec: Record<string, string | number>): HTMLElement {
  const entries = Object.entries(rec);
  if (!entries.length) return h('p', { class: 'muted' }, 'none');
  return table(
    ['name', 'value'],
    entries.map(([k, v]) => [k, typeof v === 'number' ? fmtNum(v) : v]),
    'kv',
  );
}
