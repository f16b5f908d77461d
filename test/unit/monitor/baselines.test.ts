import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addVersion } from '../../../src/core/versions/add.js';
import { promote } from '../../../src/core/stages/promote.js';
import { recordEvaluation } from '../../../src/core/evaluations/record.js';
import { configSet } from '../../../src/core/registry/config.js';
import { recordObservations } from '../../../src/core/monitor/observations.js';
import { assertKnownMetric, checkRules } from '../../../src/core/monitor/check.js';
import { parseRule } from '../../../src/core/monitor/rules.js';
import { InvalidInputError } from '../../../src/core/errors.js';
import { tempRegistry } from '../../helpers.js';
import type { Registry } from '../../../src/core/registry/registry.js';

const target = { name: 'fraud', stage: 'production' };

async function setup(reg: Registry, dir: string): Promise<void> {
  writeFileSync(join(dir, 'holdout.csv'), 'x,y\n1,0\n2,1\n3,0\n');
  await addVersion(reg, { kind: 'dataset', name: 'holdout', path: join(dir, 'holdout.csv'), actor: 'ml' });
  for (const i of [1, 2]) {
    writeFileSync(join(dir, `m${i}.bin`), `weights ${i}`);
    await addVersion(reg, {
      kind: 'model',
      name: 'fraud',
      path: join(dir, `m${i}.bin`),
      version: `${i}.0.0`,
      actor: 'ml',
    });
  }
  promote(reg, { ref: 'fraud@1.0.0', stage: 'production', actor: 'ml' });
}

const observe = (reg: Registry, metric: string, ...values: number[]) => {
  for (const value of values)
    recordObservations(reg, { target, values: [{ metric, value }], source: 'live', actor: 'x' });
};

test('"drops … vs eval DATASET": the live mean against the holder\'s own evaluation on that dataset', async () => {
  const t = tempRegistry();
  try {
    await setup(t.reg, t.dir);
    const spec = [{ rule: parseRule('auc drops 0.05 vs eval holdout@latest'), window: 3 }];
    observe(t.reg, 'auc', 0.86, 0.85, 0.84);
    const none = checkRules(t.reg, target, spec);
    assert.equal(none.results[0]!.status, 'insufficient data');
    assert.match(none.results[0]!.message, /no evaluation of auc for 1\.0\.0 on holdout@1\.0\.0/);
    recordEvaluation(t.reg, {
      model: 'fraud@1.0.0',
      dataset: 'holdout@1.0.0',
      results: { all: { auc: 0.88 } },
      actor: 'ml',
      source: 'record',
    });
    const ok = checkRules(t.reg, target, spec);
    assert.equal(ok.status, 'ok', ok.results[0]!.message);
    recordEvaluation(t.reg, {
      model: 'fraud@1.0.0',
      dataset: 'holdout@1.0.0',
      results: { all: { auc: 0.92 } },
      actor: 'ml',
      source: 'record',
    });
    const fired = checkRules(t.reg, target, spec);
    assert.equal(fired.status, 'alert');
    assert.ok(Math.abs(fired.results[0]!.change! - 0.07) < 1e-9);
    assert.match(
      fired.results[0]!.message,
      /1\.0\.0 mean 0\.85 vs 1\.0\.0 on holdout@1\.0\.0 evaluation 0\.92 \(drop 0\.07\)/,
    );
  } finally {
    t.cleanup();
  }
});

test('"worsens" follows the metric direction: a rise of log_loss, a fall of auc; unknown direction is refused', async () => {
  const t = tempRegistry();
  try {
    await setup(t.reg, t.dir);
    observe(t.reg, 'log_loss', 0.3, 0.3);
    observe(t.reg, 'latency_ms', 40, 40);
    promote(t.reg, { ref: 'fraud@2.0.0', stage: 'production', actor: 'ml' });
    observe(t.reg, 'log_loss', 0.36, 0.34);
    observe(t.reg, 'latency_ms', 80, 80);
    const r = checkRules(t.reg, target, [{ rule: parseRule('log_loss worsens 0.04 vs previous'), window: 2 }]);
    assert.equal(r.status, 'alert', r.results[0]!.message);
    assert.match(r.results[0]!.message, /worse by 0\.05/);
    const latency = parseRule('latency_ms worsens 10 vs previous');
    assert.throws(
      () => assertKnownMetric(t.reg, 1, 'fraud', latency),
      (e: unknown) => e instanceof InvalidInputError && e.code === 'E_NO_DIRECTION',
    );
    configSet(t.reg, 'metric.latency_ms.direction', 'lower', 'ml');
    const l = checkRules(t.reg, target, [{ rule: latency, window: 2 }]);
    assert.equal(l.status, 'alert');
  } finally {
    t.cleanup();
  }
});
