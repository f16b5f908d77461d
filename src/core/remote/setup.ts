import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConflictError, IntegrityError, NotFoundError, UnavailableError } from '../errors.js';
import { translateSqliteError } from '../registry/db.js';
import { DB_FILE, Registry, type Runtime } from '../registry/registry.js';
import { hasObject, objectPath, removeQuietly } from '../store/objects.js';
import { dumpCheckpoint, loadCheckpoint, MAX_CHECKPOINT_BYTES } from './checkpoint.js';
import { CHECKPOINT_PREFIX, checkpointKey, checkpointNumber, LOG_PREFIX, MARKER_KEY, objectKey } from './layout.js';
import { fetchObject, missingObjects } from './objects-sync.js';
import { entriesAfter, pull, type PullResult } from './pull.js';
import { insertReplicaInfo, replicaInfo, type ReplicaInfo } from './replica-state.js';
import type { RemoteStore } from './transport.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * Making replicas: `init --remote` (a new, empty remote), `clone` (a replica of an existing one),
 * `remote attach` (an existing local registry becomes the first state of an empty remote), and
 * `remote status`. The remote's format marker, `mlreg-remote.json`, is created with put-if-absent,
 * so two of these racing on one URL cannot both succeed.
 */

export const MARKER_FORMAT = 'mlreg-remote';
export const MARKER_FORMAT_VERSION = 1;

export interface RemoteTarget {
  url: string;
  endpoint: string | null;
  region: string | null;
}

interface Marker {
  format: string;
  formatVersion: number;
  id: string;
  createdAt: string;
  origin: 'init' | 'attach';
}

async function readMarker(store: RemoteStore): Promise<Marker | undefined> {
  const bytes = await store.get(MARKER_KEY, 64 << 10);
  if (!bytes) return undefined;
  let m: Partial<Marker>;
  try {
    m = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<Marker>;
  } catch {
    m = {};
  }
  if (m.format !== MARKER_FORMAT || typeof m.formatVersion !== 'number')
    throw new IntegrityError(`${store.url} holds ${MARKER_KEY}, but it is not an mlreg remote marker`, {
      code: 'E_REMOTE_NOT_MLREG',
      hint: 'Point mlreg at an empty prefix or folder of its own.',
    });
  if (m.formatVersion > MARKER_FORMAT_VERSION)
    throw new IntegrityError(
      `${store.url} is an mlreg remote of format ${m.formatVersion}, newer than this mlreg reads`,
      {
        code: 'E_REMOTE_FORMAT_TOO_NEW',
        hint: 'Upgrade mlreg (npm install -g mlreg@latest).',
      },
    );
  return m as Marker;
}

async function hasAny(store: RemoteStore, prefix: string): Promise<boolean> {
  for await (const _ of store.list(prefix)) return true;
  return false;
}

/** Refuse a remote that already holds a registry (or anything of one). */
async function requireEmpty(store: RemoteStore): Promise<void> {
  if ((await readMarker(store)) || (await hasAny(store, LOG_PREFIX)) || (await hasAny(store, CHECKPOINT_PREFIX)))
    throw alreadyThere(store.url);
}

function alreadyThere(url: string): ConflictError {
  return new ConflictError(`${url} already holds an mlreg registry`, {
    code: 'E_REMOTE_EXISTS',
    hint: `Make a replica of it with \`mlreg clone ${url}\` instead.`,
  });
}

async function createMarker(store: RemoteStore, origin: Marker['origin'], now: string): Promise<void> {
  const marker: Marker = {
    format: MARKER_FORMAT,
    formatVersion: MARKER_FORMAT_VERSION,
    id: randomUUID(),
    createdAt: now,
    origin,
  };
  const outcome = await store.putIfAbsent(MARKER_KEY, Buffer.from(`${JSON.stringify(marker)}\n`));
  if (outcome === 'exists') throw alreadyThere(store.url);
  if (outcome === 'unknown') {
    const there = await readMarker(store);
    if (!there || there.id !== marker.id) throw alreadyThere(store.url);
  }
}

function refuseExistingRegistry(root: string): void {
  if (existsSync(join(root, DB_FILE)))
    throw new ConflictError(`${root} already holds an mlreg registry`, {
      code: 'E_REGISTRY_EXISTS',
      hint: 'Choose another folder for the replica.',
    });
}

/** Remove a replica folder this command made, after a failure, so running it again works. */
function undoFolder(root: string, existedBefore: boolean): void {
  try {
    if (!existedBefore) rmSync(root, { recursive: true, force: true });
    else for (const name of readdirSync(root)) rmSync(join(root, name), { recursive: true, force: true });
  } catch {
    /* leave it: the error that brought us here is the one to report */
  }
}

function emptyFolder(root: string): boolean {
  try {
    return readdirSync(root).length === 0;
  } catch {
    return false;
  }
}

async function makeReplica(dir: string, runtime: Runtime, fill: (reg: Registry) => void): Promise<Registry> {
  const root = resolve(dir);
  const existedBefore = existsSync(root);
  const wasEmpty = existedBefore && emptyFolder(root);
  Registry.init(root, runtime);
  try {
    const reg = Registry.open(root, runtime);
    try {
      reg.db.transaction(() => fill(reg)).immediate();
    } catch (err) {
      reg.close();
      throw translateSqliteError(err, reg.dbPath);
    }
    return reg;
  } catch (err) {
    if (!existedBefore || wasEmpty) undoFolder(root, existedBefore);
    throw err;
  }
}

export interface ReplicaCreated {
  registry: string;
  url: string;
  position: number;
  checkpoint: number | null;
  applied: number;
}

/** `mlreg init DIR --remote URL`: a new remote (marker made with put-if-absent) and an empty replica of it. */
export async function initRemote(
  dir: string,
  store: RemoteStore,
  target: RemoteTarget,
  runtime: Runtime,
): Promise<ReplicaCreated> {
  refuseExistingRegistry(resolve(dir));
  await requireEmpty(store);
  await createMarker(store, 'init', runtime.now().toISOString());
  const reg = await makeReplica(dir, runtime, (r) =>
    insertReplicaInfo(r, {
      ...target,
      writerId: randomUUID(),
      position: 0,
      checkpoint: null,
      attachedAt: r.nowIso(),
    }),
  );
  const out = { registry: reg.root, url: target.url, position: 0, checkpoint: null, applied: 0 };
  reg.close();
  return out;
}

/** The newest checkpoint on the remote, if any. */
async function latestCheckpoint(store: RemoteStore): Promise<number | undefined> {
  let latest: number | undefined;
  for await (const info of store.list(CHECKPOINT_PREFIX)) {
    const n = checkpointNumber(info.key);
    if (n !== undefined && (latest === undefined || n > latest)) latest = n;
  }
  return latest;
}

async function downloadCheckpoint(reg: Registry, store: RemoteStore, n: number): Promise<Buffer> {
  const tmp = reg.tempPath('ckpt');
  try {
    await store.download(checkpointKey(n), tmp, MAX_CHECKPOINT_BYTES);
    return readFileSync(tmp);
  } finally {
    removeQuietly(tmp);
  }
}

/** `mlreg clone URL DIR`: load the newest checkpoint, then replay the log entries after it. */
export async function cloneRemote(
  dir: string,
  store: RemoteStore,
  target: RemoteTarget,
  runtime: Runtime,
): Promise<ReplicaCreated> {
  const root = resolve(dir);
  refuseExistingRegistry(root);
  const marker = await readMarker(store);
  if (!marker)
    throw new NotFoundError(`${store.url} holds no mlreg registry`, {
      code: 'E_REMOTE_EMPTY',
      hint: `Create one there with \`mlreg init ${optionRef('remote')} ${store.url}\`, or upload an existing registry with \`mlreg remote attach ${store.url}\`.`,
    });
  const checkpoint = await latestCheckpoint(store);
  if (checkpoint === undefined && marker.origin === 'attach')
    throw new UnavailableError(`${store.url} is being attached (its first checkpoint is not there yet)`, {
      code: 'E_REMOTE_INCOMPLETE',
      hint: 'Wait for `mlreg remote attach` to finish, then clone again. If it failed, empty the remote and attach again.',
    });
  const existedBefore = existsSync(root);
  let reg: Registry | undefined;
  try {
    // Download first (into the new folder's tmp/), then load it and record the replica in one transaction.
    let gz: Buffer | undefined;
    reg = await makeReplica(dir, runtime, () => {});
    if (checkpoint !== undefined) gz = await downloadCheckpoint(reg, store, checkpoint);
    const r = reg;
    try {
      r.db
        .transaction(() => {
          if (gz) loadCheckpoint(r, gz, checkpoint!);
          insertReplicaInfo(r, {
            ...target,
            writerId: randomUUID(),
            position: checkpoint ?? 0,
            checkpoint: checkpoint ?? null,
            attachedAt: r.nowIso(),
          });
        })
        .immediate();
    } catch (err) {
      throw translateSqliteError(err, r.dbPath);
    }
    const pulled = await pull(r, store);
    const out = {
      registry: r.root,
      url: target.url,
      position: pulled.to,
      checkpoint: checkpoint ?? null,
      applied: pulled.applied,
    };
    r.close();
    return out;
  } catch (err) {
    reg?.close();
    if (!existedBefore || emptyFolderExceptRegistry(root)) undoFolder(root, existedBefore);
    throw err;
  }
}

function emptyFolderExceptRegistry(root: string): boolean {
  try {
    return readdirSync(root).every((n) => n === 'objects' || n === 'tmp' || n.startsWith(DB_FILE));
  } catch {
    return false;
  }
}

export interface AttachResult {
  registry: string;
  url: string;
  objects: number;
  bytes: number;
  versions: number;
}

/**
 * `mlreg remote attach URL`: upload every object, then the state as checkpoint 0, and make this
 * folder a replica at position 0. The checkpoint is taken and the replica recorded under the write
 * lock, so no local change slips between them.
 */
export async function attachRemote(
  reg: Registry,
  store: RemoteStore,
  target: RemoteTarget,
  onProgress?: (done: number, total: number) => void,
): Promise<AttachResult> {
  if (replicaInfo(reg))
    throw new ConflictError(`${reg.root} is already a replica of ${replicaInfo(reg)!.url}`, {
      code: 'E_ALREADY_REPLICA',
      hint: 'See `mlreg remote status`.',
    });
  await requireEmpty(store);
  const missing = missingObjects(reg);
  if (missing.length)
    throw new IntegrityError(`${missing.length} objects the index references are not in ${reg.root}`, {
      code: 'E_OBJECT_MISSING',
      hint: 'Run `mlreg verify` and repair the registry (restore from a backup) before sharing it.',
    });
  await createMarker(store, 'attach', reg.nowIso());
  const uploaded = new Set<string>();
  let bytes = 0;
  const uploadAll = async (): Promise<void> => {
    const rows = reg.db.prepare('SELECT digest, MAX(size) AS size FROM version_objects GROUP BY digest').all() as {
      digest: string;
      size: number;
    }[];
    const todo = rows.filter((r) => !uploaded.has(r.digest));
    let done = 0;
    for (const r of todo) {
      if (!hasObject(reg, r.digest)) continue;
      const there = await store.head(objectKey(r.digest));
      if (!there || there.size !== r.size) {
        await store.upload(objectKey(r.digest), objectPath(reg, r.digest), r.size);
        bytes += r.size;
      }
      uploaded.add(r.digest);
      onProgress?.(++done, todo.length);
    }
  };
  await uploadAll();
  try {
    reg.db.exec('BEGIN IMMEDIATE');
  } catch (err) {
    throw translateSqliteError(err, reg.dbPath);
  }
  try {
    await uploadAll(); // versions added while the first pass ran
    const gz = dumpCheckpoint(reg, 0);
    const tmp = reg.tempPath('ckpt');
    try {
      writeFileSync(tmp, gz, { flush: true });
      await store.upload(checkpointKey(0), tmp, gz.length);
    } finally {
      removeQuietly(tmp);
    }
    insertReplicaInfo(reg, { ...target, writerId: randomUUID(), position: 0, checkpoint: 0, attachedAt: reg.nowIso() });
    reg.db.exec('COMMIT');
  } catch (err) {
    if (reg.db.inTransaction) reg.db.exec('ROLLBACK');
    throw err;
  }
  const versions = (reg.db.prepare('SELECT COUNT(*) AS n FROM versions').get() as { n: number }).n;
  return { registry: reg.root, url: target.url, objects: uploaded.size, bytes, versions };
}

export interface RemoteStatus {
  url: string;
  endpoint: string | null;
  writerId: string;
  position: number;
  remoteHead: number;
  behind: number;
  checkpoint: number | null;
  pulledAt: string | null;
  objectsNotLocal: number;
  bytesNotLocal: number;
}

export async function remoteStatus(reg: Registry, store: RemoteStore | undefined): Promise<RemoteStatus> {
  const info = requireReplica(reg);
  const behind = store ? (await entriesAfter(store, info.position)).length : 0;
  const missing = missingObjects(reg);
  return {
    url: info.url,
    endpoint: info.endpoint,
    writerId: info.writerId,
    position: info.position,
    remoteHead: info.position + behind,
    behind,
    checkpoint: info.checkpoint,
    pulledAt: info.pulledAt,
    objectsNotLocal: missing.length,
    bytesNotLocal: missing.reduce((s, m) => s + m.size, 0),
  };
}

export function requireReplica(reg: Registry): ReplicaInfo {
  const info = replicaInfo(reg);
  if (!info)
    throw new NotFoundError(`${reg.root} is not a replica of a remote registry`, {
      code: 'E_NOT_A_REPLICA',
      hint: 'Share it with `mlreg remote attach URL`, or make a replica with `mlreg clone URL`.',
    });
  return info;
}

/** `mlreg pull [--objects]`: apply the new log entries; with objects, fetch every object not held here. */
export async function pullAll(
  reg: Registry,
  store: RemoteStore,
  opts: { objects?: boolean; onProgress?: (done: number, total: number) => void } = {},
): Promise<PullResult & { objectsFetched: number; bytesFetched: number }> {
  requireReplica(reg);
  const pulled = await pull(reg, store);
  let objectsFetched = 0;
  let bytesFetched = 0;
  if (opts.objects) {
    const missing = missingObjects(reg);
    for (const m of missing) {
      await fetchObject(reg, store, m.digest);
      objectsFetched++;
      bytesFetched += m.size;
      opts.onProgress?.(objectsFetched, missing.length);
    }
  }
  return { ...pulled, objectsFetched, bytesFetched };
}
