import { ConflictError, NotFoundError } from '../errors.js';
import { insertEvent } from '../registry/history.js';
import type { Registry } from '../registry/registry.js';
import { validateConfigValue } from '../registry/config.js';
import type { ArtifactKind } from '../versions/refs.js';
import { parseRule } from '../monitor/rules.js';
import { insertScan, insertSignature } from '../models/record.js';
import type { ScanReport } from '../models/scan.js';
import type { Signature } from '../models/signature.js';
import type {
  AlertOp,
  FollowerReportOp,
  RemoteGcOp,
  ReviewImportOp,
  ReviewSampleOp,
  ScanOp,
  ProfileOp,
  ConfigOp,
  EvaluationOp,
  ObserveOp,
  Operation,
  RetireOp,
  RuleOp,
  StageMoveOp,
  VersionAddOp,
  VersionKey,
  WebhookOp,
} from './ops.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * The one place that turns domain operations into index rows. Write commands plan (read the index,
 * check their rules, allocate numbers) and then call this inside their write transaction; a replica
 * calls it with the operations of each remote log entry it replays. Same code, same rows: ids
 * follow from the order of application, times and actors come from the operations.
 *
 * It checks what the rows need to be consistent (the version exists, the stage holds what the
 * operation says it held, a number is not taken), so an entry that does not fit the state it is
 * replayed on is refused rather than applied halfway (the caller's transaction rolls back).
 */

export interface AppliedOperation {
  /** The event the operation wrote (a scan writes none: its row is its record). */
  eventId: number;
  versionId?: number;
  /** rule.add / rule.remove: the rule's row. */
  ruleId?: number;
  /** review.sample / review.import: the sample's row. */
  sampleId?: number;
  /** webhook.add / webhook.remove: the subscription's row. */
  webhookId?: number;
}

export interface ApplyOptions {
  /**
   * Replaying a remote log entry another machine wrote (pull): its changes are announced by the
   * machine that made them, so they are not noted for webhooks here.
   */
  replayed?: boolean;
}

export function applyOperations(
  reg: Registry,
  ops: readonly Operation[],
  actor: string,
  options: ApplyOptions = {},
): AppliedOperation[] {
  reg.journal?.record(ops, actor);
  const applied = ops.map((op) => applyOne(reg, op, actor));
  if (!options.replayed) reg.noteChanges(ops, actor);
  return applied;
}

function applyOne(reg: Registry, op: Operation, actor: string): AppliedOperation {
  switch (op.op) {
    case 'version.add':
      return addVersionRows(reg, op, actor);
    case 'stage.move':
      return moveStage(reg, op, actor);
    case 'version.deprecate':
    case 'version.undeprecate':
    case 'version.delete':
      return retire(reg, op, actor);
    case 'evaluation.record':
      return recordEvaluationRows(reg, op, actor);
    case 'config.set':
    case 'config.unset':
      return setConfig(reg, op, actor);
    case 'monitor.observe':
      return observe(reg, op, actor);
    case 'rule.add':
    case 'rule.remove':
      return changeRule(reg, op, actor);
    case 'monitor.alert':
      return alert(reg, op, actor);
    case 'profile.store':
      return storeProfile(reg, op, actor);
    case 'follower.report':
      return followerReport(reg, op, actor);
    case 'review.sample':
      return reviewSample(reg, op, actor);
    case 'review.import':
      return reviewImport(reg, op, actor);
    case 'scan.record':
      return recordScan(reg, op, actor);
    case 'gc.remote':
      return remoteGc(reg, op, actor);
    case 'webhook.add':
    case 'webhook.remove':
      return changeWebhook(reg, op, actor);
  }
}

interface ArtifactRow {
  id: number;
  kind: ArtifactKind;
}

function artifactNamed(reg: Registry, name: string): ArtifactRow | undefined {
  return reg.db.prepare('SELECT id, kind FROM artifacts WHERE name = ?').get(name) as ArtifactRow | undefined;
}

function requireArtifact(reg: Registry, name: string): ArtifactRow {
  const a = artifactNamed(reg, name);
  if (!a) throw new NotFoundError(`no artifact named ${name}`, { code: 'E_ARTIFACT_NOT_FOUND' });
  return a;
}

interface VersionIds {
  id: number;
  artifactId: number;
  kind: ArtifactKind;
  digest: string;
  deprecated: boolean;
}

function exactVersion(reg: Registry, key: VersionKey): VersionIds {
  const row = reg.db
    .prepare(`SELECT v.id, v.artifact_id, a.kind, v.digest, v.deprecated_at FROM versions v JOIN artifacts a ON a.id = v.artifact_id
              WHERE a.name = ? AND v.version = ?`)
    .get(key.name, key.version) as
    | { id: number; artifact_id: number; kind: ArtifactKind; digest: string; deprecated_at: string | null }
    | undefined;
  if (!row) throw new NotFoundError(`${key.name}@${key.version} does not exist`, { code: 'E_VERSION_NOT_FOUND' });
  return {
    id: row.id,
    artifactId: row.artifact_id,
    kind: row.kind,
    digest: row.digest,
    deprecated: row.deprecated_at !== null,
  };
}

function addVersionRows(reg: Registry, op: VersionAddOp, actor: string): AppliedOperation {
  let artifact = artifactNamed(reg, op.name);
  if (artifact && artifact.kind !== op.kind)
    throw new ConflictError(`${op.name} is already a ${artifact.kind}; it cannot also hold ${op.kind} versions`, {
      code: 'E_WRONG_KIND',
    });
  if (!artifact) {
    const info = reg.db
      .prepare('INSERT INTO artifacts (name, kind, created_at, created_by) VALUES (?, ?, ?, ?)')
      .run(op.name, op.kind, op.at, actor);
    artifact = { id: Number(info.lastInsertRowid), kind: op.kind };
  }
  const taken = reg.db
    .prepare(
      'SELECT 1 FROM versions WHERE artifact_id = ? AND version = ? UNION ALL SELECT 1 FROM deleted_versions WHERE artifact_id = ? AND version = ?',
    )
    .get(artifact.id, op.version, artifact.id, op.version);
  if (taken)
    throw new ConflictError(`version ${op.version} already exists`, {
      code: 'E_VERSION_EXISTS',
      hint: `Versions are immutable: choose another number, or use ${optionRef('bump')} to take the next one.`,
    });
  const info = reg.db
    .prepare(`INSERT INTO versions (artifact_id, version, digest, source_type, size, file_count, description, created_at, created_by)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    .run(artifact.id, op.version, op.digest, op.sourceType, op.size, op.fileCount, op.description, op.at, actor);
  const id = Number(info.lastInsertRowid);
  const insObj = reg.db.prepare('INSERT OR IGNORE INTO version_objects (version_id, digest, size) VALUES (?, ?, ?)');
  for (const o of op.objects) insObj.run(id, o.digest, o.size);
  const insMetric = reg.db.prepare('INSERT INTO version_metrics (version_id, key, value) VALUES (?, ?, ?)');
  for (const [k, v] of Object.entries(op.metrics)) insMetric.run(id, k, v);
  const insParam = reg.db.prepare('INSERT INTO version_params (version_id, key, value) VALUES (?, ?, ?)');
  for (const [k, v] of Object.entries(op.params)) insParam.run(id, k, v);
  const insTag = reg.db.prepare('INSERT INTO version_tags (version_id, key, value) VALUES (?, ?, ?)');
  for (const [k, v] of Object.entries(op.tags)) insTag.run(id, k, v);
  const insLineage = reg.db.prepare(
    'INSERT OR IGNORE INTO lineage (version_id, dataset_version_id, role) VALUES (?, ?, ?)',
  );
  for (const t of op.trainedOn) {
    const d = exactVersion(reg, t);
    if (d.kind !== 'dataset') throw new ConflictError(`${t.name} is a model, not a dataset`, { code: 'E_WRONG_KIND' });
    insLineage.run(id, d.id, 'trained_on');
  }
  if (op.scan) insertScan(reg, id, op.scan.report as ScanReport, { override: op.scan.override, at: op.at, actor });
  if (op.signature) insertSignature(reg, id, op.signature as Signature);
  if (op.profile)
    reg.db
      .prepare('INSERT INTO dataset_profiles (version_id, format, profile, created_at) VALUES (?, ?, ?, ?)')
      .run(id, op.profile.format, JSON.stringify(op.profile.profile), op.at);
  const eventId = insertEvent(reg, {
    artifactId: artifact.id,
    kind: 'add',
    versionId: id,
    version: op.version,
    actor,
    at: op.at,
    // `details` cannot override the three facts above: they come first only in key order.
    details: { digest: op.digest, size: op.size, files: op.fileCount, ...(op.details ?? {}) },
  });
  return { eventId, versionId: id };
}

function moveStage(reg: Registry, op: StageMoveOp, actor: string): AppliedOperation {
  const artifact = requireArtifact(reg, op.name);
  const target = exactVersion(reg, { name: op.name, version: op.version });
  const cur = reg.db
    .prepare(`SELECT s.version_id, s.event_id, v.version FROM stages s JOIN versions v ON v.id = s.version_id
              WHERE s.artifact_id = ? AND s.stage = ?`)
    .get(artifact.id, op.stage) as { version_id: number; event_id: number; version: string } | undefined;
  if ((cur?.version ?? null) !== op.from)
    throw new ConflictError(`${op.name}@${op.stage} holds ${cur?.version ?? 'none'}, not ${op.from ?? 'none'}`, {
      code: 'E_STAGE_MOVED',
    });
  if (op.below !== null) {
    const below = reg.db
      .prepare(
        "SELECT 1 FROM events WHERE id = ? AND artifact_id = ? AND stage = ? AND kind IN ('promote', 'rollback')",
      )
      .get(op.below, artifact.id, op.stage);
    if (!below)
      throw new ConflictError(`the stage chain of ${op.name}@${op.stage} has no assignment ${op.below}`, {
        code: 'E_STAGE_CHAIN',
      });
  }
  const eventId = insertEvent(reg, {
    artifactId: artifact.id,
    kind: op.move,
    stage: op.stage,
    versionId: target.id,
    version: op.version,
    fromVersionId: cur?.version_id ?? null,
    fromVersion: cur?.version ?? null,
    belowEventId: op.below,
    actor,
    reason: op.reason,
    at: op.at,
    details: op.details === null ? undefined : op.details,
  });
  reg.db
    .prepare(`INSERT INTO stages (artifact_id, stage, version_id, event_id) VALUES (?, ?, ?, ?)
              ON CONFLICT (artifact_id, stage) DO UPDATE SET version_id = excluded.version_id, event_id = excluded.event_id`)
    .run(artifact.id, op.stage, target.id, eventId);
  return { eventId, versionId: target.id };
}

function retire(reg: Registry, op: RetireOp, actor: string): AppliedOperation {
  const v = exactVersion(reg, op);
  const kind = op.op.slice('version.'.length);
  if (op.op === 'version.deprecate') {
    if (v.deprecated) throw new ConflictError(`${op.name}@${op.version} is already deprecated`);
    reg.db
      .prepare('UPDATE versions SET deprecated_at = ?, deprecated_by = ?, deprecated_reason = ? WHERE id = ?')
      .run(op.at, actor, op.reason, v.id);
  } else if (op.op === 'version.undeprecate') {
    if (!v.deprecated) throw new ConflictError(`${op.name}@${op.version} is not deprecated`);
    reg.db
      .prepare('UPDATE versions SET deprecated_at = NULL, deprecated_by = NULL, deprecated_reason = NULL WHERE id = ?')
      .run(v.id);
  } else {
    const holds = reg.db.prepare('SELECT 1 FROM stages WHERE version_id = ?').get(v.id);
    if (holds)
      throw new ConflictError(`${op.name}@${op.version} holds a stage and cannot be deleted`, {
        code: 'E_VERSION_IN_USE',
      });
    reg.db
      .prepare(
        'INSERT INTO deleted_versions (artifact_id, version, digest, deleted_at, deleted_by, reason) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(v.artifactId, op.version, v.digest, op.at, actor, op.reason);
  }
  const eventId = insertEvent(reg, {
    artifactId: v.artifactId,
    kind,
    versionId: v.id,
    version: op.version,
    actor,
    reason: op.reason,
    at: op.at,
    details: op.details === null ? undefined : op.details,
  });
  // Events keep the version string (version_id becomes NULL by ON DELETE SET NULL).
  if (op.op === 'version.delete') reg.db.prepare('DELETE FROM versions WHERE id = ?').run(v.id);
  return { eventId, versionId: v.id };
}

function recordEvaluationRows(reg: Registry, op: EvaluationOp, actor: string): AppliedOperation {
  const model = exactVersion(reg, op.model);
  if (model.kind !== 'model')
    throw new ConflictError(`${op.model.name} is a dataset; evaluations belong to models`, { code: 'E_WRONG_KIND' });
  const dataset = op.dataset ? exactVersion(reg, op.dataset) : null;
  if (dataset && dataset.kind !== 'dataset')
    throw new ConflictError(`${op.dataset?.name} is a model, not a dataset`, { code: 'E_WRONG_KIND' });
  const extra = op.details && typeof op.details === 'object' ? (op.details as Record<string, unknown>) : {};
  const eventId = insertEvent(reg, {
    artifactId: model.artifactId,
    kind: 'evaluate',
    versionId: model.id,
    version: op.model.version,
    actor,
    at: op.at,
    details: {
      dataset: op.dataset ? `${op.dataset.name}@${op.dataset.version}` : null,
      source: op.source,
      results: op.results,
      ...extra,
    },
  });
  const ins =
    reg.db.prepare(`INSERT INTO evaluations (version_id, dataset_version_id, slice, metric, value, recorded_at, actor, source, event_id)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  for (const [slice, metrics] of Object.entries(op.results))
    for (const [metric, value] of Object.entries(metrics))
      ins.run(model.id, dataset?.id ?? null, slice, metric, value, op.at, actor, op.source, eventId);
  return { eventId, versionId: model.id };
}

function setConfig(reg: Registry, op: ConfigOp, actor: string): AppliedOperation {
  const previous = reg.getConfig(op.key) ?? null;
  if (op.value === null) {
    if (previous === null) throw new ConflictError(`setting ${op.key} is not set`, { code: 'E_CONFIG_NOT_SET' });
    reg.db.prepare('DELETE FROM config WHERE key = ?').run(op.key);
  } else {
    // The same validator as `config set`: a value this mlreg would refuse is refused from a remote too.
    const normalised = validateConfigValue(op.key, op.value);
    if (normalised !== op.value)
      throw new ConflictError(`setting ${op.key} has a value that is not in its normal form`, {
        code: 'E_BAD_CONFIG_VALUE',
      });
    reg.db
      .prepare('INSERT INTO config (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(op.key, op.value);
  }
  const eventId = insertEvent(reg, {
    artifactId: null,
    kind: 'config',
    actor,
    at: op.at,
    details: { key: op.key, from: previous, to: op.value },
  });
  return { eventId };
}

/** The id of a version by name and number, or null when it is gone (observations and alerts outlive it). */
function versionIdOrNull(reg: Registry, artifactId: number, version: string): number | null {
  const row = reg.db
    .prepare('SELECT id FROM versions WHERE artifact_id = ? AND version = ?')
    .get(artifactId, version) as { id: number } | undefined;
  return row?.id ?? null;
}

function observe(reg: Registry, op: ObserveOp, actor: string): AppliedOperation {
  const artifact = requireArtifact(reg, op.name);
  const versionId = versionIdOrNull(reg, artifact.id, op.version);
  const ins =
    reg.db.prepare(`INSERT INTO observations (artifact_id, version_id, version, stage, metric, slice, value, at, source, recorded_at, recorded_by)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  for (const v of op.values)
    ins.run(
      artifact.id,
      versionId,
      op.version,
      op.stage,
      v.metric,
      v.slice,
      v.value,
      op.observedAt,
      op.source,
      op.at,
      actor,
    );
  const extra = op.details && typeof op.details === 'object' ? (op.details as Record<string, unknown>) : {};
  const eventId = insertEvent(reg, {
    artifactId: artifact.id,
    kind: 'observe',
    stage: op.stage,
    versionId,
    version: op.version,
    actor,
    at: op.at,
    details: {
      source: op.source,
      observedAt: op.observedAt,
      count: op.values.length,
      metrics: [...new Set(op.values.map((v) => v.metric))],
      ...extra,
    },
  });
  return { eventId };
}

function changeRule(reg: Registry, op: RuleOp, actor: string): AppliedOperation {
  const artifact = requireArtifact(reg, op.name);
  // The same parser as `monitor rule add`: only a rule this mlreg understands, in its canonical text.
  if (parseRule(op.rule).text !== op.rule)
    throw new ConflictError(`rule ${JSON.stringify(op.rule)} is not in its canonical form`, { code: 'E_BAD_RULE' });
  const existing = reg.db
    .prepare('SELECT id, window_size FROM monitor_rules WHERE artifact_id = ? AND stage = ? AND rule = ?')
    .get(artifact.id, op.stage, op.rule) as { id: number; window_size: number } | undefined;
  let id: number;
  let details: Record<string, unknown>;
  if (op.op === 'rule.add') {
    if (existing) reg.db.prepare('UPDATE monitor_rules SET window_size = ? WHERE id = ?').run(op.window, existing.id);
    id =
      existing?.id ??
      Number(
        reg.db
          .prepare(
            'INSERT INTO monitor_rules (artifact_id, stage, rule, window_size, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)',
          )
          .run(artifact.id, op.stage, op.rule, op.window, op.at, actor).lastInsertRowid,
      );
    details = { id, rule: op.rule, window: op.window, previousWindow: existing?.window_size ?? null };
  } else {
    if (!existing)
      throw new NotFoundError(`${op.name}@${op.stage} has no stored rule ${JSON.stringify(op.rule)}`, {
        code: 'E_RULE_NOT_FOUND',
      });
    id = existing.id;
    reg.db.prepare('DELETE FROM monitor_rules WHERE id = ?').run(id);
    details = { id, rule: op.rule, window: existing.window_size };
  }
  const eventId = insertEvent(reg, {
    artifactId: artifact.id,
    kind: op.op === 'rule.add' ? 'rule-add' : 'rule-remove',
    stage: op.stage,
    actor,
    at: op.at,
    details,
  });
  return { eventId, ruleId: id };
}

function alert(reg: Registry, op: AlertOp, actor: string): AppliedOperation {
  const artifact = requireArtifact(reg, op.name);
  const holder = reg.db
    .prepare(
      'SELECT s.version_id, v.version FROM stages s JOIN versions v ON v.id = s.version_id WHERE s.artifact_id = ? AND s.stage = ?',
    )
    .get(artifact.id, op.stage) as { version_id: number; version: string } | undefined;
  const eventId = insertEvent(reg, {
    artifactId: artifact.id,
    kind: 'alert',
    stage: op.stage,
    versionId: holder?.version === op.version ? holder.version_id : null,
    version: op.version,
    actor,
    reason: op.reason,
    at: op.at,
    details: op.details === null ? undefined : op.details,
  });
  return { eventId };
}

function storeProfile(reg: Registry, op: ProfileOp, actor: string): AppliedOperation {
  const v = exactVersion(reg, op);
  if (v.kind !== 'dataset') throw new ConflictError(`${op.name} is a model, not a dataset`, { code: 'E_WRONG_KIND' });
  reg.db
    .prepare('INSERT INTO dataset_profiles (version_id, format, profile, created_at) VALUES (?, ?, ?, ?)')
    .run(v.id, op.profile.format, JSON.stringify(op.profile.profile), op.at);
  const p = op.profile.profile as { table?: { rows?: unknown }; columns?: unknown[] };
  const eventId = insertEvent(reg, {
    artifactId: v.artifactId,
    kind: 'profile',
    versionId: v.id,
    version: op.version,
    actor,
    at: op.at,
    details: { rows: p.table?.rows ?? null, columns: Array.isArray(p.columns) ? p.columns.length : null },
  });
  return { eventId, versionId: v.id };
}

/** A follower's report: its row in `followers`, and on a switch a `deploy` event beside the promotions. */
function followerReport(reg: Registry, op: FollowerReportOp, actor: string): AppliedOperation {
  const artifact = requireArtifact(reg, op.name);
  reg.db
    .prepare(
      `INSERT INTO followers (artifact_id, stage, follower, host, version, manifest_sha256, switched_at, hook, reported_at, heartbeat_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (artifact_id, stage, follower) DO UPDATE SET host = excluded.host, version = excluded.version,
         manifest_sha256 = excluded.manifest_sha256, switched_at = excluded.switched_at,
         -- the hook result belongs to a switch: a report of the same switch without one (a heartbeat,
         -- a restarted follower) keeps it
         hook = CASE WHEN excluded.hook IS NULL AND excluded.switched_at IS followers.switched_at
                     THEN followers.hook ELSE excluded.hook END,
         reported_at = excluded.reported_at, heartbeat_ms = excluded.heartbeat_ms`,
    )
    .run(
      artifact.id,
      op.stage,
      op.follower,
      op.host,
      op.version,
      op.digest,
      op.switchedAt,
      op.hook === null ? null : JSON.stringify(op.hook),
      op.at,
      op.heartbeatMs,
    );
  if (!op.deployed) return { eventId: 0 };
  const versionId = (
    reg.db.prepare('SELECT id FROM versions WHERE artifact_id = ? AND version = ?').get(artifact.id, op.version) as
      | { id: number }
      | undefined
  )?.id;
  const fromId =
    op.previous === null
      ? undefined
      : (
          reg.db
            .prepare('SELECT id FROM versions WHERE artifact_id = ? AND version = ?')
            .get(artifact.id, op.previous) as { id: number } | undefined
        )?.id;
  const eventId = insertEvent(reg, {
    artifactId: artifact.id,
    kind: 'deploy',
    stage: op.stage,
    versionId: versionId ?? null,
    version: op.version,
    fromVersionId: fromId ?? null,
    fromVersion: op.previous,
    actor,
    reason: null,
    at: op.at,
    details: { follower: op.follower, host: op.host, hook: op.hook },
  });
  return { eventId };
}

function reviewSample(reg: Registry, op: ReviewSampleOp, actor: string): AppliedOperation {
  const artifact = requireArtifact(reg, op.name);
  const versionId = versionIdOrNull(reg, artifact.id, op.version);
  const sample = Number(
    reg.db
      .prepare(`INSERT INTO review_samples (artifact_id, version_id, version, stage, id_column, prediction_column, stratify_column, seed, size, created_at, created_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(
        artifact.id,
        versionId,
        op.version,
        op.stage,
        op.idColumn,
        op.predictionColumn,
        op.stratify,
        op.seed,
        op.size,
        op.at,
        actor,
      ).lastInsertRowid,
  );
  const eventId = insertEvent(reg, {
    artifactId: artifact.id,
    kind: 'review-sample',
    stage: op.stage,
    versionId,
    version: op.version,
    actor,
    at: op.at,
    details: { sample, seed: op.seed, size: op.size, ...(op.details ?? {}) },
  });
  return { eventId, versionId: versionId ?? undefined, sampleId: sample };
}

function reviewImport(reg: Registry, op: ReviewImportOp, actor: string): AppliedOperation {
  const row = reg.db.prepare('SELECT imported_at FROM review_samples WHERE id = ?').get(op.sample) as
    | { imported_at: string | null }
    | undefined;
  if (!row) throw new NotFoundError(`review sample ${op.sample} does not exist`, { code: 'E_SAMPLE_NOT_FOUND' });
  if (row.imported_at)
    throw new ConflictError(`review sample ${op.sample} was already imported at ${row.imported_at}`, {
      code: 'E_ALREADY_IMPORTED',
      hint: 'Its labels are already recorded; importing twice would count them twice.',
    });
  reg.db
    .prepare('UPDATE review_samples SET imported_at = ?, imported_by = ? WHERE id = ?')
    .run(op.at, actor, op.sample);
  // The audit event is the `observe` event of the observations recorded with it.
  return { eventId: 0, sampleId: op.sample };
}

function recordScan(reg: Registry, op: ScanOp, actor: string): AppliedOperation {
  const v = exactVersion(reg, op);
  if (v.kind !== 'model') throw new ConflictError(`${op.name} is a dataset, not a model`, { code: 'E_WRONG_KIND' });
  insertScan(reg, v.id, op.scan.report as ScanReport, { override: op.scan.override, at: op.at, actor });
  return { eventId: 0, versionId: v.id };
}

function remoteGc(reg: Registry, op: RemoteGcOp, actor: string): AppliedOperation {
  const eventId = insertEvent(reg, {
    artifactId: null,
    kind: 'gc',
    actor,
    at: op.at,
    details: {
      remote: true,
      objectsRemoved: op.objectsRemoved,
      bytesFreed: op.bytesFreed,
      graceSeconds: op.graceSeconds,
    },
  });
  return { eventId };
}

function changeWebhook(reg: Registry, op: WebhookOp, actor: string): AppliedOperation {
  const existing = reg.db
    .prepare("SELECT id, events FROM webhooks WHERE url = ? AND coalesce(artifact, '') = coalesce(?, '')")
    .get(op.url, op.artifact) as { id: number; events: string } | undefined;
  let id: number;
  if (op.op === 'webhook.add') {
    if (existing)
      throw new ConflictError(
        `webhook ${existing.id} already sends ${op.artifact ? `${op.artifact}'s` : "every artifact's"} events to ${op.url}`,
        {
          code: 'E_WEBHOOK_EXISTS',
          hint: `To change its events or secret, remove it (\`mlreg webhook remove ${existing.id}\`) and add it again.`,
        },
      );
    id = Number(
      reg.db
        .prepare(
          'INSERT INTO webhooks (url, events, artifact, secret_env, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(op.url, JSON.stringify(op.events), op.artifact, op.secretEnv, op.at, actor).lastInsertRowid,
    );
  } else {
    if (!existing || existing.id !== op.id)
      throw new NotFoundError(`there is no webhook ${op.id} sending to ${op.url}`, {
        code: 'E_WEBHOOK_NOT_FOUND',
        hint: 'See the subscriptions with `mlreg webhook list`.',
      });
    id = existing.id;
    reg.db.prepare('DELETE FROM webhooks WHERE id = ?').run(id);
  }
  const artifact = op.artifact === null ? undefined : artifactNamed(reg, op.artifact);
  const eventId = insertEvent(reg, {
    artifactId: artifact?.id ?? null,
    kind: op.op === 'webhook.add' ? 'webhook-add' : 'webhook-remove',
    actor,
    at: op.at,
    details: { id, url: op.url, events: op.events, artifact: op.artifact, secretEnv: op.secretEnv },
  });
  return { eventId, webhookId: id };
}
