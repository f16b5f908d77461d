import { InvalidInputError } from '../errors.js';
import { DEFAULT_SLICE, validateResults, type SliceMetrics } from './record.js';

/**
 * Read what an evaluation command printed: exactly one JSON object, either `{"metric": value}`
 * (slice `all`) or `{"slice": {"metric": value}}`; top-level numbers and slice objects may be mixed.
 * Everything else is refused with a message that names the problem.
 */
export function parseEvalOutput(stdout: string, who: string): SliceMetrics {
  const text = stdout.trim();
  const bad = (message: string, hint: string): InvalidInputError =>
    new InvalidInputError(`${who}: ${message}`, { code: 'E_EVAL_OUTPUT', hint });
  const shape =
    'Print one JSON object on stdout, e.g. {"auc": 0.91} or {"all": {"auc": 0.91}, "recent": {"auc": 0.88}}; log to stderr.';
  if (text === '') throw bad('the command printed nothing on stdout', shape);
  // JSON.parse recurses once per level: a hostile command printing [[[[…]]]] a million deep would
  // overflow the stack. Metrics are two levels deep at most; refuse anything deeper before parsing.
  const depth = jsonDepthOver(text, MAX_JSON_DEPTH);
  if (depth)
    throw bad(
      `its stdout nests JSON more than ${MAX_JSON_DEPTH} levels deep (at character ${depth}); metrics are at most {"slice": {"metric": value}}`,
      shape,
    );
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // Python's json.dumps writes NaN and Infinity, which are not JSON: say so plainly.
    const nonFinite = /"([^"]*)"\s*:\s*(-?Infinity|NaN)\b/.exec(text);
    if (nonFinite)
      throw bad(
        `metric ${JSON.stringify(nonFinite[1])} is ${nonFinite[2]}, not a finite number`,
        'NaN and infinity cannot be compared: fix the evaluation (e.g. a slice with no rows or one class only), or leave that metric out.',
      );
    const first = text.split('\n')[0]!.slice(0, 80);
    throw bad(`its stdout is not one JSON document (it starts ${JSON.stringify(first)})`, shape);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    throw bad(
      `its stdout is JSON but not an object of metrics (${Array.isArray(doc) ? 'an array' : JSON.stringify(doc)})`,
      shape,
    );
  const results: SliceMetrics = {};
  const put = (slice: string, metric: string, value: unknown): void => {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw bad(
        `metric ${JSON.stringify(metric)}${slice === DEFAULT_SLICE ? '' : ` of slice ${JSON.stringify(slice)}`} is ${JSON.stringify(value)}, not a finite number`,
        shape,
      );
    }
    const s = (results[slice] ??= {});
    if (Object.hasOwn(s, metric))
      throw bad(`metric ${JSON.stringify(metric)} of slice ${JSON.stringify(slice)} is given twice`, shape);
    s[metric] = value;
  };
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0) throw bad(`slice ${JSON.stringify(key)} holds no metrics`, shape);
      for (const [metric, v] of entries) put(key, metric, v);
    } else put(DEFAULT_SLICE, key, value);
  }
  try {
    return validateResults(results);
  } catch (err) {
    throw bad((err as Error).message, shape);
  }
}

/** Deeper than any metrics document needs (two levels), shallow enough for any stack. */
export const MAX_JSON_DEPTH = 32;

/** The 1-based position where the nesting of `text` first passes `max` (brackets in strings ignored), or 0. */
export function jsonDepthOver(text: string, max: number): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92)
        i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > max) return i + 1;
    } else if (c === 125 || c === 93) depth--;
  }
  return 0;
}
