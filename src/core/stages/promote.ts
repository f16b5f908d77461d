import * as semver from '../lib/semver.js';
import { ConflictError, InvalidInputError, UsageError } from '../errors.js';
import { refuseLikelyTypo } from './new-stage.js';
import { applyOperations } from '../remote/apply.js';
import { resolveRef, validateStage, versionById, type VersionRecord } from '../versions/refs.js';
import type { Registry } from '../registry/registry.js';
import { optionRef } from '../lib/option-ref.js';

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

export interface StageRow {
  version_id: number;
  event_id: number;
}

export function currentStage(reg: Registry, artifactId: number, stage: string): StageRow | undefined {
  return reg.db
    .prepare('SELECT version_id, event_id FROM stages WHERE artifact_id = ? AND stage = ?')
    .get(artifactId, stage) as StageRow | undefined;
}

export function checkExpect(
  expect: string | undefined,
  current: VersionRecord | null,
  name: string,
  stage: string,
): void {
  if (expect === undefined) return;
  const holds = current?.version ?? 'none';
  if (holds !== expect) {
    throw new ConflictError(`${name}@${stage} holds ${holds}, not ${expect} as expected: it moved since you looked`, {
      code: 'E_STAGE_MOVED',
      hint: `Nothing was changed. Look at \`mlreg history ${name} ${optionRef('stage')} ${stage}\` and decide again.`,
      details: { stage, expected: expect, actual: current?.version ?? null },
    });
  }
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
          hint: `Pass ${optionRef('allow-prerelease')} if you mean it, or promote it to staging or canary first.`,
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
    const [applied] = applyOperations(
      reg,
      [
        {
          op: 'stage.move',
          at,
          name: version.name,
          stage: opts.stage,
          move: 'promote',
          version: version.version,
          from: current?.version ?? null,
          below: cur?.event_id ?? null,
          reason: opts.reason ?? null,
          details: guardResult === undefined ? null : guardResult,
        },
      ],
      opts.actor,
    );
    const eventId = applied!.eventId;
    const moved = { ...base, ...extra, changed: true, dryRun: false, eventId };
    opts.beforeCommit?.(moved);
    return moved;
  };
  return opts.dryRun ? reg.read(run) : reg.write(run);
}

/** Which version held each stage of an artifact at a moment (from the event log). */
export function stagesAt(reg: Registry, artifactId: number, at: string): Record<string, string> {
  const when = Date.parse(at);
  if (Number.isNaN(when)) {
    throw new InvalidInputError(`${JSON.stringify(at)} is not a date or time`, {
      code: 'E_BAD_TIME',
      details: { option: 'at' },
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
