import { formatNumber } from '../lib/format.js';
import { InvalidInputError } from '../errors.js';
import { latestValue } from '../evaluations/record.js';
import { metricDirection } from '../evaluations/metric-direction.js';
import { resolveRef, versionById } from '../versions/refs.js';
import type { Registry } from '../registry/registry.js';
import { rollback } from '../stages/rollback.js';
import { applyOperations } from '../remote/apply.js';
import { CLASSIFICATION_METRICS, REGRESSION_METRICS } from './metrics.js';
import {
  ALL_SLICE,
  holderOf,
  lastValues,
  metricObserved,
  observedMetrics,
  type Holder,
  type Target,
} from './observations.js';
import { compare, type ChangeRule, type Rule, type ThresholdRule } from './rules.js';

/**
 * Evaluate alert rules against the live observations of the version holding a stage. Only the
 * current holder's observations count; a rule with fewer than `window` of them is "insufficient
 * data", never an alert (a version promoted an hour ago has not failed yet).
 */

/** Metrics mlreg itself records; any other name must have been observed for the artifact. */
export const BUILTIN_METRICS: readonly string[] = [
  ...CLASSIFICATION_METRICS,
  ...REGRESSION_METRICS,
  'review_agreement',
  'drift_share',
];
const BUILTIN_PREFIXES = ['missing_rate:'];

/** Metrics of the input data (from `monitor data`), not of the model's answers. */
export function isDataMetric(metric: string): boolean {
  return metric === 'drift_share' || metric.startsWith('missing_rate:');
}

export interface RuleSpec {
  rule: Rule;
  window: number;
}

/**
 * Refuse a rule on a metric nobody records for this artifact (most often a typo: "acu < 0.8"), and
 * "worsens" on a metric whose direction is unknown.
 */
export function assertKnownMetric(reg: Registry, artifactId: number, name: string, rule: Rule): void {
  const m = rule.metric;
  if (rule.kind === 'change') changeSign(reg, rule);
  if (
    BUILTIN_METRICS.includes(m) ||
    BUILTIN_PREFIXES.some((p) => m.startsWith(p)) ||
    metricObserved(reg, artifactId, m)
  )
    return;
  const seen = observedMetrics(reg, artifactId);
  throw new InvalidInputError(
    `unknown metric ${JSON.stringify(m)} in rule ${JSON.stringify(rule.text)}: mlreg does not compute it and no observation of ${name} has it`,
    {
      code: 'E_UNKNOWN_METRIC',
      hint: `Metrics mlreg computes: ${BUILTIN_METRICS.join(', ')}, missing_rate:COLUMN. ${seen.length ? `Observed for ${name}: ${seen.join(', ')}.` : `Nothing is observed for ${name} yet.`} Record a custom metric with \`mlreg monitor record ${name} ${m}=VALUE\` first.`,
    },
  );
}

export type RuleStatus = 'ok' | 'fired' | 'insufficient data';

export interface RuleResult {
  rule: string;
  window: number;
  metric: string;
  slice: string;
  status: RuleStatus;
  /** Mean of the holder's last `window` observations (null when there are fewer). */
  current: { version: string; mean: number | null; count: number; values: number[] };
  threshold?: number;
  baseline?: { version: string; mean: number | null; count: number };
  change?: number;
  message: string;
}

export interface RuleCheckReport {
  name: string;
  stage: string;
  version: string;
  checkedAt: string;
  status: 'ok' | 'alert' | 'insufficient data';
  fired: RuleResult[];
  results: RuleResult[];
}

const fmt = (v: number): string => formatNumber(v);

function window(reg: Registry, versionId: number, version: string, stage: string, rule: Rule, n: number) {
  const rows = lastValues(reg, versionId, stage, rule.metric, rule.slice, n, rule.source);
  const values = rows.map((r) => r.value);
  const mean = values.length >= n ? values.reduce((a, b) => a + b, 0) / values.length : null;
  return { version, mean, count: values.length, values };
}

function thresholdResult(reg: Registry, holder: Holder, rule: ThresholdRule, n: number): RuleResult {
  const current = window(reg, holder.versionId, holder.version, holder.stage, rule, n);
  const base = { rule: rule.text, window: n, metric: rule.metric, slice: rule.slice, current, threshold: rule.value };
  if (current.mean === null)
    return {
      ...base,
      status: 'insufficient data',
      message: `${rule.text}: insufficient data (${current.count} of ${n} observations of ${holder.version})`,
    };
  const fired = compare(rule.op, current.mean, rule.value);
  return {
    ...base,
    status: fired ? 'fired' : 'ok',
    message: `${rule.text}: mean of last ${n} = ${fmt(current.mean)}${fired ? '' : ' (ok)'}`,
  };
}

/** The version below the current assignment of the stage: what held it before (what rollback would restore). */
function previousHolder(reg: Registry, holder: Holder): { id: number; version: string } | undefined {
  const row = reg.db
    .prepare(`SELECT b.version_id AS id FROM stages s JOIN events e ON e.id = s.event_id JOIN events b ON b.id = e.below_event_id
              WHERE s.artifact_id = ? AND s.stage = ?`)
    .get(holder.artifact.id, holder.stage) as { id: number | null } | undefined;
  if (!row || row.id === null) return undefined;
  return { id: row.id, version: versionById(reg, row.id).version };
}

/**
 * +1 when a fall of the metric is what the rule watches for, -1 for a rise. "worsens" follows the
 * metric's direction (built in for common names, `metric.NAME.direction` in the config).
 */
function changeSign(reg: Registry, rule: ChangeRule): 1 | -1 {
  if (rule.verb === 'drops') return 1;
  if (rule.verb === 'rises') return -1;
  const direction = metricDirection(reg, rule.metric);
  if (direction === undefined) {
    throw new InvalidInputError(
      `rule ${JSON.stringify(rule.text)}: mlreg does not know whether a higher or a lower ${rule.metric} is better`,
      {
        code: 'E_NO_DIRECTION',
        hint: `Say it once with \`mlreg config set metric.${rule.metric}.direction higher|lower\`, or write "drops" or "rises" instead of "worsens".`,
      },
    );
  }
  return direction === 'higher' ? 1 : -1;
}

/** The evaluation of the holder on a dataset version: the baseline of "vs eval DATASET_REF". */
function evaluationBaseline(
  reg: Registry,
  holder: Holder,
  rule: ChangeRule,
  dataset: string,
): { version: string; mean: number | null; count: number } {
  const d = resolveRef(reg, dataset, 'dataset');
  const value = latestValue(reg, holder.versionId, d.id, rule.slice, rule.metric);
  return {
    version: `${holder.version} on ${d.name}@${d.version}`,
    mean: value ?? null,
    count: value === undefined ? 0 : 1,
  };
}

function changeResult(reg: Registry, holder: Holder, rule: ChangeRule, n: number): RuleResult {
  const current = window(reg, holder.versionId, holder.version, holder.stage, rule, n);
  let baseline: { version: string; mean: number | null; count: number } | undefined;
  if (rule.baseline.kind === 'eval') baseline = evaluationBaseline(reg, holder, rule, rule.baseline.dataset);
  else {
    const prev = previousHolder(reg, holder);
    const w = prev ? window(reg, prev.id, prev.version, holder.stage, rule, n) : undefined;
    baseline = w ? { version: w.version, mean: w.mean, count: w.count } : undefined;
  }
  const base = {
    rule: rule.text,
    window: n,
    metric: rule.metric,
    slice: rule.slice,
    current,
    ...(baseline ? { baseline } : {}),
  };
  if (!baseline)
    return {
      ...base,
      status: 'insufficient data',
      message: `${rule.text}: insufficient data (no earlier version held ${holder.stage})`,
    };
  if (baseline.mean === null && rule.baseline.kind === 'eval') {
    return {
      ...base,
      status: 'insufficient data',
      message: `${rule.text}: insufficient data (no evaluation of ${rule.metric}${rule.slice === ALL_SLICE ? '' : ` slice ${rule.slice}`} for ${baseline.version}; record one with mlreg eval record)`,
    };
  }
  if (current.mean === null || baseline.mean === null) {
    return {
      ...base,
      status: 'insufficient data',
      message: `${rule.text}: insufficient data (${current.count} of ${n} observations of ${holder.version}, ${baseline.count} of ${n} of ${baseline.version})`,
    };
  }
  const delta = changeSign(reg, rule) * (baseline.mean - current.mean);
  const change = rule.relative
    ? baseline.mean === 0
      ? delta > 0
        ? Infinity
        : 0
      : (100 * delta) / Math.abs(baseline.mean)
    : delta;
  // A small tolerance so that 0.91 → 0.88 counts as a drop of 0.03 despite binary floating point.
  const fired = change >= rule.amount - 1e-9;
  const unit = rule.relative ? '%' : '';
  return {
    ...base,
    change,
    status: fired ? 'fired' : 'ok',
    message: `${rule.text}: ${holder.version} mean ${fmt(current.mean)} vs ${baseline.version} ${rule.baseline.kind === 'eval' ? 'evaluation' : 'mean'} ${fmt(baseline.mean)} (${rule.verb === 'drops' ? 'drop' : rule.verb === 'rises' ? 'rise' : 'worse by'} ${fmt(change)}${unit})${fired ? '' : ' (ok)'}`,
  };
}

/** Evaluate every rule against the current holder of the stage; reads only. */
export function checkRules(reg: Registry, target: Target, specs: readonly RuleSpec[]): RuleCheckReport {
  return reg.read(() => {
    const holder = holderOf(reg, target);
    const results = specs.map((s) =>
      s.rule.kind === 'threshold'
        ? thresholdResult(reg, holder, s.rule, s.window)
        : changeResult(reg, holder, s.rule, s.window),
    );
    const fired = results.filter((r) => r.status === 'fired');
    const status = fired.length
      ? 'alert'
      : results.length > 0 && results.every((r) => r.status === 'insufficient data')
        ? 'insufficient data'
        : 'ok';
    return {
      name: holder.artifact.name,
      stage: holder.stage,
      version: holder.version,
      checkedAt: reg.nowIso(),
      status,
      fired,
      results,
    };
  });
}

/** The values behind a fired rule in words: "mean 0.81 of 3", or "2.0.0 0.79 vs 1.0.0 0.91". */
function valuesOf(r: RuleResult): string {
  if (r.baseline?.mean != null && r.change !== undefined)
    return `${r.current.version} ${fmt(r.current.mean!)} vs ${r.baseline.version} ${fmt(r.baseline.mean)}`;
  return r.current.count === 1
    ? `${r.metric} ${fmt(r.current.mean!)}`
    : `mean ${fmt(r.current.mean!)} of ${r.current.count}`;
}

export function describeValues(fired: readonly RuleResult[]): string {
  return fired.map(valuesOf).join('; ');
}

/** "auc < 0.85 (mean 0.81 of 3)" for each fired rule: the reason of an automatic rollback. */
export function describeFired(fired: readonly RuleResult[]): string {
  return fired.map((r) => `${r.rule} (${valuesOf(r)})`).join('; ');
}

/** Put a fired alert in the audit trail, next to the rollback it may cause. */
export function recordAlert(
  reg: Registry,
  report: RuleCheckReport,
  actor: string,
  extra: Record<string, unknown> = {},
): number {
  return reg.write(() => {
    const holder = holderOf(reg, { name: report.name, stage: report.stage });
    const [applied] = applyOperations(
      reg,
      [
        {
          op: 'monitor.alert',
          at: reg.nowIso(),
          name: holder.artifact.name,
          stage: report.stage,
          version: report.version,
          reason: describeFired(report.fired),
          details: {
            rules: report.fired.map((r) => ({
              rule: r.rule,
              window: r.window,
              mean: r.current.mean,
              values: r.current.values,
              baseline: r.baseline ?? null,
              change: r.change ?? null,
            })),
            ...extra,
          },
        },
      ],
      actor,
    );
    return applied!.eventId;
  });
}

export interface AutoRollbackResult {
  done: boolean;
  from: string;
  to: string | null;
  reason: string;
  /** Why nothing was rolled back (another job did it first, nowhere to go…). */
  why?: string;
  code?: string;
}

/**
 * Roll the stage back with compare-and-swap on the failing version: of two cron jobs that see the
 * same failure, one rolls back and the other finds the stage moved and does nothing.
 */
export function autoRollback(reg: Registry, report: RuleCheckReport, actor: string): AutoRollbackResult {
  // Data rules watch the input, and another model version does not mend bad input: they alert only.
  const modelRules = report.fired.filter((r) => !isDataMetric(r.metric));
  if (modelRules.length === 0) {
    return {
      done: false,
      from: report.version,
      to: null,
      reason: `auto: ${describeFired(report.fired)}`,
      why: 'only data rules fired (missing_rate:*, drift_share): a rollback does not help with bad input, so none was made',
      code: 'E_DATA_RULES_ONLY',
    };
  }
  const reason = `auto: ${describeFired(modelRules)}`;
  try {
    const move = rollback(reg, { name: report.name, stage: report.stage, expect: report.version, actor, reason });
    return { done: true, from: move.from ?? report.version, to: move.to, reason };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (
      e.code === 'E_STAGE_MOVED' ||
      e.code === 'E_NO_ROLLBACK_TARGET' ||
      e.code === 'E_DEPRECATED' ||
      e.code === 'E_NOTHING_TO_DO'
    ) {
      return { done: false, from: report.version, to: null, reason, why: e.message ?? String(err), code: e.code };
    }
    throw err;
  }
}
