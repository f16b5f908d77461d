import { ldexp, scaleExponent } from './math.js';
import { MAX_COUNTED_DISTINCT } from './types.js';

/**
 * Planning the profile's one pass (pure: no DuckDB, no I/O). From the column types and a small sample,
 * each column gets a strategy, and the pass is one SQL aggregate whose every part is independent of the
 * order DuckDB's threads merge rows in (counts, min/max, HyperLogLog registers, value histograms, 64-bit
 * integer sums, a hash-chosen sample sorted afterwards), so it runs on every core and the same file
 * always gives the same profile.
 */

export type BaseType = 'numeric' | 'integer' | 'boolean' | 'datetime' | 'string';

export interface ColumnPlan {
  name: string;
  type: string;
  base: BaseType;
  /** SQL giving the typed value (DOUBLE for numbers, VARCHAR for strings) from the reader. */
  expr: string;
}

/**
 * - `counted`: every distinct value with its count (DuckDB's histogram): exact statistics, for columns
 *   the sample shows with few distinct values (categories, small integers);
 * - `measured`: numbers with many distinct values: count, min/max, exact integer sums for the moments,
 *   HyperLogLog, and the sorted values of a row sample for quantiles and bins;
 * - `text`: strings with many distinct values: HyperLogLog and lengths;
 * - `flags`: booleans (two counts); `dates`: min/max and HyperLogLog.
 */
export type Strategy = 'counted' | 'measured' | 'text' | 'flags' | 'dates';

/** Exponents of the power-of-two scales of the integer sums (see momentsOfSums). */
export interface Scales {
  /** Σ x·2^a, each term cast to a 64-bit integer (DuckDB rounds to nearest): the sum, and so the mean. */
  a: number;
  /** Σ ((x − shift)·2^b)² likewise: M2, about a shift near the mean so the subtraction loses nothing. */
  shift: number;
  b: number;
}

export interface ColumnDesign {
  plan: ColumnPlan;
  strategy: Strategy;
  scales?: Scales;
  /** Numbers whose sample held no negative value are not counted for negatives (a follow-up does if min < 0). */
  negatives?: boolean;
  /**
   * A CSV column typed as text only because the type sniffer saw no value in it: the pass also counts
   * how many of its values read as numbers, and when all do it becomes numeric.
   */
  maybeNumeric?: boolean;
}

export interface PassDesign {
  columns: ColumnDesign[];
  /** 1 in how many rows the numeric sample holds (a power of two; 1 = every row). */
  sampleRate: number;
}

/** What the planning sample says of one column. */
export interface SampleColumn {
  nonMissing: number;
  distinct: number;
  /** Numbers: finite min, max and median (null when the sample holds none). */
  min: number | null;
  max: number | null;
  median: number | null;
  /** Text columns typed so for want of values: how many of the sample's values read as numbers. */
  numeric?: number;
}

/** The numeric sample is sized to about this many rows (2^17); up to this many rows it is every row. */
export const SAMPLE_ROWS = 131_072;
/** Integer sums use terms of at most this many bits when the sample's scale holds: 10 bits of headroom for values beyond it. */
const TERM_BITS = 52;
/** A term of fewer bits than this for the largest value means the sample's scale was far off: the sums are taken again. */
const MIN_TERM_BITS = 40;

const isNumber = (p: ColumnPlan): boolean => p.base === 'numeric' || p.base === 'integer';

/** Few distinct values for their count (the categorical rule of the profile, applied to the sample). */
function looksCounted(s: SampleColumn): boolean {
  return (
    s.nonMissing > 0 && s.distinct <= MAX_COUNTED_DISTINCT && (s.distinct <= 20 || s.distinct <= 0.5 * s.nonMissing)
  );
}

export function designPass(
  plans: readonly ColumnPlan[],
  sample: SampleColumn[],
  estimatedRows: number,
  maybeNumeric: ReadonlySet<number> = new Set(),
): PassDesign {
  const small = estimatedRows <= SAMPLE_ROWS;
  const columns = plans.map((plan, i): ColumnDesign => {
    const s = sample[i]!;
    switch (plan.base) {
      case 'boolean':
        return { plan, strategy: 'flags' };
      case 'datetime':
        return { plan, strategy: 'dates' };
      case 'string':
        // A small table's strings are all counted (its text columns keep exact counts too, and memory is no question).
        return {
          plan,
          strategy: small || looksCounted(s) ? 'counted' : 'text',
          ...(maybeNumeric.has(i) ? { maybeNumeric: true } : {}),
        };
      default:
        return looksCounted(s)
          ? { plan, strategy: 'counted' }
          : { plan, strategy: 'measured', scales: sampleScales(s), negatives: s.min === null || s.min < 0 };
    }
  });
  const rate = small ? 1 : 2 ** Math.ceil(Math.log2(estimatedRows / SAMPLE_ROWS));
  return { columns, sampleRate: Math.min(rate, 2 ** 20) };
}

/** Scales from the sample; the shift is its median (exact, so the same whatever order rows were read in). */
function sampleScales(s: SampleColumn): Scales {
  if (s.min === null || s.max === null || s.median === null) return { a: 0, shift: 0, b: 0 };
  const shift = s.median;
  const dev = Math.max(Math.abs(s.max - shift), Math.abs(s.min - shift));
  return {
    a: scaleExponent(Math.max(Math.abs(s.min), Math.abs(s.max)), TERM_BITS),
    shift,
    b: scaleExponent(dev, TERM_BITS / 2),
  };
}

/** Scales from the true min and max, for when the sample's were off: the largest terms then have 61 and 60 bits. */
export function exactScales(min: number, max: number): Scales {
  // Halves first: max − min overflows for values beyond ±DBL_MAX/2.
  const shift = min / 2 + max / 2;
  const dev = Math.max(max - shift, shift - min);
  return { a: scaleExponent(Math.max(Math.abs(min), Math.abs(max)), 61), shift, b: scaleExponent(dev, 30) };
}

/**
 * Whether sums taken with `sc` could not hold, given the true range: a term past 2^62 may have overflowed
 * 64 bits (TRY_CAST made it NULL), and a largest term under 2^MIN_TERM_BITS lost precision. Then they are
 * taken again with exactScales.
 */
export function scalesFailed(sc: Scales, min: number, max: number): boolean {
  const big = Math.max(Math.abs(min), Math.abs(max));
  const dev = Math.max(Math.abs(max - sc.shift), Math.abs(min - sc.shift));
  const t = ldexp(big, sc.a);
  const u = ldexp(dev, sc.b) ** 2;
  return t >= 2 ** 62 || u >= 2 ** 62 || (big > 0 && t < 2 ** MIN_TERM_BITS) || (dev > 0 && u < 2 ** MIN_TERM_BITS);
}

const lit = (x: number): string => `CAST('${String(x)}' AS DOUBLE)`;

/** Column i's value when it is a finite number, else NULL: moments, min/max, quantiles and bins are over finite values. */
const finiteSql = (i: number): string => `CASE WHEN isfinite(v${i}) THEN v${i} END`;

/** expr·2^e in SQL, in steps of at most 2^±1000 (each a double; power-of-two steps are exact). */
function times2(expr: string, e: number): string {
  let out = expr;
  for (let left = e; left !== 0; ) {
    const step = Math.max(-1000, Math.min(1000, left));
    out = `(${out} * ${lit(2 ** step)})`;
    left -= step;
  }
  return out;
}

const sumTerm = (f: string, sc: Scales): string => `TRY_CAST(${times2(f, sc.a)} AS BIGINT)`;
const squareTerm = (d: string): string => `TRY_CAST(${d} * ${d} AS BIGINT)`;

/**
 * At most this many columns are hashed to choose the sample rows. Every table of fewer columns (all that
 * could be profiled before the pass was split into column groups) hashes all of them, as before; a wider
 * table hashes its first ones, which tell rows apart just as well and keep each group's pass from
 * converting every column of the row.
 */
export const MAX_HASHED_COLUMNS = 128;

/** The columns whose values choose the sample rows: the fixed-width ones, or every column when fewer than 3 are. */
export function hashedColumns(columns: readonly ColumnDesign[]): number[] {
  // Hashing the fixed-width columns costs far less than hashing text (0.3 s of a 6.6 s pass on the benchmark's
  // 1 GiB CSV); text joins in when there are too few of them to tell rows apart.
  const fixed = columns.flatMap((c, i) => (c.plan.base === 'string' ? [] : [i]));
  return (fixed.length >= 3 ? fixed : columns.map((_, i) => i)).slice(0, MAX_HASHED_COLUMNS);
}

/**
 * The pass's SELECT over `from` (the reader): one row of aggregates, aliased by column index, for the
 * columns `only` (a group of a wide table; default all). A group's aggregates are exactly those the
 * one-pass query has for its columns, and the sample rows are the same (their hash is of the same
 * columns), so a profile computed in groups is the one-pass profile.
 */
export function passSql(design: PassDesign, from: string, only?: readonly number[]): string {
  const { columns, sampleRate } = design;
  const group = only ?? columns.map((_, i) => i);
  const measured = group.filter((i) => columns[i]!.strategy === 'measured');
  // The sample: rows whose hash (of their values) has its low bits zero; the same rows on every run.
  // A sample that still comes out as copies of few rows is detected and counted exactly (profile-assemble.ts).
  const hashed = sampleRate > 1 && measured.length ? hashedColumns(columns) : [];
  const read = [...new Set([...group, ...hashed])].sort((a, b) => a - b);
  const typed = read.map((i) => `${columns[i]!.plan.expr} AS v${i}`);
  const smp = hashed.length ? [`(hash(${hashed.map((i) => `v${i}`).join(', ')}) & ${sampleRate - 1}) = 0 AS smp`] : [];
  const finite = measured.map((i) => `${finiteSql(i)} AS f${i}`);
  const scaled = measured.flatMap((i) => {
    const sc = columns[i]!.scales!;
    return [`${sumTerm(`f${i}`, sc)} AS t${i}`, `${times2(`(f${i} - ${lit(sc.shift)})`, sc.b)} AS d${i}`];
  });
  const squares = measured.map((i) => `${squareTerm(`d${i}`)} AS u${i}`);
  const aggs = ['count(*) AS rows', ...group.flatMap((i) => columnAggregates(columns[i]!, i, sampleRate > 1))];
  // Each derived value is computed once, in its own projection, and read by every aggregate that needs it.
  let rel = `SELECT ${typed.join(', ')} FROM ${from}`;
  for (const layer of [[...finite, ...smp], scaled, squares])
    if (layer.length) rel = `SELECT *, ${layer.join(', ')} FROM (${rel})`;
  return `SELECT ${aggs.join(', ')} FROM (${rel})`;
}

function columnAggregates(c: ColumnDesign, i: number, sampled: boolean): string[] {
  const v = `v${i}`;
  const out = [`count(${v}) AS c${i}_nn`, ...(c.maybeNumeric ? [`count(TRY_CAST(${v} AS DOUBLE)) AS c${i}_num`] : [])];
  switch (c.strategy) {
    case 'counted':
      return [...out, ...countedSql(c.plan, i)];
    case 'flags':
      return [...out, `count_if(${v}) AS c${i}_t`];
    case 'dates':
      return [
        ...out,
        // A table read whole (no sampling) is small: its distinct count is exact.
        ...(sampled
          ? [`approx_count_distinct(${v}) AS c${i}_d`]
          : [`count(DISTINCT ${v}) AS c${i}_d`, `true AS c${i}_dx`]),
        `CAST(min(${v}) AS VARCHAR) AS c${i}_min`,
        `CAST(max(${v}) AS VARCHAR) AS c${i}_max`,
      ];
    case 'text':
      return [
        ...out,
        `approx_count_distinct(${v}) AS c${i}_d`,
        `min(length(${v})) AS c${i}_lmin`,
        `max(length(${v})) AS c${i}_lmax`,
      ];
    case 'measured': {
      const f = `f${i}`;
      return [
        ...out,
        `count(${f}) AS c${i}_n`,
        `count_if(isnan(${v})) AS c${i}_nan`,
        `approx_count_distinct(${f}) AS c${i}_d`,
        `min(${f}) AS c${i}_min`,
        `max(${f}) AS c${i}_max`,
        ...(c.negatives ? [`count_if(${f} < 0) AS c${i}_neg`] : []),
        ...(c.plan.base === 'integer' ? [`count_if(${f} <> trunc(${f})) AS c${i}_frac`] : []),
        `sum(t${i}) AS c${i}_s1`,
        `sum(u${i}) AS c${i}_s2`,
        // list() keeps NULLs: only the values go in. A FILTER costs DuckDB a copy of the pass's whole input
        // row per filtered aggregate (time and memory that grow with the square of the columns), so a table
        // read whole (at most ~131,072 rows) collects every value, NULLs included, and the profiler drops the
        // NULLs as it copies the list out (aggregateRow): the same values.
        sampled ? `list(${f}) FILTER (WHERE smp AND ${f} IS NOT NULL) AS c${i}_sample` : `list(${f}) AS c${i}_sample`,
      ];
    }
  }
}

/**
 * Every distinct value with its count. NaN is counted apart: DuckDB's histogram() compares keys with <, and a
 * NaN key would merge with whatever value it is compared against.
 */
function countedSql(p: ColumnPlan, i: number): string[] {
  const v = `v${i}`;
  return isNumber(p)
    ? [`histogram(CASE WHEN isnan(${v}) THEN NULL ELSE ${v} END) AS c${i}_h`, `count_if(isnan(${v})) AS c${i}_nan`]
    : [`histogram(${v}) AS c${i}_h`];
}

/** The planning sample's statistics: row count, and per column non-missing, distinct, numbers' min/max/median, and how many values of a maybe-numeric text column read as numbers. */
export function sampleSql(
  plans: readonly ColumnPlan[],
  from: string,
  maybeNumeric: ReadonlySet<number> = new Set(),
  only?: readonly number[],
): string {
  const group = only ?? plans.map((_, i) => i);
  const aggs = group.flatMap((i) => {
    const p = plans[i]!;
    const base = [
      `count(v${i}) AS c${i}_nn`,
      `count(DISTINCT v${i}) AS c${i}_d`,
      ...(maybeNumeric.has(i) ? [`count(TRY_CAST(v${i} AS DOUBLE)) AS c${i}_num`] : []),
    ];
    if (!isNumber(p)) return base;
    const f = finiteSql(i);
    return [...base, `min(${f}) AS c${i}_min`, `max(${f}) AS c${i}_max`, `median(${f}) AS c${i}_median`];
  });
  return `SELECT count(*) AS rows, ${aggs.join(', ')} FROM (SELECT ${group.map((i) => `${plans[i]!.expr} AS v${i}`).join(', ')} FROM ${from})`;
}

/** What a second, rare pass brings, per column index. */
export interface FollowUps {
  /** Value histograms: columns that turned out to have few distinct values. */
  count: number[];
  /** Sums again at these scales: the sample's were off. */
  rescale: Map<number, Scales>;
  /** Every finite value: a sparse column the row sample missed, or a table smaller than estimated. */
  collect: number[];
  /** Negative values: the sample had none, the min says there are. */
  negatives: number[];
}

export function followUpSql(plans: readonly ColumnPlan[], f: FollowUps, from: string): string {
  const finite = finiteSql;
  const aggs = [
    ...f.count.flatMap((i) => countedSql(plans[i]!, i)),
    ...f.collect.map((i) => `list(${finite(i)}) FILTER (WHERE ${finite(i)} IS NOT NULL) AS c${i}_sample`),
    ...f.negatives.map((i) => `count_if(v${i} < 0 AND isfinite(v${i})) AS c${i}_neg`),
    ...[...f.rescale].flatMap(([i, sc]) => {
      const d = times2(`(${finite(i)} - ${lit(sc.shift)})`, sc.b);
      return [`sum(${sumTerm(finite(i), sc)}) AS c${i}_s1`, `sum(${squareTerm(d)}) AS c${i}_s2`];
    }),
  ];
  const used = [...new Set([...f.count, ...f.rescale.keys(), ...f.collect, ...f.negatives])];
  return `SELECT ${aggs.join(', ')} FROM (SELECT ${used.map((i) => `${plans[i]!.expr} AS v${i}`).join(', ')} FROM ${from})`;
}
