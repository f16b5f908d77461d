import { InvalidInputError, UsageError } from '../errors.js';
import { applyOperations } from '../remote/apply.js';
import { KEY_RE } from '../lib/pairs.js';
import { resolveRef, versionById, type VersionRecord } from '../versions/refs.js';
import type { Registry } from '../registry/registry.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * Evaluations: metric values of a model version, optionally on a dataset version and a slice.
 * Recording appends rows (history is kept); readers take the newest row per
 * (version, dataset, slice, metric).
 */

export const DEFAULT_SLICE = 'all';
export const SLICE_RE = KEY_RE;

export type EvaluationSource = 'record' | 'run';

/** Metric values per slice: `{ all: { auc: 0.91 }, recent: { auc: 0.88 } }`. */
export type SliceMetrics = Record<string, Record<string, number>>;

export interface RecordEvaluationOptions {
  /** A model reference, or a version already resolved (eval run records against what it evaluated). */
  model: string | VersionRecord;
  /** A dataset reference or resolved version; null/undefined for values measured without one. */
  dataset?: string | VersionRecord | null | undefined;
  results: SliceMetrics;
  actor: string;
  source: EvaluationSource;
  /** Extra event details (eval run: the command, its duration). */
  details?: Record<string, unknown>;
}

export interface RecordedEvaluation {
  model: { name: string; version: string };
  dataset: { name: string; version: string } | null;
  results: SliceMetrics;
  source: EvaluationSource;
  recordedAt: string;
  actor: string;
  eventId: number;
}

export function validateSlice(slice: string): string {
  if (!SLICE_RE.test(slice)) {
    throw new InvalidInputError(`invalid slice name ${JSON.stringify(slice)}`, {
      code: 'E_BAD_SLICE',
      hint: 'Slice names use letters, digits and _ . : / - (e.g. recent, segment:mobile), at most 128 characters.',
    });
  }
  return slice;
}

/** Refuse anything that is not a non-empty map of slice → metric → finite number. */
export function validateResults(results: SliceMetrics): SliceMetrics {
  const slices = Object.entries(results);
  if (slices.length === 0 || slices.every(([, m]) => Object.keys(m).length === 0)) {
    throw new InvalidInputError('no metric values to record', {
      code: 'E_NO_METRICS',
      hint: 'Give at least one metric, e.g. auc=0.91.',
    });
  }
  for (const [slice, metrics] of slices) {
    validateSlice(slice);
    for (const [metric, value] of Object.entries(metrics)) {
      if (!KEY_RE.test(metric)) {
        throw new InvalidInputError(`invalid metric name ${JSON.stringify(metric)}`, {
          code: 'E_BAD_METRIC',
          hint: 'Metric names use letters, digits and _ . : / -.',
        });
      }
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new InvalidInputError(
          `metric ${metric}${slice === DEFAULT_SLICE ? '' : ` (slice ${slice})`} is ${String(value)}, not a finite number`,
          {
            code: 'E_BAD_METRIC',
            hint: 'Metric values must be finite numbers; NaN and infinity cannot be compared.',
          },
        );
      }
    }
  }
  return results;
}

function resolveModel(reg: Registry, model: string | VersionRecord): VersionRecord {
  // Re-read a resolved version inside the transaction: it must still exist.
  const v = typeof model === 'string' ? resolveRef(reg, model) : versionById(reg, model.id);
  if (v.kind !== 'model') {
    throw new UsageError(`${v.name} is a dataset; evaluations belong to models`, {
      code: 'E_WRONG_KIND',
      hint: `Give the model first, then the dataset with ${optionRef('on')} DATASET_REF.`,
    });
  }
  return v;
}

function resolveDataset(reg: Registry, dataset: string | VersionRecord): VersionRecord {
  const v = typeof dataset === 'string' ? resolveRef(reg, dataset) : versionById(reg, dataset.id);
  if (v.kind !== 'dataset') {
    throw new UsageError(`${v.name} is a model; evaluations are on a dataset`, {
      code: 'E_WRONG_KIND',
      hint: 'Register the evaluation data with `mlreg add dataset NAME PATH` and give its NAME@VERSION.',
      details: { option: 'on' },
    });
  }
  return v;
}

/** Store evaluation values (all or nothing, one transaction) and write one `evaluate` event. */
export function recordEvaluation(reg: Registry, opts: RecordEvaluationOptions): RecordedEvaluation {
  const results = validateResults(opts.results);
  return reg.write(() => {
    const model = resolveModel(reg, opts.model);
    const dataset = opts.dataset ? resolveDataset(reg, opts.dataset) : null;
    const at = reg.nowIso();
    const [applied] = applyOperations(
      reg,
      [
        {
          op: 'evaluation.record',
          at,
          model: { name: model.name, version: model.version },
          dataset: dataset ? { name: dataset.name, version: dataset.version } : null,
          source: opts.source,
          results,
          details: opts.details ?? null,
        },
      ],
      opts.actor,
    );
    const eventId = applied!.eventId;
    return {
      model: { name: model.name, version: model.version },
      dataset: dataset ? { name: dataset.name, version: dataset.version } : null,
      results,
      source: opts.source,
      recordedAt: at,
      actor: opts.actor,
      eventId,
    };
  });
}

export interface EvaluationValue {
  datasetVersionId: number | null;
  /** The dataset as name@version, null for values recorded without a dataset. */
  dataset: { name: string; version: string } | null;
  slice: string;
  metric: string;
  value: number;
  recordedAt: string;
  actor: string;
  source: EvaluationSource;
}

export interface LatestFilter {
  /** A dataset version id; null selects values recorded without a dataset; undefined: any. */
  datasetVersionId?: number | null | undefined;
  slice?: string | undefined;
  metric?: string | undefined;
}

/**
 * The value that counts (the newest) for each (dataset, slice, metric) of a model version,
 * ordered by dataset name and version id, slice ('all' first), metric.
 */
export function latestEvaluations(reg: Registry, versionId: number, filter: LatestFilter = {}): EvaluationValue[] {
  const where = ['e.version_id = ?'];
  const args: (string | number)[] = [versionId];
  if (filter.datasetVersionId === null) where.push('e.dataset_version_id IS NULL');
  else if (filter.datasetVersionId !== undefined) {
    where.push('e.dataset_version_id = ?');
    args.push(filter.datasetVersionId);
  }
  if (filter.slice !== undefined) {
    where.push('e.slice = ?');
    args.push(filter.slice);
  }
  if (filter.metric !== undefined) {
    where.push('e.metric = ?');
    args.push(filter.metric);
  }
  const rows = reg.db
    .prepare(`SELECT e.dataset_version_id, a.name AS dataset_name, v.version AS dataset_version, e.slice, e.metric, e.value, e.recorded_at, e.actor, e.source
              FROM evaluations e
              LEFT JOIN versions v ON v.id = e.dataset_version_id
              LEFT JOIN artifacts a ON a.id = v.artifact_id
              WHERE e.id IN (SELECT MAX(e.id) FROM evaluations e WHERE ${where.join(' AND ')} GROUP BY e.dataset_version_id, e.slice, e.metric)
              ORDER BY a.name IS NOT NULL, a.name, e.dataset_version_id, e.slice <> 'all', e.slice, e.metric`)
    .all(...args) as {
    dataset_version_id: number | null;
    dataset_name: string | null;
    dataset_version: string | null;
    slice: string;
    metric: string;
    value: number;
    recorded_at: string;
    actor: string;
    source: EvaluationSource;
  }[];
  return rows.map((r) => ({
    datasetVersionId: r.dataset_version_id,
    dataset:
      r.dataset_name !== null && r.dataset_version !== null
        ? { name: r.dataset_name, version: r.dataset_version }
        : null,
    slice: r.slice,
    metric: r.metric,
    value: r.value,
    recordedAt: r.recorded_at,
    actor: r.actor,
    source: r.source,
  }));
}

/** The value that counts for one (version, dataset, slice, metric), if any. */
export function latestValue(
  reg: Registry,
  versionId: number,
  datasetVersionId: number | null,
  slice: string,
  metric: string,
): number | undefined {
  return latestEvaluations(reg, versionId, { datasetVersionId, slice, metric })[0]?.value;
}
