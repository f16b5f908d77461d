import assert from 'node:assert/strict';
import { it } from 'node:test';
import { buildShim, callsOf, type Fault, type Outcome, SCENARIOS, spread, summarise, sweepOnce } from './sweep.js';

/**
 * The heavy sweep (npm run test:faults, run by .ci/run): every scenario with EIO, ENOSPC and EINVAL
 * at spread-out calls, and a crash (SIGKILL) at as many; each run followed by the invariants.
 * MLREG_FAULT_POINTS sets the points per scenario and fault (default 8).
 */

const shim = buildShim();
const points = Number(process.env.MLREG_FAULT_POINTS ?? 8);

it('fault sweep: EIO, ENOSPC, EINVAL and crashes over add, promote/rollback --checkout, backup, restore, gc', {
  skip: shim.skip,
  timeout: 20 * 60_000,
}, async () => {
  const outcomes: Outcome[] = [];
  for (const s of SCENARIOS) {
    const total = await callsOf(s);
    for (const fault of ['EIO', 'ENOSPC', 'EINVAL', 'CRASH'] as Fault[]) {
      for (const at of spread(total, fault === 'EIO' || fault === 'CRASH' ? points : Math.ceil(points / 2)))
        outcomes.push(await sweepOnce(s, at, fault));
    }
  }
  const report = summarise(outcomes);
  console.log(report);
  swept += outcomes.length;
  ahead.push(...outcomes.filter((o) => o.violations.some(isAhead)));
  assert.equal(outcomes.filter((o) => o.violations.length).length, 0, report);
});

/**
 * promote/rollback --checkout switch DIR/current only after the stage move committed: no crash or
 * fault anywhere leaves current on a version the stage never held (it may lag, and follow --once
 * catches it up; sweepOnce checks that too).
 */
const ahead: Outcome[] = [];
let swept = 0;
const isAhead = (v: string): boolean => /current serves .*, ahead of production/.test(v);
it('no crash between the switch of DIR/current and the commit leaves current ahead of its stage', {
  skip: shim.skip,
}, () => {
  assert.ok(swept > 0, 'the sweep above ran');
  assert.deepEqual(
    ahead.map((o) => `${o.scenario} ${o.fault}@${o.at}`),
    [],
  );
});
