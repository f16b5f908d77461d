import { InvalidInputError } from '../errors.js';

/** Parsing of the `k=v` pairs users give for metrics, params and tags. */

export const KEY_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$/;

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

export function parseMetricPairs(pairs: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pair of pairs) {
    const [key, raw] = splitPair(pair, 'metric');
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
  const visit = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) visit(v as Record<string, unknown>, key);
      else if (typeof v === 'number' && Number.isFinite(v) && KEY_RE.test(key)) out[key] = v;
      else {
        throw new InvalidInputError(
          `${source}: metric ${JSON.stringify(key)} is ${JSON.stringify(v)}, not a finite number`,
          {
            code: 'E_BAD_METRICS_FILE',
            hint: 'Every value in the metrics file must be a number (nested objects are flattened with ".").',
          },
        );
      }
    }
  };
  visit(doc as Record<string, unknown>, '');
  return out;
}
