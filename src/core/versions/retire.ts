import { ConflictError } from '../errors.js';
import { applyOperations } from '../remote/apply.js';
import { resolveRef, versionById, type VersionRecord } from './refs.js';
import type { Registry } from '../registry/registry.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * Retiring versions: deprecate (still stored and checkable out, but never promoted and skipped by
 * rollback), undeprecate, and delete (gone from the index, number kept as a tombstone, bytes left
 * for gc). Each is one transaction with its event.
 */

export interface RetireResult {
  name: string;
  version: string;
  changed: boolean;
  actor: string;
  reason: string | null;
  at: string;
}

export function deprecate(
  reg: Registry,
  ref: string,
  opts: { actor: string; reason?: string | undefined },
): RetireResult {
  return reg.write(() => {
    const v = resolveRef(reg, ref);
    const at = reg.nowIso();
    const base = { name: v.name, version: v.version, actor: opts.actor, reason: opts.reason ?? null, at };
    if (v.deprecated) return { ...base, changed: false };
    applyOperations(
      reg,
      [{ op: 'version.deprecate', at, name: v.name, version: v.version, reason: opts.reason ?? null, details: null }],
      opts.actor,
    );
    return { ...base, changed: true };
  });
}

export function undeprecate(
  reg: Registry,
  ref: string,
  opts: { actor: string; reason?: string | undefined },
): RetireResult {
  return reg.write(() => {
    const v = resolveRef(reg, ref);
    const at = reg.nowIso();
    const base = { name: v.name, version: v.version, actor: opts.actor, reason: opts.reason ?? null, at };
    if (!v.deprecated) return { ...base, changed: false };
    applyOperations(
      reg,
      [{ op: 'version.undeprecate', at, name: v.name, version: v.version, reason: opts.reason ?? null, details: null }],
      opts.actor,
    );
    return { ...base, changed: true };
  });
}

export interface DeleteResult extends RetireResult {
  /** Stages whose only way back was this version (only with --force). */
  forcedStages: string[];
  /** Bytes of objects only this version used: what the next `gc` frees. */
  bytesForGc: number;
}

interface ChainRow {
  id: number;
  version_id: number | null;
  below_event_id: number | null;
}

/**
 * Stages of the artifact whose rollback would have nowhere left to go without `victim`: the stage's
 * chain below its current assignment holds the victim and no other usable version (not deleted,
 * not deprecated, not the current holder). The same walk `rollback` does (core/stages.ts).
 */
export function stagesOnlyWayBack(reg: Registry, artifactId: number, victimId: number): string[] {
  if (versionById(reg, victimId).deprecated) return []; // rollback skips it anyway: it is no way back
  const stages = reg.db
    .prepare('SELECT stage, version_id, event_id FROM stages WHERE artifact_id = ? ORDER BY stage')
    .all(artifactId) as { stage: string; version_id: number; event_id: number }[];
  const link = reg.db.prepare('SELECT id, version_id, below_event_id FROM events WHERE id = ?');
  const out: string[] = [];
  for (const s of stages) {
    let l = link.get((link.get(s.event_id) as ChainRow | undefined)?.below_event_id ?? -1) as ChainRow | undefined;
    let sawVictim = false;
    let other = false;
    while (l && !other) {
      if (l.version_id === victimId) sawVictim = true;
      else if (l.version_id !== null && l.version_id !== s.version_id && !versionById(reg, l.version_id).deprecated)
        other = true;
      l = l.below_event_id === null ? undefined : (link.get(l.below_event_id) as ChainRow | undefined);
    }
    if (sawVictim && !other) out.push(s.stage);
  }
  return out;
}

/**
 * Rows in any table that reference the version through a foreign key that neither cascades nor
 * nulls (lineage of a model trained on this dataset version, evaluations on it, ...). Found from the
 * schema, so tables added by later migrations are covered without changing this code.
 */
export function blockingReferences(
  reg: Registry,
  versionId: number,
): { table: string; column: string; rows: number }[] {
  const tables = reg.db
    .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    .all() as { name: string }[];
  const out: { table: string; column: string; rows: number }[] = [];
  for (const { name } of tables) {
    const fks = reg.db
      .prepare('SELECT "table" AS target, "from" AS col, on_delete FROM pragma_foreign_key_list(?)')
      .all(name) as { target: string; col: string; on_delete: string }[];
    for (const fk of fks) {
      if (fk.target !== 'versions' || fk.on_delete === 'CASCADE' || fk.on_delete === 'SET NULL') continue;
      const { n } = reg.db.prepare(`SELECT COUNT(*) AS n FROM "${name}" WHERE "${fk.col}" = ?`).get(versionId) as {
        n: number;
      };
      if (n > 0) out.push({ table: name, column: fk.col, rows: n });
    }
  }
  return out;
}

export function deleteVersion(
  reg: Registry,
  ref: string,
  opts: { actor: string; reason?: string | undefined; force?: boolean | undefined },
): DeleteResult {
  return reg.write(() => {
    const v = resolveRef(reg, ref);
    const holding = (
      reg.db.prepare('SELECT stage FROM stages WHERE version_id = ? ORDER BY stage').all(v.id) as { stage: string }[]
    ).map((r) => r.stage);
    if (holding.length) {
      throw new ConflictError(
        `${v.name}@${v.version} holds ${holding.map((s) => `the ${s} stage`).join(' and ')} and cannot be deleted`,
        {
          code: 'E_VERSION_IN_USE',
          hint: `Move the stage first (mlreg promote ${v.name}@OTHER ${optionRef('to')} ${holding[0]}, or mlreg rollback ${v.name} ${optionRef('stage')} ${holding[0]}); ${optionRef('force')} does not override this.`,
          details: { stages: holding },
        },
      );
    }
    const blocking = blockingReferences(reg, v.id);
    if (blocking.length) throw referencedElsewhere(reg, v, blocking);
    const onlyWayBack = stagesOnlyWayBack(reg, v.artifactId, v.id);
    if (onlyWayBack.length && !opts.force) {
      throw new ConflictError(
        `${v.name}@${v.version} is the only way back for the rollback history of ${onlyWayBack.join(', ')}`,
        {
          code: 'E_ONLY_WAY_BACK',
          hint: `Deleting it leaves \`mlreg rollback ${v.name}\` nowhere to go. Pass ${optionRef('force')} to delete it anyway (recorded in the audit log).`,
          details: { stages: onlyWayBack },
        },
      );
    }
    const at = reg.nowIso();
    const { bytes } = reg.db
      .prepare(`SELECT COALESCE(SUM(size), 0) AS bytes FROM version_objects o
                WHERE o.version_id = ? AND NOT EXISTS (SELECT 1 FROM version_objects p WHERE p.digest = o.digest AND p.version_id <> o.version_id)`)
      .get(v.id) as { bytes: number };
    // Events keep the version string (version_id becomes NULL by ON DELETE SET NULL), so history and
    // the rollback chain outlive the row; rollback skips such links as "(deleted)".
    applyOperations(
      reg,
      [
        {
          op: 'version.delete',
          at,
          name: v.name,
          version: v.version,
          reason: opts.reason ?? null,
          details: {
            digest: v.digest,
            ...(onlyWayBack.length ? { forced: true, stagesLosingTheirWayBack: onlyWayBack } : {}),
          },
        },
      ],
      opts.actor,
    );
    return {
      name: v.name,
      version: v.version,
      changed: true,
      actor: opts.actor,
      reason: opts.reason ?? null,
      at,
      forcedStages: onlyWayBack,
      bytesForGc: bytes,
    };
  });
}

function referencedElsewhere(
  reg: Registry,
  v: VersionRecord,
  blocking: { table: string; column: string; rows: number }[],
): ConflictError {
  const users = blocking.some((b) => b.table === 'lineage')
    ? (
        reg.db
          .prepare(`SELECT a.name || '@' || m.version AS ref FROM lineage l JOIN versions m ON m.id = l.version_id JOIN artifacts a ON a.id = m.artifact_id
                    WHERE l.dataset_version_id = ? ORDER BY a.name, m.id`)
          .all(v.id) as { ref: string }[]
      ).map((r) => r.ref)
    : [];
  return new ConflictError(
    `${v.name}@${v.version} is still referenced (${blocking.map((b) => `${b.rows} row${b.rows === 1 ? '' : 's'} of ${b.table}`).join(', ')}) and cannot be deleted`,
    {
      code: 'E_VERSION_REFERENCED',
      hint: users.length
        ? `Models were trained on it: ${users.join(', ')}. Their lineage must stay true; delete those model versions first, or deprecate this one instead.`
        : 'Other records point at it; deprecate it instead, or delete what refers to it first.',
      details: { references: blocking, usedBy: users },
    },
  );
}
