import Database from 'better-sqlite3';
import { IntegrityError } from '../errors.js';
import { NAME_RE, STAGE_RE } from '../versions/refs.js';
import { isValidVersionString } from '../versions/version-plan.js';
import { DIGEST_RE } from '../store/objects.js';
import { ENV_NAME_RE, isEventList, isWebhookUrl } from '../webhooks/rules.js';
import { loadMigrations } from './migrations.js';
import { parseManifest } from '../store/manifest.js';
import type { Db } from './db.js';

/**
 * An index that came from outside (a restored backup, a folder copied in by hand) is input, not
 * truth. Its schema must be exactly the one its format's migrations create (no trigger, view, table
 * or index beyond them: a trigger would run on the next write), and every value that later becomes a
 * path or a name (artifact names, version strings, stages, digests) must pass the rules `add` and
 * `promote` apply. Used by restore, `backup verify` and `verify`.
 */

export interface IndexProblem {
  /** 'schema' for a difference of schema, else the table holding the value. */
  table: string;
  /** The row (its rowid or key) holding the value, when it is a value. */
  row?: string;
  column?: string;
  value?: string;
  message: string;
}

interface SchemaRow {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

// Tables SQLite itself may add (ANALYZE statistics): not part of the format, and harmless.
const SQLITE_OWN = new Set(['sqlite_sequence', 'sqlite_stat1', 'sqlite_stat4']);
const expectedCache = new Map<number, Map<string, SchemaRow>>();

/** SQL as stored in sqlite_schema, without comments and with whitespace collapsed: an edited comment in a migration is no schema change. */
function normaliseSql(sql: string | null): string {
  return (sql ?? '')
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\s+/g, ' ')
    .replace(/\s*([(),])\s*/g, '$1')
    .trim();
}

function schemaOf(db: Db): Map<string, SchemaRow> {
  const rows = db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema').all() as SchemaRow[];
  const out = new Map<string, SchemaRow>();
  for (const r of rows) {
    if (r.type === 'table' && SQLITE_OWN.has(r.name)) continue;
    out.set(`${r.type} ${r.name}`, { ...r, sql: normaliseSql(r.sql) });
  }
  return out;
}

/** The schema the migrations up to `format` create, read back from a fresh in-memory database (never stale). */
export function expectedSchema(format: number): Map<string, SchemaRow> {
  const cached = expectedCache.get(format);
  if (cached) return cached;
  const db = new Database(':memory:');
  try {
    for (const m of loadMigrations()) if (m.version <= format) db.exec(m.sql);
    const schema = schemaOf(db);
    expectedCache.set(format, schema);
    return schema;
  } finally {
    db.close();
  }
}

/** Differences between the index's schema and the exact schema of the format its user_version claims. */
export function checkIndexSchema(db: Db): IndexProblem[] {
  const format = db.pragma('user_version', { simple: true }) as number;
  const known = loadMigrations().map((m) => m.version);
  if (!known.includes(format))
    return [{ table: 'schema', value: String(format), message: `its user_version ${format} is no registry format` }];
  const want = expectedSchema(format);
  const have = schemaOf(db);
  const problems: IndexProblem[] = [];
  for (const [key, row] of have) {
    const w = want.get(key);
    if (!w)
      problems.push({
        table: 'schema',
        value: row.name,
        message: `has a ${row.type} ${JSON.stringify(row.name)} (on ${row.tbl_name}) that format ${format} does not have`,
      });
    else if (w.sql !== row.sql || w.tbl_name !== row.tbl_name)
      problems.push({
        table: 'schema',
        value: row.name,
        message: `defines ${row.type} ${JSON.stringify(row.name)} otherwise than format ${format}: ${row.sql?.slice(0, 200)}`,
      });
  }
  for (const [key, row] of want)
    if (!have.has(key))
      problems.push({
        table: 'schema',
        value: row.name,
        message: `lacks the ${row.type} ${JSON.stringify(row.name)} of format ${format} (user_version ${format} disagrees with its tables)`,
      });
  return problems;
}

type Rule = (value: string) => boolean;
const isName: Rule = (v) => NAME_RE.test(v);
const isStage: Rule = (v) => STAGE_RE.test(v);
const isVersion: Rule = (v) => isValidVersionString(v);
const isDigest: Rule = (v) => DIGEST_RE.test(v);
const isEnvName: Rule = (v) => ENV_NAME_RE.test(v);

/** [table, column, rule, what] for every value that becomes a path or a name. */
const VALUE_RULES: readonly [string, string, Rule, string][] = [
  ['artifacts', 'name', isName, 'an artifact name'],
  ['versions', 'version', isVersion, 'a semantic version'],
  ['versions', 'digest', isDigest, 'a sha256 digest'],
  ['version_objects', 'digest', isDigest, 'a sha256 digest'],
  ['stages', 'stage', isStage, 'a stage name'],
  ['events', 'stage', isStage, 'a stage name'],
  ['events', 'version', isVersion, 'a semantic version'],
  ['events', 'from_version', isVersion, 'a semantic version'],
  ['deleted_versions', 'version', isVersion, 'a semantic version'],
  ['deleted_versions', 'digest', isDigest, 'a sha256 digest'],
  ['observations', 'version', isVersion, 'a semantic version'],
  ['observations', 'stage', isStage, 'a stage name'],
  ['monitor_rules', 'stage', isStage, 'a stage name'],
  ['review_samples', 'version', isVersion, 'a semantic version'],
  ['review_samples', 'stage', isStage, 'a stage name'],
  // A webhook sends registry events, signed, to its URL: a restored index must not point them elsewhere
  // than an http(s) URL, nor name something other than an environment variable for the secret.
  ['webhooks', 'url', isWebhookUrl, 'an http(s) URL without a password'],
  ['webhooks', 'events', isEventList, 'a list of webhook events'],
  ['webhooks', 'artifact', isName, 'an artifact name'],
  ['webhooks', 'secret_env', isEnvName, 'the name of an MLREG_WEBHOOK_ variable'],
];

/** How many bad values are listed before the check stops (one is enough to refuse). */
const MAX_VALUE_PROBLEMS = 20;

/** Every name, version, stage and digest in the index, against the rules that let it in. Run after checkIndexSchema. */
export function checkIndexValues(db: Db): IndexProblem[] {
  const tables = new Set(
    (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all() as string[]).map(String),
  );
  const problems: IndexProblem[] = [];
  for (const [table, column, ok, what] of VALUE_RULES) {
    if (!tables.has(table)) continue;
    const hasRowid = !(db.prepare('SELECT sql FROM sqlite_schema WHERE name = ?').pluck().get(table) as string)
      .toUpperCase()
      .includes('WITHOUT ROWID');
    const rows = db
      .prepare(
        `SELECT ${hasRowid ? 'rowid' : "'?'"} AS row, "${column}" AS value FROM "${table}" WHERE "${column}" IS NOT NULL`,
      )
      .raw()
      .iterate() as IterableIterator<[number | string, unknown]>;
    for (const [row, value] of rows) {
      if (typeof value === 'string' && ok(value)) continue;
      problems.push({
        table,
        row: String(row),
        column,
        value: String(value),
        message: `${table} row ${row}: ${column} ${JSON.stringify(value)} is not ${what}`,
      });
      if (problems.length >= MAX_VALUE_PROBLEMS) return problems;
    }
  }
  return problems;
}

/** Both checks; empty when the index may be used. */
export function checkHostileIndex(db: Db): IndexProblem[] {
  const schema = checkIndexSchema(db);
  return schema.length ? schema : checkIndexValues(db);
}

export function hostileIndexError(where: string, problems: readonly IndexProblem[], hint: string): IntegrityError {
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return new IntegrityError(`${where}: its index ${first.message}${more}`, {
    code: 'E_HOSTILE_INDEX',
    hint,
    details: { problems },
  });
}

/**
 * Every version's manifest (when `read` has its bytes) parses, and each file path stays inside the
 * folder it is checked out into (the rules `add` applies: relative, no "..", no empty part).
 */
export function checkManifestPaths(
  db: Db,
  read: (digest: string) => Buffer | undefined,
  /** The archive a manifest was read from when it is not the index's own (a base backup), named in the message. */
  heldBy: (digest: string) => string | undefined = () => undefined,
): IndexProblem[] {
  const versions = db
    .prepare('SELECT v.id, v.digest, v.version, a.name FROM versions v JOIN artifacts a ON a.id = v.artifact_id')
    .all() as { id: number; digest: string; version: string; name: string }[];
  const problems: IndexProblem[] = [];
  for (const v of versions) {
    const bytes = read(v.digest);
    if (bytes === undefined) continue;
    try {
      parseManifest(bytes, v.digest);
    } catch (err) {
      problems.push({
        table: 'versions',
        row: String(v.id),
        column: 'digest',
        value: v.digest,
        message: `versions row ${v.id} (${v.name}@${v.version})${heldBy(v.digest) ? `, its manifest held by ${heldBy(v.digest)}` : ''}: ${(err as Error).message}`,
      });
      if (problems.length >= MAX_VALUE_PROBLEMS) break;
    }
  }
  return problems;
}
