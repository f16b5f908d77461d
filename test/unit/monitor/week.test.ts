import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry, type Runtime } from '../../../src/core/registry/registry.js';
import { addVersion } from '../../../src/core/versions/add.js';
import { promote } from '../../../src/core/stages/promote.js';
import { history } from '../../../src/core/registry/history.js';
import { resolveRef } from '../../../src/core/versions/refs.js';
import { recordObservations } from '../../../src/core/monitor/observations.js';
import { autoRollback, checkRules, type RuleSpec } from '../../../src/core/monitor/check.js';
import { raiseAlert } from '../../../src/core/monitor/raise.js';
import { parseRule } from '../../../src/core/monitor/rules.js';
import { series } from '../../../src/core/monitor/series.js';
import { tempDir, testRuntime } from '../../helpers.js';

const HOUR = 3_600_000;
const MONDAY = Date.parse('2026-11-16T00:00:00Z');

const PRODUCTION = { name: 'fraud', stage: 'production' };

/** A registry whose clock the test moves, with the model fraud and its production stage. */
function clockRegistry() {
  const t = tempDir();
  let now = MONDAY;
  const runtime: Runtime = { ...testRuntime, now: () => new Date(now) };
  const root = join(t.path, 'reg');
  Registry.init(root, runtime);
  const reg = Registry.open(root, runtime);
  /** Versions of fraud: `versions` numbers them, else add does (1.0.0, 1.1.0, …). */
  const addModels = async (versions: (string | undefined)[]) => {
    for (const [i, version] of versions.entries()) {
      const path = join(t.path, `m${i + 1}.bin`);
      writeFileSync(path, `weights ${i + 1}`);
      await addVersion(reg, { kind: 'model', name: 'fraud', path, ...(version ? { version } : {}), actor: 'ml' });
    }
  };
  /** Observations of fraud@production, as a scoring job records them. */
  const observe = (values: Record<string, number>, opts: { source?: string; actor?: string; at?: string } = {}) =>
    recordObservations(reg, {
      target: PRODUCTION,
      values: Object.entries(values).map(([metric, value]) => ({ metric, value })),
      source: opts.source ?? 'live',
      actor: opts.actor ?? 'x',
      ...(opts.at ? { at: opts.at } : {}),
    });
  return {
    reg,
    dir: t.path,
    addModels,
    observe,
    setTime: (ms: number) => (now = ms),
    cleanup: () => (reg.close(), t.cleanup()),
  };
}

test('a simulated week: version 2 degrades after promotion, auto-rollback fires once, back to version 1, a second run does nothing', async () => {
  const w = clockRegistry();
  try {
    await w.addModels(['1.0.0', '2.0.0']);
    promote(w.reg, { ref: 'fraud@1.0.0', stage: 'production', actor: 'ml' });
    const specs: RuleSpec[] = [
      { rule: parseRule('auc < 0.85'), window: 6 },
      { rule: parseRule('auc drops 0.05 vs previous'), window: 6 },
    ];
    const firings: { at: string; version: string }[] = [];
    const statuses = new Set<string>();
    // Hourly scores of whatever version serves; a cron check every 3 hours.
    for (let h = 0; h < 7 * 24; h++) {
      const at = MONDAY + h * HOUR;
      w.setTime(at);
      if (h === 3 * 24 + 9)
        promote(w.reg, { ref: 'fraud@2.0.0', stage: 'production', actor: 'ml', reason: 'beats 1.0.0 on holdout' });
      const serving = resolveRef(w.reg, 'fraud@production').version;
      // 1.0.0 holds steady around 0.91; 2.0.0 starts at 0.93 and loses 0.004 an hour from Thursday noon.
      const sinceV2 = h - (3 * 24 + 9);
      const auc = serving === '1.0.0' ? 0.91 + 0.005 * Math.sin(h) : 0.93 - Math.max(0, sinceV2 - 3) * 0.004;
      w.observe({ auc }, { source: 'score', actor: 'labels-job' });
      if (h % 3 === 2) {
        const report = checkRules(w.reg, PRODUCTION, specs);
        statuses.add(report.status);
        if (report.status === 'alert') {
          const raised = await raiseAlert(w.reg, report, { actor: 'monitor-cron', autoRollback: true, channels: {} });
          assert.ok(raised.rollback?.done, 'the first firing rolls back');
          firings.push({ at: new Date(at).toISOString(), version: report.version });
          // The same cron job running again right away finds 1.0.0 healthy: nothing to do.
          const again = checkRules(w.reg, PRODUCTION, specs);
          assert.equal(again.version, '1.0.0');
          assert.notEqual(again.status, 'alert');
        }
      }
    }
    assert.equal(firings.length, 1, `fired ${JSON.stringify(firings)}`);
    assert.equal(firings[0]!.version, '2.0.0');
    assert.ok(
      statuses.has('insufficient data'),
      'right after the promotion 2.0.0 had too few observations: insufficient data, not an alert',
    );
    assert.equal(resolveRef(w.reg, 'fraud@production').version, '1.0.0');
    const h = history(w.reg, 'fraud');
    const rollbacks = h.events.filter((e) => e.kind === 'rollback');
    assert.equal(rollbacks.length, 1);
    assert.equal(rollbacks[0]!.actor, 'monitor-cron');
    assert.match(rollbacks[0]!.reason!, /^auto: auc drops 0\.05 vs previous \(2\.0\.0 0\.8\d+ vs 1\.0\.0 0\.9\d+\)$/);
    const alerts = history(w.reg, 'fraud', { all: true }).events.filter((e) => e.kind === 'alert');
    assert.equal(alerts.length, 1);
    // The series keeps the versions apart: 1.0.0, 2.0.0, then 1.0.0 again.
    const s = series(w.reg, PRODUCTION, { metric: 'auc' });
    assert.deepEqual(
      s.series[0]!.segments.map((g) => g.version),
      ['1.0.0', '2.0.0', '1.0.0'],
    );
    assert.equal(
      s.series[0]!.segments.reduce((n, g) => n + g.count, 0),
      7 * 24,
    );
    assert.deepEqual(
      s.changes.map((c) => `${c.kind} ${c.from}→${c.to}`),
      ['promote null→1.0.0', 'promote 1.0.0→2.0.0', 'rollback 2.0.0→1.0.0'],
    );
  } finally {
    w.cleanup();
  }
});

test('two cron jobs that see the same failure roll back once (compare-and-swap on the failing version)', async () => {
  const w = clockRegistry();
  try {
    await w.addModels(['1.0.0', '2.0.0', '3.0.0']);
    for (const v of ['1.0.0', '2.0.0', '3.0.0'])
      promote(w.reg, { ref: `fraud@${v}`, stage: 'production', actor: 'ml' });
    for (let i = 0; i < 3; i++) {
      w.setTime(MONDAY + (i + 1) * HOUR);
      w.observe({ auc: 0.7 });
    }
    const specs = [{ rule: parseRule('auc < 0.85'), window: 3 }];
    const a = checkRules(w.reg, PRODUCTION, specs);
    const b = checkRules(w.reg, PRODUCTION, specs);
    const first = autoRollback(w.reg, a, 'cron-a');
    const second = autoRollback(w.reg, b, 'cron-b');
    assert.deepEqual([first.done, first.to], [true, '2.0.0']);
    assert.equal(second.done, false);
    assert.equal(second.code, 'E_STAGE_MOVED');
    assert.equal(resolveRef(w.reg, 'fraud@production').version, '2.0.0', 'not rolled back twice (to 1.0.0)');
  } finally {
    w.cleanup();
  }
});

test('observations go to the version holding the stage at --at, not to whoever holds it when the labels arrive', async () => {
  const w = clockRegistry();
  try {
    await w.addModels(['1.0.0', '2.0.0']);
    promote(w.reg, { ref: 'fraud@1.0.0', stage: 'production', actor: 'ml' });
    w.setTime(MONDAY + 24 * HOUR);
    promote(w.reg, { ref: 'fraud@2.0.0', stage: 'production', actor: 'ml' });
    w.setTime(MONDAY + 48 * HOUR);
    const late = w.observe({ auc: 0.9 }, { source: 'score', at: new Date(MONDAY + 12 * HOUR).toISOString() });
    assert.equal(late.version, '1.0.0');
    const now = w.observe({ auc: 0.9 }, { source: 'score' });
    assert.equal(now.version, '2.0.0');
    assert.throws(
      () => w.observe({ auc: 0.9 }, { source: 'score', at: '2026-11-01T00:00:00Z' }),
      /had no \(existing\) version at/,
    );
    assert.throws(() => w.observe({ auc: 0.9 }, { source: 'score', at: '2027-01-01T00:00:00Z' }), /is in the future/);
  } finally {
    w.cleanup();
  }
});

test('a data rule alerts but never rolls back; with a model rule firing too, the rollback names only the model rule', async () => {
  const w = clockRegistry();
  try {
    await w.addModels([undefined, undefined]);
    for (const v of ['1.0.0', '1.1.0']) promote(w.reg, { ref: `fraud@${v}`, stage: 'production', actor: 'ml' });
    for (let i = 0; i < 3; i++) {
      w.setTime(MONDAY + (i + 1) * HOUR);
      w.observe({ 'missing_rate:amount': 0.4, auc: 0.7 });
    }
    const data = [{ rule: parseRule('missing_rate:amount > 0.05'), window: 3 }];
    const onlyData = checkRules(w.reg, PRODUCTION, data);
    assert.equal(onlyData.status, 'alert');
    const kept = autoRollback(w.reg, onlyData, 'cron');
    assert.equal(kept.done, false);
    assert.equal(kept.code, 'E_DATA_RULES_ONLY');
    assert.equal(resolveRef(w.reg, 'fraud@production').version, '1.1.0');

    const both = checkRules(w.reg, PRODUCTION, [...data, { rule: parseRule('auc < 0.85'), window: 3 }]);
    const rolled = autoRollback(w.reg, both, 'cron');
    assert.deepEqual([rolled.done, rolled.to], [true, '1.0.0']);
    assert.match(rolled.reason, /auc < 0\.85/);
    assert.doesNotMatch(rolled.reason, /missing_rate/);
  } finally {
    w.cleanup();
  }
});

test('a rule scoped to a source ignores a small import from another source', async () => {
  const w = clockRegistry();
  try {
    await w.addModels([undefined]);
    promote(w.reg, { ref: 'fraud@1.0.0', stage: 'production', actor: 'ml' });
    const record = (source: string, value: number, hour: number) => {
      w.setTime(MONDAY + hour * HOUR);
      w.observe({ auc: value }, { source });
    };
    for (let h = 1; h <= 3; h++) record('live', 0.95, h);
    record('review', 0.5, 4); // six labelled rows from a review: a noisy number
    const target = PRODUCTION;
    const everySource = checkRules(w.reg, target, [{ rule: parseRule('auc < 0.9'), window: 3 }]);
    assert.equal(everySource.status, 'alert', 'without a source the review drags the mean down');
    const liveOnly = checkRules(w.reg, target, [{ rule: parseRule('auc < 0.9', 'live'), window: 3 }]);
    assert.equal(liveOnly.status, 'ok');
    const s = series(w.reg, target, { metric: 'auc' });
    assert.deepEqual(
      s.series.map((x) => [x.source, x.segments[0]!.count]),
      [
        ['live', 3],
        ['review', 1],
      ],
    );
  } finally {
    w.cleanup();
  }
});
