import type { Registry } from '../registry/registry.js';

/**
 * Which way a metric improves. Common names are built in; a registry can set or override any name
 * with `mlreg config set metric.<name>.direction higher|lower`. Names with neither are compared
 * without a verdict (and cannot gate a promotion).
 */
export type Direction = 'higher' | 'lower';

export const BUILTIN_DIRECTIONS: Readonly<Record<string, Direction>> = {
  auc: 'higher',
  roc_auc: 'higher',
  accuracy: 'higher',
  f1: 'higher',
  precision: 'higher',
  recall: 'higher',
  r2: 'higher',
  loss: 'lower',
  log_loss: 'lower',
  rmse: 'lower',
  mse: 'lower',
  mae: 'lower',
  mape: 'lower',
  error: 'lower',
};

export function metricDirection(reg: Registry, name: string): Direction | undefined {
  const configured = reg.getConfig(`metric.${name}.direction`);
  if (configured === 'higher' || configured === 'lower') return configured;
  return Object.hasOwn(BUILTIN_DIRECTIONS, name) ? BUILTIN_DIRECTIONS[name] : undefined;
}

export type Verdict = 'better' | 'worse' | 'same';

/**
 * How much `candidate` improves on `baseline` in the metric's direction (positive = better), and
 * the verdict. Without a direction there is no improvement figure and no verdict.
 */
export function judge(
  direction: Direction | undefined,
  baseline: number,
  candidate: number,
): { delta: number; improvement: number | null; verdict: Verdict | null } {
  const delta = candidate - baseline;
  if (direction === undefined) return { delta, improvement: null, verdict: null };
  const improvement = direction === 'higher' ? delta : -delta;
  return { delta, improvement, verdict: improvement > 0 ? 'better' : improvement < 0 ? 'worse' : 'same' };
}
