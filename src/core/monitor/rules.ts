import { InvalidInputError } from '../errors.js';
import { KEY_RE, parseFiniteNumber } from '../lib/pairs.js';
import { parseRef } from '../versions/refs.js';
import { ALL_SLICE } from './observations.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * The alert rule language, parsed without touching the registry:
 *
 *   auc < 0.85                       threshold on the mean of the last N observations
 *   auc[recent] <= 0.8               the same on one slice
 *   auc drops 0.03 vs previous       fall of the live mean against the previous holder's live mean
 *   rmse rises 10% vs previous       relative change (percent of the baseline)
 *   auc drops 0.05 vs eval holdout@latest   against the version's own evaluation on a dataset
 *   log_loss worsens 0.02 vs previous       "worse" in the metric's direction (higher or lower is better)
 *   auc < 0.85 from live             any rule, on the observations of one source only (a small review
 *                                    import must not drag the live average down)
 */

export type Comparator = '<' | '<=' | '>' | '>=';
export type ChangeVerb = 'drops' | 'rises' | 'worsens';

/** Observations of every source count, unless a rule says `from SOURCE`. */
interface RuleScope {
  metric: string;
  slice: string;
  source?: string | undefined;
}

export interface ThresholdRule extends RuleScope {
  kind: 'threshold';
  op: Comparator;
  value: number;
  text: string;
}

export interface ChangeRule extends RuleScope {
  kind: 'change';
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

const SOURCE_CLAUSE = / from ([^ ]+)$/;
const SOURCE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,63}$/;

/** Parse a rule; `source` (e.g. from --source) scopes it to one source unless the text already does. */
export function parseRule(input: string, source?: string): Rule {
  const whole = input.trim().replace(/\s+/g, ' ');
  if (!whole) throw malformed(input, 'it is empty');
  const clause = SOURCE_CLAUSE.exec(whole);
  const from = clause?.[1] ?? source;
  if (from !== undefined && !SOURCE_NAME.test(from))
    throw malformed(whole, `${JSON.stringify(from)} is not a source name (a short word such as live or review)`);
  if (clause && source !== undefined && source !== clause[1])
    throw malformed(whole, `it says "from ${clause[1]}" and ${optionRef('source')} says ${source}`);
  const rule = parseUnscoped(clause ? whole.slice(0, clause.index) : whole);
  return from === undefined ? rule : { ...rule, source: from, text: `${rule.text} from ${from}` };
}

function parseUnscoped(text: string): Rule {
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
