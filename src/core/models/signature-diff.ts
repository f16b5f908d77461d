import type { CheckRecord } from '../datasets/check-profiles.js';
import type { ColumnProfile } from '../datasets/profile/types.js';
import type { Feature, Signature } from './signature.js';

/**
 * What the signature is used for: diffing two versions' inputs (`compare`) and checking a batch's
 * columns against what a model takes (`check --against-model`, before the drift checks).
 */

/** The named inputs of a signature, when it has them. */
export function featuresOf(sig: Signature | null): Feature[] | null {
  if (!sig) return null;
  return sig.features ?? null;
}

export interface SignatureDiff {
  a: Feature[] | null;
  b: Feature[] | null;
  /** Features B needs that A did not: a deployment risk (the serving path must now send them). */
  newlyRequired: string[];
  /** Features A needed that B no longer takes. */
  dropped: string[];
  /** Same name, different kind of values. */
  kindChanged: { name: string; a: string; b: string }[];
  /** Anything else that differs in the descriptions (class, scikit-learn version, classes, ONNX shapes). */
  other: { what: string; a: string; b: string }[];
}

export function diffSignatures(a: Signature | null, b: Signature | null): SignatureDiff | null {
  if (!a && !b) return null;
  const fa = featuresOf(a);
  const fb = featuresOf(b);
  const namesA = new Map((fa ?? []).map((f) => [f.name, f]));
  const namesB = new Map((fb ?? []).map((f) => [f.name, f]));
  const other: SignatureDiff['other'] = [];
  const field = (what: string, x: unknown, y: unknown): void => {
    const sx = x === undefined ? '-' : JSON.stringify(x);
    const sy = y === undefined ? '-' : JSON.stringify(y);
    if (sx !== sy) other.push({ what, a: sx, b: sy });
  };
  field('format', a?.format, b?.format);
  if (a?.format === 'sklearn' || b?.format === 'sklearn') {
    const sa = a?.format === 'sklearn' ? a : undefined;
    const sb = b?.format === 'sklearn' ? b : undefined;
    field('class', sa?.class, sb?.class);
    field('scikit-learn', sa?.sklearn_version, sb?.sklearn_version);
    field('n_features_in', sa?.n_features_in, sb?.n_features_in);
    field('classes', sa?.classes, sb?.classes);
  }
  if (a?.format === 'onnx' || b?.format === 'onnx') {
    field('onnx inputs', a?.format === 'onnx' ? a.inputs : undefined, b?.format === 'onnx' ? b.inputs : undefined);
    field('onnx outputs', a?.format === 'onnx' ? a.outputs : undefined, b?.format === 'onnx' ? b.outputs : undefined);
  }
  return {
    a: fa,
    b: fb,
    newlyRequired: fb && fa ? fb.filter((f) => !namesA.has(f.name)).map((f) => f.name) : [],
    dropped: fa && fb ? fa.filter((f) => !namesB.has(f.name)).map((f) => f.name) : [],
    kindChanged: (fb ?? [])
      .filter((f) => namesA.has(f.name) && namesA.get(f.name)!.kind !== f.kind)
      .map((f) => ({ name: f.name, a: namesA.get(f.name)!.kind, b: f.kind })),
    other,
  };
}

const NUMERIC_TYPES =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|REAL|DECIMAL.*|BOOLEAN)$/i;

/**
 * The batch's columns against the model's features: a feature the batch lacks is FAIL, a column the
 * model does not take is INFO, values of a kind the feature cannot take (text into a numeric input) FAIL.
 */
export function checkAgainstSignature(features: Feature[], columns: ColumnProfile[], model: string): CheckRecord[] {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const wanted = new Set(features.map((f) => f.name));
  const out: CheckRecord[] = [];
  for (const f of features) {
    const c = byName.get(f.name);
    if (!c) {
      out.push({
        column: f.name,
        check: 'model input',
        statistic: 'present',
        value: 0,
        threshold: 'present',
        status: 'FAIL',
        message: `${model} needs feature ${f.name}; the batch has no such column`,
      });
      continue;
    }
    const numeric = NUMERIC_TYPES.test(c.type) || c.kind === 'empty';
    if (f.kind === 'number' && !numeric) {
      out.push({
        column: f.name,
        check: 'model input type',
        statistic: 'type',
        value: null,
        threshold: 'numeric',
        status: 'FAIL',
        message: `${model} takes numbers for ${f.name}; the batch's column is ${c.type}`,
      });
    } else {
      out.push({
        column: f.name,
        check: 'model input',
        statistic: 'present',
        value: 1,
        threshold: 'present',
        status: 'PASS',
        message: `input of ${model} (${f.kind})`,
      });
    }
  }
  for (const c of columns) {
    if (wanted.has(c.name)) continue;
    out.push({
      column: c.name,
      check: 'model input',
      statistic: 'present',
      value: null,
      threshold: null,
      status: 'INFO',
      message: `not an input of ${model} (ignored by it)`,
    });
  }
  return out;
}
