import type { DataCheckReport as CheckReport } from '../core/datasets/check-profiles.js';
import type { LabelledProfile } from '../core/datasets/check.js';
import type { Profile } from '../core/datasets/profile/types.js';
import type { Registry } from '../core/registry/registry.js';
import type { ColumnSketch, CompareDoc, DriftDoc, ProfileSketch } from './wire.js';

/** Quantile levels a page shows (the profile keeps 101). */
const SHOWN_LEVELS = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
/** Categories drawn per column; the rest is summed into "other". */
const SHOWN_CATEGORIES = 20;

/**
 * Trim a stored profile to what its charts draw: bins, seven quantiles, the top categories. Exact
 * values and the full quantile list stay out, so a 100-column drift report stays well under 1 MB.
 */
export function sketchProfile(label: string, profile: Profile): ProfileSketch {
  return {
    label,
    rows: profile.table.rows,
    columns: profile.columns.map((c): ColumnSketch => {
      const out: ColumnSketch = {
        name: c.name,
        kind: c.kind,
        type: c.type,
        count: c.count,
        missing: c.missing,
        missingRate: c.missingRate,
        distinct: c.distinct,
      };
      if (c.numeric) {
        const q = c.numeric.quantiles;
        const p: number[] = [];
        const x: number[] = [];
        for (const level of SHOWN_LEVELS) {
          const i = q.p.findIndex((v) => Math.abs(v - level) < 1e-9);
          if (i >= 0 && q.x[i] !== undefined) {
            p.push(level);
            x.push(q.x[i]!);
          }
        }
        out.numeric = {
          mean: c.numeric.mean,
          std: c.numeric.std,
          min: c.numeric.min,
          max: c.numeric.max,
          bins: c.numeric.bins,
          quantiles: { p, x },
        };
      }
      if (c.categories) {
        const top = c.categories.top.slice(0, SHOWN_CATEGORIES);
        const rest = c.categories.top.slice(SHOWN_CATEGORIES).reduce((s, [, n]) => s + n, 0);
        out.categories = { top, other: c.categories.other + rest };
      }
      return out;
    }),
  };
}

export function driftDoc(report: CheckReport, reference: LabelledProfile, current: LabelledProfile): DriftDoc {
  return {
    report,
    reference: sketchProfile(reference.label, reference.profile),
    current: sketchProfile(current.label, current.profile),
  };
}

/**
 * `compare A B` as the app and the HTML report draw it: the comparison of `compare --json`, and
 * for datasets both sides' distributions behind the drift table.
 */
export async function compareDoc(reg: Registry, a: string, b: string): Promise<CompareDoc> {
  const { compareKind } = await import('../core/versions/compare-kind.js');
  if (compareKind(reg, a, b) === 'model') {
    const { compareModels } = await import('../core/evaluations/compare-models.js');
    return { kind: 'model', comparison: await compareModels(reg, a, b) };
  }
  const { compareDatasets } = await import('../core/datasets/compare.js');
  const { loadDatasetProfile } = await import('../core/datasets/check.js');
  const comparison = compareDatasets(reg, a, b);
  const drift =
    comparison.drift === null
      ? null
      : driftDoc(comparison.drift, loadDatasetProfile(reg, a), loadDatasetProfile(reg, b));
  return { kind: 'dataset', comparison, drift };
}
