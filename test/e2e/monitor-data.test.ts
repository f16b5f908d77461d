import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliInProcess, FIXTURES, tempDir } from '../helpers.js';

const DATA = join(FIXTURES, 'datasets');

test('monitor data: a batch like the training data passes and records drift share and missing rates; a drifted batch alerts', async () => {
  const t = tempDir();
  try {
    const reg = join(t.path, 'reg');
    const run = (...args: string[]) => cliInProcess(['--registry', reg, ...args], { cwd: t.path });
    await run('init', reg);
    assert.equal((await run('add', 'dataset', 'train', join(DATA, 'train.csv'))).code, 0);
    writeFileSync(join(t.path, 'm.bin'), 'weights');
    assert.equal((await run('add', 'model', 'cancer', join(t.path, 'm.bin'), '--trained-on', 'train@1.0.0')).code, 0);
    assert.equal((await run('promote', 'cancer@1.0.0', '--to', 'production')).code, 0);

    const ok = await run('--json', 'monitor', 'data', 'cancer', '--batch', join(DATA, 'holdout_shuffled.csv'));
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.json!.data.check.status, 'PASS');
    assert.equal(ok.json!.data.check.reference.label, 'train@1.0.0');
    const metrics = ok.json!.data.recorded.observations.map((o: { metric: string }) => o.metric);
    assert.ok(metrics.includes('drift_share') && metrics.includes('missing_rate:worst_smoothness'));
    assert.equal(ok.json!.data.recorded.source, 'data');

    const out = join(t.path, 'alert.json');
    const bad = await run(
      'monitor',
      'data',
      'cancer',
      '--batch',
      join(DATA, 'batch_drifted.csv'),
      '--alert-cmd',
      `cat > '${out}'`,
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /fails the data check against train@1\.0\.0/);
    assert.match(bad.stdout, /FAIL/);
    assert.match(bad.stdout, /Alert sent to command/);
    const alert = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(
      [alert.artifact, alert.stage, alert.version, alert.status],
      ['cancer', 'production', '1.0.0', 'alert'],
    );
    assert.match(alert.rules[0].message, /data check against train@1\.0\.0: FAIL on .*mean_texture/);
    const rate = await run('--json', 'monitor', 'show', 'cancer', '--metric', 'missing_rate:worst_smoothness');
    const points = rate.json!.data.series[0].segments[0].points.map((p: { value: number }) => p.value);
    assert.equal(points.length, 2);
    assert.equal(points[0], 0);
    assert.ok(points[1] > 0.2, `a quarter of worst_smoothness is missing in the drifted batch, got ${points[1]}`);
    // The recorded data metrics can be watched by rules like any other.
    const rule = await run(
      'monitor',
      'check',
      'cancer',
      '--rule',
      'missing_rate:worst_smoothness > 0.1',
      '--window',
      '1',
    );
    assert.equal(rule.code, 1);
    const h = await run('--json', 'history', 'cancer', '--all');
    assert.equal(h.json!.data.events.filter((e: { kind: string }) => e.kind === 'alert').length, 2);
  } finally {
    t.cleanup();
  }
});

test('monitor data needs lineage: a model without a training dataset is refused, nothing recorded', async () => {
  const t = tempDir();
  try {
    const reg = join(t.path, 'reg');
    const run = (...args: string[]) => cliInProcess(['--registry', reg, ...args], { cwd: t.path });
    await run('init', reg);
    writeFileSync(join(t.path, 'm.bin'), 'weights');
    await run('add', 'model', 'cancer', join(t.path, 'm.bin'));
    await run('promote', 'cancer@1.0.0', '--to', 'production');
    const r = await run('--json', 'monitor', 'data', 'cancer', '--batch', join(DATA, 'holdout.csv'));
    assert.equal(r.code, 3);
    assert.equal(r.json!.error!.code, 'E_NO_TRAINING_DATA');
    assert.equal((await run('--json', 'monitor', 'show', 'cancer')).json!.data.series.length, 0);
  } finally {
    t.cleanup();
  }
});
