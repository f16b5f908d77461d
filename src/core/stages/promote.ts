import * as semver from '../lib/semver.js';
import { ConflictError, InvalidInputError, NotFoundError, UsageError } from '../errors.js';
import { refuseLikelyTypo } from './new-stage.js';
import { insertEvent } from '../registry/history.js';
import { getArtifact, resolveRef, validateStage, versionById, type VersionRecord } from '../versions/refs.js';
import type { Registry } from '../registry/registry.js';

/**
 * Stages are named pointers with a history. Each move is an event; the events of one stage form a
 * chain through `below_event_id` (a persistent stack): promote pushes the new assignment on top of
 * the current one, rollback pops back to the assignment below. So v1→v2→v3, rollback → v2,
 * rollback → v1, and a rollback never bounces back to the version it just left.
 */

export const DEFAULT_STAGE = 'production';

export interface StageMove {
  name: string;
  stage: string;
  from: string | null;
  to: string;
  /** False when the stage already held the version (nothing written) or for a dry run. */
  changed: boolean;
  dryRun: boolean;
  eventId: number | null;
  actor: string;
  reason: string | null;
  at: string;
}

export interface PromoteOptions {
  ref: string;
  stage: string;
  actor: string;
  reason?: string | undefined;
  /** Compare-and-swap: the version the stage must hold now ('none' for an empty stage). */
  expect?: string | undefined;
  dryRun?: boolean | undefined;
  allowPrerelease?: boolean | undefined;
  /** Create a stage whose name is close to an existing one (else refused as a likely typo). */
  newStage?: boolean | undefined;
  /**
   * A check run inside the write transaction, after the version and the current holder are known
   * and before anything is written (promotion gates). Throw to refuse.
   */
  guard?: (ctx: { version: VersionRecord; current: VersionRecord | null }) => unknown;
  /**
   * Called inside the write transaction, after the stage row is written and before the commit (not
   * for a dry run). promote/rollback --checkout switch DIR/current here: a switch that fails undoes
   * the move, and concurrent moves switch the folder in the order they commit, so the serving
   * folder never ends on a version the stage does not hold.
   */
  beforeCommit?: ((move: StageMove) => void) | undefined;
}

interface StageRow {
  version_id: number;
  event_id: number;
}

function currentStage(reg: Registry, artifactId: number, stage: string): StageRow | undefined {
  return reg.db
    .prepare('SELECT version_id, event_id FROM stages WHERE artifact_id = ? AND stage = ?')
    .get(artifactId, stage) as StageRow | undefined;
}

function checkExpect(expect: string | undefined, current: VersionRecord | null, name: string, stage: string): void {
  if (expect === undefined) return;
  const holds = current?.version ?? 'none';
  if (holds !== expect) {
    throw new ConflictError(`${name}@${stage} holds ${holds}, not ${expect} as expected: it moved since you looked`, {
      code: 'E_STAGE_MOVED',
      hint: `Nothing was changed. Look at \`mlreg history ${name} --stage ${stage}\` and decide again.`,
      details: { stage, expected: expect, actual: current?.version ?? null },
    });
  }
}

function setStage(reg: Registry, artifactId: number, stage: string, versionId: number, eventId: number): void {
  reg.db
    .prepare(`INSERT INTO stages (artifact_id, stage, version_id, event_id) VALUES (?, ?, ?, ?)
              ON CONFLICT (artifact_id, stage) DO UPDATE SET version_id = excluded.version_id, event_id = excluded.event_id`)
    .run(artifactId, stage, versionId, eventId);
}

export function promote(reg: Registry, opts: PromoteOptions): StageMove & { guard?: unknown } {
  validateStage(opts.stage);
  const run = (): StageMove & { guard?: unknown } => {
    const version = resolveRef(reg, opts.ref);
    const cur = currentStage(reg, version.artifactId, opts.stage);
    const current = cur ? versionById(reg, cur.version_id) : null;
    if (!cur) refuseLikelyTypo(reg, opts.stage, !!opts.newStage);
    checkExpect(opts.expect, current, version.name, opts.stage);
    if (version.deprecated) {
      throw new ConflictError(`${version.name}@${version.version} is deprecated and cannot be promoted`, {
        code: 'E_DEPRECATED',
        hint: `Promote another version, or undo the deprecation first (mlreg undeprecate ${version.name}@${version.version}).`,
      });
    }
    if (opts.stage === DEFAULT_STAGE && semver.prerelease(version.version) !== null && !opts.allowPrerelease) {
      throw new UsageError(
        `${version.name}@${version.version} is a prerelease; it does not go to ${DEFAULT_STAGE} by accident`,
        {
          code: 'E_PRERELEASE',
          hint: 'Pass --allow-prerelease if you mean it, or promote it to staging or canary first.',
        },
      );
    }
    const guardResult = opts.guard?.({ version, current });
    const at = reg.nowIso();
    const base = {
      name: version.name,
      stage: opts.stage,
      from: current?.version ?? null,
      to: version.version,
      actor: opts.actor,
      reason: opts.reason ?? null,
      at,
    };
    const extra = guardResult === undefined ? {} : { guard: guardResult };
    if (opts.dryRun) return { ...base, ...extra, changed: false, dryRun: true, eventId: null };
    if (current?.id === version.id) {
      const same = { ...base, ...extra, changed: false, dryRun: false, eventId: null };
      opts.beforeCommit?.(same);
      return same;
    }
    const eventId = insertEvent(reg, {
      artifactId: version.artifactId,
      kind: 'promote',
      stage: opts.stage,
      versionId: version.id,
      version: version.version,
      fromVersionId: current?.id ?? null,
      fromVersion: current?.version ?? null,
      belowEventId: cur?.event_id ?? null,
      actor: opts.actor,
      reason: opts.reason ?? null,
      at,
      details: guardResult,
    });
    setStage(reg, version.artifactId, opts.stage, version.id, eventId);
    const moved = { ...base, ...extra, changed: true, dryRun: false, eventId };
    opts.beforeCommit?.(moved);
    return moved;
  };
  return opts.dryRun ? reg.read(run) : reg.write(run);
}

export interface RollbackOptions {
  name: string;
  stage?: string | undefined;
  /** Roll back to this version explicitly rather than to the previous holder. */
  to?: string | undefined;
  /** Compare-and-swap on the current holder (auto-rollback uses it so two jobs never roll back twice). */
  expect?: string | undefined;
  /**
   * Compare-and-swap on the target: walk back as usual, but refuse (exit 4, nothing written) unless
   * the walk lands on this version. `rollback --checkout` plans, materialises the target, then rolls
   * back with it, so the serving folder and the stage end on the same version.
   */
  expectTarget?: string | undefined;
  /** As for promote: run inside the transaction once the stage has moved; throw to undo the move. */
  beforeCommit?: ((move: StageMove) => void) | undefined;
  actor: string;
  reason?: string | undefined;
  dryRun?: boolean | undefined;
}

interface ChainLink {
  id: number;
  version_id: number | null;
  below_event_id: number | null;
}

function link(reg: Registry, eventId: number | null): ChainLink | undefined {
  if (eventId === null) return undefined;
  return reg.db.prepare('SELECT id, version_id, below_event_id FROM events WHERE id = ?').get(eventId) as
    | ChainLink
    | undefined;
}

export function rollback(
  reg: Registry,
  opts: RollbackOptions,
): StageMove & { skipped: { version: string; why: string }[] } {
  const stage = validateStage(opts.stage ?? DEFAULT_STAGE);
  const run = () => {
    const artifact = getArtifact(reg, opts.name);
    const cur = currentStage(reg, artifact.id, stage);
    if (!cur) {
      throw new NotFoundError(`${artifact.name} has no ${stage} stage to roll back`, {
        code: 'E_STAGE_NOT_FOUND',
        hint: `See the stages with \`mlreg list ${artifact.name}\`, or pass --stage.`,
      });
    }
    const current = versionById(reg, cur.version_id);
    checkExpect(opts.expect, current, artifact.name, stage);

    // Walk down the chain below the current assignment to the first usable version.
    const skipped: { version: string; why: string }[] = [];
    let target: { link: ChainLink; version: VersionRecord } | undefined;
    const wanted = opts.to === undefined ? undefined : resolveRef(reg, `${artifact.name}@${opts.to}`);
    let l = link(reg, link(reg, cur.event_id)?.below_event_id ?? null);
    while (l) {
      if (l.version_id === null) skipped.push({ version: '(deleted)', why: 'deleted' });
      else {
        const v = versionById(reg, l.version_id);
        if (wanted) {
          if (v.id === wanted.id) {
            target = { link: l, version: v };
            break;
          }
        } else if (v.id === current.id) skipped.push({ version: v.version, why: 'the version being rolled back' });
        else if (v.deprecated) skipped.push({ version: v.version, why: 'deprecated' });
        else {
          target = { link: l, version: v };
          break;
        }
      }
      l = link(reg, l.below_event_id);
    }
    let belowEventId: number | null;
    let to: VersionRecord;
    if (target) {
      to = target.version;
      belowEventId = target.link.below_event_id;
    } else if (wanted) {
      // An explicit version that never held the stage: move there, keeping the current one below.
      to = wanted;
      belowEventId = cur.event_id;
    } else {
      throw new ConflictError(
        `${artifact.name}@${stage} has nowhere to roll back to: no earlier usable version held it`,
        {
          code: 'E_NO_ROLLBACK_TARGET',
          hint: skipped.length
            ? `Skipped: ${skipped.map((s) => `${s.version} (${s.why})`).join(', ')}. Use --to VERSION to choose one explicitly.`
            : `Only ${current.version} ever held ${stage}. Use --to VERSION to choose one explicitly.`,
          details: { stage, current: current.version, skipped },
        },
      );
    }
    if (to.id === current.id) {
      throw new ConflictError(`${artifact.name}@${stage} already holds ${to.version}`, {
        code: 'E_NOTHING_TO_DO',
        hint: 'Nothing was changed.',
      });
    }
    if (to.deprecated) {
      throw new ConflictError(`${artifact.name}@${to.version} is deprecated`, {
        code: 'E_DEPRECATED',
        hint: 'Choose a version that is not deprecated, or undeprecate it first.',
      });
    }
    if (opts.expectTarget !== undefined && to.version !== opts.expectTarget) {
      throw new ConflictError(
        `${artifact.name}@${stage} would now roll back to ${to.version}, not ${opts.expectTarget} as planned: its history moved meanwhile`,
        {
          code: 'E_STAGE_MOVED',
          hint: `Nothing was changed. Look at \`mlreg history ${artifact.name} --stage ${stage}\` and decide again.`,
          details: { stage, expectedTarget: opts.expectTarget, actualTarget: to.version },
        },
      );
    }
    const at = reg.nowIso();
    const base = {
      name: artifact.name,
      stage,
      from: current.version,
      to: to.version,
      actor: opts.actor,
      reason: opts.reason ?? null,
      at,
      skipped,
    };
    if (opts.dryRun) return { ...base, changed: false, dryRun: true, eventId: null };
    const eventId = insertEvent(reg, {
      artifactId: artifact.id,
      kind: 'rollback',
      stage,
      versionId: to.id,
      version: to.version,
      fromVersionId: current.id,
      fromVersion: current.version,
      belowEventId,
      actor: opts.actor,
      reason: opts.reason ?? null,
      at,
      details: skipped.length ? { skipped } : undefined,
    });
    setStage(reg, artifact.id, stage, to.id, eventId);
    const moved = { ...base, changed: true, dryRun: false, eventId };
    opts.beforeCommit?.(moved);
    return moved;
  };
  return opts.dryRun ? reg.read(run) : reg.write(run);
}

/** Which version held each stage of an artifact at a moment (from the event log). */
export function stagesAt(reg: Registry, artifactId: number, at: string): Record<string, string> {
  const when = Date.parse(at);
  if (Number.isNaN(when)) {
    throw new InvalidInputError(`--at ${JSON.stringify(at)} is not a date or time`, {
      code: 'E_BAD_TIME',
      hint: 'Use ISO 8601, e.g. 2026-11-24T09:30:00Z or 2026-11-24.',
    });
  }
  const iso = new Date(when).toISOString();
  const rows = reg.db
    .prepare(`SELECT e.stage, e.version FROM events e
              WHERE e.id IN (SELECT MAX(id) FROM events WHERE artifact_id = ? AND kind IN ('promote', 'rollback') AND at <= ? GROUP BY stage)
              ORDER BY e.stage`)
    .all(artifactId, iso) as { stage: string; version: string }[];
  return Object.fromEntries(rows.map((r) => [r.stage, r.version]));
}
