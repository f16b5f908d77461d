import { availableParallelism } from 'node:os';
import { createReadStream, rmSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DiskError, InvalidInputError, type MlregError } from '../../errors.js';
import {
  csvHeader,
  type CsvDialect,
  NO_PROFILE_HINT,
  precheckFile,
  sniffCsvDialect,
  type TableSource,
} from '../formats.js';
import { assembleColumn, ProfilerInvariantError, type Row } from './assemble.js';
import {
  designPass,
  followUpSql,
  passSql,
  sampleSql,
  SAMPLE_ROWS,
  type FollowUps,
  type PassDesign,
  type SampleColumn,
} from './plan.js';
import { columnGroups, groupBudget, passColumnCost, sampleColumnCost } from './memory-plan.js';
import { writeSampleWindows } from './sample.js';
import {
  csvColumnTypes,
  nativeColumnTypes,
  quoteName,
  retype,
  widenableColumn,
  type ColumnTypes,
  type Retype,
} from './column-types.js';
import { BIN_COUNT, EXACT_ROWS, PROFILE_FORMAT, TOP_VALUES, type ColumnProfile, type Profile } from './types.js';
import { optionRef } from '../../lib/option-ref.js';

/**
 * Profile one table with DuckDB (loaded here, lazily: only `add dataset` and `check FILE` need it), in one
 * pass over the files on every core, with nothing loaded into a table:
 * 1. plan: column types (DuckDB's sniffer for CSV, the file's own types otherwise) and a small sample
 *    spread across the files (profile-sample.ts), which chooses how each column is counted
 *    (profile-plan.ts) and estimates the rows;
 * 2. the pass: one aggregate query whose every part is independent of the order rows reach it, so the
 *    same file always gives the same profile on any number of threads; a table too wide for one query
 *    within the memory limit is read once per group of columns (memory-plan.ts), with the same result;
 * 3. assemble (profile-assemble.ts), and in the rare case a column surprised the plan a follow-up pass
 *    over just what those columns need (FollowUps in profile-plan.ts).
 * A memory limit and a spill folder in tmp/ keep memory flat however large the table.
 */
export interface ProfileOptions {
  /** A fresh path in the registry's tmp/ (Registry.tempPath), named like every other temp file of this process. */
  tempPath(suffix: string): string;
  /** DuckDB's memory limit (peak RSS stays well under 500 MB for a 1 GB CSV); the column groups are planned from it. */
  memoryLimitMb?: number;
  /** At most this many columns per query (tests force a table into groups with it); by default the memory plan decides. */
  maxGroupColumns?: number;
  loadThreads?: number;
  /** A CSV's separator and decimal mark as the user gave them; what is not given is sniffed. */
  dialect?: CsvDialect;
}

/** CSV and TSV sources with their separator and decimal mark settled (TSV: tab and a point). */
async function withDialect(src: TableSource, given: CsvDialect = {}): Promise<TableSource> {
  if (src.format === 'tsv') return { ...src, delimiter: given.delimiter ?? '\t', decimal: given.decimal ?? '.' };
  if (src.format !== 'csv') return src;
  return { ...src, ...(await sniffCsvDialect(src.files[0]!, given)) };
}

/** The separator as a DuckDB string literal (E'\t' for a tab). */
function delimSql(src: Pick<TableSource, 'delimiter'>): string {
  const d = src.delimiter ?? ',';
  return d === '\t' ? "E'\\t'" : lit(d);
}

const NULL_STRINGS = ['', 'NA', 'N/A', 'NULL', 'null', 'None'];
/** Rows read for the plan when the spread sample cannot be used (Parquet, a JSON array, a sample that does not parse). */
const HEAD_ROWS = 20_000;

type Conn = Awaited<
  ReturnType<Awaited<ReturnType<typeof import('@duckdb/node-api').DuckDBInstance.create>>['connect']>
>;

/** DuckDB's memory limit unless the caller sets one. */
const MEMORY_LIMIT_MB = 256;

/** What every query of one profile shares: the connection and how many columns a query may take. */
interface Session {
  conn: Conn;
  /** Bytes of aggregate state one query may plan for. */
  budget: number;
  maxGroupColumns: number;
}

export async function profileTable(given: TableSource, opts: ProfileOptions): Promise<Profile> {
  for (const f of given.files) await precheckFile(f, given.format);
  const src = await withDialect(given, opts.dialect);
  const headers = src.format === 'csv' || src.format === 'tsv' ? await csvHeaders(src) : undefined;

  const { DuckDBInstance } = await import('@duckdb/node-api');
  const spill = opts.tempPath('duckdb-spill');
  const sampleFile = opts.tempPath(`sample.${src.format === 'ndjson' ? 'ndjson' : 'csv'}`);
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(opts.loadThreads ?? Math.min(4, availableParallelism())),
    memory_limit: `${opts.memoryLimitMb ?? MEMORY_LIMIT_MB}MB`,
    temp_directory: spill,
    // Nothing here depends on row order; LIMIT in the plan's fallback sample reads the first rows.
    preserve_insertion_order: 'true',
    // DuckDB's allocator (jemalloc) keeps what a query freed until a later allocation of the same thread
    // reuses it; its background threads hand it back to the system. Without them the type sniffer's memory
    // (~330 MB on a 2,000-column CSV) was still held when the plan's first sample queries added theirs (peak
    // RSS 412 MB on 2,000 columns × 20,000 rows; 336 MB with them, the same profile).
    allocator_background_threads: 'true',
  });
  const conn = await instance.connect();
  const session: Session = {
    conn,
    budget: groupBudget(opts.memoryLimitMb ?? MEMORY_LIMIT_MB),
    maxGroupColumns: opts.maxGroupColumns ?? Infinity,
  };
  try {
    if (!headers && src.files.length > 1) await sameSchemaEverywhere(conn, src);
    let types = await columnTypes(conn, src, headers);
    // A CSV value that does not fit its column's sniffed type makes that column text, and a text column
    // that holds only numbers becomes numeric; either way the plan starts again with the new types.
    for (let attempt = 0; ; attempt++) {
      const outcome = await profileOrRetype(session, src, types, sampleFile);
      if ('profile' in outcome) return outcome.profile;
      const next = attempt <= 2 * types.plans.length ? retype(types, outcome.retype) : undefined;
      if (next) {
        types = next;
        continue;
      }
      if ('toNumbers' in outcome.retype)
        throw new ProfilerInvariantError(`columns ${outcome.retype.toNumbers.join(', ')} kept changing type`);
      throw readError(outcome.cause, src);
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
    for (const path of [spill, sampleFile]) rmSync(path, { recursive: true, force: true });
  }
}

/** A profile, or the types the data contradicted (and the engine error that said so, for a column to widen). */
type Outcome = { profile: Profile } | { retype: Retype; cause?: unknown };

/** One attempt; a conversion error on a column that can still be widened comes back as a retype. */
async function profileOrRetype(
  session: Session,
  src: TableSource,
  types: ColumnTypes,
  sampleFile: string,
): Promise<Outcome> {
  try {
    return await profileOnce(session, src, types, sampleFile);
  } catch (err) {
    if (err instanceof ProfilerInvariantError || err instanceof InvalidInputError || err instanceof DiskError)
      throw err;
    rethrowResource(err);
    const i = widenableColumn(types, err);
    if (i !== undefined) return { retype: { toText: [i] }, cause: err };
    // DuckDB's own errors are about the data; anything else (a full disk, a bug) is not reworded as one.
    throw isEngineError(err) ? readError(err, src) : err;
  }
}

/** DuckDB reports its errors as "<Kind> Error: …" (Conversion, Invalid Input, IO, Parser …); Node's system errors read "ENOSPC: …". */
function isEngineError(err: unknown): boolean {
  return err instanceof Error && /^[A-Za-z ]*Error: /.test(err.message);
}

/**
 * DuckDB running out of its memory limit, or of disk for its spill files, is a fault of the machine's
 * resources, never of the data: a DiskError (exit 7), not "fix the file". Undefined for anything else.
 */
export function resourceError(err: unknown): DiskError | undefined {
  const msg = err instanceof Error ? err.message : '';
  const first = msg.split('\n')[0]!.replace(/^[A-Za-z ]*Error: /, '');
  if (/^Out of Memory Error: /.test(msg))
    return new DiskError(`profiling the table ran out of memory: ${first}`, {
      code: 'E_OUT_OF_MEMORY',
      hint:
        'Not a problem with the file: profiling it needed more memory than mlreg allows DuckDB. Nothing was stored. ' +
        `Store it without a profile (${optionRef('no-profile')}) and run \`mlreg profile NAME@VERSION\` later, and please report the table's shape (rows, columns, types).`,
      cause: err,
    });
  if (/No space left on device|disk is full|Could not write .* temporary/i.test(msg))
    return new DiskError(`profiling the table ran out of disk space for its temporary files: ${first}`, {
      code: 'E_NO_SPACE',
      hint: "Free some space on the device holding the registry (its tmp/ holds DuckDB's spill files) and run the command again; nothing was stored.",
      cause: err,
    });
  return undefined;
}

/** Throws the resource error `err` is, if it is one (for the places that otherwise fall back quietly). */
function rethrowResource(err: unknown): void {
  const r = resourceError(err);
  if (r) throw r;
}

async function profileOnce(
  session: Session,
  src: TableSource,
  typed: ColumnTypes,
  sampleFile: string,
): Promise<Outcome> {
  const { conn } = session;
  const from = reader(src, typed);
  const { sample, estimatedRows } = await planSample(session, src, typed, from, sampleFile);
  const numbersInSample = [...typed.maybeNumeric].filter(
    (i) => sample[i]!.nonMissing > 0 && sample[i]!.numeric === sample[i]!.nonMissing,
  );
  if (numbersInSample.length) return { retype: { toNumbers: numbersInSample } };
  const design = designPass(typed.plans, sample, estimatedRows, typed.maybeNumeric);
  // One query for a table that fits the memory limit; a wide one is read once per group of columns.
  const groups = columnGroups(
    design.columns.map((c) => passColumnCost(c, design, estimatedRows)),
    session.budget,
    session.maxGroupColumns,
  );
  const columns: ColumnProfile[] = [];
  let rowCount = 0;
  for (const group of groups) {
    // Each group's raw row (with its sampled values) is let go once its columns are assembled.
    const raw = await aggregateRow(conn, passSql(design, from, group));
    rowCount = Number(raw.rows);
    const numbers = group.filter((i) => {
      const nonMissing = Number(raw[`c${i}_nn`]);
      return design.columns[i]!.maybeNumeric && nonMissing > 0 && Number(raw[`c${i}_num`]) === nonMissing;
    });
    if (numbers.length) return { retype: { toNumbers: numbers } };
    if (rowCount === 0) await noRows(src, typed);
    columns.push(...(await assembleAll(conn, design, group, raw, rowCount, from)));
    if (groups.length > 1) releaseResults();
  }
  const engine = String((await firstRow(conn, 'SELECT version() AS v')).v);
  const exact = design.sampleRate === 1 || rowCount <= SAMPLE_ROWS;
  const profile: Profile = {
    format: PROFILE_FORMAT,
    table: {
      rows: rowCount,
      bytes: src.files.reduce((s, f) => s + f.size, 0),
      format: src.format,
      files: src.files.length,
      engine: `duckdb ${engine}`,
      sketch: {
        quantiles: exact ? 'exact' : 'sample',
        sampleRate: exact ? 1 : design.sampleRate,
        distinct: 'approx_count_distinct',
        topValues: TOP_VALUES,
        bins: BIN_COUNT,
        exactRows: EXACT_ROWS,
      },
    },
    columns,
  };
  return { profile };
}

/**
 * Frees the native memory of the DuckDB results let go so far. The bindings free a result only when
 * JavaScript's garbage collector finalizes its object, and V8 does not see that memory: a wide table's
 * groups, each holding tens of MB of sampled values in DuckDB's result, would pile up between two
 * collections that the small JavaScript heap rarely triggers (measured: RSS 300 → 510 MB over 7 groups
 * of 30 columns × 100,000 rows, with a 20 MB heap). @duckdb/node-api 1.5 has no call that frees a result
 * or a data chunk (its bindings destroy both only in finalizers), so after each group, one full collection
 * (without it, 2,000 columns × 20,000 rows peaked at 447 MB RSS instead of 336 MB).
 */
let collectGarbage: (() => void) | undefined;
function releaseResults(): void {
  if (!collectGarbage) {
    setFlagsFromString('--expose-gc');
    collectGarbage = runInNewContext('gc') as () => void;
  }
  collectGarbage();
}

/** A table with a header and no rows: why (a line too long to read, or none at all). */
async function noRows(src: TableSource, typed: ColumnTypes): Promise<never> {
  // DuckDB drops a row whose line is longer than max_line_size instead of failing: say so.
  if (typed.csv) {
    for (const f of src.files) {
      const long = await firstLongLine(f.abs, MAX_CSV_LINE_BYTES);
      if (long !== undefined)
        throw new InvalidInputError(
          `${f.path}: line ${long} is longer than ${MAX_CSV_LINE_BYTES / (1 << 20)} MiB, the most a CSV line may hold to be profiled`,
          { code: 'E_CSV_LINE_TOO_LONG', hint: `Split or shorten that field. ${NO_PROFILE_HINT}` },
        );
    }
  }
  throw new InvalidInputError(
    `${src.files.length === 1 ? src.files[0]!.path : 'the folder'} has ${typed.csv ? 'a header but ' : ''}no rows`,
    {
      code: 'E_NO_ROWS',
      hint: `A dataset needs at least one row. ${NO_PROFILE_HINT}`,
    },
  );
}

/** The columns of `group` assembled, after at most one follow-up pass for those that asked for one. */
async function assembleAll(
  conn: Conn,
  design: PassDesign,
  group: readonly number[],
  raw: Row,
  rowCount: number,
  from: string,
): Promise<ColumnProfile[]> {
  for (let round = 0; ; round++) {
    const labels = await numberLabels(conn, design, group, raw);
    const out = group.map((i) =>
      assembleColumn(design.columns[i]!, i, raw, rowCount, (x) => labels.get(x) ?? String(x)),
    );
    const f: FollowUps = { count: [], rescale: new Map(), collect: [], negatives: [] };
    out.forEach((a, k) => {
      const i = group[k]!;
      if (!('followUp' in a)) return;
      if (a.followUp.countValues) f.count.push(i);
      if (a.followUp.collectValues) f.collect.push(i);
      if (a.followUp.countNegatives) f.negatives.push(i);
      if (a.followUp.rescale) f.rescale.set(i, a.followUp.rescale);
    });
    if (!f.count.length && !f.collect.length && !f.negatives.length && !f.rescale.size)
      return out.map((a) => (a as { column: ColumnProfile }).column);
    if (round > 0) throw new ProfilerInvariantError('a column still needs a follow-up pass after one');
    Object.assign(
      raw,
      await aggregateRow(
        conn,
        followUpSql(
          design.columns.map((d) => d.plan),
          f,
          from,
        ),
      ),
    );
    const { count, rescale, collect, negatives } = f;
    for (const i of count) design.columns[i]!.strategy = 'counted';
    for (const i of [...rescale.keys(), ...collect, ...negatives]) raw[`c${i}_followed`] = true;
    for (const [i, sc] of rescale) design.columns[i]!.scales = sc;
  }
}

/**
 * Category labels of counted float columns as DuckDB writes them (CAST(x AS VARCHAR): "1.0", not "1"), so
 * a profile's categories read the same as DuckDB's own output and as every earlier profile.
 */
async function numberLabels(
  conn: Conn,
  design: PassDesign,
  group: readonly number[],
  raw: Row,
): Promise<Map<number, string>> {
  const keys = new Set<number>();
  group.forEach((i) => {
    const d = design.columns[i]!;
    if (d.strategy !== 'counted' || d.plan.base === 'string') return;
    const h = raw[`c${i}_h`];
    if (!Array.isArray(h) || h.length > TOP_VALUES) return;
    for (const e of h as { key: unknown }[]) {
      const x = Number(e.key);
      if (Number.isFinite(x)) keys.add(x);
    }
  });
  if (!keys.size) return new Map();
  const list = [...keys];
  const r = await firstRow(
    conn,
    `SELECT [CAST(x AS VARCHAR) FOR x IN [${list.map((x) => `CAST('${String(x)}' AS DOUBLE)`).join(', ')}]] AS s`,
  );
  return new Map(list.map((x, j) => [x, String((r.s as unknown[])[j])]));
}

/**
 * The plan's sample: statistics of a few thousand rows spread across the table, and the table's
 * estimated rows. CSV, TSV and NDJSON: slices of lines at even offsets (profile-sample.ts), or the whole
 * table when it is small; Parquet, a JSON array, or slices that do not parse: the first rows.
 */
async function planSample(
  session: Session,
  src: TableSource,
  typed: ColumnTypes,
  from: string,
  sampleFile: string,
): Promise<{ sample: SampleColumn[]; estimatedRows: number }> {
  const tableBytes = src.files.reduce((s, f) => s + f.size, 0);
  if (src.format === 'parquet') {
    const rowsInFiles = Number((await firstRow(session.conn, `SELECT count(*) AS n FROM ${from}`)).n);
    return {
      sample: await sampleStats(session, typed, `(SELECT * FROM ${from} LIMIT ${HEAD_ROWS})`).then((s) => s.columns),
      estimatedRows: rowsInFiles,
    };
  }
  const windows = await writeSampleWindows(src, sampleFile);
  if (!windows) {
    const whole = await sampleStats(session, typed, from);
    return { sample: whole.columns, estimatedRows: whole.rows };
  }
  try {
    const s = await sampleStats(
      session,
      typed,
      reader({ ...src, files: [{ path: 'sample', abs: sampleFile, size: 0 }] }, typed),
    );
    if (s.rows > 0)
      return { sample: s.columns, estimatedRows: Math.ceil((s.rows * tableBytes) / Math.max(1, windows.dataBytes)) };
  } catch (err) {
    // A slice that starts inside a quoted multi-line field (whose garbage may even look like a value of
    // the wrong type), or a JSON array: plan from the first rows; only the real pass changes a type.
    rethrowResource(err);
  }
  const head = await sampleStats(session, typed, `(SELECT * FROM ${from} LIMIT ${HEAD_ROWS})`);
  // Rows unknown: assume short ones (a high estimate only makes the numeric sample sparser; small tables are made exact afterwards).
  return {
    sample: head.columns,
    estimatedRows: head.rows < HEAD_ROWS ? head.rows : Math.max(head.rows, Math.ceil(tableBytes / 32)),
  };
}

async function sampleStats(
  session: Session,
  typed: ColumnTypes,
  from: string,
): Promise<{ rows: number; columns: SampleColumn[] }> {
  // Each exact distinct count takes a hash table of its own: a wide table's sample is read in groups of columns.
  const r: Row = {};
  const groups = columnGroups(
    typed.plans.map(() => sampleColumnCost()),
    session.budget,
    session.maxGroupColumns,
  );
  for (const group of groups) {
    Object.assign(r, await firstRow(session.conn, sampleSql(typed.plans, from, typed.maybeNumeric, group)));
    if (groups.length > 1) releaseResults();
  }
  const orNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  return {
    rows: Number(r.rows),
    columns: typed.plans.map((_, i) => ({
      nonMissing: Number(r[`c${i}_nn`]),
      distinct: Number(r[`c${i}_d`]),
      min: orNull(r[`c${i}_min`]),
      max: orNull(r[`c${i}_max`]),
      median: orNull(r[`c${i}_median`]),
      ...(typed.maybeNumeric.has(i) ? { numeric: Number(r[`c${i}_num`]) } : {}),
    })),
  };
}

/**
 * The one row of an aggregate query, with its lists of numbers (the sampled values, up to ~131,072 per
 * column) as Float64Arrays copied straight from DuckDB's vectors, without their NULLs: the row objects'
 * JSON would hold each list twice more, as JavaScript arrays, which is most of a wide table's memory. The
 * rest as JSON.
 */
async function aggregateRow(conn: Conn, sql: string): Promise<Row> {
  const { DuckDBListVector, DuckDBDoubleVector, JsonDuckDBValueConverter } = await import('@duckdb/node-api');
  const result = await conn.stream(sql);
  const names = result.deduplicatedColumnNames();
  const chunk = await result.fetchChunk();
  if (chunk?.rowCount !== 1) throw new ProfilerInvariantError('an aggregate query gave no row');
  const row: Row = {};
  names.forEach((name, j) => {
    const vec = chunk.getColumnVector(j);
    if (vec instanceof DuckDBListVector && vec.childVector instanceof DuckDBDoubleVector) {
      // A view of the row's slice of the child vector (no copy), or null for a NULL list.
      const items = vec.getItemVector(0);
      if (!items) {
        row[name] = null;
        return;
      }
      // A list of a table read whole holds a NULL for each missing value: dropped here.
      const values = new Float64Array(items.itemCount);
      let n = 0;
      for (let k = 0; k < values.length; k++) {
        const x = items.getItem(k);
        if (x !== null) values[n++] = x as number;
      }
      row[name] = n === values.length ? values : values.slice(0, n);
    } else row[name] = JsonDuckDBValueConverter(vec.getItem(0), vec.type, JsonDuckDBValueConverter);
  });
  return row;
}

async function firstRow(conn: Conn, sql: string): Promise<Row> {
  return (await rows(conn, sql))[0]!;
}

async function rows(conn: Conn, sql: string): Promise<Row[]> {
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJson() as Row[];
}

const q = quoteName;
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

async function csvHeaders(src: TableSource): Promise<string[]> {
  const delim = src.delimiter ?? ',';
  const first = await csvHeader(src.files[0]!, delim);
  for (const f of src.files.slice(1)) {
    const names = await csvHeader(f, delim);
    if (names.join('\u0000') !== first.join('\u0000')) {
      throw new InvalidInputError(
        `the parts of the folder do not share one schema: ${f.path} has columns [${names.join(', ')}] but ${src.files[0]!.path} has [${first.join(', ')}]`,
        {
          code: 'E_SCHEMA_MISMATCH',
          hint: `Every part of a folder dataset needs the same columns in the same order. ${NO_PROFILE_HINT}`,
        },
      );
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
      desc = await rows(conn, `DESCRIBE SELECT * FROM ${reader({ ...src, files: [f] }, undefined)}`);
    } catch (err) {
      throw readError(err, src);
    }
    const sig = desc.map((r) => `${r.column_name} ${r.column_type}`).join(', ');
    if (first === undefined) first = sig;
    else if (sig !== first) {
      throw new InvalidInputError(
        `the parts of the folder do not share one schema: ${f.path} has [${sig}] but ${src.files[0]!.path} has [${first}]`,
        {
          code: 'E_SCHEMA_MISMATCH',
          hint: `Every part of a folder dataset needs the same columns and types. ${NO_PROFILE_HINT}`,
        },
      );
    }
  }
}

/** The names and types a reader is told (a ColumnTypes value fits). */
interface CsvColumns {
  readonly names: readonly string[];
  readonly types: readonly string[];
}

const struct = (c: CsvColumns): string => `{${c.names.map((h, i) => `${lit(h)}: ${lit(c.types[i]!)}`).join(', ')}}`;

/** The longest CSV line read (DuckDB's max_line_size, given explicitly so the message can name it). */
export const MAX_CSV_LINE_BYTES = 2 << 20;

/**
 * DuckDB reads a CSV in buffers of 16 × max_line_size (32 MiB here), several in flight per thread, and over
 * a wide row they are most of the reader's memory: a bare count(*) of a 2,000-column file peaked at 232 MB
 * RSS with them, 118 MB with 4 MiB buffers, in the same time. A table of more columns than this is read
 * with the smaller buffers (what is read is the same); a narrower one as before.
 */
const WIDE_CSV_COLUMNS = 100;
const WIDE_CSV_BUFFER_BYTES = 2 * MAX_CSV_LINE_BYTES;
const csvBufferSql = (c: CsvColumns): string =>
  c.names.length > WIDE_CSV_COLUMNS ? `, buffer_size = ${WIDE_CSV_BUFFER_BYTES}` : '';

/** The 1-based number of the first line longer than `limit` bytes, read in a stream (memory stays flat). */
async function firstLongLine(path: string, limit: number): Promise<number | undefined> {
  let line = 1;
  let len = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(10, from);
      len += (nl === -1 ? chunk.length : nl) - from;
      if (len > limit) return line;
      if (nl === -1) break;
      line++;
      len = 0;
      from = nl + 1;
    }
  }
  return undefined;
}

function reader(
  src: Pick<TableSource, 'format' | 'files' | 'delimiter' | 'decimal'>,
  csv: CsvColumns | undefined,
): string {
  const list = `[${src.files.map((f) => lit(f.abs)).join(', ')}]`;
  switch (src.format) {
    case 'csv':
    case 'tsv': {
      const columns = struct(csv!);
      const decimal = src.decimal === ',' ? ", decimal_separator = ','" : '';
      return `read_csv(${list}, auto_detect = false, header = true, delim = ${delimSql(src)}${decimal}, quote = '"', escape = '"', strict_mode = true, max_line_size = ${MAX_CSV_LINE_BYTES}${csvBufferSql(csv!)}, columns = ${columns}, nullstr = [${NULL_STRINGS.map(lit).join(', ')}])`;
    }
    case 'ndjson':
      // With the types found once given back, the plan's sample and the pass read every value the same way.
      return csv
        ? `read_json(${list}, format = 'auto', columns = ${struct(csv)})`
        : `read_json(${list}, format = 'auto')`;
    case 'parquet':
      return `read_parquet(${list})`;
  }
}

/** DuckDB's parse errors, reduced to the file, the line and the reason (a resource error stays one). */
function readError(err: unknown, src: TableSource): MlregError {
  const resource = resourceError(err);
  if (resource) return resource;
  let msg = err instanceof Error ? err.message : String(err);
  for (const f of src.files) msg = msg.split(f.abs).join(f.path);
  msg = msg.replace(/^[A-Za-z ]*Error: /, '');
  const lines = msg.split('\n').map((l) => l.trim());
  const line = /on Line: (\d+)/.exec(msg)?.[1] ?? /in line (\d+)/.exec(msg)?.[1];
  const reason =
    lines.find((l) =>
      /^(Expected Number of Columns|Value with unterminated quote|Invalid unicode|Maximum line size|Could not convert)/.test(
        l,
      ),
    ) ??
    /(Malformed JSON[^\n]*)/.exec(msg)?.[1] ??
    lines[0]!;
  const file = /file\s*=\s*(\S+)/.exec(msg)?.[1] ?? (src.files.length === 1 ? src.files[0]!.path : undefined);
  const unicode = /unicode|utf-8/i.test(reason);
  return new InvalidInputError(
    `cannot read ${file ?? 'the dataset'} as ${src.format.toUpperCase()}${line ? `: line ${line}` : ''}: ${reason.replace(/\s+$/, '')}`,
    {
      code: unicode ? 'E_NOT_UTF8' : 'E_BAD_DATA_FILE',
      hint: unicode ? `Convert it to UTF-8 (e.g. iconv -f LATIN1 -t UTF-8). ${NO_PROFILE_HINT}` : NO_PROFILE_HINT,
      cause: err,
    },
  );
}

/** The column types to start from: the file's own, or for CSV the sniffer's. */
async function columnTypes(conn: Conn, src: TableSource, headers: string[] | undefined): Promise<ColumnTypes> {
  if (!headers) {
    let desc: Row[];
    try {
      desc = await rows(conn, `DESCRIBE SELECT * FROM ${reader(src, undefined)}`);
    } catch (err) {
      throw readError(err, src);
    }
    return nativeColumnTypes(
      desc.map((r) => String(r.column_name)),
      desc.map((r) => String(r.column_type)),
    );
  }
  const sniffed = await sniffCsvTypes(conn, src, headers);
  const types = csvColumnTypes(headers, sniffed, new Set());
  return { ...types, maybeNumeric: await emptyWhereSniffed(conn, src, headers, types.types) };
}

/** The sniffer's sample: DuckDB's default sample_size. */
const SNIFF_ROWS = 20_480;

/**
 * Text columns with no value in the rows the sniffer read: their type is a default, not evidence, so the
 * profile checks whether their values are numbers after all. (None when those rows cannot be read: the
 * pass then reports why.)
 */
async function emptyWhereSniffed(
  conn: Conn,
  src: TableSource,
  headers: readonly string[],
  types: readonly string[],
): Promise<Set<number>> {
  const text = types.flatMap((t, i) => (t === 'VARCHAR' ? [i] : []));
  if (!text.length) return new Set();
  try {
    const r = await firstRow(
      conn,
      `SELECT ${text.map((i) => `count(${q(headers[i]!)}) AS c${i}`).join(', ')} FROM (SELECT * FROM ${reader({ ...src, files: [src.files[0]!] }, { names: headers, types })} LIMIT ${SNIFF_ROWS})`,
    );
    return new Set(text.filter((i) => Number(r[`c${i}`]) === 0));
  } catch (err) {
    rethrowResource(err);
    return new Set();
  }
}

/** DuckDB's sniffed type per header column; text for all when the sniffer fails or disagrees with the header (the strict read then says why). */
async function sniffCsvTypes(conn: Conn, src: TableSource, headers: string[]): Promise<string[]> {
  const text = headers.map(() => 'VARCHAR');
  let desc: Row[];
  try {
    desc = await rows(
      conn,
      `DESCRIBE SELECT * FROM read_csv(${lit(src.files[0]!.abs)}, header = true, delim = ${delimSql(src)}${src.decimal === ',' ? ", decimal_separator = ','" : ''}, quote = '"', escape = '"', nullstr = [${NULL_STRINGS.map(lit).join(', ')}])`,
    );
  } catch (err) {
    rethrowResource(err);
    return text;
  }
  if (desc.length !== headers.length || desc.some((r, i) => String(r.column_name) !== headers[i])) return text;
  return desc.map((r) => (KNOWN_CSV_TYPES.test(String(r.column_type)) ? String(r.column_type) : 'VARCHAR'));
}

const KNOWN_CSV_TYPES =
  /^(BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|DOUBLE|FLOAT|DATE|TIME|TIMESTAMP|TIMESTAMP WITH TIME ZONE|VARCHAR)$/;
