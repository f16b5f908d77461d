import type { Registry } from '../registry/registry.js';
import { objectKey } from './layout.js';
import { REUSE_FRESH_MS } from './objects-sync.js';
import { pull } from './pull.js';
import type { RemoteStore } from './transport.js';

/**
 * `gc --remote`: remove from a remote the objects no version references at the head of its log and
 * that are older than a grace period. Objects are shared by every replica, so the rule must hold
 * against writers on other machines that are between uploading their objects and creating their log
 * entry (core/remote/session.ts):
 *
 * - A writer re-uploads an object it reuses when the remote's copy is older than REUSE_FRESH_MS, and
 *   checks its objects again when more than REUSE_FRESH_MS passed before its entry PUT. So an entry
 *   references an object whose remote copy was modified at most 2 × REUSE_FRESH_MS before the entry
 *   was created.
 * - gc lists first, then pulls to the head (the referenced set), and judges age against the time of
 *   that pull: an object older than `graceMs` (≥ MIN_REMOTE_GRACE_MS = 4 × REUSE_FRESH_MS) at the pull
 *   cannot be referenced by an entry created after it (the margin covers clock skew of up to
 *   REUSE_FRESH_MS between machines and the store).
 * - Just before deleting, gc asks for the object again (HEAD) and leaves it when it was modified since
 *   (a writer re-uploaded it meanwhile); a writer also checks the objects it uploaded once its entry is
 *   created and uploads again any that vanished. What remains is a writer that re-uploads, creates its
 *   entry and checks again, all between gc's HEAD and DELETE of that one object (one round trip).
 *
 * Objects are the only thing gc removes: log entries, checkpoints and payloads are kept.
 */

export const MIN_REMOTE_GRACE_MS = 4 * REUSE_FRESH_MS;
export const DEFAULT_REMOTE_GRACE_MS = 24 * 3_600_000;

const OBJECT_KEY_RE = /^objects\/sha256\/([0-9a-f]{2})\/([0-9a-f]{62})$/;

export interface RemoteGcOptions {
  graceMs: number;
  dryRun?: boolean | undefined;
  /** The clock (tests move it). */
  now?: () => Date;
  /** Called between the phases (tests run a concurrent writer there). */
  onStep?: (step: 'listed' | 'pulled') => Promise<void>;
}

export interface RemoteGcReport {
  dryRun: boolean;
  /** Objects on the remote, and those the log at its head references. */
  objects: number;
  referenced: number;
  objectsRemoved: number;
  bytesFreed: number;
  /** Unreferenced objects left because they are younger than the grace period (a writer may be about to reference them). */
  objectsInGrace: number;
  bytesInGrace: number;
  graceSeconds: number;
  /** The log entry whose state decided what is referenced. */
  position: number;
}

export async function remoteGc(reg: Registry, store: RemoteStore, opts: RemoteGcOptions): Promise<RemoteGcReport> {
  const now = opts.now ?? (() => reg.runtime.now());
  const listed: { digest: string; size: number; modified: number }[] = [];
  for await (const info of store.list('objects/sha256/')) {
    const m = OBJECT_KEY_RE.exec(info.key);
    if (m) listed.push({ digest: `${m[1]}${m[2]}`, size: info.size, modified: info.modified.getTime() });
  }
  await opts.onStep?.('listed');
  const pulled = await pull(reg, store);
  const cutoff = now().getTime() - opts.graceMs;
  const live = new Set(
    reg.read(() => reg.db.prepare('SELECT DISTINCT digest FROM version_objects').pluck().all() as string[]),
  );
  await opts.onStep?.('pulled');
  const report: RemoteGcReport = {
    dryRun: !!opts.dryRun,
    objects: listed.length,
    referenced: 0,
    objectsRemoved: 0,
    bytesFreed: 0,
    objectsInGrace: 0,
    bytesInGrace: 0,
    graceSeconds: Math.round(opts.graceMs / 1000),
    position: pulled.to,
  };
  for (const o of listed) {
    if (live.has(o.digest)) {
      report.referenced++;
      continue;
    }
    // Judged on the listing first (no request for young objects), then on a fresh HEAD.
    const there =
      o.modified > cutoff ? { size: o.size, modified: new Date(o.modified) } : await store.head(objectKey(o.digest));
    if (!there) continue; // removed meanwhile (another gc)
    if (there.modified.getTime() > cutoff) {
      report.objectsInGrace++;
      report.bytesInGrace += there.size;
      continue;
    }
    if (!opts.dryRun) await store.delete(objectKey(o.digest));
    report.objectsRemoved++;
    report.bytesFreed += there.size;
  }
  return report;
}
