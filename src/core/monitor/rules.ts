import { InvalidInputError } from '../errors.js';
import { KEY_RE, parseFiniteNumber } from '../lib/pairs.js';
import { parseRef } from '../versions/refs.js';
import { ALL_SLICE } from './observations.js';

/**
 * The alert rule language, parsed without touching the registry:
 *
 *   auc < 0.85                       threshold on the mean of the last N observations
 *   auc[recent] <= 0.8               the same on one slice
 *   auc drops 0.03 vs previous       fall of the live mean against the previous holder's live mean
 *   rmse rises 10% vs previous       relative change (percent of the baseline)
 *   auc drops 0.05 vs eval holdout@latest   against the version's own evaluation on a dataset
 *   log_loss worsens 0.02 vs previous       "worse" in the metric's direction (higher or lower is better)
 */

export type Comparator = '<' | '<=' | '>' | '>=';
export type ChangeVerb = 'drops' | 'rises' | 'worsens';

export interface ThresholdRule {
  kind: 'threshold';
  metric: string;
  slice: string;
  op: Comparator;
  value: number;
  text: string;
}

export interface ChangeRule {
  kind: 'change';
  metric: string;
  slice: string;
  verb: ChangeVerb;
  amount: number;
  /** True when the amount is a percentage of the baseline. */
  relative: boolean;
  baseline: { kind: 'previous' } | { kind: 'eval'; dataset: string };
  text: string;
}

export type Rule = ThresholdRule | ChangeRule;

const FORMS =
  'Write METRIC < NUMBER (or <=, >, >=), METRIC drops|rises|worsens AMOUNT[%] vs previous, or METRIC drops|rises|worsens AMOUNT[%] vs eval DATASET_REF; e.g. "auc < 0.85", "auc drops 0.03 vs previous", "auc drops 0.05 vs eval holdout@latest".';

function malformed(text: string, why: string): InvalidInputError {
  return new InvalidInputError(`malformed rule ${JSON.stringify(text)}: ${why}`, { code: 'E_BAD_RULE', hint: FORMS });
}

function number(text: string, raw: string | undefined, what: string): number {
  const n = raw === undefined ? undefined : parseFiniteNumber(raw);
  if (n === undefined)
    throw malformed(text, `${what} ${raw === undefined ? 'is missing' : `${JSON.stringify(raw)} is not a number`}`);
  return n;
}

export function parseRule(input: string): Rule {
  const text = input.trim().replace(/\s+/g, ' ');
  if (!text) throw malformed(input, 'it is empty');
  // Let "auc<0.85" be written without spaces.
  const tokens = text
    .replace(/\s*(<=|>=|<|>)\s*/, ' $1 ')
    .trim()
    .split(' ');
  const head = tokens[0]!;
  const m = /^([^[\]]+)(?:\[([^\]]+)\])?$/.exec(head);
  if (!m || !KEY_RE.test(m[1]!))
    throw malformed(
      text,
      `${JSON.stringify(head)} is not a metric name (letters, digits, _ . : / -, optionally [slice])`,
    );
  const metric = m[1]!;
  const slice = m[2] ?? ALL_SLICE;
  if (!KEY_RE.test(slice)) throw malformed(text, `${JSON.stringify(slice)} is not a slice name`);
  const name = slice === ALL_SLICE ? metric : `${metric}[${slice}]`;
  const op = tokens[1];
  if (op === '<' || op === '<=' || op === '>' || op === '>=') {
    const value = number(text, tokens[2], 'the threshold');
    if (tokens.length !== 3)
      throw malformed(text, `unexpected ${JSON.stringify(tokens.slice(3).join(' '))} after the threshold`);
    return { kind: 'threshold', metric, slice, op, value, text: `${name} ${op} ${value}` };
  }
  if (op === 'drops' || op === 'rises' || op === 'worsens') {
    const raw = tokens[2];
    const relative = raw?.endsWith('%') ?? false;
    const amount = number(text, relative ? raw!.slice(0, -1) : raw, 'the amount');
    if (amount <= 0) throw malformed(text, 'the amount must be greater than 0');
    if (tokens[3] !== 'vs') throw malformed(text, 'expected "vs previous" or "vs eval DATASET_REF" after the amount');
    const amountText = `${amount}${relative ? '%' : ''}`;
    if (tokens[4] === 'previous' && tokens.length === 5) {
      return {
        kind: 'change',
        metric,
        slice,
        verb: op,
        amount,
        relative,
        baseline: { kind: 'previous' },
        text: `${name} ${op} ${amountText} vs previous`,
      };
    }
    if (tokens[4] === 'eval' && tokens.length === 6) {
      let dataset: string;
      try {
        dataset = parseRef(tokens[5]!).text;
      } catch {
        throw malformed(
          text,
          `${JSON.stringify(tokens[5])} is not a dataset reference (NAME@VERSION, NAME@STAGE, NAME@latest)`,
        );
      }
      return {
        kind: 'change',
        metric,
        slice,
        verb: op,
        amount,
        relative,
        baseline: { kind: 'eval', dataset },
        text: `${name} ${op} ${amountText} vs eval ${dataset}`,
      };
    }
    throw malformed(
      text,
      `expected "vs previous" or "vs eval DATASET_REF", not ${JSON.stringify(tokens.slice(3).join(' ') || '(nothing)')}`,
    );
  }
  throw malformed(
    text,
    op === undefined
      ? 'a comparison is missing after the metric'
      : `${JSON.stringify(op)} is not <, <=, >, >=, drops, rises or worsens`,
  );
}

/** Parse --window: a whole number of observations ≥ 1. */
export const DEFAULT_WINDOW = 3;

export function compare(op: Comparator, a: number, b: number): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
}
