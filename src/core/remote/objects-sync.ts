import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { IntegrityError, MlregError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import { hasObject, objectPath, putFile, removeQuietly } from '../store/objects.js';
import { objectKey } from './layout.js';
import type { RemoteStore } from './transport.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * Objects between a replica's folder and its remote: uploaded before the log entry that references
 * them (so an entry never names an object the remote lacks), fetched lazily when a command needs
 * bytes this folder does not hold, and hash-checked on the way in.
 */

/**
 * A writer uploads again an object it reuses when the remote's copy is older than this, so a remote gc
 * (gc.ts) that sees an object older than its grace period knows no writer is about to reference it.
 */
export const REUSE_FRESH_MS = 15 * 60_000;

/**
 * Upload what the remote does not hold yet (one HEAD each; content-addressed, so an overwrite is
 * harmless). A copy there that is older than `freshMs` is uploaded again, so its modification time
 * tells a remote gc that a writer is about to reference it (core/remote/gc.ts). Returns the digests
 * uploaded.
 */
export async function uploadMissing(
  reg: Registry,
  store: RemoteStore,
  objects: Map<string, number>,
  fresh?: { now: Date; freshMs: number },
): Promise<string[]> {
  const uploaded: string[] = [];
  for (const [digest, size] of objects) {
    const there = await store.head(objectKey(digest));
    const stale =
      there !== undefined && fresh !== undefined && fresh.now.getTime() - there.modified.getTime() > fresh.freshMs;
    if (there && there.size === size && (!stale || !hasObject(reg, digest))) continue;
    if (!hasObject(reg, digest))
      throw new IntegrityError(`object sha256:${digest} is neither in this replica nor on the remote`, {
        code: 'E_OBJECT_MISSING',
        hint: `Run \`mlreg pull ${optionRef('objects')}\` on a replica that has it, or add the version again.`,
      });
    await store.upload(objectKey(digest), objectPath(reg, digest), size);
    uploaded.push(digest);
  }
  return uploaded;
}

/** Upload again any of `digests` that vanished from the remote (a remote gc raced the upload). */
export async function reuploadVanished(
  reg: Registry,
  store: RemoteStore,
  objects: Map<string, number>,
  digests: readonly string[],
): Promise<number> {
  let n = 0;
  for (const digest of digests) {
    const size = objects.get(digest);
    if (size === undefined || (await store.head(objectKey(digest)))) continue;
    await store.upload(objectKey(digest), objectPath(reg, digest), size);
    n++;
  }
  return n;
}

/** The size the index gives an object (the most a download may bring), if it knows it. */
function knownSize(reg: Registry, digest: string): number | undefined {
  const row = reg.db.prepare('SELECT size FROM version_objects WHERE digest = ? LIMIT 1').get(digest) as
    | { size: number }
    | undefined;
  return row?.size;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Download one object into the local store, refusing bytes that do not hash to its name (exit 5). */
export async function fetchObject(reg: Registry, store: RemoteStore, digest: string): Promise<void> {
  if (hasObject(reg, digest)) return;
  const size = knownSize(reg, digest);
  const tmp = reg.tempPath('dl');
  try {
    try {
      await store.download(objectKey(digest), tmp, size ?? Number.MAX_SAFE_INTEGER);
    } catch (err) {
      if (err instanceof MlregError && err.code === 'E_REMOTE_OBJECT_NOT_FOUND')
        throw new IntegrityError(`object sha256:${digest} is missing from the remote ${store.url}`, {
          code: 'E_OBJECT_MISSING',
          hint: 'The remote lost bytes a version needs. Upload them again from a replica that has them (`mlreg remote status` there), or deprecate the version.',
        });
      throw err;
    }
    const actual = await sha256File(tmp);
    if (actual !== digest)
      throw new IntegrityError(`object sha256:${digest} on the remote is corrupt: its bytes hash to sha256:${actual}`, {
        code: 'E_OBJECT_CORRUPT',
        hint: 'Nothing was written from it. Upload the object again from a replica that has it intact, then retry.',
      });
    const stored = await putFile(reg, tmp);
    if (stored.digest !== digest) throw new IntegrityError(`object sha256:${digest} changed while it was stored`);
  } finally {
    removeQuietly(tmp);
  }
}

/** Digests the index references that this folder does not hold, with their sizes. */
export function missingObjects(reg: Registry): { digest: string; size: number }[] {
  const rows = reg.db.prepare('SELECT digest, MAX(size) AS size FROM version_objects GROUP BY digest').all() as {
    digest: string;
    size: number;
  }[];
  return rows.filter((r) => !hasObject(reg, r.digest));
}

/**
 * `verify --remote`: is an object the index references on the remote with its size, and (hash) do its
 * bytes hash to its name? Downloaded to a temp file and removed: a check stores nothing.
 */
export async function checkRemoteObject(
  reg: Registry,
  store: RemoteStore,
  digest: string,
  size: number,
  hash: boolean,
): Promise<'ok' | 'missing' | 'size' | 'corrupt'> {
  const there = await store.head(objectKey(digest));
  if (!there) return 'missing';
  if (there.size !== size) return 'size';
  if (!hash) return 'ok';
  const tmp = reg.tempPath('vfy');
  try {
    try {
      await store.download(objectKey(digest), tmp, size);
    } catch (err) {
      if (err instanceof MlregError && err.code === 'E_REMOTE_OBJECT_NOT_FOUND') return 'missing';
      if (err instanceof MlregError && err.code === 'E_REMOTE_TOO_LARGE') return 'size';
      throw err;
    }
    return (await sha256File(tmp)) === digest ? 'ok' : 'corrupt';
  } finally {
    removeQuietly(tmp);
  }
}
