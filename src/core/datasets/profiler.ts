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
 * Nothing is loaded into a DuckDB table (past the memory limit it would spill to disk): a CSV is parsed
 * once into a Parquet copy in tmp/ (see openTable; NDJSON too, Parquet is read as it is), and every
 * pass aggregates straight over that. Two DuckDB instances:
 * 1. on every thread, the statistics that do not depend on the order values are merged in (counts,
 *    min/max, NaN/inf/negatives, HyperLogLog distinct counts, whose registers merge by max), while at
 *    the same time, on a one-thread instance, the order-dependent ones (floating-point moments and sums,
 *    t-digest quantiles) see the rows in file order, so the same file always gives the same profile;
 * 2. then, on every thread, bins and value counts (integers), which need pass 1's min/max and kinds
 *    (the one-thread pass goes on meanwhile).
 * A memory limit and a spill folder in tmp/ per instance keep memory flat however large the table.
 */
export interface ProfileOptions {
  /** A fresh path in the registry's tmp/ (Registry.tempPath), named like every other temp file of this process. */
  tempPath(suffix: string): string;
  /** Of the parallel DuckDB instance; the one-thread instance gets half (both run at once: peak RSS stays well under 500 MB for a 1 GB CSV). */
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
  /** SQL giving the typed value (DOUBLE for numbers, VARCHAR for strings) from the reader. */
  expr: string;
}

export async function profileTable(src: TableSource, opts: ProfileOptions): Promise<Profile> {
  for (const f of src.files) await precheckFile(f, src.format);
  const headers = src.format === 'csv' || src.format === 'tsv' ? await csvHeaders(src) : undefined;

  const { DuckDBInstance } = await import('@duckdb/node-api');
  const spills = [opts.tempPath('duckdb-spill'), opts.tempPath('duckdb-spill')];
  const columnar = opts.tempPath('profile.parquet');
  const threads = opts.loadThreads ?? Math.min(4, availableParallelism());
  const settings = (n: number, spill: string, mb: number): Record<string, string> => ({
    threads: String(n),
    memory_limit: `${mb}MB`,
    temp_directory: spill,
    // The Parquet copy keeps the rows in file order, so the one-thread pass sees them in the same order every time.
    preserve_insertion_order: 'true',
  });
  const memoryMb = opts.memoryLimitMb ?? 192;
  const parallel = await DuckDBInstance.create(':memory:', settings(threads, spills[0]!, memoryMb));
  const serial = await DuckDBInstance.create(':memory:', settings(1, spills[1]!, Math.round(memoryMb / 2)));
  const conn = await parallel.connect();
  const serialConn = await serial.connect();
  try {
    if (!headers && src.files.length > 1) await sameSchemaEverywhere(conn, src);
    const { from, plans, rowCount } = await openTable(conn, src, headers, columnar);
    if (rowCount === 0) {
      throw new InvalidInputError(`${src.files.length === 1 ? src.files[0]!.path : 'the folder'} has ${headers ? 'a header but ' : ''}no rows`, {
        code: 'E_NO_ROWS',
        hint: `A dataset needs at least one row. ${NO_PROFILE_HINT}`,
      });
    }
    const engine = String((await rows(conn, 'SELECT version() AS v'))[0]!.v);
    const exactQuantiles = rowCount <= EXACT_QUANTILE_ROWS;
    const numbers = plans.flatMap((p, i) => (p.base === 'numeric' || p.base === 'integer' ? [i] : []));
    const values = valuesOf(plans, from);
    // The one-thread pass runs alongside both parallel passes (it needs nothing from them).
    const [moments, { base, counts }] = await both(
      numbers.length ? rows(serialConn, `SELECT ${numbers.map((i) => momentsSql(i, exactQuantiles)).join(', ')} FROM ${values}`).then((r) => r[0]!) : Promise.resolve({}),
      (async () => {
        const stats = (await rows(conn, `SELECT ${plans.map((p, i) => statsSql(p, i)).join(', ')} FROM ${values}`))[0]!;
        const base = plans.map((p, i) => firstPassColumn(p, i, stats, rowCount));
        return { base, counts: await countPass(conn, base, plans, rowCount, values) };
      })(),
    ).catch((err: unknown) => {
      throw err instanceof InvalidInputError ? err : readError(err, src);
    });
    const columns = base.map((c, i) => finishColumn(addMoments(c, i, moments), i, counts, rowCount));
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
    serialConn.closeSync();
    parallel.closeSync();
    serial.closeSync();
    for (const path of [...spills, columnar]) rmSync(path, { recursive: true, force: true });
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

/** Both results; when one fails, the other is waited for (a connection must not close under a running query), then the first error is thrown. */
async function both<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

/**
 * The table to profile: its reader expression, column plans and row count. A CSV is parsed ONCE, into an
 * uncompressed Parquet copy in tmp/ (every thread; the rows keep their order), which the passes then read
 * at a fraction of the cost of parsing the text again. It is read with OUR dialect (header, RFC 4180
 * quotes, strict rows), so a ragged row or a broken quote is an error naming its line; column types come
 * from DuckDB's sniffer, and a value later in the file that does not fit its column's sniffed type makes
 * that column text and the copy runs again, so types hold for every value, not just the sample. Integer
 * columns are read as DOUBLE because DuckDB's CSV reader would round a later "1.5" into an integer column
 * without a word; the statistics pass then tells whether every value was whole. NDJSON is copied the
 * same way; Parquet is read as it is.
 */
async function openTable(conn: Conn, src: TableSource, headers: string[] | undefined, columnar: string): Promise<{ from: string; plans: ColumnPlan[]; rowCount: number }> {
  if (!headers) {
    const from = reader(src, undefined);
    try {
      const plans = (await rows(conn, `DESCRIBE SELECT * FROM ${from}`)).map((r) => nativePlan({ name: String(r.column_name), type: String(r.column_type) }));
      if (src.format === 'parquet') return { from, plans, rowCount: Number((await rows(conn, `SELECT count(*) AS n FROM ${from}`))[0]!.n) };
      // NDJSON: parsed once too (the column types above are the JSON reader's, the values the same).
      const copied = await rows(conn, `COPY (SELECT * FROM ${from}) TO ${lit(columnar)} (FORMAT parquet, COMPRESSION uncompressed)`);
      return { from: `read_parquet(${lit(columnar)})`, plans, rowCount: Number(copied[0]!.Count) };
    } catch (err) {
      throw readError(err, src);
    }
  }
  const sniffed = await sniffCsvTypes(conn, src, headers);
  const integers = new Set(headers.filter((_, i) => INTEGER_TYPES.test(sniffed[i]!)));
  const types = sniffed.map((t) => (INTEGER_TYPES.test(t) ? 'DOUBLE' : t));
  for (let attempt = 0; ; attempt++) {
    try {
      const copied = await rows(conn, `COPY (SELECT * FROM ${reader(src, { names: headers, types })}) TO ${lit(columnar)} (FORMAT parquet, COMPRESSION uncompressed)`);
      const plans = headers.map((name, i) => nativePlan({ name, type: integers.has(name) ? 'BIGINT' : types[i]! }));
      return { from: `read_parquet(${lit(columnar)})`, plans, rowCount: Number(copied[0]!.Count) };
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
function valuesOf(plans: ColumnPlan[], from: string): string {
  const cols = plans.flatMap((p, i) => {
    const v = `${p.expr} AS v${i}`;
    return p.base === 'numeric' || p.base === 'integer' ? [v, `CASE WHEN isfinite(${p.expr}) THEN ${p.expr} END AS f${i}`] : [v];
  });
  return `(SELECT ${cols.join(', ')} FROM ${from}) AS s`;
}

/** Pass 1: what does not depend on the order values are merged in (any number of threads). */
function statsSql(p: ColumnPlan, i: number): string {
  const v = `v${i}`;
  const f = `f${i}`;
  const common = [`count(${v}) AS c${i}_nn`, `approx_count_distinct(${v}) AS c${i}_d`];
  switch (p.base) {
    case 'numeric':
    case 'integer':
      return [
        ...common,
        `count_if(isnan(${v})) AS c${i}_nan`,
        `count_if(isinf(${v})) AS c${i}_inf`,
        `count(${f}) AS c${i}_n`,
        `min(${f}) AS c${i}_min`,
        `max(${f}) AS c${i}_max`,
        `count_if(${v} < 0) AS c${i}_neg`,
        ...(p.base === 'integer' ? [`count_if(${f} <> trunc(${f})) AS c${i}_frac`] : []),
      ].join(', ');
    case 'datetime':
      return [...common, `CAST(min(${v}) AS VARCHAR) AS c${i}_min`, `CAST(max(${v}) AS VARCHAR) AS c${i}_max`].join(', ');
    case 'string':
      return [...common, `min(length(${v})) AS c${i}_lmin`, `max(length(${v})) AS c${i}_lmax`].join(', ');
    case 'boolean':
      return common.join(', ');
  }
}

/** Pass 2, one thread: floating-point sums and the t-digest depend on the order values are merged in. */
function momentsSql(i: number, exactQuantiles: boolean): string {
  const f = `f${i}`;
  const levels = `[${QUANTILE_LEVELS.join(', ')}]`;
  return [`avg(${f}) AS m${i}_mean`, `var_pop(${f}) AS m${i}_vp`, `sum(${f}) AS m${i}_sum`, `${exactQuantiles ? 'quantile_cont' : 'approx_quantile'}(${f}, ${levels}) AS m${i}_q`].join(', ');
}

function addMoments(c: ColumnProfile, i: number, m: Row): ColumnProfile {
  if (!c.numeric) return c;
  const { n } = c.numeric;
  const m2 = num(m[`m${i}_vp`]) * n;
  Object.assign(c.numeric, {
    mean: num(m[`m${i}_mean`]),
    m2,
    std: n > 1 ? Math.sqrt(m2 / (n - 1)) : 0,
    sum: num(m[`m${i}_sum`]),
    quantiles: { p: [...QUANTILE_LEVELS], x: (m[`m${i}_q`] as unknown[]).map(num) },
  });
  return c;
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
      // mean, m2, std, sum and quantiles come from the one-thread pass (addMoments); the keys are set here to keep their order.
      col.numeric = {
        n,
        mean: NaN,
        m2: NaN,
        std: NaN,
        min: num(s[`c${i}_min`]),
        max: num(s[`c${i}_max`]),
        sum: NaN,
        negatives: num(s[`c${i}_neg`]),
        quantiles: { p: [], x: [] },
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

/**
 * Pass 3: bins (hN: bin index) and value counts (kN: the value as text) as ONE grouped query with a
 * grouping set per key, which costs about half of DuckDB's histogram() aggregate over the same keys;
 * plus, for tables of at most EXACT_ROWS rows, the sorted values (vN). Counts are integers: the same
 * on any number of threads. Returns the row finishColumn reads: key/value lists per alias, like histogram().
 */
async function countPass(conn: Conn, cols: ColumnProfile[], plans: ColumnPlan[], rowCount: number, values: string): Promise<Row> {
  const keys: { alias: string; expr: string }[] = [];
  const lists: string[] = [];
  cols.forEach((c, i) => {
    const p = plans[i]!;
    const f = `f${i}`;
    if (c.numeric) {
      const { min, max } = c.numeric;
      const w = (max - min) / BIN_COUNT;
      if (w > 0) keys.push({ alias: `h${i}`, expr: `least(CAST(floor((${f} - (${min})) / (${w})) AS INTEGER), ${BIN_COUNT - 1})` });
      if (rowCount <= EXACT_ROWS) lists.push(`list(${f} ORDER BY ${f}) FILTER (WHERE ${f} IS NOT NULL) AS v${i}`);
    }
    if (wantsCounts(c, rowCount)) {
      const x = c.kind === 'numeric' ? f : `v${i}`;
      keys.push({ alias: `k${i}`, expr: p.base === 'integer' ? `CAST(CAST(${x} AS BIGINT) AS VARCHAR)` : `CAST(${x} AS VARCHAR)` });
    }
  });
  const out: Row = lists.length ? (await rows(conn, `SELECT ${lists.join(', ')} FROM ${values}`))[0]! : {};
  if (!keys.length) return out;
  const aliases = keys.map((k) => k.alias);
  const grouped = await rows(
    conn,
    `SELECT ${aliases.join(', ')}, ${aliases.map((a) => `grouping(${a}) AS g_${a}`).join(', ')}, count(*) AS n FROM (SELECT ${keys.map((k) => `${k.expr} AS ${k.alias}`).join(', ')} FROM ${values}) GROUP BY GROUPING SETS (${aliases.map((a) => `(${a})`).join(', ')})`,
  );
  for (const a of aliases) out[a] = [];
  for (const r of grouped) {
    // grouping(a) = 0 marks the set the row belongs to; a NULL key (missing value, or no bin) is not counted, like histogram().
    const a = aliases.find((x) => Number(r[`g_${x}`]) === 0)!;
    if (r[a] !== null) (out[a] as { key: unknown; value: unknown }[]).push({ key: r[a], value: r.n });
  }
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
