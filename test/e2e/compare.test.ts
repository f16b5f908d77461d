import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dbSnapshot, EVAL_FIXTURES, holdoutRegistry, type HoldoutRegistry, SCORE } from '../eval-helpers.js';

function setup(): Promise<HoldoutRegistry> {
  return holdoutRegistry({
    key: 'compare',
    build: async (run, dir) => {
      assert.equal(
        (
          await run([
            'add',
            'model',
            'm',
            join(EVAL_FIXTURES, 'model-a'),
            '--metric',
            'log_loss=0.4',
            '--metric',
            'latency_ms=12',
            '--param',
            'threshold=0.6',
            '--param',
            'kind=stump',
            '--trained-on',
            'hold',
          ])
        ).code,
        0,
      );
      // B: the same model file changed, plus a new file
      const b = join(dir, 'b');
      mkdirSync(b);
      copyFileSync(join(EVAL_FIXTURES, 'model-b', 'model.json'), join(b, 'model.json'));
      writeFileSync(join(b, 'NOTES.md'), 'threshold lowered\n');
      assert.equal(
        (
          await run([
            'add',
            'model',
            'm',
            b,
            '--metric',
            'log_loss=0.3',
            '--metric',
            'latency_ms=15',
            '--param',
            'threshold=0.5',
            '--param',
            'seed=1',
          ])
        ).code,
        0,
      );
      assert.equal(
        (await run(['eval', 'run', 'm@1.0.0', 'm@1.1.0', '--on', 'hold', '--', process.execPath, SCORE])).code,
        0,
      );
      assert.equal((await run(['eval', 'record', 'm@1.1.0', '--slice', 'mobile', 'accuracy=0.7'])).code, 0);
      assert.equal((await run(['promote', 'm@1.0.0', '--to', 'production'])).code, 0);
    },
  });
}

test('compare two models: metrics and shared evaluations with verdicts, params, files, lineage (json)', async () => {
  const s = await setup();
  try {
    const r = await s.run(['--json', 'compare', 'm@production', 'm@1.1.0']);
    assert.equal(r.code, 0, r.stderr);
    const c = r.json!.data;
    const byName = Object.fromEntries(c.metrics.map((m: any) => [m.metric, m]));
    assert.equal(byName.log_loss.verdict, 'better', 'lower log_loss is better');
    assert.equal(byName.latency_ms.verdict, null, 'unknown direction: no verdict');
    assert.equal(byName.latency_ms.delta, 3);
    const all = c.evaluations.find((e: any) => e.slice === 'all');
    assert.deepEqual(all.dataset, { name: 'hold', version: '1.0.0' });
    const acc = all.rows.find((x: any) => x.metric === 'accuracy');
    assert.equal(acc.verdict, acc.b > acc.a ? 'better' : acc.b < acc.a ? 'worse' : 'same');
    assert.deepEqual(c.unshared.b, [{ dataset: null, slice: 'mobile' }]);
    assert.deepEqual(
      c.params.map((p: any) => [p.key, p.status]),
      [
        ['kind', 'removed'],
        ['seed', 'added'],
        ['threshold', 'changed'],
      ],
    );
    assert.deepEqual(
      c.files.changes.map((f: any) => [f.path, f.status, f.sizeA, f.sizeB]),
      [
        ['NOTES.md', 'added', null, 18],
        ['model.json', 'changed', 32, 32],
      ],
    );
    assert.deepEqual(c.lineage.a, [{ name: 'hold', version: '1.0.0' }]);
    assert.deepEqual(c.a.stages, ['production']);
  } finally {
    s.cleanup();
  }
});

test('compare --format markdown is a PR-ready table; --format table for people; --format json alone', async () => {
  const s = await setup();
  try {
    const md = await s.run(['compare', 'm@1.0.0', 'm@1.1.0', '--format', 'markdown']);
    assert.equal(md.code, 0, md.stderr);
    assert.match(md.stdout, /^### `m@1\.0\.0` → `m@1\.1\.0`/);
    assert.match(
      md.stdout,
      /\| Metric \| Source \| Slice \| m@1\.0\.0 \| m@1\.1\.0 \| Change \| \|\n\|---\|---\|---\|--:\|--:\|--:\|---\|/,
    );
    assert.match(md.stdout, /\| log_loss \| at add \|  \| 0\.4 \| 0\.3 \| -0\.1 \| \*\*better\*\* \|/);
    assert.match(md.stdout, /\| NOTES\.md \| added \| - \| 18 B \|/);
    const table = await s.run(['compare', 'm@1.0.0', 'm@1.1.0']);
    assert.match(table.stdout, /log_loss\s+at add\s+0\.4\s+0\.3\s+-0\.1\s+better/);
    assert.match(table.stdout, /trained on\s+hold@1\.0\.0\s+-/);
    const json = await s.run(['compare', 'm@1.0.0', 'm@1.1.0', '--format', 'json']);
    assert.equal(JSON.parse(json.stdout).kind, 'model');
    assert.equal((await s.run(['compare', 'm@1.0.0', 'm@1.1.0', '--format', 'pdf'])).code, 2);
  } finally {
    s.cleanup();
  }
});

test('compare a model with a dataset: a clear error (exit 2); unknown ref exit 3; nothing changes', async () => {
  const s = await setup();
  try {
    const before = dbSnapshot(s.reg);
    const r = await s.run(['--json', 'compare', 'm@1.0.0', 'hold']);
    assert.equal(r.code, 2);
    assert.equal(r.json!.error!.code, 'E_COMPARE_KINDS');
    assert.match(r.json!.error!.message, /cannot compare m@1\.0\.0 \(a model\) with hold@1\.0\.0 \(a dataset\)/);
    assert.equal((await s.run(['compare', 'm@1.0.0', 'm@9.9.9'])).code, 3);
    assert.equal(dbSnapshot(s.reg), before);
  } finally {
    s.cleanup();
  }
});
