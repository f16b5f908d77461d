import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flattenMetricsJson, MAX_METRICS, parseMetricPairs, parseTextPairs } from '../../../src/core/lib/pairs.js';
import { InvalidInputError } from '../../../src/core/errors.js';

const refused = (fn: () => unknown, message: RegExp, code?: string) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidInputError, String(err));
    assert.match(err.message, message);
    if (code) assert.equal(err.code, code);
    return true;
  });

test('a metric, param or tag given twice is refused instead of keeping the last', () => {
  refused(() => parseMetricPairs(['auc=0.9', 'auc=0.8']), /metric auc is given more than once/, 'E_DUPLICATE_KEY');
  refused(() => parseTextPairs(['team=a', 'team=b'], 'tag'), /tag team is given more than once/);
  assert.deepEqual(parseMetricPairs(['auc=0.9', 'loss=0.2']), { auc: 0.9, loss: 0.2 });
});

test('metrics files: bad names, overflowing numbers, deep nesting and too many keys get clear errors', () => {
  refused(() => flattenMetricsJson({ 'a=b': 1 }, 'm.json'), /"a=b" is not a metric name/);
  refused(
    () => flattenMetricsJson(JSON.parse('{"auc": 1e999}'), 'm.json'),
    /metric "auc" is Infinity, not a finite number/,
  );
  let deep: Record<string, unknown> = { v: 1 };
  for (let i = 0; i < 10_000; i++) deep = { d: deep };
  refused(() => flattenMetricsJson(deep, 'm.json'), /nested more than 32 levels/);
  const many = Object.fromEntries(Array.from({ length: MAX_METRICS + 1 }, (_, i) => [`m${i}`, i]));
  refused(() => flattenMetricsJson(many, 'm.json'), /more than 10000 metrics/, 'E_TOO_MANY_METRICS');
  refused(() => parseTextPairs([`note=${'x'.repeat(5000)}`], 'param'), /over the limit of 4096/);
});
