import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, cliInProcess, FIXTURES, tempDir } from '../helpers.js';

/** What a command prints on an 80-column terminal (`script` gives it a real pseudo-terminal). */
function at80(args: string[], cwd: string): string[] {
  const log = join(cwd, `tty-${Math.random().toString(36).slice(2)}.log`);
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const env = { ...process.env, MLREG_ACTOR: 'alice', COLUMNS: '80', NO_COLOR: '1' };
  // stderr (errors, hints) is prose the terminal wraps; the tables are on stdout.
  spawnSync('script', ['-qec', `${command} 2>/dev/null`, log], { cwd, env, encoding: 'utf8' });
  return readFileSync(log, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l !== '' && !l.startsWith('Script '));
}

test('every table fits an 80-column terminal; piped output keeps the full text', async () => {
  const t = tempDir();
  try {
    // The setup runs in-process; only what is printed on a terminal needs a real process.
    const run = (...args: string[]) => cliInProcess(args, { cwd: t.path, env: { MLREG_ACTOR: 'alice' } });
    await run('init');
    const models = join(FIXTURES, 'models');
    const datasets = join(FIXTURES, 'datasets');
    await run('add', 'dataset', 'train', join(datasets, 'train.csv'));
    copyFileSync(join(datasets, 'batch_drifted.csv'), join(t.path, 'batch.csv'));
    const long = 'a retrained logistic regression with the new features from the fraud team, reviewed at length';
    await run(
      'add',
      'model',
      'fraud',
      join(models, 'cancer-v1.joblib'),
      '--metrics-file',
      join(models, 'cancer-v1.metrics.json'),
      '--description',
      long,
    );
    await run(
      'add',
      'model',
      'fraud',
      join(models, 'cancer-v2.joblib'),
      '--metrics-file',
      join(models, 'cancer-v2.metrics.json'),
    );
    const reason = 'INC-4521: false negatives up 30% in the EU region after the release\nsee the post-mortem';
    await run('promote', 'fraud@1.0.0', '--to', 'production', '--reason', reason);
    await run('promote', 'fraud@1.1.0', '--to', 'production', '--reason', reason);
    for (const v of ['0.91', '0.9', '0.89']) await run('monitor', 'record', 'fraud', `auc=${v}`, 'accuracy=0.88');

    const commands = [
      ['list'],
      ['list', 'fraud'],
      ['history', 'fraud'],
      ['show', 'train'],
      ['check', 'batch.csv', '--against', 'train', '--all'],
      ['monitor', 'show', 'fraud'],
      ['compare', 'fraud@1.0.0', 'fraud@1.1.0'],
    ];
    for (const args of commands) {
      const lines = at80(args, t.path);
      assert.ok(lines.length > 1, `${args.join(' ')} printed something`);
      for (const l of lines) assert.ok([...l].length <= 80, `${args.join(' ')}: ${[...l].length} columns: ${l}`);
    }
    const history = at80(['history', 'fraud'], t.path);
    assert.equal(history.length, 3, 'a reason with a newline stays on its row');
    assert.match(history[1]!, /INC-4521.*…$/);
    const piped = await run('history', 'fraud');
    assert.ok(
      piped.stdout.includes(
        'INC-4521: false negatives up 30% in the EU region after the release\\nsee the post-mortem',
      ),
    );
  } finally {
    t.cleanup();
  }
});
