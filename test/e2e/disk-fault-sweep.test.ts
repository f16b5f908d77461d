import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildShim, callsOf, SCENARIOS, spread, summarise, sweepOnce, type Outcome } from '../faults/sweep.js';

/**
 * A sample of the fault sweep in every test run: each command of the sweep, with EIO at three of its
 * calls and a crash at one. Its own file, so that it runs beside the other disk-fault cases.
 */

const shim = buildShim();

describe('the fault sweep (small; npm run test:faults runs the heavy one)', { skip: shim.skip }, () => {
  it('EIO, ENOSPC and a crash at sampled calls of add, promote/rollback --checkout, backup, restore, gc', async () => {
    const outcomes: Outcome[] = [];
    for (const s of SCENARIOS) {
      const total = await callsOf(s);
      const points = spread(total, 3);
      for (const at of points) outcomes.push(await sweepOnce(s, at, 'EIO'));
      outcomes.push(await sweepOnce(s, points[1] ?? 1, 'CRASH'));
    }
    const report = summarise(outcomes);
    console.log(report);
    assert.equal(outcomes.filter((o) => o.violations.length).length, 0, report);
  });
});
