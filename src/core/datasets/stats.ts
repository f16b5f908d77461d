/**
 * Pure statistics for the data quality and drift gate. No dependencies: every p-value here is
 * computed from its textbook formula and unit-tested against SciPy's values (test/unit/dataset-stats.test.ts).
 */

/** Complementary error function (W. J. Cody's rational Chebyshev approximation, relative error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** P(Z ≤ z) for a standard normal Z. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

function logGamma(x: number): number {
  // Lanczos approximation (g = 7, n = 9), accurate to ~1e-15 for x > 0.
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let a = c[0]!;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularised upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a) (series below a+1, continued fraction above). */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return 1 - sum * Math.exp(-x + a * Math.log(x) - logGamma(a));
  }
  // Lentz's continued fraction.
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return Math.exp(-x + a * Math.log(x) - logGamma(a)) * h;
}

/** Survival function of the chi-square distribution with k degrees of freedom. */
export function chiSquareSf(x: number, k: number): number {
  return gammaQ(k / 2, x / 2);
}

/** Kolmogorov's limiting distribution: P(K > z) = 2 Σ (-1)^(j-1) exp(-2 j² z²) (SciPy's `special.kolmogorov`). */
export function kolmogorovSf(z: number): number {
  if (z <= 0) return 1;
  if (z < 0.27) return 1; // the series converges slowly here and the value is 1 to double precision
  let sum = 0;
  for (let j = 1; j <= 100; j++) {
    const term = Math.exp(-2 * j * j * z * z);
    sum += (j % 2 === 1 ? 1 : -1) * term;
    if (term < 1e-17) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}

/** Two-sample Kolmogorov–Smirnov statistic of two sorted samples (ties handled like SciPy's ks_2samp). */
export function ksStatistic(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < a.length && j < b.length) {
    const x = Math.min(a[i]!, b[j]!);
    while (i < a.length && a[i]! <= x) i++;
    while (j < b.length && b[j]! <= x) j++;
    d = Math.max(d, Math.abs(i / a.length - j / b.length));
  }
  return d;
}

/**
 * Two-sided p-value of a two-sample KS statistic d for sample sizes n and m: Kolmogorov's limiting
 * distribution with Stephens' small-sample correction (Numerical Recipes §14.3), within ~0.002 of
 * SciPy's exact ks_2samp at a few hundred rows.
 */
export function ksPValue(d: number, n: number, m: number): number {
  const en = Math.sqrt((n * m) / (n + m));
  return kolmogorovSf((en + 0.12 + 0.11 / en) * d);
}

/**
 * Chi-square test of homogeneity on a 2×k table (reference counts vs current counts per category).
 * Categories empty in both are dropped; a category only one side has is a valid column, so a new
 * category makes the test fire instead of breaking it.
 */
export function chiSquareHomogeneity(
  a: readonly number[],
  b: readonly number[],
): { statistic: number; dof: number; pValue: number } {
  const na = a.reduce((s, x) => s + x, 0);
  const nb = b.reduce((s, x) => s + x, 0);
  const n = na + nb;
  let stat = 0;
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    const col = a[i]! + b[i]!;
    if (col === 0) continue;
    k++;
    const ea = (col * na) / n;
    const eb = (col * nb) / n;
    stat += (a[i]! - ea) ** 2 / ea + (b[i]! - eb) ** 2 / eb;
  }
  const dof = Math.max(1, k - 1);
  return { statistic: stat, dof, pValue: k < 2 ? 1 : chiSquareSf(stat, dof) };
}

/** Two-proportion Z-test (pooled), two-sided: successes x1 of n1 vs x2 of n2. */
export function twoProportionZ(x1: number, n1: number, x2: number, n2: number): { z: number; pValue: number } {
  const p = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
  if (se === 0) return { z: 0, pValue: 1 };
  const z = (x1 / n1 - x2 / n2) / se;
  return { z, pValue: 2 * (1 - normalCdf(Math.abs(z))) };
}

function normalise(xs: readonly number[]): number[] {
  const s = xs.reduce((t, x) => t + x, 0);
  return xs.map((x) => (s > 0 ? x / s : 0));
}

/** Jensen–Shannon distance (natural log, the square root of the divergence), like scipy.spatial.distance.jensenshannon. */
export function jensenShannonDistance(p: readonly number[], q: readonly number[]): number {
  const a = normalise(p);
  const b = normalise(q);
  let div = 0;
  for (let i = 0; i < a.length; i++) {
    const m = (a[i]! + b[i]!) / 2;
    if (a[i]! > 0) div += 0.5 * a[i]! * Math.log(a[i]! / m);
    if (b[i]! > 0) div += 0.5 * b[i]! * Math.log(b[i]! / m);
  }
  return Math.sqrt(Math.max(0, div));
}

/** Population stability index over matching buckets; empty buckets count as 0.0001 (Evidently's convention). */
export function psi(reference: readonly number[], current: readonly number[]): number {
  const a = normalise(reference).map((x) => Math.max(x, 1e-4));
  const b = normalise(current).map((x) => Math.max(x, 1e-4));
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (b[i]! - a[i]!) * Math.log(b[i]! / a[i]!);
  return s;
}

/** Largest absolute difference between two distributions, and the bucket where it is. */
export function lInfinity(reference: readonly number[], current: readonly number[]): { value: number; index: number } {
  const a = normalise(reference);
  const b = normalise(current);
  let best = { value: 0, index: -1 };
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > best.value) best = { value: d, index: i };
  }
  return best;
}

/**
 * Quantile function given as points (p, x), p increasing in [0, 1] (p = 0 is the minimum, p = 1 the
 * maximum). `cdfAt` inverts it by linear interpolation; `wasserstein1` integrates |F⁻¹ − G⁻¹| over p.
 */
export interface QuantilePoints {
  p: readonly number[];
  x: readonly number[];
}

export function cdfAt(q: QuantilePoints, v: number): number {
  const { p, x } = q;
  if (v < x[0]!) return 0;
  if (v >= x[x.length - 1]!) return 1;
  // Last index with x[i] <= v.
  let lo = 0;
  let hi = x.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid]! <= v) lo = mid;
    else hi = mid;
  }
  const x0 = x[lo]!;
  const x1 = x[hi]!;
  if (x1 === x0) return p[hi]!;
  return p[lo]! + ((p[hi]! - p[lo]!) * (v - x0)) / (x1 - x0);
}

function quantileAt(q: QuantilePoints, pr: number): number {
  const { p, x } = q;
  if (pr <= p[0]!) return x[0]!;
  if (pr >= p[p.length - 1]!) return x[x.length - 1]!;
  let lo = 0;
  let hi = p.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (p[mid]! <= pr) lo = mid;
    else hi = mid;
  }
  const p0 = p[lo]!;
  const p1 = p[hi]!;
  return p1 === p0 ? x[lo]! : x[lo]! + ((x[hi]! - x[lo]!) * (pr - p0)) / (p1 - p0);
}

/** W1 distance between two distributions given by quantile points: ∫₀¹ |F⁻¹(p) − G⁻¹(p)| dp (trapezoid on the union of both grids). */
export function wasserstein1(a: QuantilePoints, b: QuantilePoints): number {
  const grid = [...new Set([...a.p, ...b.p, 0, 1])].filter((p) => p >= 0 && p <= 1).sort((x, y) => x - y);
  let s = 0;
  for (let i = 1; i < grid.length; i++) {
    const p0 = grid[i - 1]!;
    const p1 = grid[i]!;
    const d0 = Math.abs(quantileAt(a, p0) - quantileAt(b, p0));
    const d1 = Math.abs(quantileAt(a, p1) - quantileAt(b, p1));
    s += ((d0 + d1) / 2) * (p1 - p0);
  }
  return s;
}
