import { availableParallelism } from 'node:os';
import { rmSync } from 'node:fs';
import { InvalidInputError } from '../errors.js';
import { csvHeader, NO_PROFILE_HINT, precheckFile, type TableSource } from './formats.js';
import {
  BIN_COUNT,
  EXACT_ROWS,
  MAX_COUNTED_DISTINCT,
  PROFILE_FORMAT,
  QUANTILE_LEVELS,
  TOP_VALUES,
  type CategoryProfile,
  type ColumnKind,
  type ColumnProfile,
  type Profile,
} from './profile-types.js';

/**
 * Profile one table with DuckDB (loaded here, lazily: only `add dataset` and `check FILE` need it).
 * The files are loaded once into an in-memory DuckDB table (several threads; row order is kept). The
 * statistics whose result depends on the order values are merged in (quantile and distinct sketches,
 * floating-point moments) are computed with ONE thread, so the same file always gives the same
 * profile; bins and value counts (integers) use every thread. A memory limit and a spill folder in
 * tmp/ keep memory flat however large the table.
 */
export interface ProfileOptions {
  /** A fresh path in the registry's tmp/ (Registry.tempPath), named like every other temp file of this process. */
  tempPath(suffix: string): string;
  memoryLimitMb?: number;
  loadThreads?: number;
}

/** Up to this many rows, quantiles are exact (quantile_cont); above, DuckDB's t-digest (approx_quantile). */
const EXACT_QUANTILE_ROWS = 100_000;
const NULL_STRINGS = ['', 'NA', 'N/A', 'NULL', 'null', 'None'];

type Conn = Awaited<ReturnType<Awaited<ReturnType<typeof import('@duckdb/node-api').DuckDBInstance.create>>['connect']>>;
type Row = Record<string, unknown>;

interface ColumnPlan {
  name: string;
  type: string;
  base: 'numeric' | 'integer' | 'boolean' | 'datetime' | 'string';
  /** SQL giving the typed value (DOUBLE for numbers, VARCHAR for strings) from table t. */
  expr: string;
}

export async function profileTable(src: TableSource, opts: ProfileOptions): Promise<Profile> {
  for (const f of src.files) await precheckFile(f, src.format);
  const headers = src.format === 'csv' || src.format === 'tsv' ? await csvHeaders(src) : undefined;

  const { DuckDBInstance } = await import('@duckdb/node-api');
  const spill = opts.tempPath('duckdb-spill');
  // In memory, spilling to tmp/ past the memory limit: nothing is written (or fsynced) unless it must be.
  const threads = opts.loadThreads ?? Math.min(4, availableParallelism());
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(threads),
    memory_limit: `${opts.memoryLimitMb ?? 256}MB`,
    temp_directory: spill,
    preserve_insertion_order: 'true',
  });
  const conn = await instance.connect();
  try {
    if (!headers && src.files.length > 1) await sameSchemaEverywhere(conn, src);
    const csvIntegers = await load(conn, src, headers);
    const described = (await rows(conn, 'DESCRIBE t')).map((r) => ({ name: String(r.column_name), type: String(r.column_type) }));
    const plans = described.map((c) => nativePlan(csvIntegers.has(c.name) ? { ...c, type: 'BIGINT' } : c));
    // The sketches (t-digest, HyperLogLog) and floating-point moments depend on the order values are
    // merged in: one thread, so the same file gives the same profile.
    await conn.run('SET threads = 1');
    const rowCount = Number((await rows(conn, 'SELECT count(*) AS n FROM t'))[0]!.n);
    if (rowCount === 0) {
      throw new InvalidInputError(`${src.files.length === 1 ? src.files[0]!.path : 'the folder'} has ${headers ? 'a header but ' : ''}no rows`, {
        code: 'E_NO_ROWS',
        hint: `A dataset needs at least one row. ${NO_PROFILE_HINT}`,
      });
    }
    const engine = String((await rows(conn, 'SELECT version() AS v'))[0]!.v);
    const exactQuantiles = rowCount <= EXACT_QUANTILE_ROWS;
    const stats = (await rows(conn, `SELECT ${plans.map((p, i) => statsSql(p, i, exactQuantiles)).join(', ')} FROM ${valuesOf(plans)}`))[0]!;
    const firstPass = plans.map((p, i) => firstPassColumn(p, i, stats, rowCount));
    // Bins, value counts and sorted values are integers and ordered lists: the same on any number of threads.
    await conn.run(`SET threads = ${threads}`);
    const second = secondPassSql(firstPass, plans, rowCount);
    const counts = second.length ? (await rows(conn, `SELECT ${second.join(', ')} FROM ${valuesOf(plans)}`))[0]! : {};
    const columns = firstPass.map((c, i) => finishColumn(c, i, counts, rowCount));
    return {
      format: PROFILE_FORMAT,
      table: {
        rows: rowCount,
        bytes: src.files.reduce((s, f) => s + f.size, 0),
        format: src.format,
        files: src.files.length,
        engine: `duckdb ${engine}`,
        sketch: { quantiles: exactQuantiles ? 'exact' : 'approx_quantile', distinct: 'approx_count_distinct', threads: 1, topValues: TOP_VALUES, bins: BIN_COUNT, exactRows: EXACT_ROWS },
      },
      columns,
    };
  } finally {
    conn.closeSync();
    instance.closeSync();
    rmSync(spill, { recursive: true, force: true });
  }
}

async function rows(conn: Conn, sql: string): Promise<Row[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJson() as Row[];
}

const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

async function csvHeaders(src: TableSource): Promise<string[]> {
  const delim = src.format === 'tsv' ? '\t' : ',';
  const first = await csvHeader(src.files[0]!, delim);
  for (const f of src.files.slice(1)) {
    const names = await csvHeader(f, delim);
    if (names.join('\u0000') !== first.join('\u0000')) {
      throw new InvalidInputError(`the parts of the folder do not share one schema: ${f.path} has columns [${names.join(', ')}] but ${src.files[0]!.path} has [${first.join(', ')}]`, {
        code: 'E_SCHEMA_MISMATCH',
        hint: `Every part of a folder dataset needs the same columns in the same order. ${NO_PROFILE_HINT}`,
      });
    }
  }
  return first;
}

/** Parquet and NDJSON parts: compare each part's columns and types with the first part's. */
async function sameSchemaEverywhere(conn: Conn, src: TableSource): Promise<void> {
  let first: string | undefined;
  for (const f of src.files) {
    let desc: Row[];
    try {
      desc = await rows(conn, `DESCRIBE SELECT * FROM ${reader({ format: src.format, files: [f] }, undefined)}`);
    } catch (err) {
      throw readError(err, src);
    }
    const sig = desc.map((r) => `${r.column_name} ${r.column_type}`).join(', ');
    if (first === undefined) first = sig;
    else if (sig !== first) {
      throw new InvalidInputError(`the parts of the folder do not share one schema: ${f.path} has [${sig}] but ${src.files[0]!.path} has [${first}]`, {
        code: 'E_SCHEMA_MISMATCH',
        hint: `Every part of a folder dataset needs the same columns and types. ${NO_PROFILE_HINT}`,
      });
    }
  }
}

interface CsvColumns {
  names: string[];
  types: string[];
}

function reader(src: Pick<TableSource, 'format' | 'files'>, csv: CsvColumns | undefined): string {
  const list = `[${src.files.map((f) => lit(f.abs)).join(', ')}]`;
  switch (src.format) {
    case 'csv':
    case 'tsv': {
      const columns = `{${csv!.names.map((h, i) => `${lit(h)}: ${lit(csv!.types[i]!)}`).join(', ')}}`;
      const delim = src.format === 'tsv' ? '\\t' : ',';
      return `read_csv(${list}, auto_detect = false, header = true, delim = E'${delim}', quote = '"', escape = '"', strict_mode = true, columns = ${columns}, nullstr = [${NULL_STRINGS.map(lit).join(', ')}])`;
    }
    case 'ndjson':
      return `read_json(${list}, format = 'auto')`;
    case 'parquet':
      return `read_parquet(${list})`;
  }
}

/** DuckDB's parse errors, reduced to the file, the line and the reason. */
function readError(err: unknown, src: TableSource): InvalidInputError {
  let msg = err instanceof Error ? err.message : String(err);
  for (const f of src.files) msg = msg.split(f.abs).join(f.path);
  msg = msg.replace(/^[A-Za-z ]*Error: /, '');
  const lines = msg.split('\n').map((l) => l.trim());
  const line = /on Line: (\d+)/.exec(msg)?.[1] ?? /in line (\d+)/.exec(msg)?.[1];
  const reason =
    lines.find((l) => /^(Expected Number of Columns|Value with unterminated quote|Invalid unicode|Maximum line size|Could not convert)/.test(l)) ??
    /(Malformed JSON[^\n]*)/.exec(msg)?.[1] ??
    lines[0]!;
  const file = /file\s*=\s*(\S+)/.exec(msg)?.[1] ?? (src.files.length === 1 ? src.files[0]!.path : undefined);
  const unicode = /unicode|utf-8/i.test(reason);
  return new InvalidInputError(`cannot read ${file ?? 'the dataset'} as ${src.format.toUpperCase()}${line ? `: line ${line}` : ''}: ${reason.replace(/\s+$/, '')}`, {
    code: unicode ? 'E_NOT_UTF8' : 'E_BAD_DATA_FILE',
    hint: unicode ? `Convert it to UTF-8 (e.g. iconv -f LATIN1 -t UTF-8). ${NO_PROFILE_HINT}` : NO_PROFILE_HINT,
    cause: err,
  });
}

const INTEGER_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;
const FLOAT_TYPES = /^(FLOAT|DOUBLE|REAL|DECIMAL.*)$/;

function nativePlan(c: { name: string; type: string }): ColumnPlan {
  const col = q(c.name);
  if (INTEGER_TYPES.test(c.type)) return { ...c, base: 'integer', expr: `CAST(${col} AS DOUBLE)` };
  if (FLOAT_TYPES.test(c.type)) return { ...c, base: 'numeric', expr: `CAST(${col} AS DOUBLE)` };
  if (c.type === 'BOOLEAN') return { ...c, base: 'boolean', expr: col };
  if (/^(DATE|TIMESTAMP.*|TIME)$/.test(c.type)) return { ...c, base: 'datetime', expr: col };
  return { ...c, base: 'string', expr: c.type === 'VARCHAR' ? col : `CAST(${col} AS VARCHAR)` };
}

/**
 * Load the files into table t; returns the CSV columns sniffed as integers. CSV is read with OUR dialect
 * (header, RFC 4180 quotes, strict rows), so a ragged row or a broken quote is an error naming its line;
 * column types come from DuckDB's sniffer, and a value later in the file that does not fit its column's
 * sniffed type makes that column text and the load runs again, so types hold for every value, not just the
 * sample. Integer columns are read as DOUBLE because DuckDB's CSV reader would round a later "1.5" into
 * an integer column without a word; the statistics pass then tells whether every value was whole.
 */
async function load(conn: Conn, src: TableSource, headers: string[] | undefined): Promise<Set<string>> {
  if (!headers) {
    try {
      await conn.run(`CREATE TABLE t AS SELECT * FROM ${reader(src, undefined)}`);
    } catch (err) {
      throw readError(err, src);
    }
    return new Set();
  }
  const sniffed = await sniffCsvTypes(conn, src, headers);
  const integers = new Set(headers.filter((_, i) => INTEGER_TYPES.test(sniffed[i]!)));
  const types = sniffed.map((t) => (INTEGER_TYPES.test(t) ? 'DOUBLE' : t));
  for (let attempt = 0; ; attempt++) {
    try {
      await conn.run(`CREATE OR REPLACE TABLE t AS SELECT * FROM ${reader(src, { names: headers, types })}`);
      return integers;
    } catch (err) {
      const column = /converting column "((?:[^"]|"")*)"/.exec(err instanceof Error ? err.message : '')?.[1]?.replace(/""/g, '"');
      const i = column === undefined ? -1 : headers.indexOf(column);
      if (i === -1 || types[i] === 'VARCHAR' || attempt > headers.length) throw readError(err, src);
      types[i] = 'VARCHAR';
      integers.delete(column!);
    }
  }
}

/** DuckDB's sniffed type per header column; text for all when the sniffer fails or disagrees with the header (the strict read then says why). */
async function sniffCsvTypes(conn: Conn, src: TableSource, headers: string[]): Promise<string[]> {
  const text = headers.map(() => 'VARCHAR');
  let desc: Row[];
  try {
    desc = await rows(conn, `DESCRIBE SELECT * FROM read_csv(${lit(src.files[0]!.abs)}, header = true, delim = E'${src.format === 'tsv' ? '\\t' : ','}', quote = '"', escape = '"', nullstr = [${NULL_STRINGS.map(lit).join(', ')}])`);
  } catch {
    return text;
  }
  if (desc.length !== headers.length || desc.some((r, i) => String(r.column_name) !== headers[i])) return text;
  return desc.map((r) => (KNOWN_CSV_TYPES.test(String(r.column_type)) ? String(r.column_type) : 'VARCHAR'));
}

const KNOWN_CSV_TYPES = /^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|DOUBLE|FLOAT|DATE|TIME|TIMESTAMP|TIMESTAMP WITH TIME ZONE|VARCHAR)$/;

/**
 * The typed value of every column once (v0, v1, …) and, for numbers, the finite value or NULL (f0, …):
 * the moments, quantiles and bins are over finite values, and computing that once per row instead of
 * in a FILTER per aggregate halves the time of the statistics pass.
 */
function valuesOf(plans: ColumnPlan[]): string {
  const cols = plans.flatMap((p, i) => {
    const v = `${p.expr} AS v${i}`;
    return p.base === 'numeric' || p.base === 'integer' ? [v, `CASE WHEN isfinite(${p.expr}) THEN ${p.expr} END AS f${i}`] : [v];
  });
  return `(SELECT ${cols.join(', ')} FROM t) AS s`;
}

function statsSql(p: ColumnPlan, i: number, exactQuantiles: boolean): string {
  const v = `v${i}`;
  const f = `f${i}`;
  const common = [`count(${v}) AS c${i}_nn`, `approx_count_distinct(${v}) AS c${i}_d`];
  switch (p.base) {
    case 'numeric':
    case 'integer': {
      const levels = `[${QUANTILE_LEVELS.join(', ')}]`;
      return [
        ...common,
        `count(*) FILTER (WHERE isnan(${v})) AS c${i}_nan`,
        `count(*) FILTER (WHERE isinf(${v})) AS c${i}_inf`,
        `count(${f}) AS c${i}_n`,
        `avg(${f}) AS c${i}_mean`,
        `var_pop(${f}) AS c${i}_vp`,
        `min(${f}) AS c${i}_min`,
        `max(${f}) AS c${i}_max`,
        `sum(${f}) AS c${i}_sum`,
        `count(*) FILTER (WHERE ${v} < 0) AS c${i}_neg`,
        ...(p.base === 'integer' ? [`count(*) FILTER (WHERE ${f} <> trunc(${f})) AS c${i}_frac`] : []),
        `${exactQuantiles ? 'quantile_cont' : 'approx_quantile'}(${f}, ${levels}) AS c${i}_q`,
      ].join(', ');
    }
    case 'datetime':
      return [...common, `CAST(min(${v}) AS VARCHAR) AS c${i}_min`, `CAST(max(${v}) AS VARCHAR) AS c${i}_max`].join(', ');
    case 'string':
      return [...common, `min(length(${v})) AS c${i}_lmin`, `max(length(${v})) AS c${i}_lmax`].join(', ');
    case 'boolean':
      return common.join(', ');
  }
}

const num = (v: unknown): number => (v === null || v === undefined ? NaN : Number(v));

function firstPassColumn(p: ColumnPlan, i: number, s: Row, rowCount: number): ColumnProfile {
  // A CSV column sniffed as integers that holds a fraction further down is a float column (see load).
  if (p.base === 'integer' && num(s[`c${i}_frac`]) > 0) Object.assign(p, { type: 'DOUBLE', base: 'numeric' });
  const nn = num(s[`c${i}_nn`]);
  const nan = p.base === 'numeric' || p.base === 'integer' ? num(s[`c${i}_nan`]) : 0;
  const inf = p.base === 'numeric' || p.base === 'integer' ? num(s[`c${i}_inf`]) : 0;
  const missing = rowCount - nn + nan;
  const count = rowCount - missing;
  // HyperLogLog can overshoot on nearly unique columns; a count above the values seen is never right.
  const distinct = Math.min(num(s[`c${i}_d`]), count);
  let kind: ColumnKind;
  if (count === 0) kind = 'empty';
  else if (p.base === 'numeric' || p.base === 'integer') kind = 'numeric';
  else if (p.base === 'boolean') kind = 'boolean';
  else if (p.base === 'datetime') kind = 'datetime';
  else kind = distinct <= MAX_COUNTED_DISTINCT && (distinct <= 20 || distinct <= 0.5 * count) ? 'categorical' : 'text';
  const col: ColumnProfile = { name: p.name, type: p.type, kind, count, missing, missingRate: missing / rowCount, nan, inf, distinct };
  if (kind === 'numeric') {
    const n = num(s[`c${i}_n`]);
    if (n > 0) {
      const mean = num(s[`c${i}_mean`]);
      const m2 = num(s[`c${i}_vp`]) * n;
      const min = num(s[`c${i}_min`]);
      const max = num(s[`c${i}_max`]);
      const qs = (s[`c${i}_q`] as unknown[]).map(num);
      col.numeric = {
        n,
        mean,
        m2,
        std: n > 1 ? Math.sqrt(m2 / (n - 1)) : 0,
        min,
        max,
        sum: num(s[`c${i}_sum`]),
        negatives: num(s[`c${i}_neg`]),
        quantiles: { p: [...QUANTILE_LEVELS], x: qs },
        bins: { edges: [], counts: [] },
      };
    }
  } else if (kind === 'datetime') col.datetime = { min: String(s[`c${i}_min`]), max: String(s[`c${i}_max`]) };
  else if (kind === 'text' || kind === 'categorical') col.text = { minLength: num(s[`c${i}_lmin`]), maxLength: num(s[`c${i}_lmax`]) };
  return col;
}

function wantsCounts(c: ColumnProfile, rowCount: number): boolean {
  if (c.kind === 'categorical' || c.kind === 'boolean') return true;
  if (c.kind === 'numeric') return c.distinct <= TOP_VALUES;
  return c.kind === 'text' && rowCount <= EXACT_ROWS;
}

function secondPassSql(cols: ColumnProfile[], plans: ColumnPlan[], rowCount: number): string[] {
  const out: string[] = [];
  cols.forEach((c, i) => {
    const p = plans[i]!;
    const f = `f${i}`;
    if (c.numeric) {
      const { min, max } = c.numeric;
      const w = (max - min) / BIN_COUNT;
      if (w > 0) out.push(`histogram(least(CAST(floor((${f} - (${min})) / (${w})) AS INTEGER), ${BIN_COUNT - 1})) AS h${i}`);
      if (rowCount <= EXACT_ROWS) out.push(`list(${f} ORDER BY ${f}) FILTER (WHERE ${f} IS NOT NULL) AS v${i}`);
    }
    if (wantsCounts(c, rowCount)) {
      const x = c.kind === 'numeric' ? f : `v${i}`;
      const label = p.base === 'integer' ? `CAST(CAST(${x} AS BIGINT) AS VARCHAR)` : `CAST(${x} AS VARCHAR)`;
      out.push(`histogram(${label}) AS k${i}`);
    }
  });
  return out;
}

function mapEntries(v: unknown): [string, number][] {
  if (!Array.isArray(v)) return [];
  return (v as { key: unknown; value: unknown }[]).map((e) => [String(e.key), Number(e.value)]);
}

function finishColumn(c: ColumnProfile, i: number, r: Row, rowCount: number): ColumnProfile {
  if (c.numeric) {
    const { min, max, n } = c.numeric;
    const w = (max - min) / BIN_COUNT;
    if (w > 0) {
      const counts = new Array<number>(BIN_COUNT).fill(0);
      for (const [k, v] of mapEntries(r[`h${i}`])) counts[Number(k)] = v;
      c.numeric.bins = { edges: Array.from({ length: BIN_COUNT + 1 }, (_, j) => (j === BIN_COUNT ? max : min + j * w)), counts };
    } else c.numeric.bins = { edges: [min, max], counts: [n] };
    if (r[`v${i}`] !== undefined) c.exact = { values: (r[`v${i}`] as unknown[]).map(num) };
  }
  if (r[`k${i}`] !== undefined) {
    const entries = mapEntries(r[`k${i}`]).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    c.distinct = entries.length;
    if (c.kind !== 'text') c.categories = categories(entries);
    if (rowCount <= EXACT_ROWS) c.exact = { ...c.exact, counts: entries };
  }
  return c;
}

function categories(entries: [string, number][]): CategoryProfile {
  const top = entries.slice(0, TOP_VALUES);
  const other = entries.slice(TOP_VALUES).reduce((s, e) => s + e[1], 0);
  return { top, other, allowed: entries.length <= TOP_VALUES ? entries.map((e) => e[0]).sort() : null };
}
