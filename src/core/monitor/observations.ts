import { InvalidInputError, NotFoundError } from '../errors.js';
import { applyOperations } from '../remote/apply.js';
import { getArtifact, validateName, validateStage, versionById, type ArtifactRow } from '../versions/refs.js';
import type { Registry } from '../registry/registry.js';
import { DEFAULT_STAGE, stagesAt } from '../stages/promote.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * Observations: live metric values of the version that held a stage. The version is resolved when
 * the value is recorded and stored with it, so after a rollback the numbers of the two versions
 * never mix, and checks look at the current holder's observations only.
 */

export const ALL_SLICE = 'all';

/** `fraud` or `fraud@canary`: an artifact and the stage being watched (default production). */
export interface Target {
  name: string;
  stage: string;
}

export function parseTarget(text: string): Target {
  const at = text.indexOf('@');
  const name = at === -1 ? text : text.slice(0, at);
  const stage = at === -1 ? DEFAULT_STAGE : text.slice(at + 1);
  validateName(name);
  if (/^\d/.test(stage) || stage === 'latest') {
    throw new InvalidInputError(`monitoring watches a stage, not a version: ${JSON.stringify(text)}`, {
      code: 'E_BAD_TARGET',
      hint: `Write NAME or NAME@STAGE, e.g. ${name}@production; the version is the one holding that stage.`,
    });
  }
  return { name, stage: validateStage(stage) };
}

export interface Holder {
  artifact: ArtifactRow;
  stage: string;
  versionId: number;
  version: string;
}

/** The version holding `stage` now, or at the moment `at` (ISO time) from the stage history. */
export function holderOf(reg: Registry, target: Target, at?: string): Holder {
  const artifact = getArtifact(reg, target.name);
  if (at !== undefined) {
    const version = stagesAt(reg, artifact.id, at)[target.stage];
    const row =
      version === undefined
        ? undefined
        : (reg.db.prepare('SELECT id FROM versions WHERE artifact_id = ? AND version = ?').get(artifact.id, version) as
            | { id: number }
            | undefined);
    if (!row) {
      throw new NotFoundError(`${artifact.name}@${target.stage} had no (existing) version at ${at}`, {
        code: 'E_NO_HOLDER',
        hint: `See who held it when with \`mlreg history ${artifact.name} ${optionRef('stage')} ${target.stage}\`; observations belong to the version holding the stage at ${optionRef('at')}.`,
      });
    }
    return { artifact, stage: target.stage, versionId: row.id, version: version! };
  }
  const s = reg.db
    .prepare('SELECT version_id FROM stages WHERE artifact_id = ? AND stage = ?')
    .get(artifact.id, target.stage) as { version_id: number } | undefined;
  if (!s) {
    throw new NotFoundError(`${artifact.name} has no ${target.stage} stage to monitor`, {
      code: 'E_STAGE_NOT_FOUND',
      hint: `Promote a version first: \`mlreg promote ${artifact.name}@VERSION ${optionRef('to')} ${target.stage}\`.`,
    });
  }
  return { artifact, stage: target.stage, versionId: s.version_id, version: versionById(reg, s.version_id).version };
}

/** Parse the time observations were made: ISO 8601, not in the future (a clock skew of a minute is tolerated). */
export function parseObservationTime(text: string | undefined, now: Date): string {
  if (text === undefined) return now.toISOString();
  const when = Date.parse(text);
  if (Number.isNaN(when)) {
    throw new InvalidInputError(`${JSON.stringify(text)} is not a date or time`, {
      code: 'E_BAD_TIME',
      hint: 'Use ISO 8601, e.g. 2026-11-24T09:30:00Z.',
      details: { option: 'at' },
    });
  }
  if (when > now.getTime() + 60_000) {
    throw new InvalidInputError(`the time ${text} is in the future`, {
      code: 'E_BAD_TIME',
      hint: 'Observations describe traffic that already happened; give no time for now.',
      details: { option: 'at' },
    });
  }
  return new Date(when).toISOString();
}

export interface ObservationInput {
  metric: string;
  slice?: string;
  value: number;
}

export interface RecordOptions {
  target: Target;
  values: readonly ObservationInput[];
  /** When the observed traffic happened (ISO); default now. The holder at that moment gets the values. */
  at?: string | undefined;
  source: string;
  actor: string;
  /** Pin the version (review import: the version that made the reviewed predictions). */
  pinned?: { versionId: number; version: string } | undefined;
  /** Extra detail for the audit event (e.g. row counts of a scored batch). */
  details?: Record<string, unknown>;
}

export interface RecordResult {
  name: string;
  stage: string;
  version: string;
  at: string;
  source: string;
  observations: { metric: string; slice: string; value: number }[];
}

const SOURCE_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,63}$/;

/** Store observations for the holder of the stage, in one transaction with one audit event. */
export function recordObservations(reg: Registry, opts: RecordOptions): RecordResult {
  if (!SOURCE_RE.test(opts.source)) {
    throw new InvalidInputError(`invalid source ${JSON.stringify(opts.source)}`, {
      code: 'E_BAD_SOURCE',
      hint: 'A source is a short word such as live, batch, review or dashboard.',
    });
  }
  if (opts.values.length === 0) {
    throw new InvalidInputError('no observations given', {
      code: 'E_NO_VALUES',
      hint: 'Give metric=value pairs, e.g. auc=0.91 accuracy=0.88.',
    });
  }
  for (const v of opts.values) {
    if (!Number.isFinite(v.value))
      throw new InvalidInputError(`metric ${v.metric} is not a finite number`, {
        code: 'E_BAD_METRIC',
        hint: 'Write metric=value with a number, e.g. auc=0.91.',
      });
  }
  const now = reg.runtime.now();
  const at = parseObservationTime(opts.at, now);
  return reg.write(() => {
    const holder = opts.pinned
      ? { ...opts.pinned, artifact: getArtifact(reg, opts.target.name), stage: opts.target.stage }
      : holderOf(reg, opts.target, opts.at === undefined ? undefined : at);
    const recordedAt = now.toISOString();
    const observations = opts.values.map((v) => ({ metric: v.metric, slice: v.slice ?? ALL_SLICE, value: v.value }));
    applyOperations(
      reg,
      [
        {
          op: 'monitor.observe',
          at: recordedAt,
          name: holder.artifact.name,
          stage: holder.stage,
          version: holder.version,
          observedAt: at,
          source: opts.source,
          values: observations,
          details: opts.details ?? null,
        },
      ],
      opts.actor,
    );
    return {
      name: holder.artifact.name,
      stage: holder.stage,
      version: holder.version,
      at,
      source: opts.source,
      observations,
    };
  });
}

/** The last `n` values of a metric of one version at one stage, newest first. */
export function lastValues(
  reg: Registry,
  versionId: number,
  stage: string,
  metric: string,
  slice: string,
  n: number,
  source?: string,
): { value: number; at: string }[] {
  const bySource = source === undefined ? '' : ' AND source = ?';
  return reg.db
    .prepare(
      `SELECT value, at FROM observations WHERE version_id = ? AND stage = ? AND metric = ? AND slice = ?${bySource} ORDER BY at DESC, id DESC LIMIT ?`,
    )
    .all(versionId, stage, metric, slice, ...(source === undefined ? [] : [source]), n) as {
    value: number;
    at: string;
  }[];
}

/** Whether any observation of this metric exists for the artifact (an index seek). */
export function metricObserved(reg: Registry, artifactId: number, metric: string): boolean {
  return (
    reg.db
      .prepare('SELECT 1 FROM observations WHERE artifact_id = ? AND metric = ? LIMIT 1')
      .get(artifactId, metric) !== undefined
  );
}

/** Every metric name observed for the artifact (for hints). */
export function observedMetrics(reg: Registry, artifactId: number): string[] {
  return (
    reg.db
      .prepare('SELECT DISTINCT metric FROM observations WHERE artifact_id = ? ORDER BY metric')
      .all(artifactId) as { metric: string }[]
  ).map((r) => r.metric);
}
