import type { ColumnProfile, Profile } from '../../core/datasets/profile/types.js';
import type { Ui } from '../terminal/style.js';
import { formatNumber } from '../terminal/style.js';

/** `show DATASET`: one line per column of the profile (the whole profile is in --json). */
export function renderProfileSummary(p: Profile | null, ui: Ui): string[] {
  if (!p) return [ui.c.bold('Profile'), ui.c.dim('(none: added with --no-profile)')];
  const t = p.table;
  const head = `${ui.c.bold('Profile')}  ${t.rows} rows × ${p.columns.length} columns, ${t.format}${t.files > 1 ? ` in ${t.files} files` : ''}, ${t.engine}`;
  const n = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '' : formatNumber(v));
  const rows = p.columns.map((c) => [
    c.name,
    c.type,
    c.kind,
    c.missing ? `${c.missing} (${(c.missingRate * 100).toFixed(1)}%)` : '0',
    c.distinctApprox ? `≈${c.distinct}` : String(c.distinct),
    n(c.numeric?.mean),
    n(c.numeric?.std),
    c.numeric ? n(c.numeric.min) : (c.datetime?.min ?? ''),
    c.numeric ? n(c.numeric.max) : (c.datetime?.max ?? ''),
    topValues(c),
  ]);
  return [
    head,
    ui.table(['COLUMN', 'TYPE', 'KIND', 'MISSING', 'DISTINCT', 'MEAN', 'STD', 'MIN', 'MAX', 'TOP VALUES'], rows),
  ];
}

function topValues(c: ColumnProfile): string {
  if (!c.categories || c.kind === 'numeric') return '';
  const shown = c.categories.top.slice(0, 3).map(([v, k]) => `${v} (${k})`);
  const more = c.categories.top.length - shown.length + (c.categories.other > 0 ? 1 : 0);
  return shown.join(', ') + (more > 0 ? ', …' : '');
}
