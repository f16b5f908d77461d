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

/** Parse a threshold given as text (flag or config): a number ≥ 0. */
export function parseThreshold(text: string, label: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new InvalidInputError(`${label} takes a number ≥ 0, not ${JSON.stringify(text)}`, {
      code: 'E_BAD_THRESHOLD',
      hint: `e.g. ${label} 0.3`,
    });
  }
  return n;
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
    if (v !== undefined) out[k] = parseThreshold(v, key);
    const g = given[k];
    if (g !== undefined) {
      if (!Number.isFinite(g) || g < 0)
        throw new InvalidInputError(`threshold ${THRESHOLD_NAMES[k]} takes a number ≥ 0, not ${g}`, {
          code: 'E_BAD_THRESHOLD',
          hint: 'Thresholds are numbers ≥ 0, e.g. 0.1.',
          details: { option: k },
        });
      out[k] = g;
    }
  }
  if (out.stdRatioWarnMin > out.stdRatioWarnMax || out.stdRatioFailMin > out.stdRatioFailMax) {
    throw new InvalidInputError('the std ratio bands are inverted (a minimum above its maximum)', {
      code: 'E_BAD_THRESHOLD',
      hint: 'Set std_ratio_*_min below std_ratio_*_max.',
    });
  }
  return out;
}
