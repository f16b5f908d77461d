import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordEvaluation, latestEvaluations } from '../../../src/core/evaluations/record.js';
import { metricDirection, judge } from '../../../src/core/evaluations/metric-direction.js';
import { parseEvalOutput } from '../../../src/core/evaluations/parse-output.js';
import { configSet } from '../../../src/core/registry/config.js';
import { resolveRef } from '../../../src/core/versions/refs.js';
import { tempRegistry } from '../../helpers.js';
import { dbSnapshot, seedModels } from '../../eval-helpers.js';

test('recording keeps history and the newest value counts, per dataset and slice', async () => {
  const t = tempRegistry();
  try {
    await seedModels(t.reg);
    recordEvaluation(t.reg, {
      model: 'm@1.0.0',
      dataset: 'hold',
      results: { all: { auc: 0.8 }, recent: { auc: 0.7 } },
      actor: 'a',
      source: 'record',
    });
    recordEvaluation(t.reg, {
      model: 'm@1.0.0',
      dataset: 'hold',
      results: { all: { auc: 0.85 } },
      actor: 'b',
      source: 'record',
    });
    recordEvaluation(t.reg, { model: 'm@1.0.0', results: { all: { auc: 0.99 } }, actor: 'c', source: 'record' });
    const id = resolveRef(t.reg, 'm@1.0.0').id;
    const ds = resolveRef(t.reg, 'hold').id;
    const onHold = latestEvaluations(t.reg, id, { datasetVersionId: ds });
    assert.deepEqual(
      onHold.map((e) => [e.slice, e.metric, e.value, e.actor]),
      [
        ['all', 'auc', 0.85, 'b'],
        ['recent', 'auc', 0.7, 'a'],
      ],
    );
    assert.deepEqual(
      latestEvaluations(t.reg, id, { datasetVersionId: null }).map((e) => e.value),
      [0.99],
    );
    assert.equal(latestEvaluations(t.reg, id).length, 3);
    const rows = t.reg.db.prepare('SELECT COUNT(*) AS n FROM evaluations WHERE version_id = ?').get(id) as {
      n: number;
    };
    assert.equal(rows.n, 4, 'history: the replaced value is still stored');
    const events = t.reg.db.prepare("SELECT details FROM events WHERE kind = 'evaluate'").all() as {
      details: string;
    }[];
    assert.equal(events.length, 3);
    assert.equal(JSON.parse(events[0]!.details).dataset, 'hold@1.0.0');
  } finally {
    t.cleanup();
  }
});

test('bad values and wrong kinds are refused and record nothing', async () => {
  const t = tempRegistry();
  try {
    await seedModels(t.reg);
    const before = dbSnapshot(t.root);
    assert.throws(
      () =>
        recordEvaluation(t.reg, {
          model: 'm',
          dataset: 'hold',
          results: { all: { auc: NaN } },
          actor: 'a',
          source: 'record',
        }),
      { code: 'E_BAD_METRIC', exitCode: 2 },
    );
    assert.throws(() => recordEvaluation(t.reg, { model: 'm', results: { all: {} }, actor: 'a', source: 'record' }), {
      code: 'E_NO_METRICS',
    });
    assert.throws(
      () => recordEvaluation(t.reg, { model: 'm', results: { 'bad slice': { auc: 1 } }, actor: 'a', source: 'record' }),
      { code: 'E_BAD_SLICE' },
    );
    assert.throws(
      () => recordEvaluation(t.reg, { model: 'hold', results: { all: { auc: 1 } }, actor: 'a', source: 'record' }),
      { code: 'E_WRONG_KIND' },
    );
    assert.throws(
      () =>
        recordEvaluation(t.reg, {
          model: 'm',
          dataset: 'm@1.0.0',
          results: { all: { auc: 1 } },
          actor: 'a',
          source: 'record',
        }),
      { code: 'E_WRONG_KIND' },
    );
    assert.throws(
      () =>
        recordEvaluation(t.reg, {
          model: 'm',
          dataset: 'nosuch',
          results: { all: { auc: 1 } },
          actor: 'a',
          source: 'record',
        }),
      { exitCode: 3 },
    );
    t.reg.close();
    assert.equal(dbSnapshot(t.root), before);
  } finally {
    t.cleanup();
  }
});

test('metric directions: built in, overridden by config, unknown without a verdict', () => {
  const t = tempRegistry();
  try {
    assert.equal(metricDirection(t.reg, 'auc'), 'higher');
    assert.equal(metricDirection(t.reg, 'log_loss'), 'lower');
    assert.equal(metricDirection(t.reg, 'latency_ms'), undefined);
    assert.equal(metricDirection(t.reg, 'constructor'), undefined, 'no prototype names');
    configSet(t.reg, 'metric.latency_ms.direction', 'lower', 'a');
    configSet(t.reg, 'metric.auc.direction', 'lower', 'a');
    assert.equal(metricDirection(t.reg, 'latency_ms'), 'lower');
    assert.equal(metricDirection(t.reg, 'auc'), 'lower');
    assert.throws(() => configSet(t.reg, 'metric.auc.direction', 'up', 'a'), { code: 'E_BAD_CONFIG_VALUE' });
    const j = judge('lower', 0.3, 0.2);
    assert.equal(j.verdict, 'better');
    assert.ok(Math.abs(j.improvement! - 0.1) < 1e-12 && Math.abs(j.delta + 0.1) < 1e-12);
    assert.equal(judge('higher', 0.3, 0.2).verdict, 'worse');
    assert.equal(judge(undefined, 1, 2).verdict, null);
    assert.equal(judge('higher', 1, 1).verdict, 'same');
  } finally {
    t.cleanup();
  }
});

test('evaluation output: flat, per slice, mixed; everything else refused with the reason', () => {
  assert.deepEqual(parseEvalOutput('{"auc": 0.9}\n', 'x'), { all: { auc: 0.9 } });
  assert.deepEqual(parseEvalOutput('{"all": {"auc": 0.9}, "recent": {"auc": 0.8}}', 'x'), {
    all: { auc: 0.9 },
    recent: { auc: 0.8 },
  });
  assert.deepEqual(parseEvalOutput('{"auc": 0.9, "recent": {"auc": 0.8}}', 'x'), {
    all: { auc: 0.9 },
    recent: { auc: 0.8 },
  });
  const refused: [string, RegExp][] = [
    ['', /printed nothing/],
    ['auc: 0.9', /not one JSON document/],
    ['{"auc": NaN}', /"auc" is NaN/],
    ['{"all": {"auc": -Infinity}}', /"auc" is -Infinity/],
    ['{"auc": "0.9"}', /not a finite number/],
    ['{"auc": null}', /not a finite number/],
    ['[0.9]', /not an object/],
    ['{"auc": 0.9}\n{"auc": 0.8}', /not one JSON document/],
    ['{"recent": {}}', /holds no metrics/],
    ['{"auc": 0.9, "all": {"auc": 0.8}}', /given twice/],
  ];
  for (const [text, message] of refused)
    assert.throws(() => parseEvalOutput(text, 'cmd'), { code: 'E_EVAL_OUTPUT', message }, text);
});
