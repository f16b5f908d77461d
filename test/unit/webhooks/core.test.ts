import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configSet } from '../../../src/core/registry/config.js';
import { deliverEvent, deliverEvents } from '../../../src/core/webhooks/deliver.js';
import { deployEvent, webhookEventsFor } from '../../../src/core/webhooks/events.js';
import { addWebhook } from '../../../src/core/webhooks/subscriptions.js';
import { promote } from '../../../src/core/stages/promote.js';
import { addVersion } from '../../../src/core/versions/add.js';
import { tempRegistry } from '../../helpers.js';
import { startReceiver } from './receiver.js';

/** Core: which changes are announced (only committed ones), and delivery answers beyond the CLI tests. */

const OPTS = { env: { MLREG_WEBHOOK_S: 'secret' }, userAgent: 'mlreg/test', timeoutMs: 300, backoffMs: 10 };

test('only committed changes are announced: a write that rolls back (whole, or only its savepoint) leaves none', async () => {
  const r = tempRegistry();
  try {
    const { reg } = r;
    const file = join(r.dir, 'm.txt');
    writeFileSync(file, 'weights\n');
    await addVersion(reg, { kind: 'model', name: 'fraud', path: file, version: '1.0.0', actor: 'ada' });
    reg.committedChanges.splice(0);
    assert.throws(() =>
      reg.write(() => {
        promote(reg, { ref: 'fraud@1.0.0', stage: 'production', actor: 'ada' });
        throw new Error('something after the promote failed');
      }),
    );
    assert.equal(reg.committedChanges.length, 0, 'rolled back: nothing to announce');
    reg.write(() => {
      try {
        reg.write(() => {
          configSet(reg, 'metric.auc.direction', 'higher', 'ada');
          throw new Error('inner savepoint fails');
        });
      } catch {
        /* the outer change goes on */
      }
      promote(reg, { ref: 'fraud@1.0.0', stage: 'staging', actor: 'ada' });
      assert.equal(reg.committedChanges.length, 0, 'not before the commit');
    });
    assert.deepEqual(
      reg.committedChanges.map((c) => c.op.op),
      ['stage.move'],
    );
    const [event] = webhookEventsFor(reg.committedChanges);
    assert.deepEqual(
      { ...event, time: undefined },
      {
        event: 'promote',
        artifact: 'fraud',
        stage: 'staging',
        from: null,
        to: '1.0.0',
        version: '1.0.0',
        actor: 'ada',
        reason: null,
        time: undefined,
      },
    );
  } finally {
    r.cleanup();
  }
});

test('429 is retried; a redirect is not followed; deploy events carry the host; no subscriber, no request', async () => {
  const r = tempRegistry();
  const hook = await startReceiver();
  try {
    const { reg } = r;
    const event = deployEvent({
      artifact: 'fraud',
      stage: 'production',
      version: '1.4.0',
      from: '1.3.2',
      host: 'web-1',
      actor: 'follower@web-1',
      time: '2026-11-30T12:00:00.000Z',
    });
    assert.deepEqual(await deliverEvent(reg, event, OPTS), [], 'nothing subscribed');
    addWebhook(reg, { url: hook.url(), events: ['deploy'], secretEnv: 'MLREG_WEBHOOK_S' }, 'ada');
    addWebhook(
      reg,
      { url: hook.url('/other'), events: ['deploy'], artifact: 'other', secretEnv: 'MLREG_WEBHOOK_S' },
      'ada',
    );

    hook.answers.push(429, 200);
    const [ok] = await deliverEvent(reg, event, OPTS);
    assert.deepEqual([ok!.status, ok!.attempts], ['delivered', 2]);
    const body = JSON.parse(hook.received[0]!.body.toString('utf8'));
    assert.equal(body.host, 'web-1');
    assert.equal(body.event, 'deploy');
    assert.deepEqual(
      hook.received.map((x) => x.path),
      ['/hook', '/hook'],
      'the subscription of another artifact gets nothing',
    );

    hook.answers.push(302);
    const [moved] = await deliverEvents(reg, [event], OPTS);
    assert.equal(moved!.status, 'failed');
    assert.equal(moved!.attempts, 1);
    assert.match(moved!.error!, /HTTP 302.*redirect/);
  } finally {
    await hook.close();
    r.cleanup();
  }
});

test('a refused connection is retried and fails within the deadline', async () => {
  const r = tempRegistry();
  const hook = await startReceiver();
  const url = hook.url();
  await hook.close(); // nobody listens there now
  try {
    addWebhook(r.reg, { url, events: ['promote'], secretEnv: 'MLREG_WEBHOOK_S' }, 'ada');
    const started = Date.now();
    const [d] = await deliverEvent(
      r.reg,
      {
        event: 'promote',
        artifact: 'x',
        stage: 'production',
        from: null,
        to: '1.0.0',
        version: '1.0.0',
        actor: 'a',
        reason: null,
        time: r.reg.nowIso(),
      },
      { ...OPTS, deadlineMs: 1_000 },
    );
    assert.ok(Date.now() - started < 1_500);
    assert.equal(d!.status, 'failed');
    assert.equal(d!.attempts, 3);
    assert.match(d!.error!, /could not connect \(ECONNREFUSED\) \(after 3 attempts\)/);
  } finally {
    r.cleanup();
  }
});
