import type { ColumnPlan } from './plan.js';

/**
 * The types a table's columns are read with, and the plans they give, as an immutable value. CSV:
 * DuckDB's sniffed type per column, integers read as DOUBLE (DuckDB's CSV reader would round a later
 * "1.5" into an integer column without a word; the pass tells whether every value was whole). Parquet
 * and NDJSON: the file's own types (NDJSON's given back to the reader, so the plan's sample reads the
 * same). When the data contradicts a type, the profiler gets a `Retype` back and `retype` makes the
 * next value; nothing is changed in place.
 */
export interface ColumnTypes {
  readonly csv: boolean;
  readonly names: readonly string[];
  /** The types the reader is told (CSV integers as DOUBLE). */
  readonly types: readonly string[];
  /** CSV columns (by name) read as DOUBLE and profiled as integers. */
  readonly integers: ReadonlySet<string>;
  /** CSV columns made text by a value that did not fit: never made numeric again. */
  readonly widened: ReadonlySet<number>;
  /** CSV columns sniffed as text because the sniffer saw no value in them: they may hold numbers. */
  readonly maybeNumeric: ReadonlySet<number>;
  readonly plans: readonly ColumnPlan[];
}

/** What the data said about the types: these columns are text after all, or numbers after all. */
export type Retype = { readonly toText: readonly number[] } | { readonly toNumbers: readonly number[] };

export const INTEGER_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;
const FLOAT_TYPES = /^(FLOAT|DOUBLE|REAL|DECIMAL.*)$/;

export const quoteName = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export function nativePlan(c: { name: string; type: string }): ColumnPlan {
  const col = quoteName(c.name);
  if (INTEGER_TYPES.test(c.type)) return { ...c, base: 'integer', expr: `CAST(${col} AS DOUBLE)` };
  if (FLOAT_TYPES.test(c.type)) return { ...c, base: 'numeric', expr: `CAST(${col} AS DOUBLE)` };
  if (c.type === 'BOOLEAN') return { ...c, base: 'boolean', expr: col };
  if (/^(DATE|TIMESTAMP.*|TIME)$/.test(c.type)) return { ...c, base: 'datetime', expr: col };
  return { ...c, base: 'string', expr: c.type === 'VARCHAR' ? col : `CAST(${col} AS VARCHAR)` };
}

/** Parquet and NDJSON: the file's own types, never retyped. */
export function nativeColumnTypes(names: readonly string[], types: readonly string[]): ColumnTypes {
  return {
    csv: false,
    names,
    types,
    integers: new Set(),
    widened: new Set(),
    maybeNumeric: new Set(),
    plans: names.map((name, i) => nativePlan({ name, type: types[i]! })),
  };
}

/** CSV: the sniffed types, integers read as DOUBLE. */
export function csvColumnTypes(
  names: readonly string[],
  sniffed: readonly string[],
  maybeNumeric: ReadonlySet<number>,
): ColumnTypes {
  return withPlans({
    csv: true,
    names,
    types: sniffed.map((t) => (INTEGER_TYPES.test(t) ? 'DOUBLE' : t)),
    integers: new Set(names.filter((_, i) => INTEGER_TYPES.test(sniffed[i]!))),
    widened: new Set(),
    maybeNumeric,
  });
}

function withPlans(t: Omit<ColumnTypes, 'plans'>): ColumnTypes {
  return {
    ...t,
    plans: t.names.map((name, i) => nativePlan({ name, type: t.integers.has(name) ? 'BIGINT' : t.types[i]! })),
  };
}

/** The column a DuckDB conversion error names, when it is one whose type can still be widened to text. */
export function widenableColumn(t: ColumnTypes, err: unknown): number | undefined {
  if (!t.csv) return undefined;
  const column = /converting column "((?:[^"]|"")*)"/
    .exec(err instanceof Error ? err.message : '')?.[1]
    ?.replace(/""/g, '"');
  const i = column === undefined ? -1 : t.names.indexOf(column);
  return i === -1 || t.types[i] === 'VARCHAR' ? undefined : i;
}

/**
 * The types after a retype, or undefined when it changes nothing (so the profiler never loops on
 * one): columns to text stay text; columns to numbers are read as numbers (integers unless a
 * fraction shows up), unless they were widened to text before.
 */
export function retype(t: ColumnTypes, r: Retype): ColumnTypes | undefined {
  if (!t.csv) return undefined;
  const types = [...t.types];
  const integers = new Set(t.integers);
  const widened = new Set(t.widened);
  const maybeNumeric = new Set(t.maybeNumeric);
  let changed = 0;
  if ('toText' in r) {
    for (const i of r.toText) {
      if (types[i] === undefined || types[i] === 'VARCHAR') continue;
      types[i] = 'VARCHAR';
      integers.delete(t.names[i]!);
      widened.add(i);
      changed++;
    }
  } else {
    for (const i of r.toNumbers) {
      if (types[i] !== 'VARCHAR' || widened.has(i)) continue;
      types[i] = 'DOUBLE';
      integers.add(t.names[i]!);
      maybeNumeric.delete(i);
      changed++;
    }
  }
  return changed ? withPlans({ csv: true, names: t.names, types, integers, widened, maybeNumeric }) : undefined;
}
