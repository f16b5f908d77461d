import type { Registry } from '../registry/registry.js';
import { applyOperations } from '../remote/apply.js';
import type { FollowerReportOp } from '../remote/ops.js';
import { getArtifact } from '../versions/refs.js';
import type { Served } from './follow.js';

/**
 * Follower reports: what each follower serves, in the `followers` table (and a `deploy` event on
 * each switch). A report is a domain operation, so on a replica it travels through the remote log
 * and every machine sees it; to keep that log small, a follower writes only on a switch, when it
 * starts, and as a heartbeat at most every `heartbeatMs` (never every idle interval).
 */

export interface ReporterOptions {
  follower: string;
  host: string;
  actor: string;
  heartbeatMs: number;
  /** Write the operation (locally: one transaction; on a replica: a replicated write). */
  write: (op: FollowerReportOp) => Promise<void>;
  now: () => Date;
}

export function reporter(opts: ReporterOptions): (served: Served) => Promise<void> {
  let last: { at: number; version: string } | undefined;
  /** A switch whose report failed: the next report still counts as the deployment. */
  let owedDeploy = false;
  return async (served) => {
    const at = opts.now();
    const deployed = served.changed || owedDeploy;
    const due = deployed || !last || last.version !== served.version || at.getTime() - last.at >= opts.heartbeatMs;
    if (!due) return;
    owedDeploy = deployed;
    await opts.write({
      op: 'follower.report',
      at: at.toISOString(),
      name: served.name,
      stage: served.stage,
      follower: opts.follower,
      host: opts.host,
      version: served.version,
      digest: served.digest,
      switchedAt: served.switchedAt,
      previous: served.previous,
      hook: served.hook
        ? {
            result: served.hook.result,
            exitCode: served.hook.exitCode,
            ms: served.hook.ms,
            message: served.hook.message,
          }
        : null,
      heartbeatMs: opts.heartbeatMs,
      deployed,
    });
    owedDeploy = false;
    last = { at: at.getTime(), version: served.version };
  };
}

/** Write one report on a registry that is only local (or inside a replicated write). */
export function recordReport(reg: Registry, op: FollowerReportOp, actor: string): void {
  reg.write(() => applyOperations(reg, [op], actor));
}

export interface FollowerStatus {
  follower: string;
  host: string;
  version: string;
  digest: string;
  switchedAt: string;
  reportedAt: string;
  hook: FollowerReportOp['hook'];
  heartbeatMs: number;
  /** No report for longer than three heartbeats (or the --stale-after given). */
  stale: boolean;
  /** It serves something else than the stage holds now. */
  behind: boolean;
}

export interface StageStatus {
  stage: string;
  /** null: followers report a stage that is not set (any more). */
  version: string | null;
  since: string | null;
  followers: FollowerStatus[];
}

export interface ArtifactStatus {
  name: string;
  kind: string;
  stages: StageStatus[];
}

/** The stages of an artifact and, per stage, every follower with what it serves. */
export function artifactStatus(
  reg: Registry,
  name: string,
  opts: { now: Date; staleAfterMs?: number | undefined },
): ArtifactStatus {
  return reg.read(() => {
    const artifact = getArtifact(reg, name);
    const stages = reg.db
      .prepare(
        `SELECT s.stage, v.version, e.at FROM stages s JOIN versions v ON v.id = s.version_id JOIN events e ON e.id = s.event_id
         WHERE s.artifact_id = ? ORDER BY s.stage`,
      )
      .all(artifact.id) as { stage: string; version: string; at: string }[];
    const rows = reg.db
      .prepare(
        `SELECT stage, follower, host, version, manifest_sha256, switched_at, hook, reported_at, heartbeat_ms
         FROM followers WHERE artifact_id = ? ORDER BY stage, follower`,
      )
      .all(artifact.id) as {
      stage: string;
      follower: string;
      host: string;
      version: string;
      manifest_sha256: string;
      switched_at: string;
      hook: string | null;
      reported_at: string;
      heartbeat_ms: number;
    }[];
    const out = new Map<string, StageStatus>();
    for (const s of stages) out.set(s.stage, { stage: s.stage, version: s.version, since: s.at, followers: [] });
    for (const r of rows) {
      let st = out.get(r.stage);
      if (!st) {
        st = { stage: r.stage, version: null, since: null, followers: [] };
        out.set(r.stage, st);
      }
      const limit = opts.staleAfterMs ?? 3 * r.heartbeat_ms;
      st.followers.push({
        follower: r.follower,
        host: r.host,
        version: r.version,
        digest: r.manifest_sha256,
        switchedAt: r.switched_at,
        reportedAt: r.reported_at,
        hook: r.hook === null ? null : (JSON.parse(r.hook) as FollowerReportOp['hook']),
        heartbeatMs: r.heartbeat_ms,
        stale: opts.now.getTime() - Date.parse(r.reported_at) > limit,
        behind: r.version !== st.version,
      });
    }
    return {
      name: artifact.name,
      kind: artifact.kind,
      stages: [...out.values()].sort((a, b) => (a.stage < b.stage ? -1 : 1)),
    };
  });
}
