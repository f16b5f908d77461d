/**
 * The profile of a dataset version: per-column statistics computed once at `add` and stored in the
 * index as JSON (table dataset_profiles). `format` is bumped whenever the shape changes, so an old
 * registry's profiles can still be read (or recomputed) by a newer mlreg.
 */
export const PROFILE_FORMAT = 2;

/** Quantile levels kept for numeric columns: p0.1, p1 … p99, p99.9. */
export const QUANTILE_LEVELS: readonly number[] = [
  0.001,
  ...Array.from({ length: 99 }, (_, i) => (i + 1) / 100),
  0.999,
];
export const BIN_COUNT = 20;
export const TOP_VALUES = 100;
/** Tables with at most this many rows keep exact values (sorted numbers, all category counts) for exact tests. */
export const EXACT_ROWS = 1000;
/** Category counts are kept for columns with at most this many distinct values. */
export const MAX_COUNTED_DISTINCT = 1000;

export type DataFormat = 'csv' | 'tsv' | 'ndjson' | 'parquet';
export type ColumnKind = 'numeric' | 'categorical' | 'boolean' | 'datetime' | 'text' | 'empty';

export interface NumericProfile {
  /** Finite values counted in the moments below. */
  n: number;
  mean: number;
  /** Sum of squared deviations from the mean (Welford's M2): variance = m2 / n, so profiles merge exactly. */
  m2: number;
  /** Sample standard deviation (n − 1), like pandas. */
  std: number;
  min: number;
  max: number;
  sum: number;
  negatives: number;
  quantiles: { p: number[]; x: number[] };
  /** 20 equal-width bins between min and max: edges has 21 entries. Counts are exact, or scaled from the sample (see SketchSettings). */
  bins: { edges: number[]; counts: number[] };
}

export interface CategoryProfile {
  /** Most frequent values with their counts, most frequent first (ties by value). */
  top: [string, number][];
  /** Non-missing values not in `top`. */
  other: number;
  /** Every value seen, sorted, when there are at most 100 of them; else null. */
  allowed: string[] | null;
}

export interface ColumnProfile {
  name: string;
  /** Storage type: BIGINT, DOUBLE, VARCHAR, BOOLEAN, DATE, TIMESTAMP, … */
  type: string;
  kind: ColumnKind;
  /** Non-missing values. */
  count: number;
  /** Missing values: empty/NA/null, and NaN in numeric columns (like pandas). */
  missing: number;
  missingRate: number;
  nan: number;
  inf: number;
  /**
   * Distinct non-missing values: exact when the values were counted or all read (small tables), else
   * HyperLogLog's estimate (within about 2%), marked by `distinctApprox`.
   */
  distinct: number;
  distinctApprox?: true;
  numeric?: NumericProfile;
  categories?: CategoryProfile;
  datetime?: { min: string; max: string };
  text?: { minLength: number; maxLength: number };
  /** Small tables only: what exact tests need. */
  exact?: { values?: number[]; counts?: [string, number][] };
}

/**
 * How the approximate parts were computed. Format 2: one pass on every core, and nothing depends on the
 * order rows are merged in. Quantiles and bins of a numeric column come from its sorted values: every
 * value when its values are counted exactly (few distinct values) or the table has at most 131,072 rows
 * (`sampleRate` 1), else a 1-in-`sampleRate` sample of the rows chosen by a hash of each row's values,
 * the same rows every time. Format 1 profiles said `approx_quantile` (DuckDB's t-digest on
 * one thread) and carried `threads`.
 */
export interface SketchSettings {
  quantiles: 'exact' | 'sample' | 'approx_quantile';
  sampleRate?: number;
  distinct: 'approx_count_distinct';
  threads?: number;
  topValues: number;
  bins: number;
  exactRows: number;
}

export interface Profile {
  /** PROFILE_FORMAT when written; older profiles (1) read the same way. */
  format: number;
  table: {
    rows: number;
    bytes: number;
    format: DataFormat;
    files: number;
    engine: string;
    sketch: SketchSettings;
  };
  columns: ColumnProfile[];
}
