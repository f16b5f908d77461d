import { UsageError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import { optionRef } from '../lib/option-ref.js';

/** Stage names everyone uses, so a typo of one is caught even in a registry that has none yet. */
const WELL_KNOWN = ['production', 'staging', 'canary'];

/**
 * A stage that no artifact has yet and that is within two edits of one that exists (or of a well-known
 * name) is most likely a typo: `--to prodution` would otherwise quietly create a new stage, and
 * production would keep serving the old version. `allowNew` (--new-stage) creates it anyway.
 */
export function refuseLikelyTypo(reg: Registry, stage: string, allowNew: boolean): void {
  if (allowNew || WELL_KNOWN.includes(stage)) return;
  const known = reg.db
    .prepare('SELECT DISTINCT stage FROM stages UNION SELECT DISTINCT stage FROM events WHERE stage IS NOT NULL')
    .pluck()
    .all() as string[];
  if (known.includes(stage)) return;
  const near = [...new Set([...known, ...WELL_KNOWN])]
    .map((name) => ({ name, distance: editDistance(stage, name) }))
    .filter((c) => c.distance <= 2)
    .sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name));
  if (near.length === 0) return;
  throw new UsageError(`no stage is called ${stage} yet; did you mean ${near[0]!.name}?`, {
    code: 'E_STAGE_TYPO',
    hint: `Promote to ${near[0]!.name}, or pass ${optionRef('new-stage')} to create a stage named ${stage}.`,
    details: { stage, suggestions: near.map((c) => c.name) },
  });
}

/** Levenshtein distance (insertions, deletions, substitutions), two rows at a time. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
