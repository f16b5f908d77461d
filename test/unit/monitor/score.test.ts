import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scoreBatch } from '../../../src/core/monitor/score.js';
import { rocAuc } from '../../../src/core/monitor/metrics.js';
import { InvalidInputError } from '../../../src/core/errors.js';
import { FIXTURES, tempDir } from '../../helpers.js';

const DIR = join(FIXTURES, 'monitor');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8'));

function close(actual: Record<string, number>, want: Record<string, number>, what: string): void {
  for (const [k, v] of Object.entries(want)) {
    if (k === 'n') continue;
    assert.ok(actual[k] !== undefined, `${what}: ${k} missing`);
    assert.ok(Math.abs(actual[k]! - v) < 1e-9, `${what}: ${k} = ${actual[k]}, scikit-learn says ${v}`);
  }
}

test('classification metrics of a real model match scikit-learn, for all rows and per slice', async () => {
  const r = await scoreBatch({
    predictions: join(DIR, 'cls_predictions.csv'),
    labels: join(DIR, 'cls_labels.csv'),
    idColumn: 'case_id',
    predictionColumn: 'p_benign',
    labelColumn: 'label',
    sliceColumn: 'size',
  });
  assert.equal(r.task, 'classification');
  assert.equal(r.rows.matched, expected.classification.n);
  assert.equal(r.rows.labelsWithoutPrediction, 0);
  close(r.metrics, expected.classification.all, 'all');
  for (const s of ['large', 'small']) {
    assert.equal(r.slices[s]!.n, expected.classification.slices[s].n);
    close(r.slices[s]!.metrics, expected.classification.slices[s], s);
  }
});

test('regression metrics match scikit-learn', async () => {
  const r = await scoreBatch({
    predictions: join(DIR, 'reg_predictions.csv'),
    labels: join(DIR, 'reg_labels.csv'),
    idColumn: 'patient',
    predictionColumn: 'prediction',
    labelColumn: 'progression',
  });
  assert.equal(r.task, 'regression');
  assert.equal(r.rows.matched, expected.regression.n);
  close(r.metrics, expected.regression.all, 'regression');
});

test('AUC counts ties as half', () => {
  assert.equal(rocAuc(new Float64Array([0.5]), new Float64Array([0.5])), 0.5);
  assert.equal(rocAuc(new Float64Array([0.2, 0.9]), new Float64Array([0.1, 0.9].sort())), 0.625);
  assert.equal(rocAuc(new Float64Array([]), new Float64Array([0.1])), undefined);
});

test('labels whose id has no prediction are reported and refused; allowed, they are still counted', async () => {
  const t = tempDir();
  try {
    const p = join(t.path, 'p.csv');
    const l = join(t.path, 'l.csv');
    writeFileSync(p, 'id,prediction\na,0.9\nb,0.2\nc,0.7\n');
    writeFileSync(l, 'id,label\na,1\nb,0\nzz,1\nyy,0\n');
    await assert.rejects(
      scoreBatch({ predictions: p, labels: l, idColumn: 'id', predictionColumn: 'prediction', labelColumn: 'label' }),
      (e: unknown) =>
        e instanceof InvalidInputError &&
        e.code === 'E_UNMATCHED_LABELS' &&
        /2 of 4 labels have no prediction/.test(e.message) &&
        /"zz", "yy"/.test(e.message),
    );
    const r = await scoreBatch({
      predictions: p,
      labels: l,
      idColumn: 'id',
      predictionColumn: 'prediction',
      labelColumn: 'label',
      allowUnmatched: true,
    });
    assert.deepEqual(r.rows, {
      predictions: 3,
      labels: 4,
      matched: 2,
      predictionsWithoutLabel: 1,
      labelsWithoutPrediction: 2,
      unmatchedLabelIds: ['zz', 'yy'],
    });
    assert.equal(r.metrics.accuracy, 1);
  } finally {
    t.cleanup();
  }
});

test('bad predictions and labels name the file and line', async () => {
  const t = tempDir();
  try {
    const p = join(t.path, 'p.csv');
    const l = join(t.path, 'l.csv');
    writeFileSync(l, 'id,label\na,1\nb,0\n');
    writeFileSync(p, 'id,prediction\na,0.9\nb,1.7\n');
    await assert.rejects(
      scoreBatch({ predictions: p, labels: l, idColumn: 'id', predictionColumn: 'prediction', labelColumn: 'label' }),
      /line 3: 1.7 is not a probability/,
    );
    writeFileSync(p, 'id,prediction\na,0.9\na,0.1\n');
    await assert.rejects(
      scoreBatch({ predictions: p, labels: l, idColumn: 'id', predictionColumn: 'prediction', labelColumn: 'label' }),
      /line 3: id "a" appears twice/,
    );
    writeFileSync(l, 'id,label\na,1\nb,maybe\n');
    await assert.rejects(
      scoreBatch({ predictions: p, labels: l, idColumn: 'id', predictionColumn: 'prediction', labelColumn: 'label' }),
      /l\.csv, line 3: label "maybe" is not a number/,
    );
    await assert.rejects(
      scoreBatch({ predictions: p, labels: l, idColumn: 'txn', predictionColumn: 'prediction', labelColumn: 'label' }),
      /has no column "txn"/,
    );
  } finally {
    t.cleanup();
  }
});
