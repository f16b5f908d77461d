import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvColumnTypes, nativeColumnTypes, retype } from '../../../src/core/datasets/profile/column-types.js';

test('CSV integers are read as DOUBLE and planned as integers', () => {
  const t = csvColumnTypes(['id', 'score', 'note'], ['BIGINT', 'DOUBLE', 'VARCHAR'], new Set([2]));
  assert.deepEqual(t.types, ['DOUBLE', 'DOUBLE', 'VARCHAR']);
  assert.deepEqual(
    t.plans.map((p) => p.base),
    ['integer', 'numeric', 'string'],
  );
});

test('a retype makes a new value and leaves the old one as it was', () => {
  const t = csvColumnTypes(['id', 'note'], ['BIGINT', 'VARCHAR'], new Set([1]));
  const text = retype(t, { toText: [0] })!;
  assert.deepEqual(text.types, ['VARCHAR', 'VARCHAR']);
  assert.equal(text.plans[0]!.base, 'string');
  assert.deepEqual(t.types, ['DOUBLE', 'VARCHAR'], 'the original is unchanged');
  assert.equal(t.plans[0]!.base, 'integer');

  const numbers = retype(t, { toNumbers: [1] })!;
  assert.deepEqual(numbers.types, ['DOUBLE', 'DOUBLE']);
  assert.equal(numbers.plans[1]!.base, 'integer');
  assert.deepEqual([...numbers.maybeNumeric], []);
});

test('a retype that changes nothing says so, so the profiler cannot loop', () => {
  const t = csvColumnTypes(['id', 'note'], ['BIGINT', 'VARCHAR'], new Set());
  assert.equal(retype(t, { toText: [1] }), undefined, 'already text');
  const widened = retype(t, { toText: [0] })!;
  assert.equal(retype(widened, { toNumbers: [0] }), undefined, 'a column widened to text is never made numeric again');
  assert.equal(retype(nativeColumnTypes(['a'], ['VARCHAR']), { toNumbers: [0] }), undefined, 'file types are final');
});
