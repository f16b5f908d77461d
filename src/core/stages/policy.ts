import { GateNotMetError } from '../errors.js';
import type { VersionRecord } from '../versions/refs.js';
import type { Registry } from '../registry/registry.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * The registry's stage order (`mlreg config set stage.order staging,production`): a model version
 * may take a stage in the list only after it has held the stage before it (at any time, including
 * now). `promote --force` overrides, and the override is logged in the promote event. Rollback is
 * never held back by it (it is the on-call path), and datasets are not subject to it.
 */

export interface PolicyReport {
  kind: 'stage-order';
  order: string[];
  stage: string;
  /** The stage the version must have held first. */
  requires: string;
  held: boolean;
  forced: boolean;
  version: { name: string; version: string };
}

export function stageOrder(reg: Registry): string[] | undefined {
  const raw = reg.getConfig('stage.order');
  return raw ? raw.split(',') : undefined;
}

/** Check the order for a promotion; undefined when no rule applies. Throws (exit 1) when it is not met and not forced. */
export function checkStagePolicy(
  reg: Registry,
  version: VersionRecord,
  stage: string,
  force: boolean,
): PolicyReport | undefined {
  if (version.kind !== 'model') return undefined;
  const order = stageOrder(reg);
  const at = order?.indexOf(stage) ?? -1;
  if (!order || at <= 0) return undefined;
  const requires = order[at - 1]!;
  const held =
    reg.db
      .prepare(`SELECT 1 FROM events WHERE version_id = ? AND stage = ? AND kind IN ('promote', 'rollback') LIMIT 1`)
      .get(version.id, requires) !== undefined;
  const report: PolicyReport = {
    kind: 'stage-order',
    order,
    stage,
    requires,
    held,
    forced: !held && force,
    version: { name: version.name, version: version.version },
  };
  if (!held && !force) {
    throw new GateNotMetError(
      `${version.name}@${version.version} has never held ${requires}; the stage order of this registry (${order.join(' → ')}) puts ${requires} before ${stage}`,
      {
        code: 'E_STAGE_ORDER',
        hint: `Promote it to ${requires} first (mlreg promote ${version.name}@${version.version} ${optionRef('to')} ${requires}), or pass ${optionRef('force')} to override (logged). Nothing was changed.`,
        details: report,
      },
    );
  }
  return report;
}
