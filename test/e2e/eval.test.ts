import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  dbSnapshot,
  EVAL_FIXTURES,
  expectedAccuracy,
  holdoutRegistry,
  MISBEHAVE,
  SCORE,
  type HoldoutRegistry,
} from '../eval-helpers.js';

/** True while `pid` runs (a zombie waiting to be reaped does not count), polling up to 3 s for it to go. */
async function stillRuns(pid: number): Promise<boolean> {
  for (let i = 0; i < 30; i++) {
    let state: string;
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0]!;
    } catch {
      return false;
    }
    if (state === 'Z' || state === 'X') return false;
    await new Promise((res) => setTimeout(res, 100));
  }
  return true;
}

/** A registry with hold@1.0.0 and models m@1.0.0 (threshold 0.6) and m@1.1.0 (0.5). */
function setup(): Promise<HoldoutRegistry> {
  return holdoutRegistry({
    key: 'models-ab',
    build: async (run) => {
      assert.equal((await run(['add', 'model', 'm', join(EVAL_FIXTURES, 'model-a')])).code, 0);
      assert.equal((await run(['add', 'model', 'm', join(EVAL_FIXTURES, 'model-b')])).code, 0);
    },
  });
}

test('eval run: checks out each model and the dataset, runs the command, records what it prints', async () => {
  const s = await setup();
  try {
    const r = await s.run([
      '--json',
      'eval',
      'run',
      'm@1.0.0',
      'm@1.1.0',
      '--on',
      'hold@latest',
      '--',
      process.execPath,
      SCORE,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /scoring m@1\.0\.0 on hold@1\.0\.0: 200 rows/, 'stderr streams through, with MLREG_* set');
    const csv = readFileSync(join(EVAL_FIXTURES, 'holdout.csv'), 'utf8');
    const [a, b] = r.json!.data.runs;
    assert.equal(a.results.all.accuracy, expectedAccuracy(csv, 0.6));
    assert.equal(b.results.recent.accuracy, expectedAccuracy(csv, 0.5, true));
    const shown = (await s.run(['--json', 'show', 'm@1.1.0'])).json!.data.evaluations;
    assert.deepEqual(
      shown.map((e: any) => [e.dataset.version, e.slice, e.metric, e.source]),
      [
        ['1.0.0', 'all', 'accuracy', 'run'],
        ['1.0.0', 'all', 'error', 'run'],
        ['1.0.0', 'recent', 'accuracy', 'run'],
        ['1.0.0', 'recent', 'error', 'run'],
      ],
    );
    // {model} and {dataset} are substituted in arguments
    const sub = await s.run([
      '--json',
      'eval',
      'run',
      'm@1.0.0',
      '--on',
      'hold',
      '--',
      process.execPath,
      SCORE,
      '--model',
      '{model}',
      '--data',
      '{dataset}',
      '--only-all',
    ]);
    assert.equal(sub.code, 0, sub.stderr);
    assert.deepEqual(Object.keys(sub.json!.data.runs[0].results), ['all']);
    assert.deepEqual(readdirSync(join(s.reg, 'tmp')), [], 'the private checkout folder is removed');
  } finally {
    s.cleanup();
  }
});

test('eval record: values, slices, and a value that is not a number (exit 2, nothing recorded)', async () => {
  const s = await setup();
  try {
    const ok = await s.run([
      '--json',
      'eval',
      'record',
      'm@1.0.0',
      '--on',
      'hold',
      '--slice',
      'recent',
      'auc=0.91',
      'f1=0.8',
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(ok.json!.data.results, { recent: { auc: 0.91, f1: 0.8 } });
    const before = dbSnapshot(s.reg);
    for (const bad of ['auc=high', 'auc=NaN', 'auc=', 'auc']) {
      const r = await s.run(['eval', 'record', 'm@1.0.0', '--on', 'hold', 'f1=0.5', bad]);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /metric|invalid/, bad);
    }
    const r = await s.run(['--json', 'eval', 'record', 'm@1.0.0', 'auc=0.9x']);
    assert.equal(r.json!.error!.code, 'E_BAD_METRIC');
    assert.match(r.json!.error!.message, /metric auc has value "0\.9x", which is not a finite number/);
    assert.equal((await s.run(['eval', 'record', 'hold', 'auc=0.9'])).code, 2, 'a dataset has no evaluations');
    assert.equal(dbSnapshot(s.reg), before);
  } finally {
    s.cleanup();
  }
});

test('eval run bad input: missing command, non-zero exit, non-JSON, NaN, no command: message, exit code, nothing recorded', async () => {
  const s = await setup();
  try {
    const before = dbSnapshot(s.reg);
    const cases: { args: string[]; code: number; err: string; message: RegExp }[] = [
      {
        args: ['--', 'mlreg-no-such-evaluator'],
        code: 3,
        err: 'E_EVAL_COMMAND_NOT_FOUND',
        message: /evaluation command not found: mlreg-no-such-evaluator/,
      },
      {
        args: ['--', process.execPath, MISBEHAVE, 'fail'],
        code: 2,
        err: 'E_EVAL_COMMAND_FAILED',
        message: /the evaluation command for m@1\.1\.0 exited with status 3/,
      },
      {
        args: ['--', process.execPath, MISBEHAVE, 'nonjson'],
        code: 2,
        err: 'E_EVAL_OUTPUT',
        message: /not one JSON document \(it starts "accuracy: 0\.93"\)/,
      },
      {
        args: ['--', process.execPath, MISBEHAVE, 'nan'],
        code: 2,
        err: 'E_EVAL_OUTPUT',
        message: /metric "accuracy" is NaN, not a finite number/,
      },
      { args: [], code: 2, err: 'E_NO_COMMAND', message: /needs the evaluation command after --/ },
    ];
    for (const c of cases) {
      const r = await s.run(['--json', 'eval', 'run', 'm@1.1.0', '--on', 'hold', ...c.args]);
      assert.equal(r.code, c.code, c.err);
      assert.equal(r.json!.error!.code, c.err);
      assert.match(r.json!.error!.message, c.message);
      assert.match(r.json!.error!.hint, /Nothing was recorded|mlreg eval run/);
      const human = await s.run(['eval', 'run', 'm@1.1.0', '--on', 'hold', ...c.args]);
      assert.equal(human.code, c.code);
      assert.match(human.stderr, c.message);
    }
    assert.match(
      (await s.run(['eval', 'run', 'm@1.1.0', '--on', 'hold', '--', process.execPath, MISBEHAVE, 'fail'])).stderr,
      /Traceback: model file is corrupt/,
      'the command stderr is shown',
    );
    assert.equal(dbSnapshot(s.reg), before);
    assert.deepEqual(readdirSync(join(s.reg, 'tmp')), []);
  } finally {
    s.cleanup();
  }
});

test('eval run: all or nothing across models', async () => {
  const s = await setup();
  try {
    const before = dbSnapshot(s.reg);
    // The first model's run succeeds, the second one's fails.
    const r = await s.run([
      '--json',
      'eval',
      'run',
      'm@1.0.0',
      'm@1.1.0',
      '--on',
      'hold',
      '--',
      '/bin/sh',
      '-c',
      `case "$MLREG_MODEL_REF" in *1.1.0) exit 7;; *) echo '{"auc": 0.9}';; esac`,
    ]);
    assert.equal(r.code, 2);
    assert.match(r.json!.error!.message, /m@1\.1\.0 exited with status 7/);
    assert.equal(dbSnapshot(s.reg), before, 'm@1.0.0 succeeded, but nothing was recorded');
  } finally {
    s.cleanup();
  }
});

test('eval run that hangs past --timeout: the process group is killed, nothing recorded', async () => {
  const s = await setup();
  try {
    const before = dbSnapshot(s.reg);
    const pids = join(s.dir, 'pids');
    const started = Date.now();
    const r = await s.run([
      '--json',
      'eval',
      'run',
      'm@1.0.0',
      '--on',
      'hold',
      '--timeout',
      '0.5',
      '--',
      process.execPath,
      MISBEHAVE,
      'hang',
      pids,
    ]);
    assert.ok(Date.now() - started < 15_000);
    assert.equal(r.code, 2);
    assert.equal(r.json!.error!.code, 'E_EVAL_TIMEOUT');
    assert.match(r.json!.error!.message, /did not finish within 0\.5 s/);
    const [parent, grandchild] = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    for (const pid of [parent!, grandchild!]) assert.equal(await stillRuns(pid), false, `process ${pid} still runs`);
    assert.equal(dbSnapshot(s.reg), before);
    assert.equal((await s.run(['eval', 'run', 'm@1.0.0', '--on', 'hold', '--timeout', 'soon', '--', 'true'])).code, 2);
  } finally {
    s.cleanup();
  }
});

test('eval run checks every byte it checks out: a corrupt model blob is exit 5, the command never runs', async () => {
  const s = await setup();
  try {
    const sha = (await s.run(['--json', 'show', 'm@1.1.0'])).json!.data.manifest.files[0].sha256 as string;
    const blob = join(s.reg, 'objects', 'sha256', sha.slice(0, 2), sha.slice(2));
    chmodSync(blob, 0o644);
    writeFileSync(blob, JSON.stringify({ feature: 'x', threshold: 0.1 }) + '\n');
    const before = dbSnapshot(s.reg);
    const marker = join(s.dir, 'ran');
    const r = await s.run([
      '--json',
      'eval',
      'run',
      'm@1.1.0',
      '--on',
      'hold',
      '--',
      '/bin/sh',
      '-c',
      `touch ${marker}; echo '{"auc": 1}'`,
    ]);
    assert.equal(r.code, 5);
    assert.equal(r.json!.error!.code, 'E_OBJECT_CORRUPT');
    assert.throws(() => readFileSync(marker), { code: 'ENOENT' }, 'the command did not run on corrupt bytes');
    assert.equal(dbSnapshot(s.reg), before);
    assert.deepEqual(readdirSync(join(s.reg, 'tmp')), []);
  } finally {
    s.cleanup();
  }
});
