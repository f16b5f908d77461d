import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { dumpCheckpoint, loadCheckpoint } from '../../../src/core/remote/checkpoint.js';
import { parseOperation } from '../../../src/core/remote/ops.js';
import { checkIndexValues } from '../../../src/core/registry/index-check.js';
import { addWebhook, allWebhooks } from '../../../src/core/webhooks/subscriptions.js';
import type { Registry } from '../../../src/core/registry/registry.js';
import { cliInProcess, tempDir, tempRegistry, type CliResult } from '../../helpers.js';
import { startReceiver } from './receiver.js';

/**
 * On replicas of one remote (file://): a subscription made on one replica reaches every replica
 * through the log, and a change is delivered once, by the machine that made it, never again by a
 * replica that pulls it.
 */

/** A file:// remote in DIR and replica DIR/a made on it; DIR/b is left for a clone. */
async function remoteWithReplica(
  dir: string,
  env: Record<string, string>,
): Promise<{ url: string; a: string; b: string }> {
  const remote = join(dir, 'remote');
  mkdirSync(remote);
  const url = `file://${remote}`;
  const a = join(dir, 'a');
  assert.equal((await cliInProcess(['init', a, '--remote', url, '--json'], { cwd: dir, env })).code, 0);
  return { url, a, b: join(dir, 'b') };
}

/** Subscribe https://hooks.example.com/x to promote events (the subscription the checkpoint cases carry). */
function subscribeExample(reg: Registry): void {
  addWebhook(
    reg,
    { url: 'https://hooks.example.com/x', events: ['promote'], secretEnv: 'MLREG_WEBHOOK_SECRET' },
    'ada',
  );
}

test('subscriptions travel through the remote log; only the machine that made a change delivers it', async () => {
  const t = tempDir();
  const hook = await startReceiver();
  try {
    const env = { MLREG_WEBHOOK_SECRET: 'shh', MLREG_WEBHOOK_TIMEOUT: '5000' }; // nothing here times out: room for a loaded machine
    const { url, a, b } = await remoteWithReplica(t.path, env);
    const run = async (reg: string, args: string[]): Promise<CliResult> => {
      const r = await cliInProcess(['--registry', reg, ...args, '--json'], { cwd: t.path, env });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      return r;
    };
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
    subscribeExample(a.reg);
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

test('monitor check --auto-rollback on a replica: the alert and the rollback it reports are committed, sent to the remote and announced once', async () => {
  const t = tempDir();
  const hook = await startReceiver();
  try {
    const env = { MLREG_WEBHOOK_SECRET: 'shh', MLREG_WEBHOOK_TIMEOUT: '300' };
    const { url, a, b } = await remoteWithReplica(t.path, env);
    const run = (reg: string, args: string[]): Promise<CliResult> =>
      cliInProcess(['--registry', reg, ...args, '--json'], { cwd: t.path, env });
    const ok = async (reg: string, args: string[]): Promise<CliResult> => {
      const r = await run(reg, args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      return r;
    };
    writeFileSync(join(t.path, 'm.txt'), 'weights 1\n');
    writeFileSync(join(t.path, 'n.txt'), 'weights 2\n');
    await ok(a, ['add', 'model', 'fraud', join(t.path, 'm.txt'), '--version', '1.0.0']);
    await ok(a, ['add', 'model', 'fraud', join(t.path, 'n.txt'), '--version', '2.0.0']);
    await ok(a, ['promote', 'fraud@1.0.0', '--to', 'production']);
    await ok(a, ['promote', 'fraud@2.0.0', '--to', 'production']);
    for (const v of ['0.80', '0.81', '0.79']) await ok(a, ['monitor', 'record', 'fraud', `auc=${v}`]);
    await ok(a, ['webhook', 'add', hook.url(), '--events', 'alert,rollback', '--secret-env', 'MLREG_WEBHOOK_SECRET']);

    const c = await run(a, ['monitor', 'check', 'fraud', '--rule', 'auc < 0.85', '--window', '3', '--auto-rollback']);
    assert.equal(c.code, 1, c.stdout);
    assert.match(c.json!.error!.hint, /Rolled back to 1\.0\.0/);
    const show = await ok(a, ['show', 'fraud@production']);
    assert.equal(show.json!.data.version.version, '1.0.0', 'the rollback it reports happened');
    assert.deepEqual(
      hook.received.map((r) => JSON.parse(r.body.toString('utf8')).event),
      ['alert', 'rollback'],
    );
    assert.equal(c.json!.webhooks.length, 2, 'the error document carries the deliveries');

    // Every replica sees it (it went through the remote log), and none delivers it again.
    assert.equal((await cliInProcess(['clone', url, b, '--json'], { cwd: t.path, env })).code, 0);
    assert.equal((await ok(b, ['show', 'fraud@production'])).json!.data.version.version, '1.0.0');
    await ok(a, ['pull']);
    assert.equal(hook.received.length, 2);
  } finally {
    await hook.close();
    t.cleanup();
  }
});

test('a subscription id no command can name (0, negative) is refused in a checkpoint and in a restored index: it could never be removed', () => {
  const a = tempRegistry();
  try {
    subscribeExample(a.reg);
    const doc = JSON.parse(gunzipSync(dumpCheckpoint(a.reg, 7)).toString('utf8'));
    for (const id of [0, -3]) {
      const c = tempRegistry();
      try {
        doc.tables.webhooks.rows[0][doc.tables.webhooks.columns.indexOf('id')] = id;
        assert.throws(
          () => c.reg.db.transaction(() => loadCheckpoint(c.reg, gzipSync(JSON.stringify(doc)), 7))(),
          new RegExp(`webhooks\\.id holds ${id}`),
        );
        assert.deepEqual(allWebhooks(c.reg), []);
      } finally {
        c.cleanup();
      }
    }
    a.reg.db.prepare('UPDATE webhooks SET id = 0').run();
    const problems = checkIndexValues(a.reg.db);
    assert.deepEqual(
      problems.map((p) => [p.table, p.column, p.value]),
      [['webhooks', 'id', '0']],
    );
    a.reg.db.prepare('UPDATE webhooks SET id = 9007199254740993').run();
    assert.equal(checkIndexValues(a.reg.db)[0]?.column, 'id', 'an id beyond what the CLI can name');
  } finally {
    a.cleanup();
  }
});
