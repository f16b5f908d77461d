import { InvalidInputError } from '../errors.js';
import { optionRef } from './option-ref.js';

/** Parsing of the `k=v` pairs users give for metrics, params and tags. */

export const KEY_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$/;

/** Limits that keep one version's metadata small enough for `list` and `show` to stay fast. */
export const MAX_METRICS = 10_000;
export const MAX_TEXT_VALUE = 4096;
const MAX_DEPTH = 32;

function splitPair(pair: string, what: string): [string, string] {
  const eq = pair.indexOf('=');
  const key = eq === -1 ? '' : pair.slice(0, eq);
  if (eq === -1 || !KEY_RE.test(key)) {
    throw new InvalidInputError(`invalid ${what} ${JSON.stringify(pair)}`, {
      code: 'E_BAD_PAIR',
      hint: `Write ${what}s as key=value, e.g. auc=0.91; keys use letters, digits and _ . : / -.`,
    });
  }
  return [key, pair.slice(eq + 1)];
}

/** Parse a number strictly: a finite decimal, nothing else ("0x10", "", "NaN", "1e400" are refused). */
export function parseFiniteNumber(text: string): number | undefined {
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text.trim())) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** A key given twice (`--metric auc=0.9 --metric auc=0.8`) is refused: keeping either silently loses the other. */
function refuseRepeat(out: Record<string, unknown>, key: string, what: string): void {
  if (Object.hasOwn(out, key))
    throw new InvalidInputError(`${what} ${key} is given more than once`, {
      code: 'E_DUPLICATE_KEY',
      hint: `Give each ${what} once.`,
    });
}

export function parseMetricPairs(pairs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pair of pairs) {
    const [key, raw] = splitPair(pair, 'metric');
    refuseRepeat(out, key, 'metric');
    const value = parseFiniteNumber(raw);
    if (value === undefined) {
      throw new InvalidInputError(`metric ${key} has value ${JSON.stringify(raw)}, which is not a finite number`, {
        code: 'E_BAD_METRIC',
        hint: `Give a number such as ${key}=0.91.`,
      });
    }
    out[key] = value;
  }
  return out;
}

export function parseTextPairs(pairs: readonly string[], what: 'param' | 'tag'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const [key, value] = splitPair(pair, what);
    refuseRepeat(out, key, what);
    if (value.length > MAX_TEXT_VALUE)
      throw new InvalidInputError(
        `${what} ${key} is ${value.length} characters long, over the limit of ${MAX_TEXT_VALUE}`,
        {
          code: 'E_VALUE_TOO_LONG',
          hint: `Keep ${what} values short; put long text in ${optionRef('description')} or in a file of the version.`,
        },
      );
    out[key] = value;
  }
  return out;
}

/**
 * Flatten a metrics JSON document: `{"auc": 0.9, "val": {"loss": 0.2}}` gives auc and val.loss.
 * Every leaf must be a finite number.
 */
export function flattenMetricsJson(doc: unknown, source: string): Record<string, number> {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new InvalidInputError(`${source} must hold a JSON object of metric names to numbers`, {
      code: 'E_BAD_METRICS_FILE',
      hint: 'For example {"auc": 0.91, "log_loss": 0.23}.',
    });
  }
  const out: Record<string, number> = {};
  let count = 0;
  const visit = (obj: Record<string, unknown>, prefix: string, depth: number): void => {
    if (depth > MAX_DEPTH)
      throw new InvalidInputError(`${source}: metrics are nested more than ${MAX_DEPTH} levels deep`, {
        code: 'E_BAD_METRICS_FILE',
        hint: 'Write metrics as a flat object, or nest a few levels at most ({"val": {"loss": 0.2}}).',
      });
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        visit(v as Record<string, unknown>, key, depth + 1);
        continue;
      }
      if (!KEY_RE.test(key))
        throw new InvalidInputError(`${source}: ${JSON.stringify(key)} is not a metric name`, {
          code: 'E_BAD_METRICS_FILE',
          hint: 'Metric names are 1–128 letters, digits and _ . : / - (nested keys are joined with ".").',
        });
      if (++count > MAX_METRICS)
        throw new InvalidInputError(`${source} holds more than ${MAX_METRICS} metrics`, {
          code: 'E_TOO_MANY_METRICS',
          hint: `Record at most ${MAX_METRICS} metrics per version; keep the rest in a file of the version.`,
        });
      if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
      else {
        throw new InvalidInputError(
          `${source}: metric ${JSON.stringify(key)} is ${typeof v === 'number' ? String(v) : JSON.stringify(v)}, not a finite number`,
          {
            code: 'E_BAD_METRICS_FILE',
            hint: 'Every value in the metrics file must be a number (nested objects are flattened with ".").',
          },
        );
      }
    }
  };
  visit(doc as Record<string, unknown>, '', 0);
  return out;
}
