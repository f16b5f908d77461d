import { InvalidInputError } from '../errors.js';

/**
 * Thresholds of the data quality and drift gate. Defaults follow Evidently, TFDV and SageMaker Model
 * Monitor; each can be set registry-wide (`mlreg config set check.drift_share 0.3`) and per run by a
 * flag of the same name (`--drift-share 0.3`).
 */
export interface CheckThresholds {
  /** Missing rate FAILs when it rises above ratio × the reference's … */
  missingRatio: number;
  /** … and by at least this much (a fraction: 0.005 is half a point). */
  missingMinIncrease: number;
  /** Mean moved by more than this many reference standard deviations: FAIL. */
  meanShiftStd: number;
  stdRatioWarnMin: number;
  stdRatioWarnMax: number;
  stdRatioFailMin: number;
  stdRatioFailMax: number;
  /** Share of rows with categories the reference never had that is tolerated (0: any FAILs). */
  maxUnseenShare: number;
  /** Drift when the KS p-value is at most this (numeric, small reference). */
  ksP: number;
  /** Drift when the Wasserstein distance / reference std is at least this (numeric, large reference). */
  wasserstein: number;
  /** Drift when the chi-square p-value is at most this (categorical, small reference). */
  chi2P: number;
  /** Drift when the two-proportion Z-test p-value is at most this (two categories, small reference). */
  zP: number;
  /** Drift when the Jensen–Shannon distance is at least this (categorical, large reference). */
  jensenShannon: number;
  /** Dataset drift FAILs when at least this share of the columns drift. */
  driftShare: number;
}

export const DEFAULT_THRESHOLDS: CheckThresholds = {
  missingRatio: 1.1,
  missingMinIncrease: 0.005,
  meanShiftStd: 2,
  stdRatioWarnMin: 0.9,
  stdRatioWarnMax: 1.1,
  stdRatioFailMin: 0.5,
  stdRatioFailMax: 2,
  maxUnseenShare: 0,
  ksP: 0.05,
  wasserstein: 0.1,
  chi2P: 0.05,
  zP: 0.05,
  jensenShannon: 0.1,
  driftShare: 0.5,
};

/** snake_case setting (after `check.`) and CLI flag (dashes) of every threshold. */
export const THRESHOLD_NAMES: Record<keyof CheckThresholds, string> = {
  missingRatio: 'missing_ratio',
  missingMinIncrease: 'missing_min_increase',
  meanShiftStd: 'mean_shift_std',
  stdRatioWarnMin: 'std_ratio_warn_min',
  stdRatioWarnMax: 'std_ratio_warn_max',
  stdRatioFailMin: 'std_ratio_fail_min',
  stdRatioFailMax: 'std_ratio_fail_max',
  maxUnseenShare: 'max_unseen_share',
  ksP: 'ks_p',
  wasserstein: 'wasserstein',
  chi2P: 'chi2_p',
  zP: 'z_p',
  jensenShannon: 'jensen_shannon',
  driftShare: 'drift_share',
};

export const THRESHOLD_KEYS = Object.keys(THRESHOLD_NAMES) as (keyof CheckThresholds)[];

/**
 * p-values, shares and rates are fractions in [0, 1] (a `--ks-p 2` would flag every column); the
 * Jensen–Shannon distance (base 2) is in [0, 1] too. The rest are ratios or distances ≥ 0.
 */
const FRACTIONS = new Set<keyof CheckThresholds>([
  'missingMinIncrease',
  'maxUnseenShare',
  'ksP',
  'chi2P',
  'zP',
  'jensenShannon',
  'driftShare',
]);

export function isFractionThreshold(key: keyof CheckThresholds): boolean {
  return FRACTIONS.has(key);
}

/** The range a threshold takes, in words: for messages and `config list`. */
export function thresholdRange(key: keyof CheckThresholds): string {
  return FRACTIONS.has(key) ? 'a number from 0 to 1' : 'a number ≥ 0';
}

/** Parse a threshold given as text (flag or config) and check it against its range. */
export function parseThreshold(text: string, label: string, key?: keyof CheckThresholds): number {
  const n = Number(text);
  const fraction = key !== undefined && FRACTIONS.has(key);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || (fraction && n > 1)) {
    throw new InvalidInputError(
      `${label} takes ${key ? thresholdRange(key) : 'a number ≥ 0'}, not ${JSON.stringify(text)}`,
      { code: 'E_BAD_THRESHOLD', hint: `e.g. ${label} ${key ? DEFAULT_THRESHOLDS[key] : 0.3}` },
    );
  }
  return n;
}

/**
 * The std ratio bands must nest around 1 (no change): fail_min ≤ warn_min ≤ 1 ≤ warn_max ≤ fail_max.
 * Returns what is wrong, in setting names, or undefined when they hold.
 */
export function bandProblem(t: CheckThresholds): string | undefined {
  const chain: [keyof CheckThresholds | 1, number][] = [
    ['stdRatioFailMin', t.stdRatioFailMin],
    ['stdRatioWarnMin', t.stdRatioWarnMin],
    [1, 1],
    ['stdRatioWarnMax', t.stdRatioWarnMax],
    ['stdRatioFailMax', t.stdRatioFailMax],
  ];
  const name = (k: keyof CheckThresholds | 1) => (k === 1 ? '1 (no change)' : `${THRESHOLD_NAMES[k]} ${t[k]}`);
  for (let i = 1; i < chain.length; i++) {
    const [lowKey, low] = chain[i - 1]!;
    const [highKey, high] = chain[i]!;
    if (low > high) return `${name(lowKey)} is above ${name(highKey)}`;
  }
  return undefined;
}

/** Defaults, then the registry's `check.*` settings, then what was given for this run. */
export function resolveThresholds(
  config: (key: string) => string | undefined,
  given: Partial<CheckThresholds> = {},
): CheckThresholds {
  const out = { ...DEFAULT_THRESHOLDS };
  for (const k of THRESHOLD_KEYS) {
    const key = `check.${THRESHOLD_NAMES[k]}`;
    const v = config(key);
    if (v !== undefined) out[k] = parseThreshold(v, key, k);
    const g = given[k];
    if (g !== undefined) {
      // Given as a flag: the CLI names it (details.option), so the message names the threshold only.
      try {
        out[k] = parseThreshold(String(g), `threshold ${THRESHOLD_NAMES[k]}`, k);
      } catch (err) {
        throw new InvalidInputError((err as InvalidInputError).message, {
          code: 'E_BAD_THRESHOLD',
          hint: (err as InvalidInputError).hint,
          details: { option: k },
        });
      }
    }
  }
  const problem = bandProblem(out);
  if (problem) {
    throw new InvalidInputError(`the std ratio bands do not nest: ${problem}`, {
      code: 'E_BAD_THRESHOLD',
      hint: 'They must hold std_ratio_fail_min ≤ std_ratio_warn_min ≤ 1 ≤ std_ratio_warn_max ≤ std_ratio_fail_max; see `mlreg config list`.',
    });
  }
  return out;
}
