/**
 * The plain data a pickle describes, as the reader rebuilds it without running anything: containers,
 * strings and numbers as themselves, every import as a `global`, every call or instantiation as an
 * `object` that only records which callable it names, with which arguments and state.
 */
export type PValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PBytes
  | PBigString
  | PList
  | PTuple
  | PDict
  | PSet
  | PGlobal
  | PObject
  | POpaque;

/** Bytes: kept when small (array data, nested payloads), else only their length. */
export interface PBytes {
  t: 'bytes';
  length: number;
  data?: Buffer;
}
/** A string too long to keep (skipped while streaming). */
export interface PBigString {
  t: 'bigstr';
  length: number;
}
export interface PList {
  t: 'list';
  items: PValue[];
}
export interface PTuple {
  t: 'tuple';
  items: PValue[];
}
export interface PDict {
  t: 'dict';
  entries: [PValue, PValue][];
}
export interface PSet {
  t: 'set' | 'frozenset';
  items: PValue[];
}
export interface PGlobal {
  t: 'global';
  module: string;
  name: string;
}
/** What a NumPy array holds, as far as it can be known without NumPy. */
export interface ArrayInfo {
  shape: number[];
  dtype: string;
  /** Decoded elements (object arrays, and numeric or string arrays small enough to keep). */
  values?: (string | number | bigint | boolean | null | PValue)[];
}
/** The result of calling or instantiating `cls` (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ). */
export interface PObject {
  t: 'object';
  cls: PValue;
  args: PValue[];
  kwargs?: PValue;
  /** What BUILD gave it (the __setstate__ argument, usually a dict). */
  state?: PValue;
  /** Items added by APPEND(S) / SETITEM(S) to a non-container (e.g. an OrderedDict). */
  items?: PValue[];
  entries?: [PValue, PValue][];
  array?: ArrayInfo;
}
/** Something the reader does not model: a persistent id, an out-of-band buffer, an extension code. */
export interface POpaque {
  t: 'opaque';
  what: string;
  id?: PValue;
}

export function isGlobal(v: PValue | undefined, module?: string, name?: string): v is PGlobal {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as PGlobal).t === 'global' &&
    (module === undefined || (v as PGlobal).module === module) &&
    (name === undefined || (v as PGlobal).name === name)
  );
}

export function isObjectOf(v: PValue | undefined, module: string | readonly string[], name: string): v is PObject {
  if (typeof v !== 'object' || v === null || (v as PObject).t !== 'object') return false;
  const cls = (v as PObject).cls;
  if (!isGlobal(cls)) return false;
  return (typeof module === 'string' ? cls.module === module : module.includes(cls.module)) && cls.name === name;
}

export function asTuple(v: PValue | undefined): PValue[] | undefined {
  return typeof v === 'object' && v !== null && (v as PTuple).t === 'tuple' ? (v as PTuple).items : undefined;
}

export function asList(v: PValue | undefined): PValue[] | undefined {
  return typeof v === 'object' && v !== null && (v as PList).t === 'list' ? (v as PList).items : undefined;
}

/** A dict's string-keyed entries as a Map (other keys are left out). */
export function dictOf(v: PValue | undefined): Map<string, PValue> | undefined {
  if (typeof v !== 'object' || v === null || (v as PDict).t !== 'dict') return undefined;
  const out = new Map<string, PValue>();
  for (const [k, val] of (v as PDict).entries) if (typeof k === 'string') out.set(k, val);
  return out;
}

export function asInt(v: PValue | undefined): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER))
    return Number(v);
  return undefined;
}
