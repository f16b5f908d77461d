import { InvalidInputError } from '../errors.js';
import { parseFiniteNumber } from '../lib/pairs.js';
import { openCsv } from './csv.js';
import { ClassificationAccumulator, RegressionAccumulator } from './metrics.js';
import { ALL_SLICE } from './observations.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * Join a predictions file with late-arriving labels on an id column and compute the metrics that
 * fit. Labels are held in memory (an id → row-number map and a Float64Array), predictions are
 * streamed, so a million rows stay well under the memory budget. Labels whose id has no
 * prediction are reported (and refused unless allowed), never silently dropped.
 */

export type Task = 'classification' | 'regression';

export interface ScoreOptions {
  predictions: string;
  labels: string;
  idColumn: string;
  predictionColumn: string;
  labelColumn: string;
  sliceColumn?: string | undefined;
  task?: Task | undefined;
  threshold?: number;
  /** Record the metrics even when some labels have no prediction (they are still reported). */
  allowUnmatched?: boolean | undefined;
}

export interface ScoreReport {
  task: Task;
  rows: {
    predictions: number;
    labels: number;
    matched: number;
    predictionsWithoutLabel: number;
    labelsWithoutPrediction: number;
    /** Up to 10 ids of labels that have no prediction. */
    unmatchedLabelIds: string[];
  };
  metrics: Record<string, number>;
  slices: Record<string, { n: number; metrics: Record<string, number> }>;
}

const MAX_SLICES = 100;

interface Accumulator {
  n: number;
  result(): Record<string, number>;
}

function labelsAreBinary(values: Float64Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (values[i] !== 0 && values[i] !== 1) return false;
  return true;
}

export async function scoreBatch(opts: ScoreOptions): Promise<ScoreReport> {
  // 1. Labels into memory: id → position, values in a typed array.
  const labels = await openCsv(opts.labels, 'labels file');
  const lId = labels.column(opts.idColumn, 'id');
  const lLabel = labels.column(opts.labelColumn, 'labelColumn');
  const index = new Map<string, number>();
  let values = new Float64Array(1 << 16);
  await labels.forEach((row, line) => {
    const raw = row[lLabel]!;
    const v = raw === 'true' ? 1 : raw === 'false' ? 0 : parseFiniteNumber(raw);
    if (v === undefined)
      throw new InvalidInputError(
        `labels file ${opts.labels}, line ${line}: label ${JSON.stringify(raw)} is not a number`,
        { code: 'E_BAD_LABEL', hint: 'Labels are 0/1 (classification) or numbers (regression).' },
      );
    const id = row[lId]!;
    const pos = index.size;
    // One hash lookup per label: a duplicate id leaves the size unchanged.
    if (index.set(id, pos).size === pos)
      throw new InvalidInputError(`labels file ${opts.labels}, line ${line}: id ${JSON.stringify(id)} appears twice`, {
        code: 'E_DUPLICATE_ID',
        hint: 'Each id must have one label; deduplicate the file.',
      });
    if (pos === values.length) {
      const next = new Float64Array(values.length * 2);
      next.set(values);
      values = next;
    }
    values[pos] = v;
  });
  const nLabels = index.size;
  if (nLabels === 0)
    throw new InvalidInputError(`labels file ${opts.labels} has no rows`, {
      code: 'E_NO_LABELS',
      hint: 'Give a file with a header and at least one labelled row.',
    });
  const task: Task = opts.task ?? (labelsAreBinary(values, nLabels) ? 'classification' : 'regression');
  if (task === 'classification' && !labelsAreBinary(values, nLabels)) {
    throw new InvalidInputError(`labels file ${opts.labels}: classification needs 0/1 labels`, {
      code: 'E_BAD_LABEL',
      hint: `Use ${optionRef('task')} regression for numeric targets.`,
    });
  }

  // 2. Stream predictions and accumulate, for all rows and per slice.
  const preds = await openCsv(opts.predictions, 'predictions file');
  const pId = preds.column(opts.idColumn, 'id');
  const pPred = preds.column(opts.predictionColumn, 'predictionColumn');
  const pSlice = opts.sliceColumn === undefined ? -1 : preds.column(opts.sliceColumn, 'sliceColumn');
  const make = (): Accumulator =>
    task === 'classification' ? new ClassificationAccumulator(opts.threshold ?? 0.5) : new RegressionAccumulator();
  const all = make();
  const slices = new Map<string, Accumulator>();
  const matched = new Uint8Array(nLabels);
  let without = 0;
  const add = (acc: Accumulator, p: number, y: number): void =>
    task === 'classification'
      ? (acc as ClassificationAccumulator).add(p, y as 0 | 1)
      : (acc as RegressionAccumulator).add(p, y);
  const nPreds = await preds.forEach((row, line) => {
    const raw = row[pPred]!;
    const p = parseFiniteNumber(raw);
    if (p === undefined)
      throw new InvalidInputError(
        `predictions file ${opts.predictions}, line ${line}: prediction ${JSON.stringify(raw)} is not a number`,
        {
          code: 'E_BAD_PREDICTION',
          hint: 'Predictions are probabilities of the positive class (classification) or numbers (regression).',
        },
      );
    if (task === 'classification' && (p < 0 || p > 1)) {
      throw new InvalidInputError(
        `predictions file ${opts.predictions}, line ${line}: ${raw} is not a probability between 0 and 1`,
        {
          code: 'E_BAD_PREDICTION',
          hint: `Give the probability of the positive class, or ${optionRef('task')} regression for numeric targets.`,
        },
      );
    }
    const id = row[pId]!;
    const pos = index.get(id);
    if (pos === undefined) {
      without++;
      return;
    }
    if (matched[pos])
      throw new InvalidInputError(
        `predictions file ${opts.predictions}, line ${line}: id ${JSON.stringify(id)} appears twice`,
        { code: 'E_DUPLICATE_ID', hint: 'Each id must have one prediction; deduplicate the file.' },
      );
    matched[pos] = 1;
    const y = values[pos]!;
    add(all, p, y);
    if (pSlice !== -1) {
      const s = row[pSlice]!;
      let acc = slices.get(s);
      if (!acc) {
        if (s === ALL_SLICE)
          throw new InvalidInputError(`slice value "${ALL_SLICE}" is reserved for the whole batch`, {
            code: 'E_BAD_SLICE',
            hint: 'Rename that slice value in the predictions file.',
          });
        if (slices.size === MAX_SLICES)
          throw new InvalidInputError(
            `the slice column ${opts.sliceColumn} has more than ${MAX_SLICES} distinct values`,
            {
              code: 'E_TOO_MANY_SLICES',
              hint: 'Slice by a column with few values (region, segment), not an id.',
              details: { option: 'sliceColumn' },
            },
          );
        acc = make();
        slices.set(s, acc);
      }
      add(acc, p, y);
    }
  });

  // 3. Labels without a prediction: report them; refuse unless allowed.
  let unmatched = 0;
  const unmatchedIds: string[] = [];
  for (const [id, pos] of index) {
    if (matched[pos]) continue;
    unmatched++;
    if (unmatchedIds.length < 10) unmatchedIds.push(id);
  }
  const report: ScoreReport = {
    task,
    rows: {
      predictions: nPreds,
      labels: nLabels,
      matched: all.n,
      predictionsWithoutLabel: without,
      labelsWithoutPrediction: unmatched,
      unmatchedLabelIds: unmatchedIds,
    },
    metrics: all.result(),
    slices: Object.fromEntries(
      [...slices]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([s, acc]) => [s, { n: acc.n, metrics: acc.result() }]),
    ),
  };
  if (unmatched > 0 && !opts.allowUnmatched) {
    throw new InvalidInputError(
      `${unmatched} of ${nLabels} labels have no prediction with the same ${opts.idColumn} (e.g. ${unmatchedIds
        .slice(0, 5)
        .map((i) => JSON.stringify(i))
        .join(', ')}); nothing was recorded`,
      {
        code: 'E_UNMATCHED_LABELS',
        hint: `Check that both files use the same ids and cover the same period; pass ${optionRef('allow-unmatched-labels')} to record the metrics of the matched rows anyway.`,
        details: report.rows,
      },
    );
  }
  if (all.n === 0)
    throw new InvalidInputError(`no prediction in ${opts.predictions} has a label in ${opts.labels}`, {
      code: 'E_NO_MATCHES',
      hint: `Check the ${optionRef('id')} column (${opts.idColumn}) in both files.`,
    });
  return report;
}

/** The observations a score report records: every metric for the whole batch and per slice. */
export function scoreObservations(report: ScoreReport): { metric: string; slice: string; value: number }[] {
  const out = Object.entries(report.metrics).map(([metric, value]) => ({ metric, slice: ALL_SLICE, value }));
  for (const [slice, s] of Object.entries(report.slices))
    for (const [metric, value] of Object.entries(s.metrics)) out.push({ metric, slice, value });
  return out;
}
