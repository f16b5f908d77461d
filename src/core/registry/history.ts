import type { Registry } from './registry.js';
import { getArtifact, validateStage } from '../versions/refs.js';

/** The append-only audit log: every change to the registry writes one row here, in its transaction. */

export type EventKind = 'add' | 'promote' | 'rollback' | 'deprecate' | 'undeprecate' | 'delete' | (string & {});

export interface NewEvent {
  /** null for registry-wide events such as config changes. */
  artifactId: number | null;
  kind: EventKind;
  stage?: string | null;
  versionId?: number | null;
  version?: string | null;
  fromVersionId?: number | null;
  fromVersion?: string | null;
  belowEventId?: number | null;
  actor: string;
  reason?: string | null;
  at: string;
  details?: unknown;
}

export function insertEvent(reg: Registry, e: NewEvent): number {
  const info = reg.db
    .prepare(`INSERT INTO events (artifact_id, kind, stage, version_id, version, from_version_id, from_version, below_event_id, actor, reason, at, details)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
    .run(
      e.artifactId,
      e.kind,
      e.stage ?? null,
      e.versionId ?? null,
      e.version ?? null,
      e.fromVersionId ?? null,
      e.fromVersion ?? null,
      e.belowEventId ?? null,
      e.actor,
      e.reason ?? null,
      e.at,
      e.details === undefined ? null : JSON.stringify(e.details),
    );
  return Number(info.lastInsertRowid);
}

export interface HistoryEntry {
  id: number;
  kind: EventKind;
  stage: string | null;
  from: string | null;
  to: string | null;
  actor: string;
  reason: string | null;
  at: string;
  details: unknown;
}

export interface HistoryOptions {
  stage?: string | undefined;
  limit?: number | undefined;
  /** Every event (adds, deprecations…), not only stage moves. */
  all?: boolean | undefined;
}

/** Who moved which stage where, when and why; newest first. */
export function history(
  reg: Registry,
  name: string,
  opts: HistoryOptions = {},
): { name: string; events: HistoryEntry[] } {
  return reg.read(() => {
    const artifact = getArtifact(reg, name);
    const where = ['artifact_id = ?'];
    const args: (string | number)[] = [artifact.id];
    if (!opts.all) where.push("kind IN ('promote', 'rollback', 'deploy')");
    if (opts.stage) {
      validateStage(opts.stage);
      where.push('stage = ?');
      args.push(opts.stage);
    }
    const limit = opts.limit && opts.limit > 0 ? `LIMIT ${Math.floor(opts.limit)}` : '';
    const rows = reg.db
      .prepare(
        `SELECT id, kind, stage, version, from_version, actor, reason, at, details FROM events WHERE ${where.join(' AND ')} ORDER BY id DESC ${limit}`,
      )
      .all(...args) as {
      id: number;
      kind: string;
      stage: string | null;
      version: string | null;
      from_version: string | null;
      actor: string;
      reason: string | null;
      at: string;
      details: string | null;
    }[];
    return {
      name: artifact.name,
      events: rows.map((r) => ({
        id: r.id,
        kind: r.kind,
        stage: r.stage,
        from: r.from_version,
        to: r.version,
        actor: r.actor,
        reason: r.reason,
        at: r.at,
        details: r.details === null ? null : (JSON.parse(r.details) as unknown),
      })),
    };
  });
}
