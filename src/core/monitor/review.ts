import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { ConflictError, fromSystemError, InvalidInputError, NotFoundError } from '../errors.js';
import { parseFiniteNumber } from '../lib/pairs.js';
import type { Registry } from '../registry/registry.js';
import { writeFileAtomic } from '../lib/fs.js';
import { applyOperations } from '../remote/apply.js';
import { csvField, openCsv } from './csv.js';
import { ClassificationAccumulator, RegressionAccumulator } from './metrics.js';
import { holderOf, parseObservationTime, recordObservations, type RecordResult, type Target } from './observations.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * Human review: a reproducible sample of predictions for people to label, and the import of their
 * labels as observations (source `review`) of the version that made the predictions.
 */

export const SAMPLE_COLUMN = 'mlreg_review';
export const LABEL_COLUMN = 'review_label';

/** mulberry32: a small, fast, seedable generator; the same seed gives the same sample. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Keyed {
  key: number;
  order: number;
  row: string[];
}

/** The `size` rows with the smallest keys seen so far (a max-heap on key): a uniform sample without replacement. */
class SmallestK {
  readonly heap: Keyed[] = [];
  seen = 0;
  constructor(private readonly size: number) {}
  offer(item: Keyed): void {
    this.seen++;
    const h = this.heap;
    if (h.length < this.size) {
      h.push(item);
      for (let i = h.length - 1; i > 0; ) {
        const p = (i - 1) >> 1;
        if (h[p]!.key >= h[i]!.key) break;
        [h[p], h[i]] = [h[i]!, h[p]!];
        i = p;
      }
    } else if (item.key < h[0]!.key) {
      h[0] = item;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.key > h[m]!.key) m = l;
        if (r < h.length && h[r]!.key > h[m]!.key) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
  }
  /** The k smallest, by key. */
  take(k: number): Keyed[] {
    return [...this.heap].sort((a, b) => a.key - b.key).slice(0, k);
  }
}

/** Split n over strata in proportion to their sizes (largest remainder), at least one each when n allows. */
export function allocate(sizes: readonly number[], n: number): number[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (n >= total) return [...sizes];
  const base = sizes.map((s) => (n * s) / total);
  const out = base.map((b, i) => Math.min(sizes[i]!, Math.floor(b)));
  if (n >= sizes.length) for (let i = 0; i < out.length; i++) if (out[i] === 0 && sizes[i]! > 0) out[i] = 1;
  let left = n - out.reduce((a, b) => a + b, 0);
  const frac = base.map((b) => b - Math.floor(b));
  const order = sizes.map((_, i) => i).sort((i, j) => frac[j]! - frac[i]! || i - j);
  while (left > 0) {
    let moved = false;
    for (const i of order) {
      if (left === 0) break;
      if (out[i]! < sizes[i]!) {
        out[i]!++;
        left--;
        moved = true;
      }
    }
    if (!moved) break;
  }
  // Minimums may have overshot n: take back from the largest allocations.
  while (left < 0) {
    const i = out.indexOf(Math.max(...out));
    out[i]!--;
    left++;
  }
  return out;
}

export interface SampleOptions {
  target: Target;
  predictions: string;
  idColumn: string;
  predictionColumn: string;
  n: number;
  stratify?: string | undefined;
  seed?: number | undefined;
  /** When the predictions were made: they belong to the version holding the stage then (default: now). */
  at?: string | undefined;
  out: string;
  actor: string;
}

export interface SampleResult {
  sample: number;
  name: string;
  stage: string;
  version: string;
  out: string;
  seed: number;
  rows: number;
  size: number;
  strata: Record<string, { rows: number; sampled: number }> | null;
}

export async function sampleReview(reg: Registry, opts: SampleOptions): Promise<SampleResult> {
  if (!Number.isInteger(opts.n) || opts.n < 1)
    throw new InvalidInputError(`the sample size must be a whole number ≥ 1, not ${opts.n}`, {
      code: 'E_BAD_N',
      hint: 'e.g. 200 rows to label.',
      details: { option: 'n' },
    });
  const seed = opts.seed ?? randomBytes(4).readUInt32BE(0) >>> 1;
  const madeAt = opts.at === undefined ? undefined : parseObservationTime(opts.at, reg.runtime.now());
  holderOf(reg, opts.target, madeAt); // refuse an unknown artifact or stage before reading the file
  const table = await openCsv(opts.predictions, 'predictions file');
  table.column(opts.idColumn, 'id');
  table.column(opts.predictionColumn, 'predictionColumn');
  const sIdx = opts.stratify === undefined ? -1 : table.column(opts.stratify, 'stratify');
  if (table.header.includes(SAMPLE_COLUMN) || table.header.includes(LABEL_COLUMN)) {
    throw new InvalidInputError(
      `predictions file ${opts.predictions} already has a ${SAMPLE_COLUMN} or ${LABEL_COLUMN} column`,
      { code: 'E_RESERVED_COLUMN', hint: 'Rename that column; mlreg adds these two to the review file.' },
    );
  }
  const random = prng(seed);
  const strata = new Map<string, SmallestK>();
  let order = 0;
  await table.forEach((row) => {
    const s = sIdx === -1 ? '' : row[sIdx]!;
    let bucket = strata.get(s);
    if (!bucket) strata.set(s, (bucket = new SmallestK(opts.n)));
    bucket.offer({ key: random(), order: order++, row });
  });
  if (order === 0)
    throw new InvalidInputError(`predictions file ${opts.predictions} has no rows`, {
      code: 'E_NO_ROWS',
      hint: `Point ${optionRef('predictions')} to a CSV with a header row and at least one prediction.`,
    });
  const names = [...strata.keys()].sort();
  const counts = allocate(
    names.map((s) => strata.get(s)!.seen),
    Math.min(opts.n, order),
  );
  const picked = names.flatMap((s, i) => strata.get(s)!.take(counts[i]!)).sort((a, b) => a.order - b.order);
  const out = resolve(opts.out);
  return reg.write(() => {
    const holder = holderOf(reg, opts.target, madeAt);
    const [applied] = applyOperations(
      reg,
      [
        {
          op: 'review.sample',
          at: reg.nowIso(),
          name: holder.artifact.name,
          stage: holder.stage,
          version: holder.version,
          idColumn: opts.idColumn,
          predictionColumn: opts.predictionColumn,
          stratify: opts.stratify ?? null,
          seed,
          size: picked.length,
          details: { file: out },
        },
      ],
      opts.actor,
    );
    const sample = applied!.sampleId!;
    const lines = [[SAMPLE_COLUMN, ...table.header, LABEL_COLUMN].map(csvField).join(',')];
    for (const p of picked) lines.push([String(sample), ...p.row, ''].map(csvField).join(','));
    // Written inside the transaction: a file that cannot be written leaves no sample behind.
    try {
      writeFileAtomic(
        out,
        lines.join('\n') + '\n',
        join(dirname(out), `.${basename(out)}.${randomBytes(4).toString('hex')}.tmp`),
      );
    } catch (err) {
      throw fromSystemError(err, 'review sample -o');
    }
    return {
      sample,
      name: holder.artifact.name,
      stage: holder.stage,
      version: holder.version,
      out,
      seed,
      rows: order,
      size: picked.length,
      strata:
        sIdx === -1
          ? null
          : Object.fromEntries(names.map((s, i) => [s, { rows: strata.get(s)!.seen, sampled: counts[i]! }])),
    };
  });
}

interface SampleRow {
  id: number;
  artifact_id: number;
  version_id: number | null;
  version: string;
  stage: string;
  id_column: string;
  prediction_column: string;
  imported_at: string | null;
}

export interface ImportResult {
  sample: number;
  rows: number;
  reviewed: number;
  task: 'classification' | 'regression' | 'labels';
  agreement: number | null;
  metrics: Record<string, number>;
  recorded: RecordResult;
}

const asBinary = (s: string): 0 | 1 | undefined =>
  s === '1' || s === 'true' ? 1 : s === '0' || s === 'false' ? 0 : undefined;

export async function importReview(reg: Registry, file: string, actor: string): Promise<ImportResult> {
  const table = await openCsv(file, 'review file');
  const sCol = table.column(SAMPLE_COLUMN, `a file made by \`mlreg review sample\``);
  const lCol = table.column(LABEL_COLUMN, `a file made by \`mlreg review sample\``);
  const rows: string[][] = [];
  await table.forEach((row) => rows.push(row));
  const ids = new Set(rows.map((r) => r[sCol]!));
  if (ids.size !== 1)
    throw new InvalidInputError(
      `review file ${file} mixes ${ids.size === 0 ? 'no' : ids.size} samples (${SAMPLE_COLUMN} column)`,
      { code: 'E_BAD_REVIEW_FILE', hint: 'Import each file written by `mlreg review sample` as it is, one at a time.' },
    );
  const sampleId = Number([...ids][0]);
  const s = reg.db
    .prepare(
      'SELECT id, artifact_id, version_id, version, stage, id_column, prediction_column, imported_at FROM review_samples WHERE id = ?',
    )
    .get(sampleId) as SampleRow | undefined;
  if (!s)
    throw new NotFoundError(`review sample ${[...ids][0]} is not in this registry`, {
      code: 'E_SAMPLE_NOT_FOUND',
      hint: `Import the file into the registry that made the sample (${optionRef('registry')}).`,
    });
  if (s.imported_at)
    throw new ConflictError(`review sample ${s.id} was already imported at ${s.imported_at}`, {
      code: 'E_ALREADY_IMPORTED',
      hint: 'Its labels are already recorded; importing twice would count them twice.',
    });
  if (s.version_id === null)
    throw new NotFoundError(`version ${s.version}, which made the sampled predictions, was deleted`, {
      code: 'E_VERSION_NOT_FOUND',
      hint: 'Its labels cannot be recorded against a deleted version; sample the predictions of a current version again.',
    });
  const pCol = table.column(s.prediction_column, 'predictionColumn');
  const reviewed = rows.filter((r) => r[lCol]!.trim() !== '');
  if (reviewed.length === 0)
    throw new InvalidInputError(`no row of ${file} has a ${LABEL_COLUMN}`, {
      code: 'E_NOTHING_REVIEWED',
      hint: `Fill in the ${LABEL_COLUMN} column, then import again.`,
    });
  const labels = reviewed.map((r) => r[lCol]!.trim());
  const preds = reviewed.map((r) => r[pCol]!.trim());
  const probs = preds.map((p) => parseFiniteNumber(p));
  let task: ImportResult['task'];
  let agreement: number | null = null;
  let metrics: Record<string, number> = {};
  if (labels.every((l) => asBinary(l) !== undefined) && probs.every((p) => p !== undefined && p >= 0 && p <= 1)) {
    task = 'classification';
    const acc = new ClassificationAccumulator();
    reviewed.forEach((_, i) => acc.add(probs[i]!, asBinary(labels[i]!)!));
    metrics = acc.result();
    agreement = metrics.accuracy!;
  } else if (probs.every((p) => p !== undefined) && labels.every((l) => parseFiniteNumber(l) !== undefined)) {
    task = 'regression';
    const acc = new RegressionAccumulator();
    reviewed.forEach((_, i) => acc.add(probs[i]!, parseFiniteNumber(labels[i]!)!));
    metrics = acc.result();
  } else {
    // Class names: agreement is exact equality of the reviewer's label and the prediction.
    task = 'labels';
    agreement = labels.filter((l, i) => l === preds[i]).length / labels.length;
  }
  const values = [
    ...(agreement === null ? [] : [{ metric: 'review_agreement', value: agreement }]),
    ...Object.entries(metrics).map(([metric, value]) => ({ metric, value })),
  ];
  const name = (reg.db.prepare('SELECT name FROM artifacts WHERE id = ?').get(s.artifact_id) as { name: string }).name;
  return reg.write(() => {
    const again = reg.db.prepare('SELECT imported_at FROM review_samples WHERE id = ?').get(s.id) as {
      imported_at: string | null;
    };
    if (again.imported_at)
      throw new ConflictError(`review sample ${s.id} was already imported at ${again.imported_at}`, {
        code: 'E_ALREADY_IMPORTED',
        hint: 'Its labels are already recorded.',
      });
    const recorded = recordObservations(reg, {
      target: { name, stage: s.stage },
      values,
      source: 'review',
      actor,
      pinned: { versionId: s.version_id!, version: s.version },
      details: { sample: s.id, rows: rows.length, reviewed: reviewed.length },
    });
    applyOperations(reg, [{ op: 'review.import', at: recorded.at, sample: s.id }], actor);
    return { sample: s.id, rows: rows.length, reviewed: reviewed.length, task, agreement, metrics, recorded };
  });
}
