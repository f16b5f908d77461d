import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { evalRun } from '../../../src/core/evaluations/run.js';
import { Registry } from '../../../src/core/registry/registry.js';
import { addVersion } from '../../../src/core/versions/add.js';
import { latestEvaluations } from '../../../src/core/evaluations/record.js';
import { resolveRef } from '../../../src/core/versions/refs.js';
import { tempDir, tempRegistry, testRuntime } from '../../helpers.js';
import { dbSnapshot, EVAL_FIXTURES, seedModels } from '../../eval-helpers.js';

const node = process.execPath;

test('the command sees MLREG_* and substituted folders; a single-file model keeps its file name', async () => {
  const t = tempRegistry();
  try {
    const file = join(t.dir, 'weights.bin');
    writeFileSync(file, 'w');
    await addVersion(t.reg, { kind: 'model', name: 'solo', path: file, actor: 'a' });
    await addVersion(t.reg, { kind: 'dataset', name: 'hold', path: join(EVAL_FIXTURES, 'holdout.csv'), actor: 'a' });
    const script = `
      const fs = require('fs'), path = require('path');
      const [m, d] = process.argv.slice(1);
      const ok = m === process.env.MLREG_MODEL_DIR && d === process.env.MLREG_DATASET_DIR
        && fs.readFileSync(path.join(m, 'weights.bin'), 'utf8') === 'w'
        && fs.existsSync(path.join(d, 'holdout.csv'))
        && process.env.MLREG_MODEL_REF === 'solo@1.0.0' && process.env.MLREG_DATASET_REF === 'hold@1.0.0'
        && (fs.statSync(path.dirname(m)).mode & 0o777) === 0o700;
      console.log(JSON.stringify({ ok: ok ? 1 : 0 }));`;
    const r = await evalRun(t.reg, {
      models: ['solo'],
      dataset: 'hold',
      command: [node, '-e', script, '{model}', '{dataset}'],
      env: {},
      cwd: t.dir,
      actor: 'a',
    });
    assert.deepEqual(r.runs[0]!.results, { all: { ok: 1 } });
    assert.deepEqual(readdirSync(t.reg.tmpDir), []);
  } finally {
    t.cleanup();
  }
});

test('a shell command line (promote --eval-cmd) gets quoted paths, even in a folder with spaces and quotes', async () => {
  const d = tempDir();
  const root = join(d.path, "my registry's home");
  Registry.init(root, testRuntime);
  const reg = Registry.open(root, testRuntime);
  try {
    await seedModels(reg);
    const cmd = `test -f {model}/model.json && test -f {dataset}/holdout.csv && echo '{"auc": 0.5}'`;
    const r = await evalRun(reg, {
      models: ['m@1.0.0'],
      dataset: 'hold',
      command: [cmd],
      shell: true,
      env: { PATH: process.env.PATH },
      cwd: d.path,
      actor: 'a',
    });
    assert.deepEqual(r.runs[0]!.results, { all: { auc: 0.5 } });
    const v = resolveRef(reg, 'm@1.0.0');
    assert.deepEqual(
      latestEvaluations(reg, v.id).map((e) => [e.metric, e.value, e.source]),
      [['auc', 0.5, 'run']],
    );
  } finally {
    reg.close();
    d.cleanup();
  }
});

test('a command killed by a signal records nothing and says so', async () => {
  const t = tempRegistry();
  try {
    await seedModels(t.reg);
    const before = dbSnapshot(t.root);
    await assert.rejects(
      evalRun(t.reg, {
        models: ['m'],
        dataset: 'hold',
        command: [node, '-e', "process.kill(process.pid, 'SIGKILL')"],
        env: {},
        cwd: t.dir,
        actor: 'a',
      }),
      { code: 'E_EVAL_COMMAND_FAILED', exitCode: 2, message: /was killed by SIGKILL/ },
    );
    await assert.rejects(
      evalRun(t.reg, { models: ['hold'], dataset: 'hold', command: ['true'], env: {}, cwd: t.dir, actor: 'a' }),
      { code: 'E_WRONG_KIND' },
    );
    await assert.rejects(
      evalRun(t.reg, { models: ['m'], dataset: 'm', command: ['true'], env: {}, cwd: t.dir, actor: 'a' }),
      { code: 'E_WRONG_KIND' },
    );
    const notExec = join(t.dir, 'eval.sh');
    writeFileSync(notExec, '#!/bin/sh\necho "{}"\n', { mode: 0o644 });
    await assert.rejects(
      evalRun(t.reg, { models: ['m'], dataset: 'hold', command: [notExec], env: {}, cwd: t.dir, actor: 'a' }),
      { code: 'E_EVAL_COMMAND_NOT_EXECUTABLE' },
    );
    t.reg.close();
    assert.equal(dbSnapshot(t.root), before);
  } finally {
    t.cleanup();
  }
});

test('the private folder of a killed eval run is removed by the next writer', () => {
  const t = tempRegistry();
  try {
    const host = hostname().replace(/[^A-Za-z0-9.]/g, '_') || 'host';
    const dead = join(t.reg.tmpDir, `${host}-999999-abc123.eval`);
    mkdirSync(join(dead, 'model'), { recursive: true });
    writeFileSync(join(dead, 'model', 'model.joblib'), 'x');
    const reg = Registry.open(t.root, { ...testRuntime, isProcessAlive: (pid) => pid !== 999999 });
    try {
      assert.deepEqual(reg.cleanStaleTemp(), [`${host}-999999-abc123.eval`]);
      assert.deepEqual(readdirSync(reg.tmpDir), []);
    } finally {
      reg.close();
    }
  } finally {
    t.cleanup();
  }
});

test('a setsid child that outlives the timeout: the run ends at the timeout and the message says what is true', async () => {
  const t = tempRegistry();
  const pidFile = join(t.dir, 'survivor.pid');
  try {
    await seedModels(t.reg);
    const started = Date.now();
    // The survivor leaves the process group (setsid) and keeps stdout open.
    const script = `setsid sh -c 'echo $$ > ${pidFile}; exec sleep 30' & sleep 30`;
    await assert.rejects(
      evalRun(t.reg, {
        models: ['m'],
        dataset: 'hold',
        command: ['sh', '-c', script],
        env: {},
        cwd: t.dir,
        actor: 'a',
        timeoutMs: 500,
      }),
      (err: Error & { code?: string }) =>
        err.code === 'E_EVAL_TIMEOUT' &&
        /process group was killed/.test(err.message) &&
        /left the group.*may still be running/.test(err.message) &&
        !/every process/.test(err.message),
    );
    assert.ok(Date.now() - started < 10_000, 'not waiting for the survivor');
  } finally {
    try {
      const pid = Number(readFileSync(pidFile, 'utf8'));
      if (pid > 0) process.kill(pid, 'SIGKILL');
    } catch {
      /* it never started */
    }
    t.cleanup();
  }
});
