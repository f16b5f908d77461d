import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordEvaluation } from '../../../src/core/evaluations/record.js';
import { promoteGated } from '../../../src/core/stages/gated-promote.js';
import { promote } from '../../../src/core/stages/promote.js';
import { configSet } from '../../../src/core/registry/config.js';
import { resolveRef } from '../../../src/core/versions/refs.js';
import type { GateReport } from '../../../src/core/evaluations/gates.js';
import { asPrinted, tempRegistry } from '../../helpers.js';
import { dbSnapshot, SCORE, seedModels } from '../../eval-helpers.js';

const rec = (
  reg: Parameters<typeof recordEvaluation>[0],
  model: string,
  results: Record<string, Record<string, number>>,
) => recordEvaluation(reg, { model, dataset: 'hold', results, actor: 'tester', source: 'record' });

async function withChampion(fn: (t: ReturnType<typeof tempRegistry>) => Promise<void>): Promise<void> {
  const t = tempRegistry();
  try {
    await seedModels(t.reg);
    promote(t.reg, { ref: 'm@1.0.0', stage: 'production', actor: 'tester' });
    await fn(t);
  } finally {
    t.cleanup();
  }
}

/** Expect the promotion to be refused with `code` and exit `exitCode`, changing nothing. Returns the error. */
async function refused(
  t: ReturnType<typeof tempRegistry>,
  opts: Parameters<typeof promoteGated>[1],
  code: string,
  exitCode: number,
  message?: RegExp,
): Promise<any> {
  const before = dbSnapshot(t.root);
  let caught: any;
  await assert.rejects(promoteGated(t.reg, opts), (err: any) => {
    caught = err;
    assert.equal(err.code, code);
    assert.equal(err.exitCode, exitCode);
    if (message) assert.match(asPrinted(err.message), message);
    return true;
  });
  assert.equal(dbSnapshot(t.root), before, 'registry unchanged');
  return caught;
}

const base = { ref: 'm@1.1.0', stage: 'production', actor: 'tester' };

test('no holder: promote, with the challenger values in the event', async () => {
  const t = tempRegistry();
  try {
    await seedModels(t.reg);
    rec(t.reg, 'm@1.1.0', { all: { auc: 0.9 } });
    const move = await promoteGated(t.reg, { ...base, gate: { metric: 'auc', dataset: 'hold' } });
    assert.equal(move.changed, true);
    assert.equal(move.gate!.baseline, 'none');
    const ev = t.reg.db.prepare("SELECT details FROM events WHERE kind = 'promote'").get() as { details: string };
    assert.equal(JSON.parse(ev.details).gate.rows[0].challenger, 0.9);
  } finally {
    t.cleanup();
  }
});

test('better: promoted, and the gate report is recorded in the promote event', () =>
  withChampion(async (t) => {
    rec(t.reg, 'm@1.0.0', { all: { auc: 0.9 } });
    rec(t.reg, 'm@1.1.0', { all: { auc: 0.92 } });
    const move = await promoteGated(t.reg, {
      ...base,
      gate: { metric: 'auc', dataset: 'hold@latest', minDelta: 0.01 },
    });
    assert.equal(move.to, '1.1.0');
    assert.equal(move.gate!.passed, true);
    const ev = t.reg.db.prepare("SELECT details FROM events WHERE kind = 'promote' ORDER BY id DESC").get() as {
      details: string;
    };
    const gate = JSON.parse(ev.details).gate as GateReport;
    assert.equal(gate.champion!.version, '1.0.0');
    assert.ok(Math.abs(gate.rows[0]!.delta! - 0.02) < 1e-12);
  }));

test('not better, and not better by --min-delta: exit 1 with the numbers, nothing changed', () =>
  withChampion(async (t) => {
    rec(t.reg, 'm@1.0.0', { all: { auc: 0.9, log_loss: 0.3 } });
    rec(t.reg, 'm@1.1.0', { all: { auc: 0.89, log_loss: 0.29 } });
    const err = await refused(
      t,
      { ...base, gate: { metric: 'auc', dataset: 'hold' } },
      'E_NOT_BETTER',
      1,
      /0\.89 vs 0\.9 is not better/,
    );
    assert.equal(err.details.rows[0].champion, 0.9);
    // lower is better for log_loss: 0.29 beats 0.30, but not by 0.02
    await refused(
      t,
      { ...base, gate: { metric: 'log_loss', dataset: 'hold', minDelta: 0.02 } },
      'E_NOT_BETTER',
      1,
      /improves by 0\.01, less than --min-delta 0\.02/,
    );
    const ok = await promoteGated(t.reg, { ...base, gate: { metric: 'log_loss', dataset: 'hold', minDelta: 0.005 } });
    assert.equal(ok.changed, true);
  }));

test('equal values are not better', () =>
  withChampion(async (t) => {
    rec(t.reg, 'm@1.0.0', { all: { auc: 0.9 } });
    rec(t.reg, 'm@1.1.0', { all: { auc: 0.9 } });
    await refused(t, { ...base, gate: { metric: 'auc', dataset: 'hold' } }, 'E_NOT_BETTER', 1);
  }));

test('--slice: better on every listed slice; --all-slices: no slice worse than --max-slice-regression', () =>
  withChampion(async (t) => {
    rec(t.reg, 'm@1.0.0', { all: { auc: 0.9 }, recent: { auc: 0.85 }, mobile: { auc: 0.8 } });
    rec(t.reg, 'm@1.1.0', { all: { auc: 0.92 }, recent: { auc: 0.84 }, mobile: { auc: 0.83 } });
    await refused(
      t,
      { ...base, gate: { metric: 'auc', dataset: 'hold', slices: ['all', 'recent'] } },
      'E_NOT_BETTER',
      1,
      /slice recent/,
    );
    await refused(
      t,
      { ...base, gate: { metric: 'auc', dataset: 'hold', allSlices: true } },
      'E_NOT_BETTER',
      1,
      /worse by 0\.01, more than --max-slice-regression 0/,
    );
    await refused(
      t,
      { ...base, gate: { metric: 'auc', dataset: 'hold', allSlices: true, maxSliceRegression: 0.005 } },
      'E_NOT_BETTER',
      1,
    );
    const move = await promoteGated(t.reg, {
      ...base,
      gate: { metric: 'auc', dataset: 'hold', allSlices: true, maxSliceRegression: 0.02 },
    });
    assert.deepEqual(
      move.gate!.rows.map((r) => [r.slice, r.rule, r.pass]),
      [
        ['all', 'better', true],
        ['mobile', 'no-worse', true],
        ['recent', 'no-worse', true],
      ],
    );
  }));

test('champion not evaluated on the dataset: exit 1 with a hint; challenger not evaluated likewise', () =>
  withChampion(async (t) => {
    rec(t.reg, 'm@1.1.0', { all: { auc: 0.95 } });
    const err = await refused(
      t,
      { ...base, gate: { metric: 'auc', dataset: 'hold' } },
      'E_CHAMPION_NOT_EVALUATED',
      1,
      /m@1\.0\.0 \(holding production\) was not evaluated on hold@1\.0\.0/,
    );
    assert.match(asPrinted(err.hint), /mlreg eval run m@1\.0\.0 --on hold@1\.0\.0/);
    rec(t.reg, 'm@1.0.0', { all: { auc: 0.9 }, recent: { auc: 0.9 } });
    await refused(
      t,
      { ...base, gate: { metric: 'auc', dataset: 'hold', slices: ['recent'] } },
      'E_CHALLENGER_NOT_EVALUATED',
      1,
    );
  }));

test('bad input: unknown slice, metric neither side has, metric without a direction, bad options', () =>
  withChampion(async (t) => {
    rec(t.reg, 'm@1.0.0', { all: { auc: 0.9, latency: 3 } });
    rec(t.reg, 'm@1.1.0', { all: { auc: 0.95, latency: 2 } });
    const e1 = await refused(
      t,
      { ...base, gate: { metric: 'auc', dataset: 'hold', slices: ['nosuch'] } },
      'E_UNKNOWN_SLICE',
      2,
      /slice "nosuch"/,
    );
    assert.match(e1.hint, /all/);
    const e2 = await refused(
      t,
      { ...base, gate: { metric: 'f1', dataset: 'hold' } },
      'E_UNKNOWN_METRIC',
      2,
      /neither m@1\.1\.0 nor m@1\.0\.0 has an evaluation of f1/,
    );
    assert.match(e2.hint, /auc, latency/);
    await refused(
      t,
      { ...base, gate: { metric: 'latency', dataset: 'hold' } },
      'E_NO_DIRECTION',
      2,
      /higher or a lower latency/,
    );
    await refused(t, { ...base, gate: { metric: 'auc', dataset: 'm@1.0.0' } }, 'E_WRONG_KIND', 2);
    await refused(t, { ...base, gate: { metric: 'auc', dataset: 'hold', minDelta: -1 } }, 'E_BAD_GATE', 2);
    await refused(t, { ...base, gate: { metric: 'auc', dataset: 'hold', maxSliceRegression: 0.1 } }, 'E_BAD_GATE', 2);
    await refused(
      t,
      { ...base, gate: { metric: 'auc', dataset: 'hold', allSlices: true, slices: ['all'] } },
      'E_BAD_GATE',
      2,
    );
    configSet(t.reg, 'metric.latency.direction', 'lower', 'tester');
    assert.equal((await promoteGated(t.reg, { ...base, gate: { metric: 'latency', dataset: 'hold' } })).changed, true);
  }));

test('deprecated holder: not a baseline, so the challenger replaces it; the report says so', () =>
  withChampion(async (t) => {
    rec(t.reg, 'm@1.0.0', { all: { auc: 0.99 } });
    rec(t.reg, 'm@1.1.0', { all: { auc: 0.9 } });
    await refused(t, { ...base, gate: { metric: 'auc', dataset: 'hold' } }, 'E_NOT_BETTER', 1);
    t.reg.db
      .prepare(
        "UPDATE versions SET deprecated_at = '2026-11-24T00:00:00Z', deprecated_by = 'oncall', deprecated_reason = 'leaks labels' WHERE version = '1.0.0'",
      )
      .run();
    const move = await promoteGated(t.reg, { ...base, gate: { metric: 'auc', dataset: 'hold' } });
    assert.equal(move.changed, true);
    assert.equal(move.gate!.baseline, 'deprecated-champion');
    assert.equal(move.gate!.rows[0]!.champion, 0.99, 'the numbers are still shown');
    assert.match(move.gate!.summary, /deprecated: it is not a baseline/);
  }));

test('stage order: staging before production; --force overrides and is logged', async () => {
  const t = tempRegistry();
  try {
    await seedModels(t.reg);
    configSet(t.reg, 'stage.order', 'staging,production', 'tester');
    const err = await refused(
      t,
      { ref: 'm@1.0.0', stage: 'production', actor: 'tester' },
      'E_STAGE_ORDER',
      1,
      /never held staging/,
    );
    assert.equal(err.details.requires, 'staging');
    await promoteGated(t.reg, { ref: 'm@1.0.0', stage: 'staging', actor: 'tester' });
    await promoteGated(t.reg, { ref: 'm@1.1.0', stage: 'staging', actor: 'tester' });
    // 1.0.0 no longer holds staging, but it did: that is enough
    const ok = await promoteGated(t.reg, { ref: 'm@1.0.0', stage: 'production', actor: 'tester' });
    assert.equal(ok.policy!.held, true);
    const forced = await promoteGated(t.reg, { ref: 'm@1.2.0', stage: 'production', actor: 'tester', force: true });
    assert.equal(forced.changed, true);
    const ev = t.reg.db.prepare("SELECT details FROM events WHERE kind = 'promote' ORDER BY id DESC").get() as {
      details: string;
    };
    assert.deepEqual(JSON.parse(ev.details).policy.forced, true);
    assert.equal(JSON.parse(ev.details).force, true);
    // datasets are not held to the order
    assert.equal((await promoteGated(t.reg, { ref: 'hold', stage: 'production', actor: 'tester' })).changed, true);
  } finally {
    t.cleanup();
  }
});

test('--eval-cmd evaluates only the side that lacks the evaluation, then gates on it', () =>
  withChampion(async (t) => {
    rec(t.reg, 'm@1.1.0', { all: { accuracy: 0.5 } }); // stale manual value: the run must not replace the challenger's (it has one)
    const move = await promoteGated(t.reg, {
      ref: 'm@1.2.0',
      stage: 'production',
      actor: 'tester',
      gate: { metric: 'accuracy', dataset: 'hold', slices: ['recent'] },
      evalCommand: {
        command: `"${process.execPath}" "${SCORE}" --model {model} --data {dataset}`,
        env: { PATH: process.env.PATH },
        cwd: t.dir,
      },
    });
    assert.deepEqual(
      move.evaluated!.runs.map((r) => r.model.version),
      ['1.2.0', '1.0.0'],
    );
    assert.equal(move.to, '1.2.0');
    const again = await promoteGated(t.reg, {
      ref: 'm@1.1.0',
      stage: 'production',
      actor: 'tester',
      gate: { metric: 'accuracy', dataset: 'hold' },
      evalCommand: { command: `"${process.execPath}" "${SCORE}"`, env: { PATH: process.env.PATH }, cwd: t.dir },
    }).catch((e) => e);
    assert.equal(again.code, 'E_NOT_BETTER', 'only 1.2.0 lacked nothing; 1.1.0 kept its stale 0.5');
    assert.equal(again.details.rows[0].challenger, 0.5);
    assert.equal(resolveRef(t.reg, 'm@production').version, '1.2.0');
  }));
