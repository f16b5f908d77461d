import { ConflictError } from '../errors.js';
import type { VersionRecord } from '../versions/refs.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * The decision behind `rollback`, apart from the reads and writes: given the current holder and the
 * chain of assignments below it (already read, top first), which version the stage goes back to,
 * which event sits below the new assignment, and what was skipped on the way. Pure, so every case
 * of the walk can be tested without a registry.
 */

/** One assignment below the current one in a stage's chain. `version` is null when it was deleted. */
export interface ChainStep {
  readonly version: VersionRecord | null;
  readonly belowEventId: number | null;
}

export interface RollbackInput {
  readonly name: string;
  readonly stage: string;
  readonly current: VersionRecord;
  /** The event that put the current holder on the stage. */
  readonly currentEventId: number;
  /** The assignments below the current one, nearest first. */
  readonly chain: readonly ChainStep[];
  /** An explicit target (resolved), rather than the previous usable holder. */
  readonly wanted?: VersionRecord | undefined;
  /** Refuse unless the walk lands on this version number (compare-and-swap on the target). */
  readonly expectTarget?: string | undefined;
}

export interface Skipped {
  version: string;
  why: string;
}

export interface RollbackPlan {
  to: VersionRecord;
  /** The event the new assignment sits on, so a second rollback keeps walking down. */
  belowEventId: number | null;
  skipped: Skipped[];
}

export function planRollback(input: RollbackInput): RollbackPlan {
  const { name, stage, current, wanted } = input;
  const skipped: Skipped[] = [];
  let target: ChainStep | undefined;
  for (const step of input.chain) {
    const v = step.version;
    if (v === null) {
      skipped.push({ version: '(deleted)', why: 'deleted' });
      continue;
    }
    if (wanted) {
      if (v.id === wanted.id) {
        target = step;
        break;
      }
    } else if (v.id === current.id) skipped.push({ version: v.version, why: 'the version being rolled back' });
    else if (v.deprecated) skipped.push({ version: v.version, why: 'deprecated' });
    else {
      target = step;
      break;
    }
  }
  let to: VersionRecord;
  let belowEventId: number | null;
  if (target?.version) {
    to = target.version;
    belowEventId = target.belowEventId;
  } else if (wanted) {
    // An explicit version that never held the stage: move there, keeping the current one below.
    to = wanted;
    belowEventId = input.currentEventId;
  } else {
    throw new ConflictError(`${name}@${stage} has nowhere to roll back to: no earlier usable version held it`, {
      code: 'E_NO_ROLLBACK_TARGET',
      hint: skipped.length
        ? `Skipped: ${skipped.map((s) => `${s.version} (${s.why})`).join(', ')}. Use ${optionRef('to')} VERSION to choose one explicitly.`
        : `Only ${current.version} ever held ${stage}. Use ${optionRef('to')} VERSION to choose one explicitly.`,
      details: { stage, current: current.version, skipped },
    });
  }
  if (to.id === current.id) {
    throw new ConflictError(`${name}@${stage} already holds ${to.version}`, {
      code: 'E_NOTHING_TO_DO',
      hint: 'Nothing was changed.',
    });
  }
  if (to.deprecated) {
    throw new ConflictError(`${name}@${to.version} is deprecated`, {
      code: 'E_DEPRECATED',
      hint: 'Choose a version that is not deprecated, or undeprecate it first.',
    });
  }
  if (input.expectTarget !== undefined && to.version !== input.expectTarget) {
    throw new ConflictError(
      `${name}@${stage} would now roll back to ${to.version}, not ${input.expectTarget} as planned: its history moved meanwhile`,
      {
        code: 'E_STAGE_MOVED',
        hint: `Nothing was changed. Look at \`mlreg history ${name} ${optionRef('stage')} ${stage}\` and decide again.`,
        details: { stage, expectedTarget: input.expectTarget, actualTarget: to.version },
      },
    );
  }
  return { to, belowEventId, skipped };
}
