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
  parseRef,
  resolveRef,
  toRecord,
  validateName,
  type ArtifactKind,
  type VersionRecord,
  type VersionRow,
} from './refs.js';
import type { Registry } from '../registry/registry.js';
import { type ChunkTap, hasObject, objectPath, putBytes, putFile } from '../store/objects.js';
import { planVersion, validateVersionRequest, type Bump } from './version-plan.js';
import { applyOperations } from '../remote/apply.js';
import { lineageOf } from './queries.js';

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
   * compute their profile here). `profileOf` turns its result into the profile stored with the version.
   */
  inspect?: (files: readonly SourceFile[], type: 'file' | 'dir') => Promise<unknown>;
  profileOf?: (inspected: unknown) => { format: number; profile: unknown };
  /** Models: see each file's bytes in the same read that stores them (the scan). */
  tapFor?: (file: SourceFile) => ChunkTap | undefined;
  /**
   * Runs once every file is stored, before anything is registered, given each file's tap and stored
   * object path; may refuse (throw). Its result goes to `storedOf` (the rows of the add operation),
   * and `eventDetails` of it into the add event.
   */
  afterStore?: (stored: { file: SourceFile; tap: ChunkTap | undefined; objectPath: string }[]) => Promise<unknown>;
  /** A model's scan and signature, from `afterStore`'s result, stored with the version. */
  storedOf?: (afterStore: unknown) => { scan: { report: unknown; override: string | null } | null; signature: unknown };
  eventDetails?: (afterStore: unknown) => Record<string, unknown>;
}

export interface AddResult {
  version: VersionRecord;
  manifest: Manifest;
  /** Bytes newly written to the store (0 when every file was already there). */
  bytesWritten: number;
  bytesTotal: number;
  trainedOn: { name: string; version: string }[];
  /** Paths of the source folder that were left out (VCS and OS clutter, `.mlregignore`). */
  skipped: string[];
  /** Files of 0 bytes: registered, but rarely what was meant (a failed save, a placeholder). */
  emptyFiles: string[];
  /** Earlier versions of the same artifact with exactly this content (same manifest digest). */
  sameContentAs: string[];
  /** Files whose stored copy was damaged and has been replaced by the good bytes of this add. */
  repaired: string[];
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
    throw new UsageError('lineage is for models: it records the datasets a model was trained on', {
      code: 'E_LINEAGE_KIND',
      hint: 'Give no training datasets when adding a dataset.',
      details: { option: 'trainedOn' },
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

  const { type, files, skipped } = await walkSource(opts.path, opts);
  const inspected = opts.inspect ? await opts.inspect(files, type) : undefined;
  reg.cleanStaleTemp();

  const total = files.reduce((s, f) => s + f.size, 0);
  let doneBefore = 0;
  let bytesWritten = 0;
  const repaired: string[] = [];
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
    if (stored.repaired) repaired.push(f.path);
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
  let record: VersionRecord | undefined;
  // Read back inside the transaction that registers it: a read failing after the commit would
  // report a failure for a version that exists (and a retry would register a second one).
  let trainedOn: { name: string; version: string }[] = [];
  let sameContentAs: string[] = [];
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
    const artifact = findArtifact(reg, opts.name);
    if (artifact && artifact.kind !== opts.kind) throw kindClash(opts.name, artifact.kind, opts.kind);
    const number = planVersion(artifact ? takenNumbers(reg, artifact.id) : [], opts);
    sameContentAs = artifact
      ? (
          reg.db
            .prepare('SELECT version FROM versions WHERE artifact_id = ? AND digest = ? ORDER BY id')
            .all(artifact.id, manifestObj.digest) as { version: string }[]
        ).map((r) => r.version)
      : [];
    const objects = [{ digest: manifestObj.digest, size: manifestObj.size }];
    for (const e of entries)
      if (!objects.some((o) => o.digest === e.sha256)) objects.push({ digest: e.sha256, size: e.size });
    const [applied] = applyOperations(
      reg,
      [
        {
          op: 'version.add',
          at: now,
          name: opts.name,
          kind: opts.kind,
          version: number,
          digest: manifestObj.digest,
          sourceType: type,
          size: total,
          fileCount: files.length,
          description: opts.description ?? null,
          objects,
          metrics: opts.metrics ?? {},
          params: opts.params ?? {},
          tags: opts.tags ?? {},
          trainedOn: trainedOnRefs.map((r) => {
            const d = resolveRef(reg, r, 'dataset');
            return { name: d.name, version: d.version };
          }),
          profile: opts.profileOf ? opts.profileOf(inspected) : null,
          details: opts.eventDetails ? opts.eventDetails(afterStore) : null,
          ...(opts.storedOf ? opts.storedOf(afterStore) : {}),
        },
      ],
      opts.actor,
    );
    // Read back inside the transaction: a replica commits it only once the remote took the change.
    record = toRecord(
      reg.db
        .prepare(`SELECT v.*, a.name, a.kind FROM versions v JOIN artifacts a ON a.id = v.artifact_id WHERE v.id = ?`)
        .get(applied!.versionId) as VersionRow,
    );
    trainedOn = lineageOf(reg, applied!.versionId!).trainedOn;
    return applied!.versionId!;
  }
  if (!record || versionId === undefined) throw new Error('add: the version was not indexed');
  return {
    version: record,
    manifest,
    bytesWritten,
    bytesTotal: total,
    trainedOn,
    skipped,
    emptyFiles: files.filter((f) => f.size === 0).map((f) => f.path),
    sameContentAs,
    repaired,
  };
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
