import { formatNumber } from '../lib/format.js';
import { GateNotMetError, InvalidInputError, UsageError } from '../errors.js';
import { DEFAULT_SLICE, latestEvaluations } from './record.js';
import { judge, metricDirection, type Direction } from './metric-direction.js';
import { resolveRef, type VersionRecord } from '../versions/refs.js';
import type { Registry } from '../registry/registry.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * The champion/challenger gate of `promote --if-better METRIC --on DATASET_REF`: the challenger
 * must beat the version holding the stage, both evaluated on the same dataset version.
 *  - listed slices (`--slice`, default `all`): better on each, by at least --min-delta;
 *  - `--all-slices`: better on `all` by --min-delta, and no slice either side was evaluated on
 *    worse by more than --max-slice-regression (default 0).
 * No usable holder (empty stage, or a deprecated holder: see `baseline`) means nothing to beat.
 */

export interface GateSpec {
  metric: string;
  dataset: string | VersionRecord;
  minDelta?: number | undefined;
  slices?: readonly string[] | undefined;
  allSlices?: boolean | undefined;
  maxSliceRegression?: number | undefined;
}

export interface GateRow {
  slice: string;
  challenger: number | null;
  champion: number | null;
  /** challenger − champion */
  delta: number | null;
  /** delta in the metric's better direction */
  improvement: number | null;
  /** 'better': must improve by more than 0 and at least `threshold`; 'no-worse': improvement ≥ −threshold. */
  rule: 'better' | 'no-worse';
  threshold: number;
  pass: boolean;
  note?: string;
}

export type Baseline = 'champion' | 'none' | 'deprecated-champion' | 'same-version';

export interface GateReport {
  kind: 'if-better';
  stage: string;
  metric: string;
  direction: Direction;
  dataset: { name: string; version: string };
  minDelta: number;
  mode: 'slices' | 'all-slices';
  maxSliceRegression: number | null;
  challenger: { name: string; version: string };
  champion: { name: string; version: string; deprecated: boolean } | null;
  baseline: Baseline;
  rows: GateRow[];
  passed: boolean;
  /** Why it failed: a side lacks the evaluation, or the challenger is not better. */
  failure: 'champion-not-evaluated' | 'challenger-not-evaluated' | 'not-better' | null;
  summary: string;
}

export function validateGateSpec(spec: GateSpec): void {
  const nonNeg = (v: number | undefined, option: 'minDelta' | 'maxSliceRegression', what: string): void => {
    if (v !== undefined && (!Number.isFinite(v) || v < 0))
      throw new InvalidInputError(`${what} takes a number ≥ 0, not ${v}`, {
        code: 'E_BAD_GATE',
        hint: "For example 0.005 (in the metric's own units).",
        details: { option },
      });
  };
  nonNeg(spec.minDelta, 'minDelta', 'the minimum improvement');
  nonNeg(spec.maxSliceRegression, 'maxSliceRegression', 'the largest slice regression');
  if (spec.allSlices && spec.slices?.length) {
    throw new UsageError('one slice and all slices cannot both be gated on', {
      code: 'E_BAD_GATE',
      hint: `Use ${optionRef('slice')} S (repeatable) to require the challenger to be better on those slices, or ${optionRef('all-slices')} to check every slice.`,
    });
  }
  if (spec.maxSliceRegression !== undefined && !spec.allSlices) {
    throw new UsageError('a tolerated slice regression goes with gating on all slices', {
      details: { option: 'maxSliceRegression' },
      code: 'E_BAD_GATE',
      hint: `Add ${optionRef('all-slices')}: no slice may get worse by more than R, while "all" must improve.`,
    });
  }
}

/** Newest value per slice of one metric, for one version on one dataset version. */
function valuesBySlice(
  reg: Registry,
  versionId: number,
  datasetVersionId: number,
  metric: string,
): Map<string, number> {
  return new Map(latestEvaluations(reg, versionId, { datasetVersionId, metric }).map((e) => [e.slice, e.value]));
}

function metricsOn(reg: Registry, versionId: number, datasetVersionId: number): string[] {
  return [...new Set(latestEvaluations(reg, versionId, { datasetVersionId }).map((e) => e.metric))].sort();
}

/**
 * Evaluate the gate for `challenger` against the current holder (read-only; run it inside the
 * promote transaction). Throws InvalidInputError for a gate that cannot be evaluated as asked
 * (unknown metric or slice, no direction); returns a report whose `passed` says whether it is met.
 */
export function evaluateGate(
  reg: Registry,
  spec: GateSpec,
  stage: string,
  challenger: VersionRecord,
  current: VersionRecord | null,
): GateReport {
  validateGateSpec(spec);
  if (challenger.kind !== 'model') {
    throw new UsageError(`a gate compares evaluations of models; ${challenger.name} is a dataset`, {
      code: 'E_WRONG_KIND',
      hint: 'Promote datasets without a gate.',
      details: { option: 'ifBetter' },
    });
  }
  const dataset = typeof spec.dataset === 'string' ? resolveRef(reg, spec.dataset) : spec.dataset;
  if (dataset.kind !== 'dataset') {
    throw new UsageError(`${dataset.name} is a model; a gate needs the dataset both versions were evaluated on`, {
      code: 'E_WRONG_KIND',
      hint: 'For example holdout@latest.',
      details: { option: 'on' },
    });
  }
  const dsName = `${dataset.name}@${dataset.version}`;
  const baseline: Baseline =
    current === null
      ? 'none'
      : current.id === challenger.id
        ? 'same-version'
        : current.deprecated
          ? 'deprecated-champion'
          : 'champion';
  const chal = valuesBySlice(reg, challenger.id, dataset.id, spec.metric);
  const champ = current ? valuesBySlice(reg, current.id, dataset.id, spec.metric) : new Map<string, number>();
  const sides = [
    `${challenger.name}@${challenger.version}`,
    ...(current && current.id !== challenger.id ? [`${current.name}@${current.version}`] : []),
  ];

  if (chal.size === 0 && champ.size === 0) {
    const known = [
      ...new Set([
        ...metricsOn(reg, challenger.id, dataset.id),
        ...(current ? metricsOn(reg, current.id, dataset.id) : []),
      ]),
    ];
    throw new InvalidInputError(
      `${sides.length > 1 ? `neither ${sides.join(' nor ')} has an` : `${sides[0]} has no`} evaluation of ${spec.metric} on ${dsName}`,
      {
        code: 'E_UNKNOWN_METRIC',
        hint: known.length
          ? `Metrics evaluated on ${dsName}: ${known.join(', ')}. Nothing was changed.`
          : `Nothing was evaluated on ${dsName} yet: run \`mlreg eval run ${challenger.name}@${challenger.version} ${optionRef('on')} ${dsName} -- COMMAND\`, or pass ${optionRef('eval-cmd')}. Nothing was changed.`,
      },
    );
  }
  const direction = metricDirection(reg, spec.metric);
  if (direction === undefined) {
    throw new InvalidInputError(`mlreg does not know whether a higher or a lower ${spec.metric} is better`, {
      code: 'E_NO_DIRECTION',
      hint: `Tell it once for this registry: mlreg config set metric.${spec.metric}.direction higher (or lower). Nothing was changed.`,
    });
  }
  const known = new Set([...chal.keys(), ...champ.keys()]);
  const listed = spec.allSlices ? [DEFAULT_SLICE] : [...new Set(spec.slices?.length ? spec.slices : [DEFAULT_SLICE])];
  for (const s of listed) {
    if (!known.has(s)) {
      throw new InvalidInputError(`no evaluation of ${spec.metric} on ${dsName} has a slice ${JSON.stringify(s)}`, {
        code: 'E_UNKNOWN_SLICE',
        hint: `Slices of ${spec.metric} on ${dsName}: ${[...known].sort().join(', ')}. Nothing was changed.`,
      });
    }
  }
  const minDelta = spec.minDelta ?? 0;
  const maxReg = spec.allSlices ? (spec.maxSliceRegression ?? 0) : null;
  const others = spec.allSlices ? [...known].filter((s) => s !== DEFAULT_SLICE).sort() : [];
  const compare = baseline === 'champion';
  const rows: GateRow[] = [];
  for (const [slice, rule] of [
    ...listed.map((s) => [s, 'better'] as const),
    ...others.map((s) => [s, 'no-worse'] as const),
  ]) {
    const a = chal.get(slice) ?? null;
    const b = compare ? (champ.get(slice) ?? null) : null;
    const threshold = rule === 'better' ? minDelta : maxReg!;
    const row: GateRow = {
      slice,
      challenger: a,
      champion: compare ? b : (champ.get(slice) ?? null),
      delta: null,
      improvement: null,
      rule,
      threshold,
      pass: false,
    };
    if (!compare) {
      row.pass = true;
      row.note =
        baseline === 'none'
          ? 'no version holds the stage'
          : baseline === 'same-version'
            ? 'already holds the stage'
            : 'holder is deprecated: not a baseline';
    } else if (a === null) row.note = 'challenger not evaluated on this slice';
    else if (b === null) {
      // A slice only the challenger has cannot regress; one only the champion has hides a possible regression.
      row.pass = rule === 'no-worse';
      row.note = 'champion not evaluated on this slice';
    } else {
      const j = judge(direction, b, a);
      row.delta = j.delta;
      row.improvement = j.improvement;
      row.pass =
        rule === 'better'
          ? j.improvement! > 0 && j.improvement! >= minDelta - 1e-12
          : j.improvement! >= -threshold - 1e-12;
    }
    rows.push(row);
  }
  const failed = rows.filter((r) => !r.pass);
  let failure: GateReport['failure'] = null;
  if (failed.some((r) => r.challenger === null)) failure = 'challenger-not-evaluated';
  else if (failed.some((r) => r.champion === null)) failure = 'champion-not-evaluated';
  else if (failed.length) failure = 'not-better';
  const report: GateReport = {
    kind: 'if-better',
    stage,
    metric: spec.metric,
    direction,
    dataset: { name: dataset.name, version: dataset.version },
    minDelta,
    mode: spec.allSlices ? 'all-slices' : 'slices',
    maxSliceRegression: maxReg,
    challenger: { name: challenger.name, version: challenger.version },
    champion: current
      ? { name: current.name, version: current.version, deprecated: current.deprecated !== null }
      : null,
    baseline,
    rows,
    passed: failure === null,
    failure,
    summary: '',
  };
  report.summary = summarise(report);
  return report;
}

const fmt = (n: number): string => formatNumber(n);

function summarise(r: GateReport): string {
  const chal = `${r.challenger.name}@${r.challenger.version}`;
  const champ = r.champion ? `${r.champion.name}@${r.champion.version}` : '';
  const on = `${r.dataset.name}@${r.dataset.version}`;
  switch (r.baseline) {
    case 'none':
      return `no version holds ${r.stage}: ${chal} is promoted without a comparison`;
    case 'same-version':
      return `${chal} already holds ${r.stage}`;
    case 'deprecated-champion':
      return `${r.stage} holds ${champ}, which is deprecated: it is not a baseline, so ${chal} replaces it without a comparison`;
    case 'champion':
      break;
  }
  const failed = r.rows.filter((x) => !x.pass);
  if (!failed.length) {
    const main = r.rows
      .filter((x) => x.rule === 'better')
      .map((x) => `${x.slice} ${fmt(x.champion!)} → ${fmt(x.challenger!)}`);
    return `${chal} beats ${champ} on ${r.metric} (${r.direction} is better) on ${on}: ${main.join(', ')}`;
  }
  const why = failed.map((x) => {
    if (x.challenger === null) return `${chal} has no ${r.metric} for slice ${x.slice}`;
    if (x.champion === null) return `${champ} has no ${r.metric} for slice ${x.slice}`;
    if (x.rule === 'better') {
      return x.improvement! <= 0
        ? `slice ${x.slice}: ${fmt(x.challenger)} vs ${fmt(x.champion)} is not better (${r.direction} is better)`
        : `slice ${x.slice}: ${fmt(x.challenger)} vs ${fmt(x.champion)} improves by ${fmt(x.improvement!)}, less than ${optionRef('min-delta')} ${fmt(x.threshold)}`;
    }
    return `slice ${x.slice}: ${fmt(x.challenger)} vs ${fmt(x.champion)} is worse by ${fmt(-x.improvement!)}, more than ${optionRef('max-slice-regression')} ${fmt(x.threshold)}`;
  });
  return `${chal} does not beat ${champ} on ${r.metric} on ${on}: ${why.join('; ')}`;
}

/** Turn a report that is not met into the error promote exits with (1), carrying the report. */
export function gateError(r: GateReport): GateNotMetError {
  const chal = `${r.challenger.name}@${r.challenger.version}`;
  const champ = r.champion ? `${r.champion.name}@${r.champion.version}` : '';
  const on = `${r.dataset.name}@${r.dataset.version}`;
  const evalHint = (who: string) =>
    `Evaluate it first: mlreg eval run ${who} ${optionRef('on')} ${on} -- COMMAND (or pass ${optionRef('eval-cmd')} "COMMAND" to promote). Nothing was changed.`;
  switch (r.failure) {
    case 'champion-not-evaluated':
      return new GateNotMetError(`${champ} (holding ${r.stage}) was not evaluated on ${on}: ${r.summary}`, {
        code: 'E_CHAMPION_NOT_EVALUATED',
        hint: evalHint(champ),
        details: r,
      });
    case 'challenger-not-evaluated':
      return new GateNotMetError(`${chal} was not evaluated on ${on}: ${r.summary}`, {
        code: 'E_CHALLENGER_NOT_EVALUATED',
        hint: evalHint(chal),
        details: r,
      });
    default:
      return new GateNotMetError(r.summary, {
        code: 'E_NOT_BETTER',
        hint: `${r.stage} still holds ${champ}; nothing was changed. See both side by side: mlreg compare ${champ} ${chal}`,
        details: r,
      });
  }
}
