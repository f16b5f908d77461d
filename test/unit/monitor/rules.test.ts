import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRule } from '../../../src/core/monitor/rules.js';
import { InvalidInputError } from '../../../src/core/errors.js';
import { asPrinted } from '../../helpers.js';

test('rule forms parse into their canonical text', () => {
  assert.deepEqual(parseRule('auc < 0.85'), {
    kind: 'threshold',
    metric: 'auc',
    slice: 'all',
    op: '<',
    value: 0.85,
    text: 'auc < 0.85',
  });
  assert.equal(parseRule('  auc<=0.8 ').text, 'auc <= 0.8');
  assert.equal(parseRule('log_loss > 0.4').text, 'log_loss > 0.4');
  const s = parseRule('auc[recent] >= .7');
  assert.equal(s.slice, 'recent');
  assert.equal(s.text, 'auc[recent] >= 0.7');
  const d = parseRule('auc  drops 0.03 vs previous');
  assert.deepEqual(d, {
    kind: 'change',
    metric: 'auc',
    slice: 'all',
    verb: 'drops',
    amount: 0.03,
    relative: false,
    baseline: { kind: 'previous' },
    text: 'auc drops 0.03 vs previous',
  });
  const r = parseRule('rmse rises 10% vs previous');
  assert.equal(r.kind === 'change' && r.relative, true);
  assert.equal(r.text, 'rmse rises 10% vs previous');
  const e = parseRule('auc[recent] drops 0.05 vs eval holdout@latest');
  assert.deepEqual(e.kind === 'change' && [e.slice, e.baseline], [
    'recent',
    { kind: 'eval', dataset: 'holdout@latest' },
  ]);
  assert.equal(parseRule('log_loss worsens 0.02 vs previous').text, 'log_loss worsens 0.02 vs previous');
});

test('malformed rules are refused with the reason and the forms', () => {
  const cases: [string, RegExp][] = [
    ['', /it is empty/],
    ['auc', /a comparison is missing/],
    ['auc < ', /the threshold is missing/],
    ['auc < high', /"high" is not a number/],
    ['auc << 0.8', /"<" is not a number/],
    ['auc < 0.8 0.9', /unexpected "0.9" after the threshold/],
    ['auc == 0.8', /"==" is not <, <=, >, >=, drops, rises or worsens/],
    ['auc drops 0.03', /expected "vs previous"/],
    ['auc drops -0.03 vs previous', /greater than 0/],
    ['auc drops 0.03 vs yesterday', /expected "vs previous" or "vs eval DATASET_REF", not "vs yesterday"/],
    ['auc drops 0.03 vs eval', /expected "vs previous" or "vs eval DATASET_REF", not "vs eval"/],
    ['auc drops 0.03 vs eval Holdout!', /"Holdout!" is not a dataset reference/],
    ['a uc < 0.8', /"uc" is not <, <=/],
    ['au$c < 0.8', /not a metric name/],
  ];
  for (const [text, why] of cases) {
    assert.throws(
      () => parseRule(text),
      (e: unknown) =>
        e instanceof InvalidInputError &&
        e.code === 'E_BAD_RULE' &&
        e.exitCode === 2 &&
        why.test(e.message) &&
        /auc < 0.85/.test(e.hint),
      text,
    );
  }
});

test('a rule can count one source only: "from SOURCE" in the text or --source, stored in its canonical text', () => {
  const r = parseRule('auc < 0.85 from live');
  assert.equal(r.source, 'live');
  assert.equal(r.text, 'auc < 0.85 from live');
  assert.equal(parseRule('auc drops 0.03 vs previous', 'review').text, 'auc drops 0.03 vs previous from review');
  assert.equal(parseRule(r.text).text, r.text, 'the canonical text parses back to itself');
  assert.equal(parseRule('auc < 0.85').source, undefined);
  assert.throws(
    () => parseRule('auc < 0.85 from live', 'review'),
    (err: Error) => /says "from live" and --source says review/.test(asPrinted(err.message)),
  );
  assert.throws(() => parseRule('auc < 0.85 from l!ve'), InvalidInputError);
});
