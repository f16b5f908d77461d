import * as semver from '../lib/semver.js';
import { ConflictError, InvalidInputError, UsageError } from '../errors.js';
import {
  serialiseManifest,
  walkSource,
  type Manifest,
  type ManifestEntry,
  type SourceFile,
  type WalkOptions,
} from '../store/manifest.js';
import {
  findArtifact,
  getArtifact,
  parseRef,
  pickLatest,
  resolveRef,
  toRecord,
  validateName,
  versionsOf,
  type ArtifactKind,
  type VersionRecord,
  type VersionRow,
} from './refs.js';
import type { Registry } from '../registry/registry.js';
import { type ChunkTap, hasObject, objectPath, putBytes, putFile } from '../store/objects.js';
import { planVersion, validateVersionRequest, type Bump } from './version-plan.js';
import { insertEvent } from '../registry/history.js';
import { unsafeVersionIds } from '../models/record.js';

export interface AddOptions extends WalkOptions {
  kind: ArtifactKind;
  name: string;
  path: string;
  version?: string | undefined;
  bump?: Bump | undefined;
  preid?: string | undefined;
  metrics?: Record<string, number>;
  params?: Record<string, string>;
  tags?: Record<string, string>;
  description?: string | undefined;
  /** Dataset references this model was trained on. */
  trainedOn?: readonly string[];
  actor: string;
  /** Called as bytes are stored: (bytes done, bytes in all). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Work that must succeed before anything is registered, given the listed source files (datasets
   * compute their profile here). Its result is passed to `writeExtra` inside the add transaction.
   */
  inspect?: (files: readonly SourceFile[], type: 'file' | 'dir') => Promise<unknown>;
  writeExtra?: (versionId: number, inspected: unknown) => void;
  /** Models: see each file's bytes in the same read that stores them (the scan). */
  tapFor?: (file: SourceFile) => ChunkTap | undefined;
  /**
   * Runs once every file is stored, before anything is registered, given each file's tap and stored
   * object path; may refuse (throw). Its result goes to `writeStored` inside the add transaction,
   * and `eventDetails` of it into the add event.
   */
  afterStore?: (stored: { file: SourceFile; tap: ChunkTap | undefined; objectPath: string }[]) => Promise<unknown>;
  writeStored?: (versionId: number, afterStore: unknown) => void;
  eventDetails?: (afterStore: unknown) => Record<string, unknown>;
}

export interface AddResult {
  version: VersionRecord;
  manifest: Manifest;
  /** Bytes newly written to the store (0 when every file was already there). */
  bytesWritten: number;
  bytesTotal: number;
  trainedOn: { name: string; version: string }[];
}

/**
 * Register a new version: store every file (streamed, deduplicated), store the manifest, then in
 * one transaction allocate the version number and write the index rows. A process killed at any
 * point before the commit leaves no version behind (only unreferenced objects, which gc removes).
 */
export async function addVersion(reg: Registry, opts: AddOptions): Promise<AddResult> {
  validateName(opts.name);
  validateVersionRequest(opts);
  if (opts.kind !== 'model' && opts.trainedOn?.length) {
    throw new UsageError('--trained-on is for models: it records the datasets a model was trained on', {
      code: 'E_LINEAGE_KIND',
      hint: 'Leave --trained-on out when adding a dataset.',
    });
  }
  const trainedOnRefs = (opts.trainedOn ?? []).map((t) => parseRef(t));
  // Refuse early what would fail in the transaction anyway, before storing any bytes.
  const existing = findArtifact(reg, opts.name);
  if (existing && existing.kind !== opts.kind) throw kindClash(opts.name, existing.kind, opts.kind);
  // An explicit number that is taken: refuse before streaming bytes into the store (they would stay
  // there, unreferenced, until gc). The transaction checks again, for a writer that took it meanwhile.
  if (existing && opts.version !== undefined) planVersion(takenNumbers(reg, existing.id), opts);
  for (const r of trainedOnRefs) resolveRef(reg, r, 'dataset');

  const { type, files } = await walkSource(opts.path, opts);
  const inspected = opts.inspect ? await opts.inspect(files, type) : undefined;
  reg.cleanStaleTemp();

  const total = files.reduce((s, f) => s + f.size, 0);
  let doneBefore = 0;
  let bytesWritten = 0;
  const entries: ManifestEntry[] = [];
  const tapped: { file: SourceFile; tap: ChunkTap | undefined; objectPath: string }[] = [];
  for (const f of files) {
    const tap = opts.tapFor?.(f);
    const stored = await putFile(reg, f.abs, {
      expectedSize: f.size,
      onProgress: opts.onProgress ? (d) => opts.onProgress!(doneBefore + d, total) : undefined,
      tap,
    });
    if (stored.written) bytesWritten += stored.size;
    doneBefore += f.size;
    entries.push({ path: f.path, size: f.size, mode: f.mode, sha256: stored.digest });
    tapped.push({ file: f, tap, objectPath: objectPath(reg, stored.digest) });
  }
  const afterStore = opts.afterStore ? await opts.afterStore(tapped) : undefined;
  const manifest: Manifest = { format: 1, type, files: entries };
  const manifestBytes = serialiseManifest(manifest);
  const manifestObj = await putBytes(reg, manifestBytes);

  const now = reg.nowIso();
  // gc sweeps inside a write transaction; checking here, inside ours, that every object is still in
  // place closes the window between storing the bytes and indexing them (see core/gc.ts). When a
  // concurrent gc took one, store it again and retry.
  const needed = [
    ...entries.map((e, i) => ({ digest: e.sha256, abs: files[i]!.abs, size: e.size })),
    { digest: manifestObj.digest, abs: null, size: manifestObj.size },
  ];
  let versionId: number | undefined;
  for (let attempt = 0; ; attempt++) {
    versionId = reg.write(() => (needed.some((n) => !hasObject(reg, n.digest)) ? undefined : indexVersion()));
    if (versionId !== undefined) break;
    if (attempt >= 3)
      throw new ConflictError(
        'objects this version needs kept disappearing while it was being added (a concurrent gc?)',
        { code: 'E_OBJECTS_VANISHED', hint: 'Run the add again once gc has finished; nothing was registered.' },
      );
    for (const n of needed) {
      if (hasObject(reg, n.digest)) continue;
      if (n.abs === null) await putBytes(reg, manifestBytes);
      else await putFile(reg, n.abs, { expectedSize: n.size });
    }
  }
  function indexVersion(): number {
    let artifact = findArtifact(reg, opts.name);
    if (artifact && artifact.kind !== opts.kind) throw kindClash(opts.name, artifact.kind, opts.kind);
    if (!artifact) {
      const info = reg.db
        .prepare('INSERT INTO artifacts (name, kind, created_at, created_by) VALUES (?, ?, ?, ?)')
        .run(opts.name, opts.kind, now, opts.actor);
      artifact = {
        id: Number(info.lastInsertRowid),
        name: opts.name,
        kind: opts.kind,
        created_at: now,
        created_by: opts.actor,
      };
    }
    const number = planVersion(takenNumbers(reg, artifact.id), opts);
    const info = reg.db
      .prepare(`INSERT INTO versions (artifact_id, version, digest, source_type, size, file_count, description, created_at, created_by)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(
        artifact.id,
        number,
        manifestObj.digest,
        type,
        total,
        files.length,
        opts.description ?? null,
        now,
        opts.actor,
      );
    const id = Number(info.lastInsertRowid);
    const insObj = reg.db.prepare('INSERT OR IGNORE INTO version_objects (version_id, digest, size) VALUES (?, ?, ?)');
    insObj.run(id, manifestObj.digest, manifestObj.size);
    for (const e of entries) insObj.run(id, e.sha256, e.size);
    const insMetric = reg.db.prepare('INSERT INTO version_metrics (version_id, key, value) VALUES (?, ?, ?)');
    for (const [k, v] of Object.entries(opts.metrics ?? {})) insMetric.run(id, k, v);
    const insParam = reg.db.prepare('INSERT INTO version_params (version_id, key, value) VALUES (?, ?, ?)');
    for (const [k, v] of Object.entries(opts.params ?? {})) insParam.run(id, k, v);
    const insTag = reg.db.prepare('INSERT INTO version_tags (version_id, key, value) VALUES (?, ?, ?)');
    for (const [k, v] of Object.entries(opts.tags ?? {})) insTag.run(id, k, v);
    const insLineage = reg.db.prepare(
      'INSERT OR IGNORE INTO lineage (version_id, dataset_version_id, role) VALUES (?, ?, ?)',
    );
    for (const r of trainedOnRefs) insLineage.run(id, resolveRef(reg, r, 'dataset').id, 'trained_on');
    opts.writeExtra?.(id, inspected);
    opts.writeStored?.(id, afterStore);
    insertEvent(reg, {
      artifactId: artifact.id,
      kind: 'add',
      versionId: id,
      version: number,
      actor: opts.actor,
      at: now,
      details: {
        digest: manifestObj.digest,
        size: total,
        files: files.length,
        ...(opts.eventDetails ? opts.eventDetails(afterStore) : {}),
      },
    });
    return id;
  }
  const version = toRecord(
    reg.db
      .prepare(`SELECT v.*, a.name, a.kind FROM versions v JOIN artifacts a ON a.id = v.artifact_id WHERE v.id = ?`)
      .get(versionId) as VersionRow,
  );
  return { version, manifest, bytesWritten, bytesTotal: total, trainedOn: lineageOf(reg, versionId).trainedOn };
}

/** Version numbers of an artifact that are taken. Deleted numbers stay taken (tombstones, migration 0004): a number never names two contents. */
function takenNumbers(reg: Registry, artifactId: number): string[] {
  return (
    reg.db
      .prepare(
        'SELECT version FROM versions WHERE artifact_id = ? UNION SELECT version FROM deleted_versions WHERE artifact_id = ?',
      )
      .all(artifactId, artifactId) as { version: string }[]
  ).map((r) => r.version);
}

function kindClash(name: string, existing: ArtifactKind, wanted: ArtifactKind): InvalidInputError {
  return new InvalidInputError(`${name} is already a ${existing}; it cannot also hold ${wanted} versions`, {
    code: 'E_WRONG_KIND',
    hint: `Models and datasets share one namespace: pick another name for the ${wanted}.`,
  });
}

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
