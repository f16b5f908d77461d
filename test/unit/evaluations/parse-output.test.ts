import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonDepthOver, MAX_JSON_DEPTH, parseEvalOutput } from '../../../src/core/evaluations/parse-output.js';

test('deeply nested JSON from an evaluation command is refused with the depth limit, not a stack overflow', () => {
  const deep = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
  assert.throws(
    () => parseEvalOutput(deep, 'the command'),
    (err: Error & { code?: string }) =>
      err.code === 'E_EVAL_OUTPUT' && new RegExp(`more than ${MAX_JSON_DEPTH} levels deep`).test(err.message),
  );
  const objects = `${'{"a":'.repeat(200_000)}1${'}'.repeat(200_000)}`;
  assert.throws(() => parseEvalOutput(objects, 'the command'), /levels deep/);
  // Brackets inside strings do not count; a normal document still parses.
  assert.equal(jsonDepthOver('{"a[[[[\\"[[": {"b": 1}}', 2), 0);
  assert.equal(jsonDepthOver('{"a": {"b": [1]}}', 2), 13);
  assert.deepEqual(parseEvalOutput('{"all": {"auc": 0.9}}', 'c'), { all: { auc: 0.9 } });
});
