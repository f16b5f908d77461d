import { gunzipSync, gzipSync } from 'node:zlib';
import * as semver from '../lib/semver.js';
import { IntegrityError } from '../errors.js';
import { currentFormatVersion } from '../registry/migrations.js';
import type { Registry } from '../registry/registry.js';
import { NAME_RE, STAGE_RE } from '../versions/refs.js';
import { ENV_NAME_RE, isEventList, isWebhookUrl } from '../webhooks/rules.js';

/**
 * A checkpoint: every shared table of the index after log entry `position`, so a new clone loads it
 * and replays only the entries after it. JSON, gzip-compressed:
 *
 *   {"format":"mlreg-checkpoint","formatVersion":1,"position":N,"registryFormat":6,
 *    "tables":{"artifacts":{"columns":["id","name",…],"rows":[[1,"fraud",…],…]},…}}
 *
 * Rows keep their ids, so the events' chain links and every reference stay as they were. A checkpoint
 * comes from the remote and is untrusted: only known tables and columns, only scalar values, names,
 * versions, stages and digests checked with the rules `add` and `promote` apply, foreign keys checked.
 */

export const CHECKPOINT_FORMAT = 'mlreg-checkpoint';
export const CHECKPOINT_FORMAT_VERSION = 1;
/** Bounds on what is read from a remote: compressed and inflated sizes. */
export const MAX_CHECKPOINT_BYTES = 256 << 20;
const MAX_INFLATED_BYTES = 1 << 30;

/** The shared tables, parents before children. Everything else in the index is local to a folder. */
export const SHARED_TABLES = [
  'config',
  'artifacts',
  'versions',
  'version_objects',
  'version_metrics',
  'version_params',
  'version_tags',
  'model_scans',
  'model_signatures',
  'lineage',
  'events',
  'stages',
  'deleted_versions',
  'dataset_profiles',
  'evaluations',
  'observations',
  'monitor_rules',
  'review_samples',
  'webhooks',
] as const;

function columnsOf(reg: Registry, table: string): string[] {
  return (reg.db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[]).map((c) => c.name);
}

function primaryKeyOrder(reg: Registry, table: string): string {
  const pk = (
    reg.db.prepare('SELECT name, pk FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk').all(table) as {
      name: string;
    }[]
  ).map((c) => `"${c.name}"`);
  return pk.length ? pk.join(', ') : 'rowid';
}

/** The shared state of the index (call inside a read or write transaction). */
export function dumpCheckpoint(reg: Registry, position: number): Buffer {
  const tables: Record<string, { columns: string[]; rows: unknown[][] }> = {};
  for (const t of SHARED_TABLES) {
    const columns = columnsOf(reg, t);
    const rows = reg.db
      .prepare(`SELECT ${columns.map((c) => `"${c}"`).join(', ')} FROM "${t}" ORDER BY ${primaryKeyOrder(reg, t)}`)
      .raw()
      .all() as unknown[][];
    tables[t] = { columns, rows };
  }
  const doc = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    position,
    registryFormat: currentFormatVersion(),
    tables,
  };
  return gzipSync(Buffer.from(JSON.stringify(doc), 'utf8'), { level: 6 });
}

function bad(what: string): IntegrityError {
  return new IntegrityError(`the remote checkpoint is not valid: ${what}`, {
    code: 'E_REMOTE_CHECKPOINT_INVALID',
    hint: 'Nothing was loaded from it. Check who writes to the remote; `mlreg remote status` shows what it holds.',
  });
}

const DIGEST_RE = /^[0-9a-f]{64}$/;
const cleanVersion = (v: unknown): boolean =>
  typeof v === 'string' && semver.valid(v) !== null && semver.clean(v) === v;
const stageOk = (v: unknown): boolean => v === null || (typeof v === 'string' && STAGE_RE.test(v) && v !== 'latest');

/** What each checked column must satisfy (the rules `add`, `promote` and `delete` apply to the same fields). */
const COLUMN_RULES: Record<string, Record<string, (v: unknown) => boolean>> = {
  artifacts: { name: (v) => typeof v === 'string' && NAME_RE.test(v) },
  versions: { version: cleanVersion, digest: (v) => typeof v === 'string' && DIGEST_RE.test(v) },
  version_objects: { digest: (v) => typeof v === 'string' && DIGEST_RE.test(v) },
  deleted_versions: { version: cleanVersion },
  stages: { stage: stageOk },
  events: { stage: stageOk, version: (v) => v === null || cleanVersion(v) },
  webhooks: {
    url: (v) => typeof v === 'string' && isWebhookUrl(v),
    events: (v) => typeof v === 'string' && isEventList(v),
    artifact: (v) => v === null || (typeof v === 'string' && NAME_RE.test(v)),
    secret_env: (v) => typeof v === 'string' && ENV_NAME_RE.test(v),
  },
};

/**
 * Load a checkpoint into an empty index, inside the caller's write transaction. Returns its position.
 * `expectPosition`: the number its key says.
 */
export function loadCheckpoint(reg: Registry, gz: Uint8Array, expectPosition: number): number {
  let doc: unknown;
  try {
    doc = JSON.parse(gunzipSync(gz, { maxOutputLength: MAX_INFLATED_BYTES }).toString('utf8'));
  } catch {
    throw bad('not gzip-compressed JSON of a bounded size');
  }
  if (typeof doc !== 'object' || doc === null) throw bad('not an object');
  const d = doc as Record<string, unknown>;
  if (d.format !== CHECKPOINT_FORMAT) throw bad('not an mlreg checkpoint');
  if (typeof d.formatVersion !== 'number' || d.formatVersion > CHECKPOINT_FORMAT_VERSION)
    throw new IntegrityError(
      `the remote checkpoint is format ${String(d.formatVersion)}, newer than this mlreg reads`,
      {
        code: 'E_REMOTE_FORMAT_TOO_NEW',
        hint: 'Upgrade mlreg (npm install -g mlreg@latest); nothing was changed.',
      },
    );
  if (d.position !== expectPosition) throw bad(`it says position ${String(d.position)}, its name ${expectPosition}`);
  if (typeof d.registryFormat !== 'number' || d.registryFormat > currentFormatVersion())
    throw new IntegrityError('the remote checkpoint was written by a newer mlreg (a newer index format)', {
      code: 'E_REMOTE_FORMAT_TOO_NEW',
      hint: 'Upgrade mlreg (npm install -g mlreg@latest); nothing was changed.',
    });
  const tables = d.tables;
  if (typeof tables !== 'object' || tables === null || Array.isArray(tables)) throw bad('no tables');
  for (const name of Object.keys(tables))
    if (!(SHARED_TABLES as readonly string[]).includes(name)) throw bad(`unknown table ${JSON.stringify(name)}`);
  reg.db.pragma('defer_foreign_keys = ON');
  for (const t of SHARED_TABLES) {
    const entry = (tables as Record<string, unknown>)[t];
    if (entry === undefined) continue;
    if (typeof entry !== 'object' || entry === null) throw bad(`table ${t} is not an object`);
    const { columns, rows } = entry as { columns?: unknown; rows?: unknown };
    const known = columnsOf(reg, t);
    if (
      !Array.isArray(columns) ||
      columns.length === 0 ||
      columns.some((c) => typeof c !== 'string' || !known.includes(c)) ||
      new Set(columns).size !== columns.length
    )
      throw bad(`table ${t} has unknown columns`);
    if (!Array.isArray(rows)) throw bad(`table ${t} has no rows`);
    const rules = COLUMN_RULES[t] ?? {};
    const checks = (columns as string[]).map((c) => rules[c]);
    const ins = reg.db.prepare(
      `INSERT INTO "${t}" (${(columns as string[]).map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
    );
    for (const row of rows) {
      if (!Array.isArray(row) || row.length !== columns.length) throw bad(`a row of ${t} does not match its columns`);
      row.forEach((v, i) => {
        if (v !== null && typeof v !== 'string' && typeof v !== 'number') throw bad(`a value in ${t} is not a scalar`);
        const check = checks[i];
        if (check && !check(v)) throw bad(`${t}.${columns[i]} holds ${JSON.stringify(v)?.slice(0, 80)}`);
      });
      try {
        ins.run(...(row as (string | number | null)[]));
      } catch (err) {
        throw bad(`a row of ${t} was refused by the index (${(err as Error).message})`);
      }
    }
  }
  const broken = reg.db.pragma('foreign_key_check') as unknown[];
  if (broken.length) throw bad(`${broken.length} rows refer to rows that are not there`);
  return expectPosition;
}
