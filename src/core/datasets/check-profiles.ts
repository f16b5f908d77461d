import { formatNumber } from '../lib/format.js';
import type { ColumnProfile, NumericProfile, Profile } from './profile/types.js';
import {
  cdfAt,
  chiSquareHomogeneity,
  jensenShannonDistance,
  ksPValue,
  ksStatistic,
  lInfinity,
  psi,
  twoProportionZ,
  wasserstein1,
  type QuantilePoints,
} from './stats.js';
import type { CheckThresholds } from './thresholds.js';

/**
 * The data quality and drift gate on two profiles (pure: no registry, no I/O). One record per
 * column × check, worst first; `status` is FAIL when any record FAILs (or WARNs, with strict).
 */
export type CheckStatus = 'PASS' | 'WARN' | 'FAIL' | 'INFO';

export interface CheckRecord {
  column: string;
  check: string;
  /** What `value` is, e.g. "KS p-value". */
  statistic: string;
  value: number | null;
  /** The bound `value` was held against, in words (e.g. "≤ 0.05"); null for INFO records. */
  threshold: string | null;
  status: CheckStatus;
  message: string;
}

export interface ColumnDrift {
  column: string;
  test: string;
  value: number;
  threshold: number;
  drifted: boolean;
}

export interface DataCheckReport {
  reference: { label: string; rows: number; columns: number };
  current: { label: string; rows: number; columns: number };
  thresholds: CheckThresholds;
  strict: boolean;
  failOnColumns: string[];
  records: CheckRecord[];
  drift: {
    columns: number;
    drifted: number;
    share: number;
    threshold: number;
    status: 'PASS' | 'FAIL';
    driftedColumns: string[];
    tests: ColumnDrift[];
  };
  counts: Record<CheckStatus, number>;
  status: 'PASS' | 'FAIL';
  /** e.g. "drift in 3/32 columns (9%) < 50%: PASS". */
  summary: string;
}

export interface CheckInput {
  reference: Profile;
  current: Profile;
  referenceLabel: string;
  currentLabel: string;
  thresholds: CheckThresholds;
  failOnColumns?: readonly string[];
  strict?: boolean;
}

/** Evidently's rule: reference tables up to this size get the exact tests (KS, chi-square, Z). */
const SMALL_REFERENCE_ROWS = 1000;

const RANK: Record<CheckStatus, number> = { FAIL: 0, WARN: 1, PASS: 2, INFO: 3 };

export function checkProfiles(input: CheckInput): DataCheckReport {
  const { reference: ref, current: cur, thresholds: th } = input;
  const failOn = new Set(input.failOnColumns ?? []);
  const records: CheckRecord[] = [];
  const tests: ColumnDrift[] = [];
  const curByName = new Map(cur.columns.map((c) => [c.name, c]));
  const refNames = new Set(ref.columns.map((c) => c.name));
  const smallRef = ref.table.rows <= SMALL_REFERENCE_ROWS;

  for (const r of ref.columns) {
    const add = (
      check: string,
      statistic: string,
      value: number | null,
      threshold: string | null,
      status: CheckStatus,
      message: string,
    ): void => {
      records.push({ column: r.name, check, statistic, value, threshold, status, message });
    };
    const c = curByName.get(r.name);
    if (!c) {
      add('column', 'present', 0, 'present', 'FAIL', `column ${r.name} is missing from the current data`);
      continue;
    }
    const typeStatus = typeChange(r, c);
    add(
      'type',
      'type',
      null,
      'unchanged',
      typeStatus,
      typeStatus === 'PASS'
        ? `${r.type} (${r.kind})`
        : `type changed from ${r.type} (${r.kind}) to ${c.type} (${c.kind})`,
    );

    // Missing values.
    const mr = missingRateStatus(r.missingRate, c.missingRate, th);
    add(
      'missing_rate',
      'missing rate',
      c.missingRate,
      r.missingRate === 0
        ? '= 0'
        : `≤ ${fmtPct(Math.max(r.missingRate * th.missingRatio, r.missingRate + th.missingMinIncrease))}`,
      mr,
      `missing ${fmtPct(c.missingRate)} (reference ${fmtPct(r.missingRate)})`,
    );

    if (c.kind === 'empty') {
      add('empty', 'values', 0, '> 0', 'WARN', 'every value is missing');
      continue;
    }
    if (r.kind === 'empty') {
      add('empty', 'values', 0, '> 0', 'WARN', 'every value is missing in the reference: nothing to compare with');
      continue;
    }
    if (typeStatus === 'FAIL') continue;
    if (c.distinct === 1 && r.distinct > 1)
      add(
        'constant',
        'distinct values',
        1,
        '> 1',
        'WARN',
        `the column is constant now (reference had ${r.distinct} distinct values)`,
      );

    if (r.numeric && c.numeric) numericChecks(r.numeric, c, th, add);
    // A current column with many more values may profile as text; its exact counts (small tables) still show new categories.
    if ((r.kind === 'categorical' || r.kind === 'boolean') && r.categories && (c.categories || c.exact?.counts))
      categoryChecks(r, c, th, add);

    const drift = driftTest(r, c, th, smallRef);
    if (drift) {
      tests.push({ column: r.name, ...drift });
      const status: CheckStatus = drift.drifted ? (failOn.has(r.name) ? 'FAIL' : 'WARN') : 'PASS';
      const cmp = drift.test.endsWith('p-value') ? '≤' : '≥';
      add(
        'drift',
        drift.test,
        drift.value,
        `${cmp} ${drift.threshold}`,
        status,
        drift.drifted
          ? `drift detected (${drift.test} ${fmt(drift.value)} ${cmp} ${drift.threshold})`
          : `no drift (${drift.test} ${fmt(drift.value)})`,
      );
      for (const info of shiftInfo(r, c)) add(info.check, info.statistic, info.value, null, 'INFO', info.message);
    }
  }
  for (const c of cur.columns) {
    if (!refNames.has(c.name))
      records.push({
        column: c.name,
        check: 'column',
        statistic: 'present',
        value: 1,
        threshold: 'absent',
        status: 'WARN',
        message: `new column ${c.name} (${c.type}, ${c.kind}) is not in the reference`,
      });
  }
  // A critical column's FAIL stays a FAIL; any other problem on it becomes one too.
  for (const rec of records) if (failOn.has(rec.column) && rec.status === 'WARN') rec.status = 'FAIL';

  const drifted = tests.filter((t) => t.drifted);
  const share = tests.length ? drifted.length / tests.length : 0;
  const driftStatus: 'PASS' | 'FAIL' = tests.length > 0 && share >= th.driftShare ? 'FAIL' : 'PASS';
  const driftSummary = `drift in ${drifted.length}/${tests.length} columns (${Math.round(share * 100)}%) ${driftStatus === 'FAIL' ? '≥' : '<'} ${Math.round(th.driftShare * 100)}%: ${driftStatus}`;
  records.push({
    column: '(dataset)',
    check: 'dataset_drift',
    statistic: 'share of drifted columns',
    value: share,
    threshold: `< ${th.driftShare}`,
    status: driftStatus,
    message: driftSummary,
  });

  const ordered = records
    .map((r, i) => ({ r, i }))
    .sort((a, b) => RANK[a.r.status] - RANK[b.r.status] || a.i - b.i)
    .map((x) => x.r);
  const counts: Record<CheckStatus, number> = { PASS: 0, WARN: 0, FAIL: 0, INFO: 0 };
  for (const r of ordered) counts[r.status]++;
  const status: 'PASS' | 'FAIL' = counts.FAIL > 0 || (input.strict && counts.WARN > 0) ? 'FAIL' : 'PASS';
  return {
    reference: { label: input.referenceLabel, rows: ref.table.rows, columns: ref.columns.length },
    current: { label: input.currentLabel, rows: cur.table.rows, columns: cur.columns.length },
    thresholds: th,
    strict: !!input.strict,
    failOnColumns: [...failOn],
    records: ordered,
    drift: {
      columns: tests.length,
      drifted: drifted.length,
      share,
      threshold: th.driftShare,
      status: driftStatus,
      driftedColumns: drifted.map((t) => t.column),
      tests,
    },
    counts,
    status,
    summary: `${driftSummary}; ${counts.FAIL} failed, ${counts.WARN} warning${counts.WARN === 1 ? '' : 's'}${input.strict ? ' (strict)' : ''}: ${status}`,
  };
}

function typeChange(r: ColumnProfile, c: ColumnProfile): CheckStatus {
  if (r.type === c.type && r.kind === c.kind) return 'PASS';
  // An empty column has no type of its own; text ↔ categorical is the same data with more or fewer values.
  if (r.kind === 'empty' || c.kind === 'empty') return 'PASS';
  if (
    r.type === c.type &&
    (r.kind === 'text' || r.kind === 'categorical') &&
    (c.kind === 'text' || c.kind === 'categorical')
  )
    return 'PASS';
  if (r.kind === 'numeric' && c.kind === 'numeric')
    return r.type === 'BIGINT' && c.type === 'DOUBLE' ? 'WARN' : r.type === c.type ? 'PASS' : 'WARN';
  return 'FAIL';
}

export function missingRateStatus(r: number, c: number, th: CheckThresholds): CheckStatus {
  if (r === 0) return c > 0 ? 'FAIL' : 'PASS';
  return c > r * th.missingRatio && c - r >= th.missingMinIncrease ? 'FAIL' : 'PASS';
}

type Add = (
  check: string,
  statistic: string,
  value: number | null,
  threshold: string | null,
  status: CheckStatus,
  message: string,
) => void;

function numericChecks(r: NumericProfile, col: ColumnProfile, th: CheckThresholds, add: Add): void {
  const c = col.numeric!;
  const shift = r.std > 0 ? Math.abs(c.mean - r.mean) / r.std : c.mean === r.mean ? 0 : Infinity;
  add(
    'mean',
    '|Δmean| / reference std',
    shift,
    `≤ ${th.meanShiftStd}`,
    shift > th.meanShiftStd ? 'FAIL' : 'PASS',
    `mean ${fmt(c.mean)} vs ${fmt(r.mean)}: moved ${fmt(shift)} reference std`,
  );
  const ratio = r.std > 0 ? c.std / r.std : c.std === 0 ? 1 : Infinity;
  const stdStatus: CheckStatus =
    ratio < th.stdRatioFailMin || ratio > th.stdRatioFailMax
      ? 'FAIL'
      : ratio < th.stdRatioWarnMin || ratio > th.stdRatioWarnMax
        ? 'WARN'
        : 'PASS';
  add(
    'std_ratio',
    'std / reference std',
    ratio,
    `${th.stdRatioWarnMin}–${th.stdRatioWarnMax} (fail outside ${th.stdRatioFailMin}–${th.stdRatioFailMax})`,
    stdStatus,
    `std ${fmt(c.std)} vs ${fmt(r.std)} (ratio ${fmt(ratio)})`,
  );
  const outside = shareOutside(col, r.min, r.max);
  add(
    'range',
    'share outside reference min–max',
    outside,
    '= 0',
    outside > 0 ? 'WARN' : 'PASS',
    outside > 0
      ? `${fmtPct(outside)} of values outside [${fmt(r.min)}, ${fmt(r.max)}] (now [${fmt(c.min)}, ${fmt(c.max)}])`
      : `all values within [${fmt(r.min)}, ${fmt(r.max)}]`,
  );
  if (r.negatives === 0) {
    const share = c.negatives / Math.max(1, col.count);
    add(
      'negatives',
      'share of negative values',
      share,
      '= 0',
      share > 0 ? 'WARN' : 'PASS',
      share > 0
        ? `${fmtPct(share)} negative values; the reference had none`
        : 'no negative values, as in the reference',
    );
  }
}

/** Quantile points of a numeric profile: p = 0 is the minimum, p = 1 the maximum. */
export function pointsOf(n: NumericProfile): QuantilePoints {
  return { p: [0, ...n.quantiles.p, 1], x: [n.min, ...n.quantiles.x, n.max] };
}

function shareOutside(col: ColumnProfile, lo: number, hi: number): number {
  const c = col.numeric!;
  if (c.min >= lo && c.max <= hi) return 0;
  const values = col.exact?.values;
  if (values) return values.filter((v) => v < lo || v > hi).length / values.length;
  const pts = pointsOf(c);
  const below = c.min < lo ? cdfAt(pts, lo) : 0;
  const above = c.max > hi ? 1 - cdfAt(pts, hi) : 0;
  // At least one value is outside when min or max is: never report 0 for a real crossing.
  return Math.max(below + above, 1 / Math.max(1, c.n));
}

/** Every value with its count: exact when the table was small, else the top 100 plus "(other)". */
function countsOf(c: ColumnProfile): Map<string, number> {
  const m = new Map<string, number>(c.exact?.counts ?? c.categories?.top ?? []);
  if (!c.exact?.counts && c.categories && c.categories.other > 0) m.set('(other)', c.categories.other);
  return m;
}

function knownValues(c: ColumnProfile): Set<string> | null {
  if (c.exact?.counts) return new Set(c.exact.counts.map((e) => e[0]));
  if (c.categories?.allowed) return new Set(c.categories.allowed);
  return null;
}

function categoryChecks(r: ColumnProfile, c: ColumnProfile, th: CheckThresholds, add: Add): void {
  const allowed = knownValues(r);
  if (!allowed) {
    add(
      'unseen_categories',
      'share of unseen categories',
      null,
      null,
      'INFO',
      'the reference has more than 100 categories: new ones are not checked',
    );
  } else {
    const unseen = [...countsOf(c)].filter(([v]) => v !== '(other)' && !allowed.has(v)).sort((a, b) => b[1] - a[1]);
    const share = unseen.reduce((s, e) => s + e[1], 0) / Math.max(1, c.count);
    const status: CheckStatus = unseen.length > 0 && share > th.maxUnseenShare ? 'FAIL' : 'PASS';
    const listed = unseen
      .slice(0, 10)
      .map(([v, n]) => `${JSON.stringify(v)} (${fmtPct(n / Math.max(1, c.count))})`)
      .join(', ');
    add(
      'unseen_categories',
      'share of unseen categories',
      share,
      th.maxUnseenShare === 0 ? 'none' : `≤ ${th.maxUnseenShare}`,
      status,
      unseen.length
        ? `new categories: ${listed}${unseen.length > 10 ? `, and ${unseen.length - 10} more` : ''}`
        : 'no new categories',
    );
  }
  const now = knownValues(c);
  if (allowed && now) {
    const gone = [...allowed].filter((v) => !now.has(v)).sort();
    add(
      'missing_categories',
      'categories no longer seen',
      gone.length,
      '= 0',
      gone.length ? 'WARN' : 'PASS',
      gone.length
        ? `categories that disappeared: ${gone
            .slice(0, 10)
            .map((v) => JSON.stringify(v))
            .join(', ')}${gone.length > 10 ? ', …' : ''}`
        : 'every reference category is still seen',
    );
  }
}

function driftTest(
  r: ColumnProfile,
  c: ColumnProfile,
  th: CheckThresholds,
  smallRef: boolean,
): Omit<ColumnDrift, 'column'> | undefined {
  const categorical =
    r.kind === 'categorical' || r.kind === 'boolean' || (r.kind === 'numeric' && r.distinct <= 5 && !!r.categories);
  if (r.kind === 'numeric' && !categorical && r.numeric && c.numeric) {
    if (smallRef && r.exact?.values && r.exact.values.length > 0) {
      const d = c.exact?.values
        ? ksStatistic(r.exact.values, c.exact.values)
        : ksAgainstPoints(r.exact.values, pointsOf(c.numeric));
      const p = ksPValue(d, r.exact.values.length, c.numeric.n);
      return { test: 'KS p-value', value: p, threshold: th.ksP, drifted: p <= th.ksP };
    }
    const w = wasserstein1(pointsOf(r.numeric), pointsOf(c.numeric));
    const norm = r.numeric.std > 0 ? w / r.numeric.std : w === 0 ? 0 : Infinity;
    return {
      test: 'Wasserstein distance (normed)',
      value: norm,
      threshold: th.wasserstein,
      drifted: norm >= th.wasserstein,
    };
  }
  if (categorical && (r.categories || r.exact?.counts) && (c.categories || c.exact?.counts)) {
    const a = countsOf(r);
    const b = countsOf(c);
    const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
    const ra = keys.map((k) => a.get(k) ?? 0);
    const rb = keys.map((k) => b.get(k) ?? 0);
    if (smallRef) {
      if (keys.length === 2) {
        const z = twoProportionZ(ra[0]!, r.count, rb[0]!, c.count);
        return { test: 'Z-test p-value', value: z.pValue, threshold: th.zP, drifted: z.pValue <= th.zP };
      }
      const chi = chiSquareHomogeneity(ra, rb);
      return { test: 'chi-square p-value', value: chi.pValue, threshold: th.chi2P, drifted: chi.pValue <= th.chi2P };
    }
    const js = jensenShannonDistance(ra, rb);
    return { test: 'Jensen-Shannon distance', value: js, threshold: th.jensenShannon, drifted: js >= th.jensenShannon };
  }
  return undefined;
}

/** KS statistic between a sorted sample and a distribution known by quantile points (a large current table). */
function ksAgainstPoints(sorted: readonly number[], pts: QuantilePoints): number {
  let d = 0;
  const n = sorted.length;
  for (let i = 0; i < n; i++) {
    const f = cdfAt(pts, sorted[i]!);
    d = Math.max(d, Math.abs((i + 1) / n - f), Math.abs(i / n - f));
  }
  return d;
}

/** PSI and L-infinity, reported (not gated): on the reference's 20 bins for numbers, on categories otherwise. */
function shiftInfo(
  r: ColumnProfile,
  c: ColumnProfile,
): { check: string; statistic: string; value: number; message: string }[] {
  let labels: string[];
  let a: number[];
  let b: number[];
  if (r.kind === 'numeric' && r.numeric && c.numeric && r.numeric.bins.edges.length > 2) {
    const edges = r.numeric.bins.edges;
    a = r.numeric.bins.counts;
    const values = c.exact?.values;
    const cdf = (x: number): number =>
      values ? values.filter((v) => v < x).length / values.length : cdfAt(pointsOf(c.numeric!), x);
    b = a.map((_, i) =>
      i === 0 ? cdf(edges[1]!) : i === a.length - 1 ? 1 - cdf(edges[i]!) : cdf(edges[i + 1]!) - cdf(edges[i]!),
    );
    labels = a.map((_, i) => `[${fmt(edges[i]!)}, ${fmt(edges[i + 1]!)}${i === a.length - 1 ? ']' : ')'}`);
  } else {
    const ca = countsOf(r);
    const cb = countsOf(c);
    labels = [...new Set([...ca.keys(), ...cb.keys()])].sort();
    a = labels.map((k) => ca.get(k) ?? 0);
    b = labels.map((k) => cb.get(k) ?? 0);
  }
  if (a.length < 2) return [];
  const p = psi(a, b);
  const li = lInfinity(a, b);
  const sa = a.reduce((s, x) => s + x, 0);
  const sb = b.reduce((s, x) => s + x, 0);
  const moved =
    li.index >= 0
      ? `${labels[li.index]}: ${fmtPct(a[li.index]! / sa)} → ${fmtPct(b[li.index]! / sb)}`
      : 'nothing moved';
  return [
    {
      check: 'psi',
      statistic: 'PSI',
      value: p,
      message: `population stability index ${fmt(Math.abs(p) < 1e-9 ? 0 : p)}`,
    },
    { check: 'l_infinity', statistic: 'L-infinity distance', value: li.value, message: `largest move ${moved}` },
  ];
}

export function fmt(v: number): string {
  return formatNumber(v, 'short');
}

export function fmtPct(v: number): string {
  return `${(v * 100).toFixed(v > 0 && v < 0.001 ? 3 : 1)}%`;
}
