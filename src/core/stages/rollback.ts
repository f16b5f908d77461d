import { NotFoundError } from '../errors.js';
import { applyOperations } from '../remote/apply.js';
import type { Registry } from '../registry/registry.js';
import { getArtifact, resolveRef, validateStage, versionById } from '../versions/refs.js';
import { checkExpect, currentStage, DEFAULT_STAGE, type StageMove } from './promote.js';
import { planRollback, type ChainStep, type Skipped } from './rollback-plan.js';
import { optionRef } from '../lib/option-ref.js';

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

/** The assignments below the one in `eventId`, nearest first (the stage's persistent stack). */
function chainBelow(reg: Registry, eventId: number): ChainStep[] {
  const steps: ChainStep[] = [];
  for (let l = link(reg, link(reg, eventId)?.below_event_id ?? null); l; l = link(reg, l.below_event_id)) {
    steps.push({
      version: l.version_id === null ? null : versionById(reg, l.version_id),
      belowEventId: l.below_event_id,
    });
  }
  return steps;
}

export function rollback(reg: Registry, opts: RollbackOptions): StageMove & { skipped: Skipped[] } {
  const stage = validateStage(opts.stage ?? DEFAULT_STAGE);
  const run = () => {
    const artifact = getArtifact(reg, opts.name);
    const cur = currentStage(reg, artifact.id, stage);
    if (!cur) {
      throw new NotFoundError(`${artifact.name} has no ${stage} stage to roll back`, {
        code: 'E_STAGE_NOT_FOUND',
        hint: `See the stages with \`mlreg list ${artifact.name}\`, or pass ${optionRef('stage')}.`,
      });
    }
    const current = versionById(reg, cur.version_id);
    checkExpect(opts.expect, current, artifact.name, stage);
    const { to, belowEventId, skipped } = planRollback({
      name: artifact.name,
      stage,
      current,
      currentEventId: cur.event_id,
      chain: chainBelow(reg, cur.event_id),
      wanted: opts.to === undefined ? undefined : resolveRef(reg, `${artifact.name}@${opts.to}`),
      expectTarget: opts.expectTarget,
    });
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
    const [applied] = applyOperations(
      reg,
      [
        {
          op: 'stage.move',
          at,
          name: artifact.name,
          stage,
          move: 'rollback',
          version: to.version,
          from: current.version,
          below: belowEventId,
          reason: opts.reason ?? null,
          details: skipped.length ? { skipped } : null,
        },
      ],
      opts.actor,
    );
    const eventId = applied!.eventId;
    const moved = { ...base, changed: true, dryRun: false, eventId };
    opts.beforeCommit?.(moved);
    return moved;
  };
  return opts.dryRun ? reg.read(run) : reg.write(run);
}
