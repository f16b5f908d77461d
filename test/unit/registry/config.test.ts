import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configList, configSet } from '../../../src/core/registry/config.js';
import { resolveThresholds } from '../../../src/core/datasets/thresholds.js';
import { InvalidInputError } from '../../../src/core/errors.js';
import { tempRegistry } from '../../helpers.js';

function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InvalidInputError, String(err));
    assert.match(err.message, message);
    return true;
  });
}

test('p-values and shares take numbers from 0 to 1, at set and as flags', () => {
  const t = tempRegistry();
  try {
    refused(() => configSet(t.reg, 'check.ks_p', '2', 'a'), /check\.ks_p takes a number from 0 to 1, not "2"/);
    refused(() => configSet(t.reg, 'check.drift_share', '5', 'a'), /from 0 to 1/);
    assert.equal(configSet(t.reg, 'check.drift_share', '0.3', 'a').value, '0.3');
    // A ratio may exceed 1.
    assert.equal(configSet(t.reg, 'check.mean_shift_std', '3', 'a').value, '3');
    refused(() => resolveThresholds(() => undefined, { ksP: 2 }), /threshold ks_p takes a number from 0 to 1/);
  } finally {
    t.cleanup();
  }
});

test('std ratio bands are checked against each other when one is set, and nothing changes on refusal', () => {
  const t = tempRegistry();
  try {
    refused(
      () => configSet(t.reg, 'check.std_ratio_warn_min', '3', 'a'),
      /would make the std ratio bands cross: std_ratio_warn_min 3 is above 1 \(no change\)/,
    );
    assert.equal(configList(t.reg).find((s) => s.key === 'check.std_ratio_warn_min')?.source, 'default');
    configSet(t.reg, 'check.std_ratio_fail_max', '3', 'a');
    configSet(t.reg, 'check.std_ratio_warn_max', '2.5', 'a');
    refused(
      () => configSet(t.reg, 'check.std_ratio_fail_max', '2', 'a'),
      /std_ratio_warn_max 2\.5 is above std_ratio_fail_max 2/,
    );
  } finally {
    t.cleanup();
  }
});

test('config list shows every setting in effect with its source', () => {
  const t = tempRegistry();
  try {
    const before = configList(t.reg);
    assert.ok(before.length >= 14, 'every threshold has a default');
    assert.deepEqual(
      before.find((s) => s.key === 'check.ks_p'),
      { key: 'check.ks_p', value: '0.05', source: 'default' },
    );
    configSet(t.reg, 'check.ks_p', '0.01', 'a');
    configSet(t.reg, 'metric.latency.direction', 'lower', 'a');
    const after = configList(t.reg);
    assert.deepEqual(
      after.filter((s) => s.key === 'check.ks_p'),
      [{ key: 'check.ks_p', value: '0.01', source: 'set' }],
    );
    assert.deepEqual(
      after.find((s) => s.key === 'metric.latency.direction'),
      { key: 'metric.latency.direction', value: 'lower', source: 'set' },
    );
  } finally {
    t.cleanup();
  }
});
