import { unlinkSync } from 'node:fs';
import * as semver from '../lib/semver.js';
import { MlregError } from '../errors.js';
import { insertEvent } from '../registry/history.js';
import type { Registry } from '../registry/registry.js';
import { deleteVersion } from '../versions/retire.js';
import { listObjectFiles } from './verify.js';

/**
 * Garbage collection: mark every object a live version references (version_objects), sweep the
 * other files of objects/ and the temp files of dead writers.
 *
 * Safety against a concurrent `add` (blobs stored, not yet indexed) rests on two things:
 * - the sweep runs inside a write transaction (BEGIN IMMEDIATE), and `add` checks, inside its own
 *   write transaction, that every object it is about to index is still there (re-storing it if
 *   not). The two transactions are serialised, so either gc sees the new rows or add sees the hole.
 * - a grace period: objects modified less than `graceMs` ago are never swept, and `add` touches
 *   (freshens) an existing object it reuses, so the re-store above is the rare case, not the rule.
 */

export interface GcOptions {
  actor: string;
  dryRun?: boolean | undefined;
  /** Keep only the newest N versions of each artifact (by semver), plus every protected one. */
  keepLast?: number | undefined;
  /** A version that held a stage within this many days is never removed by keepLast. */
  stagedWithinDays?: number | undefined;
  /** Objects modified more recently than this are left alone (default 10 minutes). */
  graceMs?: number | undefined;
  /**
   * A replica's objects/ is a cache of its remote: sweeping it changes nothing shared, so no `gc`
   * event is written (the versions --keep-last deletes are shared as usual).
   */
  cacheOnly?: boolean | undefined;
}

export interface GcReport {
  dryRun: boolean;
  /** Versions removed (or, dry run, that would be) by --keep-last. */
  versionsDeleted: { name: string; version: string }[];
  /** Versions --keep-last left in place although older than the newest N, and why. */
  versionsKept: { name: string; version: string; why: string }[];
  objectsRemoved: number;
  bytesFreed: number;
  /** Unreferenced objects left because they are younger than the grace period, and their bytes. */
  objectsInGrace: number;
  bytesInGrace: number;
  /** The grace period applied, in seconds. */
  graceSeconds: number;
  tempFilesRemoved: number;
}

export const DEFAULT_GRACE_MS = 10 * 60_000;
export const DEFAULT_STAGED_WITHIN_DAYS = 30;

class DryRunRollback extends Error {
  constructor(readonly report: GcReport) {
    super('dry run');
  }
}

export function gc(reg: Registry, opts: GcOptions): GcReport {
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  const report: GcReport = {
    dryRun: !!opts.dryRun,
    versionsDeleted: [],
    versionsKept: [],
    objectsRemoved: 0,
    bytesFreed: 0,
    objectsInGrace: 0,
    bytesInGrace: 0,
    graceSeconds: graceMs / 1000,
    tempFilesRemoved: 0,
  };
  const sweep = (remove: boolean): void => {
    const live = new Set(reg.db.prepare('SELECT DISTINCT digest FROM version_objects').pluck().all() as string[]);
    const cutoff = reg.runtime.now().getTime() - graceMs;
    for (const o of listObjectFiles(reg)) {
      if (live.has(o.digest)) continue;
      if (o.mtimeMs > cutoff) {
        report.objectsInGrace++;
        report.bytesInGrace += o.size;
        continue;
      }
      if (remove) {
        try {
          unlinkSync(o.path);
        } catch {
          continue; // another gc got there first
        }
      }
      report.objectsRemoved++;
      report.bytesFreed += o.size;
    }
  };
  // A dry run is a local transaction that is rolled back, never a change sent to a replica's remote.
  const journal = opts.dryRun ? reg.journal : undefined;
  if (opts.dryRun) reg.journal = undefined;
  try {
    reg.write(() => {
      if (opts.keepLast !== undefined) retain(reg, opts, report);
      if (opts.dryRun) {
        sweep(false);
        throw new DryRunRollback(report); // undo the retention deletes: a dry run changes nothing
      }
    });
  } catch (err) {
    if (err instanceof DryRunRollback) return err.report;
    throw err;
  } finally {
    if (opts.dryRun) reg.journal = journal;
  }
  reg.write(() => {
    sweep(true);
    report.tempFilesRemoved = reg.cleanStaleTemp().length;
    if (opts.cacheOnly) return;
    insertEvent(reg, {
      artifactId: null,
      kind: 'gc',
      actor: opts.actor,
      at: reg.nowIso(),
      details: {
        objectsRemoved: report.objectsRemoved,
        bytesFreed: report.bytesFreed,
        versionsDeleted: report.versionsDeleted,
        keepLast: opts.keepLast ?? null,
      },
    });
  });
  return report;
}

/** --keep-last N: delete older versions, never one that holds or recently held a stage. */
function retain(reg: Registry, opts: GcOptions, report: GcReport): void {
  const keep = opts.keepLast!;
  const days = opts.stagedWithinDays ?? DEFAULT_STAGED_WITHIN_DAYS;
  const since = new Date(reg.runtime.now().getTime() - days * 86_400_000).toISOString();
  const artifacts = reg.db.prepare('SELECT id, name FROM artifacts ORDER BY name').all() as {
    id: number;
    name: string;
  }[];
  const versionsOf = reg.db.prepare('SELECT id, version FROM versions WHERE artifact_id = ?');
  const staged = reg.db.prepare('SELECT 1 FROM stages WHERE version_id = ?').pluck();
  const recentlyStaged = reg.db
    .prepare(
      "SELECT 1 FROM events WHERE kind IN ('promote', 'rollback') AND (version_id = ? OR from_version_id = ?) AND at >= ? LIMIT 1",
    )
    .pluck();
  for (const a of artifacts) {
    const rows = semver.sortDescending(versionsOf.all(a.id) as { id: number; version: string }[], (r) => r.version);
    for (const v of rows.slice(keep)) {
      const who = { name: a.name, version: v.version };
      if (staged.get(v.id)) report.versionsKept.push({ ...who, why: 'holds a stage' });
      else if (recentlyStaged.get(v.id, v.id, since))
        report.versionsKept.push({ ...who, why: `held a stage within ${days} days` });
      else {
        try {
          deleteVersion(reg, `${a.name}@${v.version}`, { actor: opts.actor, reason: `gc --keep-last ${keep}` });
          report.versionsDeleted.push(who);
        } catch (err) {
          if (!(err instanceof MlregError)) throw err; // refused (lineage, only way back): keep it, say why
          report.versionsKept.push({ ...who, why: err.message });
        }
      }
    }
  }
}
