import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chiSquareHomogeneity,
  chiSquareSf,
  erfc,
  gammaQ,
  jensenShannonDistance,
  kolmogorovSf,
  ksPValue,
  ksStatistic,
  lInfinity,
  normalCdf,
  psi,
  twoProportionZ,
  wasserstein1,
} from '../../../src/core/datasets/stats.js';

// Expected values computed once with SciPy 1.10.1 (Debian python3-scipy) and pasted here:
//   scipy.special.erfc / ndtr / gammaincc / kolmogorov, scipy.stats.chi2.sf, ks_2samp,
//   chi2_contingency(correction=False), wasserstein_distance, scipy.spatial.distance.jensenshannon.

/** Quantile points of a sorted sample: the empirical CDF's corners. */
const samplePoints = (sorted: number[]) => ({ p: sorted.map((_, i) => i / (sorted.length - 1)), x: sorted });

const close = (actual: number, expected: number, tol: number, what: string): void => {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} is not within ${tol} of ${expected}`);
};

test('erfc and the normal CDF match SciPy', () => {
  close(erfc(0.5), 0.4795001221869535, 1e-7, 'erfc(0.5)');
  close(erfc(-1.2), 1.9103139782296354, 1e-7, 'erfc(-1.2)');
  close(erfc(2.5), 0.00040695201744495886, 1e-9, 'erfc(2.5)');
  close(normalCdf(1.96), 0.9750021048517795, 1e-7, 'ndtr(1.96)');
  close(normalCdf(-0.3), 0.3820885778110474, 1e-7, 'ndtr(-0.3)');
});

test('regularised upper incomplete gamma and chi-square survival match SciPy', () => {
  close(gammaQ(2.5, 1.0), 0.8491450360846096, 1e-10, 'gammaincc(2.5, 1)');
  close(gammaQ(0.5, 3.0), 0.014305878435429641, 1e-10, 'gammaincc(0.5, 3)');
  close(gammaQ(10, 12.5), 0.2014311049455359, 1e-10, 'gammaincc(10, 12.5)');
  close(chiSquareSf(3.84, 1), 0.05004352124870519, 1e-9, 'chi2.sf(3.84, 1)');
  close(chiSquareSf(20, 7), 0.005569683072945574, 1e-10, 'chi2.sf(20, 7)');
  close(chiSquareSf(150, 120), 0.03307348091130466, 1e-9, 'chi2.sf(150, 120)');
});

test("Kolmogorov's distribution matches scipy.special.kolmogorov", () => {
  close(kolmogorovSf(0.5), 0.9639452436648751, 1e-9, 'K(0.5)');
  close(kolmogorovSf(1.0), 0.26999967167735456, 1e-9, 'K(1.0)');
  close(kolmogorovSf(1.36), 0.049485876755377876, 1e-9, 'K(1.36)');
  close(kolmogorovSf(2.0), 0.0006709252557796953, 1e-12, 'K(2.0)');
});

test('two-sample KS: the statistic equals SciPy ks_2samp, the p-value is within 0.002 of its exact one', () => {
  const a = [0.1, 0.5, 0.5, 1.2, 3.4, 2.2, 0.9, 1.1].sort((x, y) => x - y);
  const b = [0.3, 0.5, 1.9, 2.5, 3.3, 4.1, 0.2].sort((x, y) => x - y);
  close(ksStatistic(a, b), 0.32142857142857145, 1e-12, 'D small');
  const big = Array.from({ length: 120 }, (_, i) => ((i * 37) % 101) / 10).sort((x, y) => x - y);
  const shifted = Array.from({ length: 100 }, (_, j) => ((j * 53) % 97) / 10 + 1.5).sort((x, y) => x - y);
  const d = ksStatistic(big, shifted);
  close(d, 0.15833333333333333, 1e-12, 'D');
  close(ksPValue(d, 120, 100), 0.11618574514360844, 2e-3, 'p (SciPy exact)');
});

test('chi-square test of homogeneity matches chi2_contingency without correction, new categories included', () => {
  const r = chiSquareHomogeneity([10, 20, 30, 0], [12, 18, 25, 5]);
  close(r.statistic, 5.741626794258373, 1e-9, 'statistic');
  assert.equal(r.dof, 3);
  close(r.pValue, 0.12488007668891028, 1e-9, 'p');
});

test('two-proportion Z-test: symmetric, and equal proportions give p = 1', () => {
  const z = twoProportionZ(30, 100, 50, 100);
  // Pooled p = 0.4, se = sqrt(0.4 * 0.6 * 0.02): z = -0.2 / 0.069282 = -2.88675.
  close(z.z, -2.886751345948129, 1e-9, 'z');
  close(z.pValue, 2 * (1 - normalCdf(2.886751345948129)), 1e-12, 'p');
  close(z.pValue, 0.003892417122778628, 1e-6, 'p vs scipy 2*norm.sf(2.8868)');
  close(twoProportionZ(10, 50, 20, 100).pValue, 1, 1e-7, 'equal proportions');
});

test('Jensen-Shannon distance matches scipy.spatial.distance.jensenshannon', () => {
  close(jensenShannonDistance([0.1, 0.4, 0.5], [0.3, 0.3, 0.4]), 0.1803596560271257, 1e-12, 'js');
  close(jensenShannonDistance([1, 4, 5], [3, 3, 4]), 0.1803596560271257, 1e-12, 'js of counts');
  assert.equal(jensenShannonDistance([1, 2], [1, 2]), 0);
});

test('Wasserstein distance from quantile points approaches SciPy wasserstein_distance of the samples', () => {
  const big = Array.from({ length: 120 }, (_, i) => ((i * 37) % 101) / 10).sort((x, y) => x - y);
  const shifted = Array.from({ length: 100 }, (_, j) => ((j * 53) % 97) / 10 + 1.5).sort((x, y) => x - y);
  close(wasserstein1(samplePoints(big), samplePoints(shifted)), 1.282166666666667, 0.05, 'W1 from points');
  // A pure shift moves every quantile by the shift.
  close(wasserstein1({ p: [0, 0.5, 1], x: [0, 1, 2] }, { p: [0, 0.5, 1], x: [3, 4, 5] }), 3, 1e-12, 'shift');
});

test('PSI and L-infinity', () => {
  assert.equal(psi([10, 20, 30], [10, 20, 30]), 0);
  // By hand: (0.5-0.25)ln(2) + (0.5-0.75)ln(2/3) = 0.25 (ln 2 + ln 1.5) = 0.274653.
  close(psi([1, 3], [1, 1]), 0.25 * (Math.log(2) + Math.log(1.5)), 1e-12, 'psi');
  assert.deepEqual(lInfinity([1, 3], [1, 1]), { value: 0.25, index: 0 });
});
