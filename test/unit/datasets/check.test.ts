import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addVersion } from '../../../src/core/versions/add.js';
import { configSet } from '../../../src/core/registry/config.js';
import { datasetAddHooks } from '../../../src/core/datasets/profiles.js';
import { checkDataset, type DataCheckReport } from '../../../src/core/datasets/check.js';
import { missingRateStatus } from '../../../src/core/datasets/check-profiles.js';
import { DEFAULT_THRESHOLDS } from '../../../src/core/datasets/thresholds.js';
import { MlregError } from '../../../src/core/errors.js';
import type { Registry } from '../../../src/core/registry/registry.js';
import { FIXTURES, tempRegistry } from '../../helpers.js';

const DATA = join(FIXTURES, 'datasets');

/** Write a CSV of n rows whose columns are given as functions of the row number. */
function csv(dir: string, name: string, n: number, cols: Record<string, (i: number) => string | number>): string {
  const names = Object.keys(cols);
  const lines = [names.join(',')];
  for (let i = 0; i < n; i++) lines.push(names.map((c) => String(cols[c]!(i))).join(','));
  const path = join(dir, name);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

async function addDataset(reg: Registry, name: string, path: string): Promise<void> {
  await addVersion(reg, { kind: 'dataset', name, path, actor: 'tester', ...datasetAddHooks(reg, true) });
}

const failing = (r: DataCheckReport): string[] =>
  [...new Set(r.records.filter((x) => x.status === 'FAIL').map((x) => x.column))].sort();
const rec = (r: DataCheckReport, column: string, check: string) =>
  r.records.find((x) => x.column === column && x.check === check);
/** A deterministic pseudo-random stream (a linear congruential generator) for reproducible samples. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}
const normal = (u: () => number) => (): number => Math.sqrt(-2 * Math.log(u() || 1e-12)) * Math.cos(2 * Math.PI * u());

async function expectError(p: Promise<unknown>, code: string, exitCode: number): Promise<MlregError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof MlregError, String(err));
    assert.equal(err.code, code, err.message);
    assert.equal(err.exitCode, exitCode);
    return err;
  }
  assert.fail(`expected ${code}`);
}

test('known answer: the drifted batch FAILS on exactly the shifted, the missing and the new-category columns; the shuffled holdout PASSES', async () => {
  const t = tempRegistry();
  try {
    await addDataset(t.reg, 'train', join(DATA, 'train.csv'));
    const expected = JSON.parse(readFileSync(join(DATA, 'expected.json'), 'utf8')) as { batch_changed: string[] };
    const bad = await checkDataset(t.reg, { current: join(DATA, 'batch_drifted.csv'), reference: 'train' });
    assert.equal(bad.status, 'FAIL');
    assert.deepEqual(failing(bad), [...expected.batch_changed].sort());
    assert.equal(rec(bad, 'mean_texture', 'mean')!.status, 'FAIL');
    assert.ok(rec(bad, 'mean_texture', 'mean')!.value! > 2.5);
    assert.equal(rec(bad, 'worst_smoothness', 'missing_rate')!.status, 'FAIL');
    assert.match(rec(bad, 'size_class', 'unseen_categories')!.message, /"huge"/);
    assert.equal(bad.records[0]!.status, 'FAIL', 'worst first');
    assert.equal(rec(bad, 'mean_texture', 'drift')!.statistic, 'KS p-value', 'small reference: KS');
    assert.equal(
      rec(bad, 'diagnosis', 'drift')!.statistic,
      'Z-test p-value',
      'two categories, small reference: Z-test',
    );
    assert.equal(rec(bad, 'size_class', 'drift')!.statistic, 'chi-square p-value');
    assert.ok(
      rec(bad, 'mean_texture', 'psi') && rec(bad, 'mean_texture', 'l_infinity'),
      'PSI and L-infinity are reported',
    );
    assert.equal(rec(bad, 'mean_texture', 'psi')!.status, 'INFO', 'PSI does not gate');

    const good = await checkDataset(t.reg, { current: join(DATA, 'holdout_shuffled.csv'), reference: 'train' });
    assert.equal(good.status, 'PASS', JSON.stringify(good.records.filter((r) => r.status === 'FAIL')));
    assert.deepEqual(failing(good), []);
    assert.match(good.summary, /^drift in \d+\/32 columns \(\d+%\) < 50%: PASS/);
  } finally {
    t.cleanup();
  }
});

test('a check reads only: the registry gets no event and no version, and stored current and reference work by name', async () => {
  const t = tempRegistry();
  try {
    await addDataset(t.reg, 'train', join(DATA, 'train.csv'));
    await addDataset(t.reg, 'batch', join(DATA, 'holdout.csv'));
    const events = () => (t.reg.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    const before = events();
    const r = await checkDataset(t.reg, { current: 'batch@latest', reference: 'train@1.0.0' });
    assert.equal(r.current.label, 'batch@1.0.0');
    await checkDataset(t.reg, { current: { path: join(DATA, 'holdout.csv') }, reference: 'train' });
    assert.equal(events(), before);
    assert.equal((t.reg.db.prepare('SELECT count(*) AS n FROM versions').get() as { n: number }).n, 2);
  } finally {
    t.cleanup();
  }
});

test('large reference: normalised Wasserstein for numbers and Jensen-Shannon for categories', async () => {
  const t = tempRegistry();
  try {
    const u = lcg(1);
    const z = normal(u);
    const ref = csv(t.dir, 'ref.csv', 3000, {
      x: () => (10 + 2 * z()).toFixed(4),
      y: () => (5 + z()).toFixed(4),
      c: () => ['a', 'b', 'c'][Math.floor(u() * 3)]!,
    });
    const same = csv(t.dir, 'same.csv', 2000, {
      x: () => (10 + 2 * z()).toFixed(4),
      y: () => (5 + z()).toFixed(4),
      c: () => ['a', 'b', 'c'][Math.floor(u() * 3)]!,
    });
    const moved = csv(t.dir, 'moved.csv', 2000, {
      x: () => (11 + 2 * z()).toFixed(4),
      y: () => (5 + z()).toFixed(4),
      c: () => (u() < 0.7 ? 'a' : ['b', 'c'][Math.floor(u() * 2)]!),
    });
    await addDataset(t.reg, 'ref', ref);
    const ok = await checkDataset(t.reg, { current: same, reference: 'ref' });
    assert.equal(rec(ok, 'x', 'drift')!.statistic, 'Wasserstein distance (normed)');
    assert.equal(rec(ok, 'x', 'drift')!.status, 'PASS');
    assert.equal(rec(ok, 'c', 'drift')!.statistic, 'Jensen-Shannon distance');
    assert.equal(rec(ok, 'c', 'drift')!.status, 'PASS');
    const bad = await checkDataset(t.reg, { current: moved, reference: 'ref' });
    // A shift of half a standard deviation: W1 / std = 0.5.
    assert.ok(Math.abs(rec(bad, 'x', 'drift')!.value! - 0.5) < 0.08, String(rec(bad, 'x', 'drift')!.value));
    assert.equal(rec(bad, 'x', 'drift')!.status, 'WARN');
    assert.equal(rec(bad, 'c', 'drift')!.status, 'WARN');
    assert.equal(rec(bad, 'y', 'drift')!.status, 'PASS');
    // 2 of 3 columns drift: at least the default 50%.
    assert.equal(bad.drift.drifted, 2);
    assert.equal(rec(bad, '(dataset)', 'dataset_drift')!.status, 'FAIL');
    assert.equal(bad.status, 'FAIL');
    assert.match(bad.summary, /^drift in 2\/3 columns \(67%\) ≥ 50%: FAIL/);
    // The drift share threshold: a flag value, else the registry setting.
    assert.equal(
      (await checkDataset(t.reg, { current: moved, reference: 'ref', thresholds: { driftShare: 0.7 } })).drift.status,
      'PASS',
    );
    configSet(t.reg, 'check.drift_share', '0.9', 'tester');
    const loosened = await checkDataset(t.reg, { current: moved, reference: 'ref' });
    assert.equal(loosened.thresholds.driftShare, 0.9);
    assert.equal(loosened.drift.status, 'PASS');
    assert.equal(
      (await checkDataset(t.reg, { current: moved, reference: 'ref', thresholds: { driftShare: 0.5 } })).drift.status,
      'FAIL',
      'a flag beats the setting',
    );
  } finally {
    t.cleanup();
  }
});

test('schema: a missing column FAILS, a new column WARNS, int → float WARNS, number → text FAILS', async () => {
  const t = tempRegistry();
  try {
    const ref = csv(t.dir, 'ref.csv', 40, { a: (i) => i % 7, b: (i) => i * 1.5, c: (i) => i % 5, d: (i) => i });
    const cur = csv(t.dir, 'cur.csv', 40, {
      a: (i) => (i % 7) + 0.5,
      b: (i) => i * 1.5,
      c: (i) => `x${i % 5}`,
      e: (i) => i,
    });
    await addDataset(t.reg, 'ref', ref);
    const r = await checkDataset(t.reg, { current: cur, reference: 'ref' });
    assert.equal(rec(r, 'a', 'type')!.status, 'WARN');
    assert.match(rec(r, 'a', 'type')!.message, /BIGINT .* to DOUBLE/);
    assert.equal(rec(r, 'b', 'type')!.status, 'PASS');
    assert.equal(rec(r, 'c', 'type')!.status, 'FAIL');
    assert.equal(rec(r, 'd', 'column')!.status, 'FAIL');
    assert.match(rec(r, 'd', 'column')!.message, /missing from the current data/);
    assert.equal(rec(r, 'e', 'column')!.status, 'WARN');
    assert.deepEqual(failing(r), ['c', 'd']);
  } finally {
    t.cleanup();
  }
});

test('missing rate: any missing FAILS when the reference had none; else it must pass 1.1 × and +0.5 points', () => {
  const th = DEFAULT_THRESHOLDS;
  assert.equal(missingRateStatus(0, 0, th), 'PASS');
  assert.equal(missingRateStatus(0, 0.001, th), 'FAIL');
  assert.equal(missingRateStatus(0.1, 0.105, th), 'PASS', 'ratio 1.05');
  assert.equal(missingRateStatus(0.01, 0.0112, th), 'PASS', 'ratio 1.12 but only +0.12 points');
  assert.equal(missingRateStatus(0.1, 0.12, th), 'FAIL');
  assert.equal(missingRateStatus(0.1, 0.05, th), 'PASS');
});

test('values: std ratio bands, outside the reference range, new negatives, empty and constant columns, categories that disappeared', async () => {
  const t = tempRegistry();
  try {
    const ref = csv(t.dir, 'ref.csv', 200, {
      wide: (i) => i % 20,
      narrow: (i) => i % 20,
      pos: (i) => i % 10,
      gone: (i) => ['a', 'b', 'c'][i % 3]!,
      empty: (i) => i % 4,
      same: (i) => i % 3,
    });
    const cur = csv(t.dir, 'cur.csv', 200, {
      wide: (i) => ((i % 20) - 9.5) * 1.3 + 9.5,
      narrow: (i) => ((i % 20) - 9.5) * 0.3 + 9.5,
      pos: (i) => (i % 10) - 1,
      gone: (i) => ['a', 'b'][i % 2]!,
      empty: () => '',
      same: () => 1,
    });
    await addDataset(t.reg, 'ref', ref);
    const r = await checkDataset(t.reg, { current: cur, reference: 'ref' });
    assert.equal(rec(r, 'wide', 'std_ratio')!.status, 'WARN');
    assert.ok(Math.abs(rec(r, 'wide', 'std_ratio')!.value! - 1.3) < 1e-9);
    assert.equal(rec(r, 'wide', 'range')!.status, 'WARN');
    assert.equal(rec(r, 'narrow', 'std_ratio')!.status, 'FAIL');
    assert.equal(rec(r, 'narrow', 'range')!.status, 'PASS');
    assert.equal(rec(r, 'pos', 'negatives')!.status, 'WARN');
    assert.equal(rec(r, 'pos', 'negatives')!.value, 0.1);
    assert.equal(rec(r, 'gone', 'missing_categories')!.status, 'WARN');
    assert.match(rec(r, 'gone', 'missing_categories')!.message, /"c"/);
    assert.equal(rec(r, 'empty', 'empty')!.status, 'WARN');
    assert.equal(rec(r, 'empty', 'missing_rate')!.status, 'FAIL');
    assert.equal(rec(r, 'same', 'constant')!.status, 'WARN');
  } finally {
    t.cleanup();
  }
});

test('--max-unseen-share loosens the unseen-category FAIL; --fail-on-column and --strict turn warnings into failures', async () => {
  const t = tempRegistry();
  try {
    // Two steady columns keep the dataset drift share (1 of 4) under 50%.
    const ref = csv(t.dir, 'ref.csv', 100, {
      c: (i) => ['a', 'b', 'c'][i % 3]!,
      x: (i) => i % 10,
      y: (i) => i % 7,
      z: (i) => i % 4,
    });
    const cur = csv(t.dir, 'cur.csv', 100, {
      c: (i) => (i < 2 ? 'new' : ['a', 'b', 'c'][i % 3]!),
      x: (i) => (i % 10) * 1.2,
      y: (i) => i % 7,
      z: (i) => i % 4,
    });
    await addDataset(t.reg, 'ref', ref);
    const base = await checkDataset(t.reg, { current: cur, reference: 'ref' });
    assert.equal(rec(base, 'c', 'unseen_categories')!.status, 'FAIL');
    assert.equal(rec(base, 'x', 'std_ratio')!.status, 'WARN');
    const loose = await checkDataset(t.reg, { current: cur, reference: 'ref', thresholds: { maxUnseenShare: 0.05 } });
    assert.equal(rec(loose, 'c', 'unseen_categories')!.status, 'PASS');
    assert.equal(loose.status, 'PASS');
    const critical = await checkDataset(t.reg, {
      current: cur,
      reference: 'ref',
      thresholds: { maxUnseenShare: 0.05 },
      failOnColumns: ['x'],
    });
    assert.equal(rec(critical, 'x', 'std_ratio')!.status, 'FAIL');
    assert.equal(critical.status, 'FAIL');
    const strict = await checkDataset(t.reg, {
      current: cur,
      reference: 'ref',
      thresholds: { maxUnseenShare: 0.05 },
      strict: true,
    });
    assert.equal(strict.status, 'FAIL');
    assert.equal(rec(strict, 'x', 'std_ratio')!.status, 'WARN', 'strict fails the gate, records keep their status');
    await expectError(
      checkDataset(t.reg, { current: cur, reference: 'ref', failOnColumns: ['nope'] }),
      'E_UNKNOWN_COLUMN',
      2,
    );
  } finally {
    t.cleanup();
  }
});

test('bad input: a 1-row reference, no reference, two references, unknown current, a model as reference', async () => {
  const t = tempRegistry();
  try {
    await addDataset(t.reg, 'one', csv(t.dir, 'one.csv', 1, { a: () => 1 }));
    await addDataset(t.reg, 'two', csv(t.dir, 'two.csv', 5, { a: (i) => i }));
    const cur = csv(t.dir, 'cur.csv', 5, { a: (i) => i });
    const e = await expectError(checkDataset(t.reg, { current: cur, reference: 'one' }), 'E_REFERENCE_TOO_SMALL', 2);
    assert.match(e.message, /has 1 row/);
    await expectError(checkDataset(t.reg, { current: cur }), 'E_NO_REFERENCE', 2);
    await expectError(checkDataset(t.reg, { current: cur, reference: 'two', againstModel: 'm' }), 'E_NO_REFERENCE', 2);
    await expectError(
      checkDataset(t.reg, { current: join(t.dir, 'nope.csv'), reference: 'two' }),
      'E_CURRENT_NOT_FOUND',
      3,
    );
    await addVersion(t.reg, { kind: 'model', name: 'm', path: cur, actor: 'tester' });
    await expectError(checkDataset(t.reg, { current: cur, reference: 'm' }), 'E_WRONG_KIND', 2);
    await expectError(checkDataset(t.reg, { current: cur, againstModel: 'm' }), 'E_NO_TRAINING_DATA', 3);
  } finally {
    t.cleanup();
  }
});

test('--against-model uses the dataset the model was trained on', async () => {
  const t = tempRegistry();
  try {
    await addDataset(t.reg, 'train', join(DATA, 'train.csv'));
    await addVersion(t.reg, {
      kind: 'model',
      name: 'clf',
      path: join(DATA, 'make_datasets.py'),
      actor: 'tester',
      trainedOn: ['train@1.0.0'],
    });
    const r = await checkDataset(t.reg, { current: join(DATA, 'batch_drifted.csv'), againstModel: 'clf@latest' });
    assert.equal(r.reference.label, 'train@1.0.0');
    assert.equal(r.status, 'FAIL');
  } finally {
    t.cleanup();
  }
});

test('a categorical column whose current values are so many that it profiles as text still FAILS on its new categories', async () => {
  const t = tempRegistry();
  try {
    await addDataset(t.reg, 'ref', csv(t.dir, 'ref.csv', 40, { c: (i) => ['a', 'b', 'c'][i % 3]!, x: (i) => i }));
    const r = await checkDataset(t.reg, {
      current: csv(t.dir, 'cur.csv', 40, { c: (i) => `v${i % 30}`, x: (i) => i }),
      reference: 'ref',
    });
    assert.equal(rec(r, 'c', 'type')!.status, 'PASS', 'text and categorical are the same type of data');
    assert.equal(rec(r, 'c', 'unseen_categories')!.status, 'FAIL');
    assert.equal(rec(r, 'c', 'unseen_categories')!.value, 1);
  } finally {
    t.cleanup();
  }
});

test('a name that is both a registered dataset and a file here is refused, and ./NAME or NAME@latest says which', async () => {
  const t = tempRegistry();
  const cwd = process.cwd();
  try {
    const file = csv(t.dir, 'cats.csv', 50, { w: (i) => i % 7, h: (i) => (i * 3) % 11 });
    await addDataset(t.reg, 'cats.csv', file);
    process.chdir(t.dir); // ./cats.csv is the CSV written above
    await assert.rejects(checkDataset(t.reg, { current: 'cats.csv', reference: 'cats.csv@latest' }), (err: unknown) => {
      assert.ok(err instanceof MlregError);
      assert.equal(err.code, 'E_AMBIGUOUS_DATA');
      assert.match(err.hint, /\.\/cats\.csv for the file, or cats\.csv@latest/);
      return true;
    });
    const asFile = await checkDataset(t.reg, { current: './cats.csv', reference: 'cats.csv@latest' });
    assert.equal(asFile.current.label, './cats.csv');
    const asRef = await checkDataset(t.reg, { current: 'cats.csv@latest', reference: 'cats.csv@latest' });
    assert.equal(asRef.current.label, 'cats.csv@1.0.0');
  } finally {
    process.chdir(cwd);
    t.cleanup();
  }
});
