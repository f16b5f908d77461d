import * as semver from '../lib/semver.js';
import { unsafeVersionIds } from '../models/record.js';
import type { Registry } from '../registry/registry.js';
import { getArtifact, pickLatest, toRecord, versionsOf, type ArtifactKind, type VersionRecord } from './refs.js';

// Read-only queries over versions: lineage, metrics/params/tags, stages, and the listings behind `list`.

export interface Lineage {
  trainedOn: { name: string; version: string }[];
  /** For datasets: the model versions trained on this version. */
  usedBy: { name: string; version: string }[];
}

export function lineageOf(reg: Registry, versionId: number): Lineage {
  const trainedOn = reg.db
    .prepare(`SELECT a.name, v.version FROM lineage l JOIN versions v ON v.id = l.dataset_version_id JOIN artifacts a ON a.id = v.artifact_id
              WHERE l.version_id = ? ORDER BY a.name, v.id`)
    .all(versionId) as { name: string; version: string }[];
  const usedBy = reg.db
    .prepare(`SELECT a.name, v.version FROM lineage l JOIN versions v ON v.id = l.version_id JOIN artifacts a ON a.id = v.artifact_id
              WHERE l.dataset_version_id = ? ORDER BY a.name, v.id`)
    .all(versionId) as { name: string; version: string }[];
  return { trainedOn, usedBy };
}

function keyValues<T>(
  reg: Registry,
  table: 'version_metrics' | 'version_params' | 'version_tags',
  versionId: number,
): Record<string, T> {
  const rows = reg.db.prepare(`SELECT key, value FROM ${table} WHERE version_id = ? ORDER BY key`).all(versionId) as {
    key: string;
    value: T;
  }[];
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

export function metricsOf(reg: Registry, versionId: number): Record<string, number> {
  return keyValues<number>(reg, 'version_metrics', versionId);
}
export function paramsOf(reg: Registry, versionId: number): Record<string, string> {
  return keyValues<string>(reg, 'version_params', versionId);
}
export function tagsOf(reg: Registry, versionId: number): Record<string, string> {
  return keyValues<string>(reg, 'version_tags', versionId);
}

/** Stages that point at a version now. */
export function stagesOfVersion(reg: Registry, versionId: number): string[] {
  return (
    reg.db.prepare('SELECT stage FROM stages WHERE version_id = ? ORDER BY stage').all(versionId) as { stage: string }[]
  ).map((r) => r.stage);
}

// ---------------------------------------------------------------------------------------------
// list

export interface ArtifactSummary {
  name: string;
  kind: ArtifactKind;
  versions: number;
  latest: string | null;
  stages: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export function listArtifacts(reg: Registry): ArtifactSummary[] {
  return reg.read(() => {
    const arts = reg.db
      .prepare(`SELECT a.id, a.name, a.kind, a.created_at, COUNT(v.id) AS n, MAX(v.created_at) AS updated
                FROM artifacts a LEFT JOIN versions v ON v.artifact_id = a.id GROUP BY a.id ORDER BY a.name`)
      .all() as {
      id: number;
      name: string;
      kind: ArtifactKind;
      created_at: string;
      n: number;
      updated: string | null;
    }[];
    const stageRows = reg.db
      .prepare(
        `SELECT s.artifact_id, s.stage, v.version FROM stages s JOIN versions v ON v.id = s.version_id ORDER BY s.stage`,
      )
      .all() as { artifact_id: number; stage: string; version: string }[];
    return arts.map((a) => {
      const stages: Record<string, string> = {};
      for (const s of stageRows) if (s.artifact_id === a.id) stages[s.stage] = s.version;
      const latest = a.n > 0 ? (pickLatestNumber(reg, a.id) ?? null) : null;
      return {
        name: a.name,
        kind: a.kind,
        versions: a.n,
        latest,
        stages,
        createdAt: a.created_at,
        updatedAt: a.updated ?? a.created_at,
      };
    });
  });
}

/** What `NAME` (latest) resolves to, so `list` and `show NAME` agree. */
function pickLatestNumber(reg: Registry, artifactId: number): string | undefined {
  return pickLatest(versionsOf(reg, artifactId))?.version;
}

export interface VersionSummary {
  version: string;
  digest: string;
  size: number;
  files: number;
  createdAt: string;
  createdBy: string;
  description: string | null;
  stages: string[];
  deprecated: VersionRecord['deprecated'];
  metrics: Record<string, number>;
  /** Models: the newest scan of its pickles found unsafe (added with --unsafe, or re-scanned since). */
  unsafe?: boolean;
}

export interface VersionList {
  name: string;
  kind: ArtifactKind;
  versions: VersionSummary[];
}

/** Versions of one artifact, newest (by semver) first, with stages and metrics. */
export function listVersions(reg: Registry, name: string): VersionList {
  return reg.read(() => {
    const artifact = getArtifact(reg, name);
    const rows = versionsOf(reg, artifact.id);
    const stageRows = reg.db
      .prepare('SELECT stage, version_id FROM stages WHERE artifact_id = ? ORDER BY stage')
      .all(artifact.id) as { stage: string; version_id: number }[];
    const metricRows = reg.db
      .prepare(
        'SELECT m.version_id, m.key, m.value FROM version_metrics m JOIN versions v ON v.id = m.version_id WHERE v.artifact_id = ? ORDER BY m.key',
      )
      .all(artifact.id) as { version_id: number; key: string; value: number }[];
    const stagesBy = new Map<number, string[]>();
    for (const s of stageRows) stagesBy.set(s.version_id, [...(stagesBy.get(s.version_id) ?? []), s.stage]);
    const metricsBy = new Map<number, Record<string, number>>();
    for (const m of metricRows) {
      let rec = metricsBy.get(m.version_id);
      if (!rec) metricsBy.set(m.version_id, (rec = {}));
      rec[m.key] = m.value;
    }
    const sorted = semver.sortDescending(rows, (r) => r.version);
    const unsafe = artifact.kind === 'model' ? unsafeVersionIds(reg, artifact.id) : new Set<number>();
    return {
      name: artifact.name,
      kind: artifact.kind,
      versions: sorted.map((r) => {
        const rec = toRecord(r);
        return {
          version: rec.version,
          digest: rec.digest,
          size: rec.size,
          files: rec.fileCount,
          createdAt: rec.createdAt,
          createdBy: rec.createdBy,
          description: rec.description,
          stages: stagesBy.get(rec.id) ?? [],
          deprecated: rec.deprecated,
          metrics: metricsBy.get(rec.id) ?? {},
          ...(artifact.kind === 'model' ? { unsafe: unsafe.has(rec.id) } : {}),
        };
      }),
    };
  });
}
