import type { DataCheckReport } from '../datasets/check.js';
import type { Registry } from '../registry/registry.js';
import type { RuleCheckReport, RuleResult } from './check.js';
import { holderOf, recordObservations, type RecordResult, type Target } from './observations.js';

/**
 * `monitor data`: the dataset check of a live input batch against the dataset the
 * deployed version was trained on (from its lineage). The drift share and every column's missing
 * rate are recorded as observations (source `data`), so they can be watched with rules and
 * `monitor show` too; a failed check becomes an alert like a fired rule.
 */

export interface DataMonitorOptions {
  target: Target;
  batch: string;
  actor: string;
  failOnColumns?: readonly string[];
  strict?: boolean;
}

export interface DataMonitorReport {
  name: string;
  stage: string;
  version: string;
  batch: string;
  check: DataCheckReport;
  recorded: RecordResult;
  /** The check as an alert report (status 'alert' when the check failed), for raiseAlert. */
  alert: RuleCheckReport;
}

export async function monitorData(reg: Registry, opts: DataMonitorOptions): Promise<DataMonitorReport> {
  const holder = holderOf(reg, opts.target);
  const { checkDataset } = await import('../datasets/check.js');
  const check = await checkDataset(reg, {
    current: { path: opts.batch },
    againstModel: `${holder.artifact.name}@${holder.version}`,
    ...(opts.failOnColumns ? { failOnColumns: opts.failOnColumns } : {}),
    ...(opts.strict ? { strict: true } : {}),
  });
  const values = [
    { metric: 'drift_share', value: check.drift.share },
    ...check.records
      .filter((r) => r.check === 'missing_rate' && r.value !== null)
      .map((r) => ({ metric: `missing_rate:${r.column}`, value: r.value! })),
  ];
  // Pinned to the version that was checked, in case the stage moved while the batch was profiled.
  const recorded = recordObservations(reg, {
    target: opts.target,
    values,
    source: 'data',
    actor: opts.actor,
    pinned: { versionId: holder.versionId, version: holder.version },
    details: { batch: opts.batch, status: check.status, summary: check.summary },
  });
  const failed = [
    ...new Set(
      check.records.filter((r) => r.status === 'FAIL' || (check.strict && r.status === 'WARN')).map((r) => r.column),
    ),
  ];
  const rule = `data check against ${check.reference.label}`;
  const result: RuleResult = {
    rule,
    window: 1,
    metric: 'drift_share',
    slice: 'all',
    status: check.status === 'FAIL' ? 'fired' : 'ok',
    current: { version: holder.version, mean: check.drift.share, count: 1, values: [check.drift.share] },
    threshold: check.drift.threshold,
    message:
      check.status === 'FAIL' ? `${rule}: FAIL on ${failed.join(', ')}; ${check.summary}` : `${rule}: ${check.summary}`,
  };
  const alert: RuleCheckReport = {
    name: holder.artifact.name,
    stage: holder.stage,
    version: holder.version,
    checkedAt: recorded.at,
    status: check.status === 'FAIL' ? 'alert' : 'ok',
    fired: check.status === 'FAIL' ? [result] : [],
    results: [result],
  };
  return {
    name: holder.artifact.name,
    stage: holder.stage,
    version: holder.version,
    batch: opts.batch,
    check,
    recorded,
    alert,
  };
}
