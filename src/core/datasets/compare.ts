import type { Registry } from '../registry/registry.js';
import { checkPair, loadDatasetProfile, type LabelledProfile } from './check.js';
import type { DataCheckReport } from './check-profiles.js';
import type { ColumnProfile } from './profile/types.js';
import { resolveThresholds, type CheckThresholds } from './thresholds.js';

/**
 * `mlreg compare DS@a DS@b`: what changed between two dataset versions — schema, row counts,
 * per-column profile figures side by side, and the drift table of `check` (b against a).
 */
export interface ColumnChange {
  column: string;
  /** "both", or the one side that has it. */
  presence: 'both' | 'only a' | 'only b';
  type: [string | null, string | null];
  kind: [string | null, string | null];
  missingRate: [number | null, number | null];
  distinct: [number | null, number | null];
  mean: [number | null, number | null];
  std: [number | null, number | null];
  min: [number | null, number | null];
  max: [number | null, number | null];
}

export interface DatasetComparison {
  kind: 'dataset';
  a: { label: string; rows: number; columns: number; bytes: number; files: number; format: string };
  b: { label: string; rows: number; columns: number; bytes: number; files: number; format: string };
  rows: { a: number; b: number; delta: number; change: number | null };
  schema: {
    added: { name: string; type: string }[];
    removed: { name: string; type: string }[];
    changed: { name: string; from: string; to: string }[];
    unchanged: number;
  };
  columns: ColumnChange[];
  /** b checked against a; null when a has fewer than 2 rows (nothing to test against). */
  drift: DataCheckReport | null;
}

export function compareDatasets(
  reg: Registry,
  refA: string,
  refB: string,
  thresholds: Partial<CheckThresholds> = {},
): DatasetComparison {
  const a = loadDatasetProfile(reg, refA);
  const b = loadDatasetProfile(reg, refB);
  return compareProfiles(
    a,
    b,
    resolveThresholds((k) => reg.getConfig(k), thresholds),
  );
}

export function compareProfiles(
  a: LabelledProfile,
  b: LabelledProfile,
  thresholds: CheckThresholds,
): DatasetComparison {
  const pa = a.profile;
  const pb = b.profile;
  const colsA = new Map(pa.columns.map((c) => [c.name, c]));
  const colsB = new Map(pb.columns.map((c) => [c.name, c]));
  const names = [...pa.columns.map((c) => c.name), ...pb.columns.map((c) => c.name).filter((n) => !colsA.has(n))];
  const changed: DatasetComparison['schema']['changed'] = [];
  let unchanged = 0;
  for (const [name, ca] of colsA) {
    const cb = colsB.get(name);
    if (!cb) continue;
    if (ca.type !== cb.type || ca.kind !== cb.kind)
      changed.push({ name, from: `${ca.type} (${ca.kind})`, to: `${cb.type} (${cb.kind})` });
    else unchanged++;
  }
  const side = (p: LabelledProfile): DatasetComparison['a'] => ({
    label: p.label,
    rows: p.profile.table.rows,
    columns: p.profile.columns.length,
    bytes: p.profile.table.bytes,
    files: p.profile.table.files,
    format: p.profile.table.format,
  });
  return {
    kind: 'dataset',
    a: side(a),
    b: side(b),
    rows: {
      a: pa.table.rows,
      b: pb.table.rows,
      delta: pb.table.rows - pa.table.rows,
      change: pa.table.rows ? (pb.table.rows - pa.table.rows) / pa.table.rows : null,
    },
    schema: {
      added: pb.columns.filter((c) => !colsA.has(c.name)).map((c) => ({ name: c.name, type: c.type })),
      removed: pa.columns.filter((c) => !colsB.has(c.name)).map((c) => ({ name: c.name, type: c.type })),
      changed,
      unchanged,
    },
    columns: names.map((n) => columnChange(n, colsA.get(n), colsB.get(n))),
    // A 1-row side has no distribution to test; the rest of the comparison still stands.
    drift: pa.table.rows < 2 ? null : checkPair(a, b, thresholds),
  };
}

function columnChange(name: string, a: ColumnProfile | undefined, b: ColumnProfile | undefined): ColumnChange {
  const pair = <T>(f: (c: ColumnProfile) => T | undefined): [T | null, T | null] => [
    a ? (f(a) ?? null) : null,
    b ? (f(b) ?? null) : null,
  ];
  return {
    column: name,
    presence: a && b ? 'both' : a ? 'only a' : 'only b',
    type: pair((c) => c.type),
    kind: pair((c) => c.kind),
    missingRate: pair((c) => c.missingRate),
    distinct: pair((c) => c.distinct),
    mean: pair((c) => c.numeric?.mean),
    std: pair((c) => c.numeric?.std),
    min: pair((c) => c.numeric?.min),
    max: pair((c) => c.numeric?.max),
  };
}
