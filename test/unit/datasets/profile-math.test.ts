import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  binsOf,
  ldexp,
  momentsOfCounts,
  momentsOfSums,
  quantilesOf,
  scaleBins,
  scaleExponent,
  weighted,
} from '../../../src/core/datasets/profile/math.js';
import { QUANTILE_LEVELS } from '../../../src/core/datasets/profile/types.js';

const at = (p: number): number => QUANTILE_LEVELS.indexOf(p);

test('quantiles interpolate between order statistics like pandas (type 7), from sorted values or from counts', () => {
  const sorted = Float64Array.from([1, 2, 3, 4, 10]);
  const q = quantilesOf(weighted(sorted));
  assert.equal(q[at(0.5)], 3);
  assert.equal(q[at(0.25)], 2);
  // p = 0.9: h = 4 × 0.9 = 3.6 → 4 + 0.6 × (10 − 4)
  assert.ok(Math.abs(q[at(0.9)]! - 7.6) < 1e-12);
  // The same multiset given as value counts gives the same quantiles.
  const q2 = quantilesOf([
    [1, 1],
    [2, 1],
    [3, 1],
    [4, 1],
    [10, 1],
  ]);
  assert.deepEqual(q2, q);
  const repeated = quantilesOf([
    [0, 3],
    [5, 1],
  ]); // 0, 0, 0, 5
  assert.equal(repeated[at(0.5)], 0);
  assert.ok(Math.abs(repeated[at(0.99)]! - 4.85) < 1e-12); // h = 2.97 → 0 + 0.97 × 5
});

test('bins: 20 equal-width bins, a value on an inner edge goes up, the max goes in the last bin; a constant column is one bin', () => {
  const b = binsOf(
    [
      [0, 1],
      [1, 2],
      [19.99, 1],
      [20, 1],
    ],
    0,
    20,
    5,
  );
  assert.equal(b.edges.length, 21);
  assert.equal(b.edges[20], 20);
  assert.equal(b.counts[0], 1);
  assert.equal(b.counts[1], 2);
  assert.equal(b.counts[19], 2);
  assert.deepEqual(binsOf([[3, 7]], 3, 3, 7), { edges: [3, 3], counts: [7] });
});

test('bins of a sample are scaled to add up to n, and the bins of the true min and max are never empty', () => {
  const sample = binsOf(weighted(Float64Array.from([1, 2, 2, 3, 3, 3, 4, 4, 4, 4])), 0, 20, 10);
  assert.equal(sample.counts[0], 0, 'the sample missed the min (0)');
  const scaled = scaleBins(sample, 1001);
  assert.equal(
    scaled.counts.reduce((s, c) => s + c, 0),
    1001,
  );
  assert.ok(scaled.counts[0]! >= 1 && scaled.counts[19]! >= 1);
  assert.deepEqual(scaled.edges, sample.edges);
});

test('scale exponents come from the exponent bits, subnormals included, and ldexp scales past 2^±1023 in steps', () => {
  assert.equal(scaleExponent(1, 52), 51);
  assert.equal(scaleExponent(0.75, 52), 52);
  assert.equal(scaleExponent(1024, 52), 41);
  assert.equal(scaleExponent(1023.9, 52), 42);
  const t = ldexp(1023.9, scaleExponent(1023.9, 52));
  assert.ok(t < 2 ** 52 && t >= 2 ** 51);
  assert.equal(scaleExponent(5e-324, 52), 52 + 1074 - 1);
  assert.equal(ldexp(5e-324, 1125), 2 ** 51, 'the smallest subnormal scaled exactly, through two steps');
  assert.equal(scaleExponent(0, 52), 0);
  assert.equal(scaleExponent(Infinity, 52), 0);
  assert.equal(ldexp(3, -2), 0.75);
});

test('moments from value counts and from integer sums agree with a direct two-pass computation', () => {
  const values = [1e12 + 1, 1e12 + 2, 1e12 + 2, 1e12 + 7];
  const n = values.length;
  const mean = values.reduce((s, x) => s + x, 0) / n;
  const m2 = values.reduce((s, x) => s + (x - mean) ** 2, 0);
  const counted = momentsOfCounts(
    [
      [1e12 + 1, 1],
      [1e12 + 2, 2],
      [1e12 + 7, 1],
    ],
    n,
  );
  assert.equal(counted.mean, mean);
  assert.ok(Math.abs(counted.m2 - m2) < 1e-6);
  assert.equal(m2, 22);
  // Integer sums as DuckDB takes them: terms x·2^a and ((x − shift)·2^b)², rounded to integers.
  const shift = 1e12 + 2;
  const a = scaleExponent(1e12 + 7, 52);
  const b = scaleExponent(5, 26);
  const s1 = values.reduce((s, x) => s + BigInt(Math.round(ldexp(x, a))), 0n);
  const s2 = values.reduce((s, x) => s + BigInt(Math.round(ldexp(x - shift, b) ** 2)), 0n);
  const summed = momentsOfSums(s1, s2, n, a, shift, b);
  assert.equal(summed.mean, mean);
  assert.equal(summed.m2, 22, 'deviations −2, −1, −1, 4 about the mean 1e12 + 3');
  assert.equal(summed.sum, 4e12 + 12);
});
