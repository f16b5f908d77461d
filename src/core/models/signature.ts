import type { OnnxSignature } from './onnx.js';
import { asInt, asList, asTuple, dictOf, isGlobal, type PObject, type PValue } from './pickle/values.js';

/**
 * A model's input signature, read from what the non-executing reader rebuilt of a scikit-learn
 * pickle (class, Pipeline steps, `_sklearn_version`, `n_features_in_`, `feature_names_in_`,
 * `classes_`), from an ONNX graph, or given by the user. `features` is the form `check` and
 * `compare` use: each named input and the kind of values it takes.
 */

export type FeatureKind = 'number' | 'category' | 'any';

export interface Feature {
  name: string;
  kind: FeatureKind;
}

export interface SklearnSignature {
  format: 'sklearn';
  file: string;
  class: string;
  steps?: { name: string; class: string }[];
  sklearn_version: string | null;
  n_features_in: number | null;
  feature_names_in: string[] | null;
  classes: (string | number | boolean)[] | null;
  features: Feature[] | null;
}

export interface GivenSignature {
  format: 'given';
  features: Feature[];
}

export type Signature = SklearnSignature | (OnnxSignature & { features: Feature[] | null }) | GivenSignature;

const ENCODERS = new Set(['OneHotEncoder', 'OrdinalEncoder', 'TargetEncoder', 'LabelEncoder']);

function className(v: PValue | undefined): string | undefined {
  if (typeof v === 'object' && v !== null && v.t === 'object' && isGlobal(v.cls))
    return `${v.cls.module}.${v.cls.name}`;
  return undefined;
}

function stateOf(v: PValue | undefined): Map<string, PValue> | undefined {
  return typeof v === 'object' && v !== null && v.t === 'object' ? dictOf(v.state) : undefined;
}

/** A plain scalar: numbers, strings, booleans, and NumPy scalars (numpy.core.multiarray.scalar). */
function scalar(v: PValue | undefined): string | number | boolean | null {
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'object' && v !== null && v.t === 'object' && v.array?.values?.length === 1) {
    const x = v.array.values[0];
    return typeof x === 'bigint' ? Number(x) : typeof x === 'object' ? null : (x ?? null);
  }
  return null;
}

function arrayValues(v: PValue | undefined): (string | number | boolean)[] | null {
  if (typeof v !== 'object' || v === null || v.t !== 'object' || !v.array?.values) return null;
  const out: (string | number | boolean)[] = [];
  for (const x of v.array.values) {
    const s = typeof x === 'bigint' ? Number(x) : typeof x === 'object' ? scalar(x as PValue) : x;
    if (s === null || s === undefined) return null;
    out.push(s);
  }
  return out;
}

function isSklearnEstimator(v: PValue | undefined): v is PObject {
  const c = className(v);
  return c !== undefined && /^(sklearn|xgboost|lightgbm|catboost)\./.test(c) && stateOf(v) !== undefined;
}

/** The signature of the first file whose pickle is a scikit-learn-style estimator. */
export function sklearnSignature(roots: Map<string, PValue>): SklearnSignature | undefined {
  for (const [file, root] of [...roots].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!isSklearnEstimator(root)) continue;
    return describeEstimator(root, file);
  }
  return undefined;
}

function describeEstimator(est: PObject, file: string): SklearnSignature {
  const state = stateOf(est)!;
  const steps = asList(state.get('steps'))
    ?.map((s) => asTuple(s))
    .filter((t): t is PValue[] => t !== undefined && typeof t[0] === 'string')
    .map((t) => ({ name: t[0] as string, class: className(t[1]) ?? String(scalar(t[1])), est: t[1] }));
  // A Pipeline takes its input through its first step.
  const first = steps?.[0]?.est;
  const inputState = steps && isSklearnEstimator(first) ? stateOf(first)! : state;
  const nFeatures = asInt(inputState.get('n_features_in_') ?? state.get('n_features_in_')) ?? null;
  const names = arrayValues(inputState.get('feature_names_in_') ?? state.get('feature_names_in_'));
  const featureNames = names ? names.map(String) : null;
  const last = steps?.[steps.length - 1]?.est;
  const classes = arrayValues(
    state.get('classes_') ?? (isSklearnEstimator(last) ? stateOf(last)!.get('classes_') : undefined),
  );
  const version = scalar(state.get('_sklearn_version'));
  return {
    format: 'sklearn',
    file,
    class: className(est)!,
    ...(steps ? { steps: steps.map(({ name, class: c }) => ({ name, class: c })) } : {}),
    sklearn_version: typeof version === 'string' ? version : null,
    n_features_in: nFeatures,
    feature_names_in: featureNames,
    classes,
    features: featureNames
      ? featureNames.map((name) => ({ name, kind: featureKind(name, steps ? first : est) }))
      : null,
  };
}

/**
 * What a named feature accepts: a ColumnTransformer sends it to an encoder (any category values) or
 * to a numeric transformer; every other scikit-learn estimator needs numbers.
 */
function featureKind(name: string, inputEst: PValue | undefined): FeatureKind {
  const state = stateOf(inputEst);
  const transformers = asList(state?.get('transformers_'));
  if (!transformers) return 'number';
  for (const t of transformers) {
    const [, trans, cols] = asTuple(t) ?? [];
    const colNames = asList(cols) ?? arrayValues(cols) ?? (typeof cols === 'string' ? [cols] : []);
    if (!colNames.includes(name)) continue;
    if (trans === 'passthrough') return 'any';
    if (trans === 'drop') continue;
    const cls = className(trans)?.split('.').pop() ?? '';
    if (ENCODERS.has(cls)) return 'category';
    const inner = stateOf(trans)?.get('steps');
    if (inner && asList(inner)?.some((s) => ENCODERS.has(className(asTuple(s)?.[1])?.split('.').pop() ?? '')))
      return 'category';
    return 'number';
  }
  return 'any';
}

/** ONNX inputs as features: one per graph input (models converted from a DataFrame have one per column). */
export function onnxFeatures(sig: OnnxSignature): Feature[] | null {
  if (sig.inputs.length < 2) return null;
  return sig.inputs.map((i) => ({ name: i.name, kind: i.type === 'string' ? 'category' : 'number' }));
}
