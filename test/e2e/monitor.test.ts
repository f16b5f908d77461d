import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { cliAsync, cliInProcess, copySeed, FIXTURES, tempDir } from '../helpers.js';

/** A registry with fraud 1.0.0 then 2.0.0 promoted to production, in a temp folder. */
async function setup() {
  const t = tempDir();
  const reg = join(t.path, 'reg');
  const run = (...args: string[]) => cliInProcess(['--registry', reg, ...args], { cwd: t.path });
  const runAsync = (...args: string[]) => cliAsync(['--registry', reg, ...args], { cwd: t.path });
  const weights = (dir: string) => {
    for (const i of [1, 2]) writeFileSync(join(dir, `m${i}.bin`), `weights ${i}`);
  };
  await copySeed('fraud', reg, async (seedDir) => {
    const seedReg = join(seedDir, 'reg');
    const seedRun = (...args: string[]) => cliInProcess(['--registry', seedReg, ...args], { cwd: seedDir });
    assert.equal((await seedRun('init', seedReg)).code, 0);
    weights(seedDir);
    for (const i of [1, 2]) {
      // --bump major: 1.0.0, then 2.0.0.
      const added = await seedRun('add', 'model', 'fraud', join(seedDir, `m${i}.bin`), '--bump', 'major');
      assert.equal(added.code, 0, added.stderr);
    }
    assert.equal((await seedRun('promote', 'fraud@1.0.0', '--to', 'production')).code, 0);
    return seedReg;
  });
  weights(t.path);
  /** Everything a monitoring command could change. */
  const snapshot = () => {
    const db = new Database(join(reg, 'mlreg.db'), { readonly: true });
    try {
      return JSON.stringify(
        ['events', 'stages', 'observations', 'monitor_rules', 'review_samples'].map((tb) =>
          db.prepare(`SELECT * FROM ${tb} ORDER BY 1`).all(),
        ),
      );
    } finally {
      db.close();
    }
  };
  return { dir: t.path, reg, run, runAsync, snapshot, cleanup: t.cleanup };
}

test('record, check insufficient → ok → alert with --auto-rollback, then a second run does nothing; history shows why', async () => {
  const s = await setup();
  try {
    for (const v of ['0.91', '0.92', '0.90'])
      assert.equal((await s.run('monitor', 'record', 'fraud', `auc=${v}`)).code, 0);
    assert.equal((await s.run('promote', 'fraud@2.0.0', '--to', 'production')).code, 0);
    const rec = await s.run('--json', 'monitor', 'record', 'fraud', 'auc=0.80', 'accuracy=0.7', '--source', 'batch');
    assert.equal(rec.code, 0);
    assert.equal(rec.json!.data.version, '2.0.0');
    const few = await s.run('monitor', 'check', 'fraud', '--rule', 'auc < 0.85', '--window', '3');
    assert.equal(few.code, 0, few.stderr);
    assert.match(few.stdout, /insufficient data \(1 of 3 observations of 2\.0\.0\)/);
    await s.run('monitor', 'record', 'fraud', 'auc=0.81');
    await s.run('monitor', 'record', 'fraud', 'auc=0.79');
    const fired = await s.run('monitor', 'check', 'fraud', '--rule', 'auc < 0.85', '--auto-rollback');
    assert.equal(fired.code, 1);
    assert.match(fired.stdout, /FIRED\s+auc < 0\.85: mean of last 3 = 0\.8\b/);
    assert.match(
      fired.stdout,
      /Rolled back fraud@production: 2\.0\.0 → 1\.0\.0 \(auto: auc < 0\.85 \(mean 0\.8 of 3\)\)/,
    );
    assert.match(fired.stderr, /1 monitoring rule\(s\) fired for fraud@production \(2\.0\.0\)/);
    const again = await s.run('--json', 'monitor', 'check', 'fraud', '--rule', 'auc < 0.85', '--auto-rollback');
    assert.equal(again.code, 0);
    assert.equal(again.json!.data.version, '1.0.0');
    assert.equal(again.json!.data.status, 'ok');
    const h = await s.run('--json', 'history', 'fraud');
    const rb = h.json!.data.events.filter((e: { kind: string }) => e.kind === 'rollback');
    assert.equal(rb.length, 1);
    assert.equal(rb[0].reason, 'auto: auc < 0.85 (mean 0.8 of 3)');
    const alertRow = (await s.run('history', 'fraud', '--all')).stdout.split('\n').find((l) => /\balert\b/.test(l));
    assert.ok(alertRow, 'the alert is in the audit trail');
    assert.match(alertRow, /\balert\s+production\s+2\.0\.0\s/);
    assert.doesNotMatch(alertRow, /\(none\)/);
    const show = await s.run('--json', 'monitor', 'show', 'fraud', '--metric', 'auc');
    // One series per source: the batch import is not averaged into the live numbers.
    assert.deepEqual(
      show.json!.data.series.map((x: { source: string; segments: { version: string; count: number }[] }) => [
        x.source,
        x.segments.map((g) => [g.version, g.count]),
      ]),
      [
        ['batch', [['2.0.0', 1]]],
        [
          'live',
          [
            ['1.0.0', 3],
            ['2.0.0', 2],
          ],
        ],
      ],
    );
    const text = await s.run('monitor', 'show', 'fraud');
    assert.match(text.stdout, /── promote 1\.0\.0 → 2\.0\.0/);
  } finally {
    s.cleanup();
  }
});

test('stored rules: add, list, check uses them, remove', async () => {
  const s = await setup();
  try {
    const add = await s.run('--json', 'monitor', 'rule', 'add', 'fraud', 'auc<0.85', '--window', '2');
    assert.equal(add.code, 0);
    assert.equal(add.json!.data.rule, 'auc < 0.85');
    assert.equal(
      (await s.run('--json', 'monitor', 'rule', 'add', 'fraud', 'auc < 0.85', '--window', '2')).json!.data.added,
      false,
    );
    await s.run('monitor', 'rule', 'add', 'fraud', 'auc drops 0.03 vs previous');
    const list = await s.run('--json', 'monitor', 'rule', 'list', 'fraud');
    assert.deepEqual(
      list.json!.data.map((r: { rule: string; window: number }) => [r.rule, r.window]),
      [
        ['auc < 0.85', 2],
        ['auc drops 0.03 vs previous', 3],
      ],
    );
    await s.run('monitor', 'record', 'fraud', 'auc=0.8');
    await s.run('monitor', 'record', 'fraud', 'auc=0.8');
    const check = await s.run('--json', 'monitor', 'check', 'fraud');
    assert.equal(check.code, 1);
    assert.equal(check.json!.error!.code, 'E_MONITOR_ALERT');
    assert.deepEqual(
      check.json!.error!.details.results.map((r: { status: string }) => r.status),
      ['fired', 'insufficient data'],
    );
    assert.equal((await s.run('monitor', 'rule', 'remove', 'fraud', 'auc < 0.85')).code, 0);
    assert.equal((await s.run('monitor', 'rule', 'remove', 'fraud', '99')).code, 3);
    assert.equal((await s.run('--json', 'monitor', 'rule', 'list', 'fraud')).json!.data.length, 1);
  } finally {
    s.cleanup();
  }
});

test('bad input changes nothing: unknown metric, malformed rule, no rules, bad record', async () => {
  const s = await setup();
  try {
    await s.run('monitor', 'record', 'fraud', 'auc=0.9');
    const before = s.snapshot();
    const unknown = await s.run('monitor', 'check', 'fraud', '--rule', 'acu < 0.8');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown metric "acu" in rule "acu < 0.8"/);
    assert.match(unknown.stderr, /Observed for fraud: auc/);
    const unknownAdd = await s.run('--json', 'monitor', 'rule', 'add', 'fraud', 'latency_ms > 50');
    assert.equal(unknownAdd.code, 2);
    assert.equal(unknownAdd.json!.error!.code, 'E_UNKNOWN_METRIC');
    const malformed = await s.run('--json', 'monitor', 'check', 'fraud', '--rule', 'auc below 0.8');
    assert.equal(malformed.code, 2);
    assert.equal(malformed.json!.error!.code, 'E_BAD_RULE');
    assert.match(
      malformed.json!.error!.message,
      /malformed rule "auc below 0.8": "below" is not <, <=, >, >=, drops, rises or worsens/,
    );
    const none = await s.run('monitor', 'check', 'fraud');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no stored rules and no --rule/);
    assert.equal((await s.run('monitor', 'record', 'fraud', 'auc=high')).code, 2);
    assert.equal((await s.run('monitor', 'record', 'fraud@staging', 'auc=0.9')).code, 3);
    assert.equal((await s.run('monitor', 'record', 'fraud@1.0.0', 'auc=0.9')).code, 2);
    assert.equal((await s.run('monitor', 'check', 'fraud', '--rule', 'auc < 0.95', '--webhook', 'ftp://x')).code, 2);
    const timeout = await s.run(
      'monitor',
      'check',
      'fraud',
      '--rule',
      'auc < 0.95',
      '--window',
      '1',
      '--webhook',
      'http://127.0.0.1:9/x',
      '--webhook-timeout',
      '0',
    );
    assert.equal(timeout.code, 2);
    assert.match(timeout.stderr, /--webhook-timeout takes milliseconds/);
    assert.equal(s.snapshot(), before);
  } finally {
    s.cleanup();
  }
});

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => resolve(body));
  });
}

test('a fired alert is POSTed to a webhook (retried after a 503) and given to --alert-cmd', async () => {
  const s = await setup();
  const received: { body: any; type: string | undefined }[] = [];
  let calls = 0;
  const server = createServer(async (req, res) => {
    calls++;
    const body = await readBody(req);
    if (calls === 1) {
      res.writeHead(503).end();
      return;
    }
    received.push({ body: JSON.parse(body), type: req.headers['content-type'] });
    res.writeHead(204).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    for (const v of ['0.7', '0.72', '0.71']) await s.run('monitor', 'record', 'fraud', `auc=${v}`);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const out = join(s.dir, 'alert.json');
    const r = await s.runAsync(
      '--json',
      'monitor',
      'check',
      'fraud',
      '--rule',
      'auc < 0.85',
      '--webhook',
      url,
      '--alert-cmd',
      `cat > '${out}'`,
    );
    assert.equal(r.code, 1, r.stderr);
    assert.equal(calls, 2);
    assert.equal(received.length, 1);
    const alert = received[0]!.body;
    assert.equal(received[0]!.type, 'application/json');
    assert.deepEqual(
      [alert.artifact, alert.stage, alert.version, alert.status],
      ['fraud', 'production', '1.0.0', 'alert'],
    );
    assert.equal(alert.rules[0].rule, 'auc < 0.85');
    assert.deepEqual([alert.rule, alert.values], ['auc < 0.85', 'mean 0.71 of 3']);
    assert.deepEqual(alert.rules[0].values, [0.71, 0.72, 0.7]);
    assert.ok(Math.abs(alert.rules[0].mean - 0.71) < 1e-12);
    assert.ok(!Number.isNaN(Date.parse(alert.time)));
    assert.deepEqual(JSON.parse(readFileSync(out, 'utf8')), alert);
    const d = r.json!.error!.details.deliveries;
    assert.deepEqual(
      d.map((x: { channel: string; ok: boolean; attempts: number }) => [x.channel, x.ok, x.attempts]),
      [
        ['webhook', true, 2],
        ['command', true, 1],
      ],
    );
  } finally {
    server.close();
    s.cleanup();
  }
});

test('an unreachable webhook is reported after bounded retries, and the alert still fails the check', async () => {
  const s = await setup();
  try {
    // A port that was free a moment ago: nothing listens there.
    const probe = createNetServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    for (const v of ['0.7', '0.72', '0.71']) await s.run('monitor', 'record', 'fraud', `auc=${v}`);
    const r = await s.runAsync(
      'monitor',
      'check',
      'fraud',
      '--rule',
      'auc < 0.85',
      '--webhook',
      `http://127.0.0.1:${port}/hook`,
      '--webhook-timeout',
      '1000',
    );
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FIRED\s+auc < 0\.85/);
    assert.match(
      r.stdout,
      /Alert NOT delivered to webhook http:\/\/127\.0\.0\.1:\d+\/hook: ECONNREFUSED \(after 3 attempts\)/,
    );
    assert.match(r.stderr, /monitoring rule\(s\) fired/);
  } finally {
    s.cleanup();
  }
});

test('monitor score records the metrics of a real prediction file, per slice; unmatched labels are refused and change nothing', async () => {
  const s = await setup();
  try {
    const dir = join(FIXTURES, 'monitor');
    const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8'));
    /** monitor score of the fixture's predictions against `labels`. */
    const score = (labels: string, ...more: string[]) =>
      s.run(
        'monitor',
        'score',
        'fraud',
        '--predictions',
        join(dir, 'cls_predictions.csv'),
        '--labels',
        labels,
        '--id',
        'case_id',
        '--prediction-column',
        'p_benign',
        ...more,
      );
    const r = await score(join(dir, 'cls_labels.csv'), '--slice-column', 'size', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Math.abs(r.json!.data.metrics.auc - expected.classification.all.auc) < 1e-9);
    const obs = r.json!.data.recorded.observations as { metric: string; slice: string; value: number }[];
    assert.equal(obs.length, 12);
    assert.ok(
      Math.abs(
        obs.find((o) => o.metric === 'f1' && o.slice === 'small')!.value - expected.classification.slices.small.f1,
      ) < 1e-9,
    );
    const before = s.snapshot();
    const labels = join(s.dir, 'labels.csv');
    copyFileSync(join(dir, 'cls_labels.csv'), labels);
    writeFileSync(labels, readFileSync(labels, 'utf8') + 'case-9998,1\ncase-9999,0\n');
    const bad = await score(labels);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /2 of 202 labels have no prediction with the same case_id \(e\.g\. "case-9998", "case-9999"\); nothing was recorded/,
    );
    assert.equal(s.snapshot(), before);
    const allowed = await score(labels, '--allow-unmatched-labels');
    assert.equal(allowed.code, 0);
    assert.match(allowed.stdout, /2 labels have no prediction, e\.g\. case-9998, case-9999/);
  } finally {
    s.cleanup();
  }
});

test('monitor show marks each change of version with the move that began that segment', async () => {
  const s = await setup();
  try {
    await s.run('monitor', 'record', 'fraud', 'auc=0.9');
    await s.run('promote', 'fraud@2.0.0', '--to', 'production', '--reason', 'first try');
    await s.run('monitor', 'record', 'fraud', 'auc=0.7');
    await s.run('rollback', 'fraud', '--reason', 'too low');
    await s.run('monitor', 'record', 'fraud', 'auc=0.9');
    await s.run('promote', 'fraud@2.0.0', '--to', 'production', '--reason', 'second try');
    await s.run('monitor', 'record', 'fraud', 'auc=0.92');
    const out = (await s.run('monitor', 'show', 'fraud', '--metric', 'auc')).stdout;
    const marks = out.split('\n').filter((l) => l.includes('──'));
    assert.equal(marks.length, 3, out);
    assert.match(marks[0]!, /promote 1\.0\.0 → 2\.0\.0 .*\(first try\)/);
    assert.match(marks[1]!, /rollback 2\.0\.0 → 1\.0\.0 .*\(too low\)/);
    assert.match(marks[2]!, /promote 1\.0\.0 → 2\.0\.0 .*\(second try\)/);
  } finally {
    s.cleanup();
  }
});
