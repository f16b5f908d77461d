import type { Registry } from '../registry/registry.js';
import { deliver, type AlertChannels, type Delivery } from './alerts.js';
import { autoRollback, describeValues, recordAlert, type AutoRollbackResult, type RuleCheckReport } from './check.js';

/**
 * What happens when a check fires: the alert goes into the audit trail, the stage is rolled back if
 * asked (compare-and-swap on the failing version), then the alert, saying what was done, is
 * delivered. The report returned carries all of it, so the CLI prints it and fails with exit 1.
 */

export interface AlertPayload {
  artifact: string;
  stage: string;
  version: string;
  status: 'alert';
  /** The fired rules' text, and their values in words (as in the rollback reason): handy for chat messages. */
  rule: string;
  values: string;
  rules: {
    rule: string;
    window: number;
    mean: number | null;
    values: number[];
    baseline: { version: string; mean: number | null } | null;
    change: number | null;
    message: string;
  }[];
  message: string;
  time: string;
  rollback: AutoRollbackResult | null;
}

export interface RaiseOptions {
  actor: string;
  autoRollback?: boolean | undefined;
  channels: AlertChannels;
  /** Extra detail stored with the alert event (e.g. the data check's failing columns). */
  details?: Record<string, unknown>;
}

export interface Raised {
  alert: AlertPayload;
  rollback: AutoRollbackResult | null;
  deliveries: Delivery[];
}

export async function raiseAlert(reg: Registry, report: RuleCheckReport, opts: RaiseOptions): Promise<Raised> {
  recordAlert(reg, report, opts.actor, opts.details);
  const rb = opts.autoRollback ? autoRollback(reg, report, opts.actor) : null;
  const alert: AlertPayload = {
    artifact: report.name,
    stage: report.stage,
    version: report.version,
    status: 'alert',
    rule: report.fired.map((r) => r.rule).join('; '),
    values: describeValues(report.fired),
    rules: report.fired.map((r) => ({
      rule: r.rule,
      window: r.window,
      mean: r.current.mean,
      values: r.current.values,
      baseline: r.baseline ? { version: r.baseline.version, mean: r.baseline.mean } : null,
      change: r.change ?? null,
      message: r.message,
    })),
    message: `${report.name}@${report.stage} (${report.version}): ${report.fired.map((r) => r.message).join('; ')}`,
    time: report.checkedAt,
    rollback: rb,
  };
  const deliveries = await deliver(alert, {
    signalGroup: reg.runtime.signalProcessGroup?.bind(reg.runtime),
    ...opts.channels,
  });
  return { alert, rollback: rb, deliveries };
}
