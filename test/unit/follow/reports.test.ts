import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reporter } from '../../../src/core/follow/reports.js';
import type { Served } from '../../../src/core/follow/follow.js';
import { parseOperation, type FollowerReportOp } from '../../../src/core/remote/ops.js';
import { webhookEventsFor } from '../../../src/core/webhooks/events.js';

const served = (version: string, changed: boolean): Served => ({
  name: 'm',
  stage: 'production',
  version,
  digest: 'a'.repeat(64),
  previous: null,
  path: '/srv/m/versions/' + version,
  switchedAt: '2026-11-30T10:00:00.000Z',
  changed,
  reused: false,
  hook: null,
});

test('a follower writes a report on a switch, at start, and as a heartbeat at most every heartbeatMs', async () => {
  let clock = Date.parse('2026-11-30T10:00:00Z');
  const written: FollowerReportOp[] = [];
  let failNext = false;
  const report = reporter({
    follower: 'web-1',
    host: 'web-1.example',
    actor: 'svc',
    heartbeatMs: 60_000,
    now: () => new Date(clock),
    write: async (op) => {
      if (failNext) {
        failNext = false;
        throw new Error('remote down');
      }
      written.push(op);
    },
  });
  await report(served('1.0.0', false)); // start: a heartbeat
  clock += 5_000;
  await report(served('1.0.0', false)); // idle: nothing
  clock += 5_000;
  failNext = true;
  await assert.rejects(report(served('1.1.0', true))); // the switch's report fails…
  clock += 5_000;
  await report(served('1.1.0', false)); // …and the next round still reports it as the deployment
  clock += 30_000;
  await report(served('1.1.0', false)); // 30 s later: not due
  clock += 31_000;
  await report(served('1.1.0', false)); // past the heartbeat: due
  assert.deepEqual(
    written.map((o) => [o.version, o.deployed, o.at.slice(11, 19)]),
    [
      ['1.0.0', false, '10:00:00'],
      ['1.1.0', true, '10:00:15'],
      ['1.1.0', false, '10:01:16'],
    ],
  );
  // What a follower writes is what a replica accepts from the remote log.
  assert.deepEqual(parseOperation(JSON.parse(JSON.stringify(written[1])), 'entry'), written[1]);
});

test('a follower.report from the remote log is checked like any operation', () => {
  const good = {
    op: 'follower.report',
    at: '2026-11-30T10:00:00.000Z',
    name: 'm',
    stage: 'production',
    follower: 'web-1',
    host: 'h',
    version: '1.0.0',
    digest: 'a'.repeat(64),
    switchedAt: '2026-11-30T10:00:00.000Z',
    previous: null,
    hook: { result: 'ok', exitCode: 0, ms: 3, message: null },
    heartbeatMs: 60000,
    deployed: true,
  };
  assert.equal(parseOperation(good, 'e').op, 'follower.report');
  for (const bad of [
    { version: '../../etc' },
    { stage: 'a/b' },
    { follower: 'x\u0000y' },
    { hook: { result: 'maybe', exitCode: 0, ms: 1, message: null } },
    { deployed: 'yes' },
    { extra: 1 },
  ])
    assert.throws(
      () => parseOperation({ ...good, ...bad }, 'e'),
      { code: 'E_REMOTE_ENTRY_INVALID' },
      JSON.stringify(bad),
    );
});

test("a follower's switch is a deploy webhook event; its heartbeats are not events", () => {
  const op = (deployed: boolean): FollowerReportOp => ({
    op: 'follower.report',
    at: '2026-11-30T10:00:00.000Z',
    name: 'm',
    stage: 'production',
    follower: 'web-1:/srv/m',
    host: 'web-1',
    version: '1.1.0',
    digest: 'a'.repeat(64),
    switchedAt: '2026-11-30T10:00:00.000Z',
    previous: '1.0.0',
    hook: null,
    heartbeatMs: 60000,
    deployed,
  });
  const events = webhookEventsFor([
    { op: op(true), actor: 'svc' },
    { op: op(false), actor: 'svc' },
  ]);
  assert.deepEqual(events, [
    {
      event: 'deploy',
      artifact: 'm',
      stage: 'production',
      from: '1.0.0',
      to: '1.1.0',
      version: '1.1.0',
      actor: 'svc',
      reason: null,
      time: '2026-11-30T10:00:00.000Z',
      host: 'web-1',
    },
  ]);
});
