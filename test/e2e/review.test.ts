import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliInProcess, copySeed, tempDir } from '../helpers.js';
import { allocate } from '../../src/core/monitor/review.js';
import { PREDS, REVIEW_SAMPLE } from './review-sample.js';

async function setup() {
  const t = tempDir();
  const reg = join(t.path, 'reg');
  const run = (...args: string[]) => cliInProcess(['--registry', reg, ...args], { cwd: t.path });
  await copySeed('cancer-production', reg, async (seedDir) => {
    const seedReg = join(seedDir, 'reg');
    const seedRun = (...args: string[]) => cliInProcess(['--registry', seedReg, ...args], { cwd: seedDir });
    await seedRun('init', seedReg);
    writeFileSync(join(seedDir, 'm.bin'), 'weights');
    await seedRun('add', 'model', 'cancer', join(seedDir, 'm.bin'));
    assert.equal((await seedRun('promote', 'cancer@1.0.0', '--to', 'production')).code, 0);
    return seedReg;
  });
  writeFileSync(join(t.path, 'm.bin'), 'weights');
  return { dir: t.path, run, cleanup: t.cleanup };
}

/** The sampled rows without the sample-id column (which numbers each sample). */
const rowsOf = (file: string) =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.slice(l.indexOf(',') + 1));

test('review sample is reproducible with a seed, stratified in proportion, and written with an empty review_label', async () => {
  const s = await setup();
  try {
    const a = join(s.dir, 'a.csv');
    const b = join(s.dir, 'b.csv');
    const c = join(s.dir, 'c.csv');
    const args = [...REVIEW_SAMPLE, '--n', '20', '--stratify', 'size'];
    const ra = await s.run('--json', ...args, '--seed', '42', '-o', a);
    assert.equal(ra.code, 0, ra.stderr);
    assert.deepEqual(ra.json!.data.strata, { large: { rows: 100, sampled: 10 }, small: { rows: 100, sampled: 10 } });
    assert.equal((await s.run(...args, '--seed', '42', '-o', b)).code, 0);
    assert.equal((await s.run(...args, '--seed', '43', '-o', c)).code, 0);
    assert.deepEqual(rowsOf(a), rowsOf(b), 'same seed, same sample');
    assert.notDeepEqual(rowsOf(a), rowsOf(c), 'another seed, another sample');
    const lines = readFileSync(a, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'mlreg_review,case_id,p_benign,size,review_label');
    assert.equal(lines.length, 21);
    assert.ok(
      lines.slice(1).every((l) => l.endsWith(',')),
      'the label column is empty',
    );
    const sampled = new Set(rowsOf(a).slice(1));
    const source = new Set(
      readFileSync(PREDS, 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l + ','),
    );
    for (const r of sampled) assert.ok(source.has(r), `${r} comes from the predictions file`);
  } finally {
    s.cleanup();
  }
});

test('review import records agreement and metrics as review observations of the sampled version, once', async () => {
  const s = await setup();
  try {
    const f = join(s.dir, 'review.csv');
    assert.equal((await s.run(...REVIEW_SAMPLE, '--n', '10', '--seed', '1', '-o', f)).code, 0);
    const lines = readFileSync(f, 'utf8').trim().split('\n');
    // The reviewer agrees with the model on all but one row and leaves one row blank.
    const filled = lines.map((l, i) => {
      if (i === 0 || i === 10) return l;
      const p = Number(l.split(',').at(-3));
      const label = i === 1 ? (p >= 0.5 ? 0 : 1) : p >= 0.5 ? 1 : 0;
      return l + label;
    });
    writeFileSync(f, filled.join('\n') + '\n');
    const r = await s.run('--json', 'review', 'import', f);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json!.data.reviewed, 9);
    assert.ok(Math.abs(r.json!.data.agreement - 8 / 9) < 1e-12);
    assert.equal(r.json!.data.recorded.source, 'review');
    assert.equal(r.json!.data.recorded.version, '1.0.0');
    const metrics = r.json!.data.recorded.observations.map((o: { metric: string }) => o.metric).sort();
    assert.ok(metrics.includes('review_agreement') && metrics.includes('accuracy') && metrics.includes('log_loss'));
    const again = await s.run('review', 'import', f);
    assert.equal(again.code, 4);
    assert.match(again.stderr, /already imported/);
    const show = await s.run('--json', 'monitor', 'show', 'cancer', '--metric', 'review_agreement');
    assert.equal(show.json!.data.series[0].segments[0].points[0].source, 'review');
  } finally {
    s.cleanup();
  }
});

test('allocate splits n in proportion with at least one per stratum', async () => {
  assert.deepEqual(allocate([100, 100], 20), [10, 10]);
  assert.deepEqual(allocate([90, 9, 1], 10), [8, 1, 1]);
  assert.deepEqual(allocate([3, 2], 10), [3, 2]);
  assert.equal(
    allocate([50, 30, 20], 7).reduce((a, b) => a + b),
    7,
  );
});

test('review bad input changes nothing: unwritable output, unknown column, bad --n, a file that is not a review file', async () => {
  const s = await setup();
  try {
    const before = (await s.run('--json', 'history', 'cancer', '--all')).stdout;
    const missingDir = await s.run(
      '--json',
      ...REVIEW_SAMPLE,
      '--n',
      '5',
      '-o',
      join(s.dir, 'no', 'such', 'dir', 'r.csv'),
    );
    assert.equal(missingDir.code, 3);
    assert.equal(missingDir.json!.error!.code, 'E_PATH_NOT_FOUND');
    const col = await s.run(...REVIEW_SAMPLE, '--n', '5', '--stratify', 'region', '-o', join(s.dir, 'r.csv'));
    assert.equal(col.code, 2);
    assert.match(col.stderr, /has no column "region"/);
    assert.equal((await s.run(...REVIEW_SAMPLE, '--n', '0', '-o', join(s.dir, 'r.csv'))).code, 2);
    const notReview = await s.run('review', 'import', PREDS);
    assert.equal(notReview.code, 2);
    assert.match(notReview.stderr, /has no column "mlreg_review"/);
    assert.equal((await s.run('--json', 'history', 'cancer', '--all')).stdout, before);
  } finally {
    s.cleanup();
  }
});

test('review sample --at credits the predictions to the version that held the stage then, not after a rollback', async () => {
  const s = await setup();
  try {
    writeFileSync(join(s.dir, 'm2.bin'), 'weights 2');
    await s.run('add', 'model', 'cancer', join(s.dir, 'm2.bin'));
    assert.equal((await s.run('promote', 'cancer@1.1.0', '--to', 'production')).code, 0);
    const madeAt = new Date().toISOString();
    assert.equal((await s.run('rollback', 'cancer')).code, 0);
    const base = [...REVIEW_SAMPLE, '--n', '5', '--json'];
    const now = await s.run(...base, '-o', join(s.dir, 'now.csv'));
    assert.equal(now.json!.data.version, '1.0.0', 'without --at: the holder now');
    const then = await s.run(...base, '--at', madeAt, '-o', join(s.dir, 'then.csv'));
    assert.equal(then.code, 0, then.stderr);
    assert.equal(then.json!.data.version, '1.1.0', 'with --at: the holder when the predictions were made');
  } finally {
    s.cleanup();
  }
});
