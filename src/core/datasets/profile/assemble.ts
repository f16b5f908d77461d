import {
  binsOf,
  momentsOfCounts,
  momentsOfSums,
  quantilesOf,
  scaleBins,
  weighted,
  type WeightedValues,
} from './math.js';
import { exactScales, SAMPLE_ROWS, scalesFailed, type ColumnDesign, type Scales } from './plan.js';
import {
  EXACT_ROWS,
  MAX_COUNTED_DISTINCT,
  QUANTILE_LEVELS,
  TOP_VALUES,
  type CategoryProfile,
  type ColumnKind,
  type ColumnProfile,
  type NumericProfile,
} from './types.js';

/**
 * Turning the pass's one row of aggregates into column profiles (pure). A column the plan misjudged
 * needs a follow-up pass (see FollowUps in profile-plan.ts): `assembleColumn` says so instead of
 * guessing; the profiler runs that pass and assembles again.
 */
export type Row = Record<string, unknown>;

/** A finished column, or what the follow-up pass must bring first (value counts make the rest unneeded). */
export type Assembled =
  | { column: ColumnProfile }
  | { followUp: { countValues?: true; rescale?: Scales; collectValues?: true; countNegatives?: true } };

/** A broken invariant of the profiler itself (a bug), not a problem with the data. */
export class ProfilerInvariantError extends Error {}

/** Fewer sampled values than this, for a column with more values, is too few for quantiles: collect them all. */
const MIN_SAMPLE = 1000;

const num = (v: unknown): number => (v === null || v === undefined ? NaN : Number(v));

/** Histogram result (a list of {key, value}) as [key, count] pairs. */
function entriesOf(v: unknown): [unknown, number][] {
  if (!Array.isArray(v)) return [];
  return (v as { key: unknown; value: unknown }[]).map((e) => [e.key, Number(e.value)]);
}

/** Distinct values at most this many (by HyperLogLog, which errs by ~13%) are worth counting exactly: categories may follow. */
const recount = (distinct: number, limit: number): boolean => distinct <= limit * 1.5;
/** A column with at most this many distinct values is counted exactly when its row sample looks degenerate (see measuredNumbers). */
const MAX_RECOUNT = 100_000;

/** Count and missing of a column that cannot hold NaN or infinities (booleans, dates, text). */
function presence(nonMissing: number, rows: number) {
  return { count: nonMissing, missing: rows - nonMissing, missingRate: (rows - nonMissing) / rows, nan: 0, inf: 0 };
}

function kindOfStrings(distinct: number, count: number): ColumnKind {
  if (count === 0) return 'empty';
  return distinct <= MAX_COUNTED_DISTINCT && (distinct <= 20 || distinct <= 0.5 * count) ? 'categorical' : 'text';
}

function byCountThenValue(a: [string, number], b: [string, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

function categories(entries: [string, number][]): CategoryProfile {
  const top = entries.slice(0, TOP_VALUES);
  const other = entries.slice(TOP_VALUES).reduce((s, e) => s + e[1], 0);
  return { top, other, allowed: entries.length <= TOP_VALUES ? entries.map((e) => e[0]).sort() : null };
}

/**
 * @param numberKey the category label of a number (the caller asks DuckDB, so labels match CAST(x AS VARCHAR)).
 */
export function assembleColumn(
  d: ColumnDesign,
  i: number,
  r: Row,
  rows: number,
  numberKey: (x: number) => string,
): Assembled {
  const { plan } = d;
  const nn = num(r[`c${i}_nn`]);
  const base = { name: plan.name, type: plan.type };
  switch (d.strategy) {
    case 'flags': {
      const t = num(r[`c${i}_t`]);
      const entries = (
        [
          ['false', nn - t],
          ['true', t],
        ] as [string, number][]
      )
        .filter((e) => e[1] > 0)
        .sort(byCountThenValue);
      const col: ColumnProfile = {
        ...base,
        kind: nn === 0 ? 'empty' : 'boolean',
        ...presence(nn, rows),
        distinct: entries.length,
      };
      if (nn > 0) col.categories = categories(entries);
      if (nn > 0 && rows <= EXACT_ROWS) col.exact = { counts: entries };
      return { column: col };
    }
    case 'dates': {
      const distinct = Math.min(num(r[`c${i}_d`]), nn);
      const col: ColumnProfile = {
        ...base,
        kind: nn === 0 ? 'empty' : 'datetime',
        ...presence(nn, rows),
        distinct,
        ...(r[`c${i}_dx`] ? {} : { distinctApprox: true as const }),
      };
      if (nn > 0) col.datetime = { min: String(r[`c${i}_min`]), max: String(r[`c${i}_max`]) };
      return { column: col };
    }
    case 'text': {
      const distinct = Math.min(num(r[`c${i}_d`]), nn);
      // Possibly categorical, or a small table (exact counts): count its values to know.
      if (
        nn > 0 &&
        (rows <= EXACT_ROWS ||
          (recount(distinct, MAX_COUNTED_DISTINCT) && kindOfStrings(distinct * 0.8, nn) === 'categorical'))
      )
        return { followUp: { countValues: true } };
      const col: ColumnProfile = {
        ...base,
        kind: kindOfStrings(distinct, nn),
        ...presence(nn, rows),
        distinct,
        distinctApprox: true,
      };
      if (nn > 0) col.text = { minLength: num(r[`c${i}_lmin`]), maxLength: num(r[`c${i}_lmax`]) };
      return { column: col };
    }
    case 'counted':
      return plan.base === 'string'
        ? { column: countedStrings(base, i, r, rows) }
        : { column: countedNumbers(d, base, i, r, rows, numberKey) };
    case 'measured':
      return measuredNumbers(d, base, i, r, rows);
  }
}

function countedStrings(base: { name: string; type: string }, i: number, r: Row, rows: number): ColumnProfile {
  const entries = entriesOf(r[`c${i}_h`])
    .map(([k, c]) => [String(k), c] as [string, number])
    .sort(byCountThenValue);
  const count = entries.reduce((s, e) => s + e[1], 0);
  const kind = kindOfStrings(entries.length, count);
  const col: ColumnProfile = {
    ...base,
    kind,
    count,
    missing: rows - count,
    missingRate: (rows - count) / rows,
    nan: 0,
    inf: 0,
    distinct: entries.length,
  };
  if (count > 0) {
    let minLength = Infinity;
    let maxLength = 0;
    for (const [k] of entries) {
      const n = [...k].length;
      minLength = Math.min(minLength, n);
      maxLength = Math.max(maxLength, n);
    }
    col.text = { minLength, maxLength };
  }
  if (kind === 'categorical') col.categories = categories(entries);
  if (count > 0 && rows <= EXACT_ROWS) col.exact = { counts: entries };
  return col;
}

function countedNumbers(
  d: ColumnDesign,
  base: { name: string; type: string },
  i: number,
  r: Row,
  rows: number,
  numberKey: (x: number) => string,
): ColumnProfile {
  const nan = num(r[`c${i}_nan`]);
  let inf = 0;
  let infinities = 0;
  const finite: [number, number][] = [];
  for (const [k, c] of entriesOf(r[`c${i}_h`])) {
    const x = Number(k);
    if (!Number.isFinite(x)) {
      inf += c;
      infinities++;
    } else finite.push([x, c]);
  }
  finite.sort((a, b) => a[0] - b[0]);
  // A column sniffed as integers that holds a fraction further down is a float column.
  const type = d.plan.base === 'integer' && finite.some(([x]) => !Number.isInteger(x)) ? 'DOUBLE' : base.type;
  const nonMissing = finite.reduce((s, e) => s + e[1], 0) + inf;
  // NaN counts as missing, like pandas.
  const missing = rows - nonMissing;
  const distinct = finite.length + infinities;
  const col: ColumnProfile = {
    name: base.name,
    type,
    kind: nonMissing === 0 ? 'empty' : 'numeric',
    count: nonMissing,
    missing,
    missingRate: missing / rows,
    nan,
    inf,
    distinct,
  };
  const n = nonMissing - inf;
  if (n > 0) {
    const min = finite[0]![0];
    const max = finite[finite.length - 1]![0];
    col.numeric = numericProfile(
      n,
      momentsOfCounts(finite, n),
      min,
      max,
      finite.filter(([x]) => x < 0).reduce((s, e) => s + e[1], 0),
      finite,
      1,
    );
    if (rows <= EXACT_ROWS) col.exact = { values: finite.flatMap(([x, c]) => new Array<number>(c).fill(x)) };
    if (distinct <= TOP_VALUES) {
      const entries = finite
        .map(
          ([x, c]) =>
            [type === 'DOUBLE' || d.plan.base === 'numeric' ? numberKey(x) : String(x), c] as [string, number],
        )
        .sort(byCountThenValue);
      col.categories = categories(entries);
      if (rows <= EXACT_ROWS) col.exact = { ...col.exact, counts: entries };
    }
  }
  return col;
}

function measuredNumbers(
  d: ColumnDesign,
  base: { name: string; type: string },
  i: number,
  r: Row,
  rows: number,
): Assembled {
  const nn = num(r[`c${i}_nn`]);
  const nan = num(r[`c${i}_nan`]);
  const n = num(r[`c${i}_n`]);
  const inf = nn - nan - n;
  const count = nn - nan;
  const distinct = Math.min(num(r[`c${i}_d`]) + (inf > 0 ? 1 : 0), count);
  // Few distinct values: count them exactly (categories, exact quantiles) rather than trust the sample.
  if (n > 0 && recount(distinct, TOP_VALUES)) return { followUp: { countValues: true } };
  const type = d.plan.base === 'integer' && num(r[`c${i}_frac`]) > 0 ? 'DOUBLE' : base.type;
  const missing = rows - count;
  const col: ColumnProfile = {
    name: base.name,
    type,
    kind: count === 0 ? 'empty' : 'numeric',
    count,
    missing,
    missingRate: missing / rows,
    nan,
    inf,
    distinct,
    distinctApprox: true,
  };
  if (n > 0) {
    const min = num(r[`c${i}_min`]);
    const max = num(r[`c${i}_max`]);
    const sc = d.scales!;
    // A Float64Array straight from DuckDB's vector (the profiler's aggregateRow), or a plain array.
    const listed = (r[`c${i}_sample`] as Float64Array | number[] | null) ?? [];
    const rescale = scalesFailed(sc, min, max);
    // Too few sampled values for quantiles, or a table small enough to be exact (the plan's row estimate was high): take them all.
    const collect = listed.length < n && (listed.length < MIN_SAMPLE || rows <= SAMPLE_ROWS);
    // Negatives are not counted when the sample had none; the true min says whether that holds.
    const negatives = r[`c${i}_neg`] === undefined && min < 0;
    if (rescale || collect || negatives) {
      if (r[`c${i}_followed`])
        throw new ProfilerInvariantError(`column ${base.name} still needs a follow-up pass after one`);
      return {
        followUp: {
          ...(rescale ? { rescale: exactScales(min, max) } : {}),
          ...(collect ? { collectValues: true as const } : {}),
          ...(negatives ? { countNegatives: true as const } : {}),
        },
      };
    }
    const moments = momentsOfSums(
      BigInt(String(r[`c${i}_s1`])),
      BigInt(String(r[`c${i}_s2`])),
      n,
      sc.a,
      sc.shift,
      sc.b,
    );
    const sample = (listed instanceof Float64Array ? listed : Float64Array.from(listed, Number)).sort();
    const counts = weighted(sample);
    const everyRow = sample.length === n;
    // The sample takes whole rows by their hash, so a table of many identical rows gives copies, not
    // variety: far fewer distinct values than a sample of this size would show means counting instead.
    const expected = distinct * (1 - Math.exp(-sample.length / Math.max(1, distinct)));
    if (!everyRow && distinct <= MAX_RECOUNT && counts.length < expected / 2)
      return { followUp: { countValues: true } };
    col.numeric = numericProfile(
      n,
      moments,
      min,
      max,
      r[`c${i}_neg`] === undefined ? 0 : num(r[`c${i}_neg`]),
      counts,
      everyRow ? 1 : n,
    );
    if (everyRow) {
      // Every value is at hand: the distinct count is exact, not HyperLogLog's (±2%: a unique id of 398
      // rows read as 384). `counts` holds each distinct finite value once.
      col.distinct = counts.length + (inf > 0 ? 1 : 0);
      delete col.distinctApprox;
      if (rows <= EXACT_ROWS) col.exact = { values: Array.from(sample) };
    }
  }
  return { column: col };
}

/** `scaleTo` 1: `values` are every value (exact bins); else a sample whose bins are scaled to n. */
function numericProfile(
  n: number,
  m: { mean: number; m2: number; sum: number },
  min: number,
  max: number,
  negatives: number,
  values: WeightedValues,
  scaleTo: number,
): NumericProfile {
  const sampleN = values.reduce((s, e) => s + e[1], 0);
  const bins = binsOf(values, min, max, sampleN);
  return {
    n,
    mean: m.mean,
    m2: m.m2,
    std: n > 1 ? Math.sqrt(m.m2 / (n - 1)) : 0,
    min,
    max,
    sum: m.sum,
    negatives,
    quantiles: { p: [...QUANTILE_LEVELS], x: sampleN > 0 ? quantilesOf(values) : [] },
    bins: scaleTo === 1 ? bins : scaleBins(bins, n),
  };
}
