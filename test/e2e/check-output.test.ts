import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cliInProcess, copyDatasetSeed, FIXTURES, tempDir } from '../helpers.js';

const DATA = join(FIXTURES, 'datasets');

async function setup() {
  const t = tempDir();
  const reg = join(t.path, 'reg');
  const run = (...args: string[]) => cliInProcess(['--registry', reg, ...args], { cwd: t.path });
  await copyDatasetSeed(reg, 'train', join(DATA, 'train.csv'));
  return { run, cleanup: t.cleanup };
}

test('check shows FAIL and WARN rows by default and says how many others --all shows', async () => {
  const s = await setup();
  try {
    const same = await s.run('check', join(DATA, 'train.csv'), '--against', 'train');
    assert.equal(same.code, 0);
    assert.doesNotMatch(same.stdout, /^(PASS|INFO) {2,}\S+ {2,}/m, 'no PASS or INFO row');
    const hidden = /(\d+) PASS\/INFO rows not shown \(--all shows every row\)/.exec(same.stdout);
    assert.ok(hidden, same.stdout);
    const all = await s.run('check', join(DATA, 'train.csv'), '--against', 'train', '--all');
    const rows = all.stdout.split('\n').filter((l) => /^(PASS|INFO|WARN|FAIL) {2,}\S+ {2,}\S+ {2,}/.test(l));
    assert.equal(rows.length, Number(hidden[1]));
    // Identical data: a PSI within rounding error of 0 reads as 0, not 1e-30.
    const psi = rows.filter((l) => /\bpsi\b/.test(l));
    assert.ok(psi.length > 0);
    for (const l of psi) assert.doesNotMatch(l, /e-\d/, l);
  } finally {
    s.cleanup();
  }
});

test('check --ignore-column leaves a column out of every check; an unknown one is refused', async () => {
  const s = await setup();
  try {
    const failing = (r: Awaited<ReturnType<typeof s.run>>) =>
      [
        ...new Set(
          (r.json!.error?.details.records ?? r.json!.data.records)
            .filter((x: { status: string }) => x.status === 'FAIL')
            .map((x: { column: string }) => x.column),
        ),
      ].sort();
    const drifted = join(DATA, 'batch_drifted.csv');
    const all = await s.run('check', drifted, '--against', 'train', '--json');
    assert.deepEqual(failing(all), ['mean_texture', 'size_class', 'worst_smoothness']);
    const some = await s.run('check', drifted, '--against', 'train', '--json', '--ignore-column', 'size_class');
    assert.deepEqual(failing(some), ['mean_texture', 'worst_smoothness']);
    const records = some.json!.error!.details.records as { column: string }[];
    assert.ok(!records.some((x) => x.column === 'size_class'), 'no record of an ignored column');
    const bad = await s.run('check', drifted, '--against', 'train', '--json', '--ignore-column', 'nope');
    assert.equal(bad.code, 2);
    assert.equal(bad.json!.error!.code, 'E_UNKNOWN_COLUMN');
  } finally {
    s.cleanup();
  }
});
