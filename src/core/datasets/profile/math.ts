import { BIN_COUNT, QUANTILE_LEVELS } from './types.js';

/**
 * The arithmetic of a profile that runs in JavaScript after DuckDB's pass: quantiles and bins from sorted
 * values or from exact value counts, moments from value counts or from exact integer sums, and the
 * power-of-two scales those sums use. Everything here is a pure function of its inputs, in a fixed order,
 * so the same data gives the same numbers bit for bit.
 */

/** Finite values with how often each occurs, ascending by value. */
export type WeightedValues = readonly (readonly [value: number, count: number])[];

/** The value of rank r (0-based) in the multiset described by `counts` (cumulative counts `cum`). */
function atRank(counts: WeightedValues, cum: readonly number[], r: number): number {
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid]! > r) hi = mid;
    else lo = mid + 1;
  }
  return counts[lo]![0];
}

/** Quantiles at QUANTILE_LEVELS by linear interpolation between order statistics (pandas' and DuckDB's quantile_cont). */
export function quantilesOf(counts: WeightedValues): number[] {
  const cum: number[] = [];
  let total = 0;
  for (const [, c] of counts) cum.push((total += c));
  return QUANTILE_LEVELS.map((p) => {
    const h = (total - 1) * p;
    const lo = Math.floor(h);
    const a = atRank(counts, cum, lo);
    const b = atRank(counts, cum, Math.min(lo + 1, total - 1));
    const t = h - lo;
    if (t === 0 || a === b) return a;
    // b − a overflows only for values beyond ±DBL_MAX/2; then interpolate without the difference.
    return Number.isFinite(b - a) ? a + t * (b - a) : a * (1 - t) + b * t;
  });
}

/** Sorted values as weighted values (each with count 1, equal neighbours merged). */
export function weighted(sorted: Float64Array): [number, number][] {
  const out: [number, number][] = [];
  for (const x of sorted) {
    const last = out[out.length - 1];
    if (last && last[0] === x) last[1]++;
    else out.push([x, 1]);
  }
  return out;
}

export interface Bins {
  edges: number[];
  counts: number[];
}

/** BIN_COUNT equal-width bins between min and max; a value on an inner edge belongs to the bin above it, max to the last. */
export function binsOf(counts: WeightedValues, min: number, max: number, n: number): Bins {
  if (!(max > min)) return { edges: [min, max], counts: [n] };
  // A range wider than the largest double (values beyond ±DBL_MAX/2) is binned at half scale.
  const k = Number.isFinite(max - min) ? 1 : 0.5;
  const lo = min * k;
  const w = (max * k - lo) / BIN_COUNT;
  const out = new Array<number>(BIN_COUNT).fill(0);
  for (const [x, c] of counts) out[Math.min(Math.floor((x * k - lo) / w), BIN_COUNT - 1)]! += c;
  return {
    edges: Array.from({ length: BIN_COUNT + 1 }, (_, j) => (j === BIN_COUNT ? max : (lo + j * w) / k)),
    counts: out,
  };
}

/**
 * Bins of a sample scaled to the n values of the column: largest remainders so the counts add up to n,
 * and the bins holding the true min and max (which the sample may have missed) hold at least one value.
 */
export function scaleBins(sampleBins: Bins, n: number): Bins {
  const m = sampleBins.counts.reduce((s, c) => s + c, 0);
  if (m === 0 || sampleBins.counts.length === 1)
    return { edges: sampleBins.edges, counts: sampleBins.counts.length === 1 ? [n] : sampleBins.counts.map(() => 0) };
  const raw = sampleBins.counts.map((c) => (c * n) / m);
  const counts = raw.map(Math.floor);
  let left = n - counts.reduce((s, c) => s + c, 0);
  const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    counts[i]!++;
    left--;
  }
  for (const end of [0, counts.length - 1]) {
    if (counts[end] === 0) {
      const donor = counts.indexOf(Math.max(...counts));
      if (counts[donor]! > 1) {
        counts[donor]!--;
        counts[end] = 1;
      }
    }
  }
  return { edges: sampleBins.edges, counts };
}

export interface Moments {
  mean: number;
  m2: number;
  sum: number;
}

/** Mean, M2 (sum of squared deviations) and sum of exactly counted values, two passes in value order. */
export function momentsOfCounts(counts: WeightedValues, n: number): Moments {
  let sum = 0;
  let mean = 0;
  // The mean from weighted shares, so it stays finite when the sum would not.
  for (const [x, c] of counts) {
    sum += x * c;
    mean += x * (c / n);
  }
  let m2 = 0;
  for (const [x, c] of counts) m2 += c * (x - mean) * (x - mean);
  return { mean, m2, sum };
}

/**
 * The exponent a with max·2^a in [2^(bits−1), 2^bits) (max > 0, finite): values scaled by 2^a and rounded are
 * integers of at most `bits` bits. Exact (from the exponent bits, not Math.log2), so every machine picks
 * the same scale; 0 when there is nothing to scale.
 */
export function scaleExponent(max: number, bits: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 0;
  return bits - exponentOf(max) - 1;
}

/** x·2^e, exact unless it overflows or underflows; in steps, since 2^e alone may not be a double (|e| > 1023). */
export function ldexp(x: number, e: number): number {
  let out = x;
  let left = e;
  while (left !== 0) {
    const step = Math.max(-1000, Math.min(1000, left));
    out *= 2 ** step;
    left -= step;
  }
  return out;
}

/** e such that 2^e ≤ x < 2^(e+1), for finite x > 0 (subnormals included). */
function exponentOf(x: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const biased = (view.getUint16(0) >> 4) & 0x7ff;
  if (biased !== 0) return biased - 1023;
  // Subnormal: scale it into the normal range first.
  return exponentOf(x * 2 ** 64) - 64;
}

/**
 * Moments from exact integer sums, computed by DuckDB on any number of threads: s1 = Σ x·2^a and
 * s2 = Σ ((x − shift)·2^b)², each term rounded to a 64-bit integer and summed in 128 bits, so the sums do
 * not depend on the order rows are merged in. Each term is rounded to an integer, and the largest term has
 * at least 2^40 (scalesFailed checks), so rounding costs under 2^-40 of it.
 */
export function momentsOfSums(s1: bigint, s2: bigint, n: number, a: number, shift: number, b: number): Moments {
  // Divided by n before unscaling, and M2 taken at its scale, so neither overflows when the values are huge.
  const mean = ldexp(Number(s1) / n, -a);
  const d = ldexp(mean - shift, b);
  const m2 = ldexp(Math.max(0, Number(s2) - n * d * d), -2 * b);
  return { mean, m2, sum: ldexp(Number(s1), -a) };
}
