import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { dumpCheckpoint, loadCheckpoint } from '../../../src/core/remote/checkpoint.js';
import { parseOperation } from '../../../src/core/remote/ops.js';
import { addWebhook, allWebhooks } from '../../../src/core/webhooks/subscriptions.js';
import { cliInProcess, tempDir, tempRegistry, type CliResult } from '../../helpers.js';
import { startReceiver } from './receiver.js';

/**
 * On replicas of one remote (file://): a subscription made on one replica reaches every replica
 * through the log, and a change is delivered once, by the machine that made it, never again by a
 * replica that pulls it.
 */

test('subscriptions travel through the remote log; only the machine that made a change delivers it', async () => {
  const t = tempDir();
  const hook = await startReceiver();
  try {
    const remote = join(t.path, 'remote');
    mkdirSync(remote);
    const url = `file://${remote}`;
    const a = join(t.path, 'a');
    const b = join(t.path, 'b');
    const env = { MLREG_WEBHOOK_SECRET: 'shh', MLREG_WEBHOOK_TIMEOUT: '300' };
    const run = async (reg: string, args: string[]): Promise<CliResult> => {
      const r = await cliInProcess(['--registry', reg, ...args, '--json'], { cwd: t.path, env });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      return r;
    };
    assert.equal((await cliInProcess(['init', a, '--remote', url, '--json'], { cwd: t.path, env })).code, 0);
    writeFileSync(join(t.path, 'm.txt'), 'weights\n');
    await run(a, ['add', 'model', 'fraud', join(t.path, 'm.txt'), '--version', '1.0.0']);
    assert.equal((await cliInProcess(['clone', url, b, '--json'], { cwd: t.path, env })).code, 0);

    const added = await run(a, [
      'webhook',
      'add',
      hook.url(),
      '--events',
      'promote',
      '--secret-env',
      'MLREG_WEBHOOK_SECRET',
    ]);
    const id = added.json!.data.id;
    const listed = await run(b, ['webhook', 'list']);
    assert.deepEqual(
      listed.json!.data.map((w: { id: number; url: string }) => [w.id, w.url]),
      [[id, hook.url()]],
      'replica b knows the subscription made on a',
    );

    const p = await run(b, ['promote', 'fraud@1.0.0', '--to', 'production']);
    assert.equal(p.json!.webhooks[0].status, 'delivered');
    const body = JSON.parse(hook.received[0]!.body.toString('utf8'));
    assert.equal(body.registry, url, 'a replica names its remote in the body');
    assert.equal(body.event, 'promote');

    // a pulls b's promote: already announced by b, so not again.
    const pulled = await run(a, ['pull']);
    assert.equal(pulled.json!.webhooks, undefined);
    await run(a, ['history', 'fraud']);
    assert.equal(hook.received.length, 1, 'delivered once, by the machine that made the change');
    // Each folder keeps its own record of deliveries.
    assert.equal((await run(b, ['webhook', 'list'])).json!.data[0].lastDelivery.status, 'delivered');
    assert.equal((await run(a, ['webhook', 'list'])).json!.data[0].lastDelivery, null);

    // Removing on b reaches a.
    await run(b, ['webhook', 'remove', String(id)]);
    assert.deepEqual((await run(a, ['webhook', 'list'])).json!.data, []);
    const db = new Database(join(b, 'mlreg.db'), { readonly: true });
    try {
      assert.equal(
        db.prepare('SELECT COUNT(*) FROM webhook_deliveries').pluck().get(),
        0,
        'its deliveries went with it',
      );
    } finally {
      db.close();
    }
  } finally {
    await hook.close();
    t.cleanup();
  }
});

test('a webhook operation read from a remote is checked like `webhook add`', () => {
  const good = {
    op: 'webhook.add',
    at: '2026-01-02T03:04:05.000Z',
    id: null,
    url: 'https://hooks.example.com/x',
    events: ['promote', 'rollback'],
    artifact: null,
    secretEnv: 'MLREG_WEBHOOK_SECRET',
  };
  assert.deepEqual(parseOperation(good, 'entry 1'), good);
  const bad: Record<string, unknown>[] = [
    { url: 'file:///etc/passwd' },
    { url: 'https://user:pw@example.com/' },
    { events: ['promote', 'launch'] },
    { events: [] },
    { events: ['promote', 'promote'] },
    { secretEnv: 'A-B' },
    { secretEnv: 'AWS_SECRET_ACCESS_KEY' },
    { artifact: '../x' },
    { id: 3 },
    { extra: 1 },
  ];
  for (const change of bad)
    assert.throws(
      () => parseOperation({ ...good, ...change }, 'entry 1'),
      /entry 1 \(webhook\.add\)/,
      JSON.stringify(change),
    );
  assert.throws(() => parseOperation({ ...good, op: 'webhook.remove' }, 'entry 1'), /id is not an integer/);
});

test('a checkpoint carries the subscriptions (not the deliveries); a checkpoint with a hostile subscription is refused', () => {
  const a = tempRegistry();
  const b = tempRegistry();
  const c = tempRegistry();
  try {
    addWebhook(
      a.reg,
      { url: 'https://hooks.example.com/x', events: ['promote'], secretEnv: 'MLREG_WEBHOOK_SECRET' },
      'ada',
    );
    a.reg.db
      .prepare(
        "INSERT INTO webhook_deliveries (webhook_id, delivery, event, status, attempts, at, duration_ms) VALUES (1, 'd', 'promote', 'failed', 1, 'now', 5)",
      )
      .run();
    const gz = dumpCheckpoint(a.reg, 7);
    b.reg.db.transaction(() => loadCheckpoint(b.reg, gz, 7))();
    assert.deepEqual(
      allWebhooks(b.reg).map((w) => [w.id, w.url, w.events, w.secretEnv]),
      [[1, 'https://hooks.example.com/x', ['promote'], 'MLREG_WEBHOOK_SECRET']],
    );
    assert.equal(b.reg.db.prepare('SELECT COUNT(*) FROM webhook_deliveries').pluck().get(), 0, 'deliveries stay local');

    const doc = JSON.parse(gunzipSync(gz).toString('utf8'));
    const cols: string[] = doc.tables.webhooks.columns;
    doc.tables.webhooks.rows[0][cols.indexOf('url')] = 'file:///etc/passwd';
    assert.throws(
      () => c.reg.db.transaction(() => loadCheckpoint(c.reg, gzipSync(JSON.stringify(doc)), 7))(),
      /webhooks\.url holds "file:\/\/\/etc\/passwd"/,
    );
    assert.deepEqual(allWebhooks(c.reg), []);
  } finally {
    a.cleanup();
    b.cleanup();
    c.cleanup();
  }
});
