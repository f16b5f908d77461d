import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hashFiles } from './hash-pool.js';
import { parseManifest } from './manifest.js';
import type { Registry } from '../registry/registry.js';
import { checkIndexSchema, checkIndexValues } from '../registry/index-check.js';
import { DIGEST_RE, hasObject, objectPath, readObject } from './objects.js';

/**
 * `mlreg verify`: prove the registry is intact, as a list of steps (like npm's `cacache verify`),
 * each problem naming the artifacts and versions it touches. The index checks are SQLite's own
 * (integrity_check, foreign_key_check over every table, whatever later migrations add); the object
 * check re-hashes every referenced object on every core. `quick` checks presence and sizes only.
 */

export interface AffectedVersion {
  name: string;
  version: string;
}

export type ProblemKind =
  | 'index-corrupt'
  | 'index-schema'
  | 'index-value'
  | 'foreign-key'
  | 'object-missing'
  | 'object-size'
  | 'object-corrupt'
  | 'object-unreadable'
  | 'manifest'
  | 'dangling';

export interface Problem {
  kind: ProblemKind;
  message: string;
  digest?: string;
  table?: string;
  affects: AffectedVersion[];
}

export interface VerifyStep {
  /** Stable identifier of the step (the function that ran it), e.g. `objects`. */
  id: string;
  name: string;
  ok: boolean;
  checked: number;
  problems: number;
  ms: number;
}

export interface VerifyReport {
  ok: boolean;
  quick: boolean;
  steps: VerifyStep[];
  problems: Problem[];
  objects: {
    referenced: number;
    bytes: number;
    hashedBytes: number;
    /**
     * On a replica: referenced objects this folder has not fetched (they live on the remote; not a
     * problem), and how many of them were checked there (`remote` option).
     */
    notLocal?: number;
    remoteChecked?: number;
  };
  /** Objects in objects/ that no version references: what `gc` would remove (not a problem). */
  unreferenced: { objects: number; bytes: number };
}

/** What every step returns: how many things it looked at and what it found wrong. */
export interface StepResult {
  checked: number;
  problems: Problem[];
}

/** The answer of a replica's remote about one object (see `VerifyOptions.replica`). */
export type RemoteObjectState = 'ok' | 'missing' | 'size' | 'corrupt';

export interface VerifyOptions {
  quick?: boolean;
  workers?: number | undefined;
  /**
   * The registry is a replica: an object not in objects/ is on the remote, reported as not local.
   * With `check`, each such object is checked there (present with its size; re-hashed unless quick).
   */
  replica?: { check?: (digest: string, size: number, hash: boolean) => Promise<RemoteObjectState> };
}

interface ReferencedObject {
  digest: string;
  size: number;
  /** How many distinct sizes version_objects gives it (more than one is a problem). */
  sizes: number;
}

/** What the steps share: the registry, the options, the referenced objects, and earlier findings. */
interface VerifyContext {
  reg: Registry;
  quick: boolean;
  workers: number | undefined;
  referenced: ReferencedObject[];
  /** Problems found by the steps so far (a later step skips what is already reported). */
  found: readonly Problem[];
  affects: (digest: string) => AffectedVersion[];
  /** Filled by the objects step. */
  bytes: { total: number; hashed: number };
  replica: VerifyOptions['replica'];
  remote: { notLocal: number; checked: number };
}

interface Step {
  id: string;
  name: (ctx: VerifyContext) => string;
  run: (ctx: VerifyContext) => StepResult | Promise<StepResult>;
}

/** The steps, in order: each is a named function returning `{checked, problems}`. */
const STEPS: readonly Step[] = [
  { id: 'index-integrity', name: () => 'index integrity (PRAGMA integrity_check)', run: checkIndexIntegrity },
  {
    id: 'index-schema',
    name: () => 'index schema is exactly its format (no extra trigger, view, table or index)',
    run: checkSchema,
  },
  { id: 'index-values', name: () => 'names, versions, stages and digests pass the rules of add', run: checkValues },
  { id: 'foreign-keys', name: () => 'foreign keys (PRAGMA foreign_key_check)', run: checkForeignKeys },
  {
    id: 'objects',
    name: (ctx) => (ctx.quick ? 'objects present with the right size' : 'objects present, right size, re-hashed'),
    run: checkObjects,
  },
  { id: 'manifests', name: () => 'version manifests readable and indexed', run: checkManifests },
  { id: 'digest-columns', name: () => 'digest columns point at referenced objects', run: checkDigestColumns },
];

export async function verifyRegistry(reg: Registry, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const affectedBy = reg.db.prepare(
    `SELECT DISTINCT a.name, v.version FROM version_objects o JOIN versions v ON v.id = o.version_id JOIN artifacts a ON a.id = v.artifact_id
     WHERE o.digest = ? ORDER BY a.name, v.id`,
  );
  const problems: Problem[] = [];
  const ctx: VerifyContext = {
    reg,
    quick: !!opts.quick,
    workers: opts.workers,
    referenced: reg.db
      .prepare(
        'SELECT digest, MAX(size) AS size, COUNT(DISTINCT size) AS sizes FROM version_objects GROUP BY digest ORDER BY digest',
      )
      .all() as ReferencedObject[],
    found: problems,
    affects: (digest) => affectedBy.all(digest) as AffectedVersion[],
    bytes: { total: 0, hashed: 0 },
    replica: opts.replica,
    remote: { notLocal: 0, checked: 0 },
  };
  const steps: VerifyStep[] = [];
  for (const step of STEPS) {
    const start = Date.now();
    const r = await step.run(ctx);
    problems.push(...r.problems);
    steps.push({
      id: step.id,
      name: step.name(ctx),
      ok: r.problems.length === 0,
      checked: r.checked,
      problems: r.problems.length,
      ms: Date.now() - start,
    });
  }
  const unreferenced = countUnreferenced(reg, new Set(ctx.referenced.map((r) => r.digest)));
  return {
    ok: problems.length === 0,
    quick: ctx.quick,
    steps,
    problems,
    objects: {
      referenced: ctx.referenced.length,
      bytes: ctx.bytes.total,
      hashedBytes: ctx.bytes.hashed,
      ...(opts.replica ? { notLocal: ctx.remote.notLocal, remoteChecked: ctx.remote.checked } : {}),
    },
    unreferenced,
  };
}

function checkIndexIntegrity({ reg }: VerifyContext): StepResult {
  const rows = reg.db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[];
  const problems: Problem[] = rows
    .filter((r) => r.integrity_check !== 'ok')
    .map((r) => ({ kind: 'index-corrupt', message: `mlreg.db: ${r.integrity_check}`, affects: [] }));
  return { checked: 1, problems };
}

function checkSchema({ reg }: VerifyContext): StepResult {
  const found = checkIndexSchema(reg.db);
  const problems: Problem[] = found.map((p) => ({
    kind: 'index-schema',
    table: p.table,
    message: `mlreg.db ${p.message}`,
    affects: [],
  }));
  return { checked: 1, problems };
}

/** Values that would become paths or names; skipped when the schema is already wrong (its columns may not exist). */
function checkValues(ctx: VerifyContext): StepResult {
  if (ctx.found.some((p) => p.kind === 'index-schema')) return { checked: 0, problems: [] };
  const problems: Problem[] = checkIndexValues(ctx.reg.db).map((p) => ({
    kind: 'index-value',
    table: p.table,
    message: `mlreg.db ${p.message}`,
    affects: [],
  }));
  return { checked: 1, problems };
}

function checkForeignKeys({ reg }: VerifyContext): StepResult {
  const rows = reg.db.prepare('PRAGMA foreign_key_check').all() as {
    table: string;
    rowid: number | null;
    parent: string;
    fkid: number;
  }[];
  const problems: Problem[] = rows.map((r) => ({
    kind: 'foreign-key',
    table: r.table,
    message: `${r.table} row ${r.rowid ?? '?'} points at a missing ${r.parent} row`,
    affects: [],
  }));
  const tables = (reg.db.prepare("SELECT COUNT(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as { n: number })
    .n;
  return { checked: tables, problems };
}

/** Every referenced object is present with the size the index gives it, and (unless quick) hashes to its name. */
async function checkObjects(ctx: VerifyContext): Promise<StepResult> {
  const { reg, affects } = ctx;
  const problems: Problem[] = [];
  const toHash: { digest: string; path: string; size: number }[] = [];
  for (const o of ctx.referenced) {
    ctx.bytes.total += o.size;
    if (!DIGEST_RE.test(o.digest)) {
      problems.push({
        kind: 'dangling',
        digest: o.digest,
        message: `version_objects holds ${JSON.stringify(o.digest)}, which is not a sha256 digest`,
        affects: affects(o.digest),
      });
      continue;
    }
    const path = objectPath(reg, o.digest);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      if (ctx.replica) {
        const p = await checkOnRemote(ctx, o);
        if (p) problems.push(p);
        continue;
      }
      problems.push({
        kind: 'object-missing',
        digest: o.digest,
        message: `object sha256:${o.digest} is missing`,
        affects: affects(o.digest),
      });
      continue;
    }
    if (o.sizes > 1 || size !== o.size) {
      problems.push({
        kind: 'object-size',
        digest: o.digest,
        message: `object sha256:${o.digest} has ${size} bytes; the index says ${o.size}`,
        affects: affects(o.digest),
      });
      continue;
    }
    toHash.push({ digest: o.digest, path, size });
  }
  if (!ctx.quick) {
    await hashFiles(
      toHash,
      (item, reply) => {
        if (reply.error !== undefined) {
          const kind = reply.error === 'ENOENT' ? 'object-missing' : 'object-unreadable';
          problems.push({
            kind,
            digest: item.digest,
            message: `object sha256:${item.digest} could not be read (${reply.error})`,
            affects: affects(item.digest),
          });
        } else if (reply.digest !== item.digest) {
          problems.push({
            kind: 'object-corrupt',
            digest: item.digest,
            message: `object sha256:${item.digest} is corrupt: its bytes hash to sha256:${reply.digest}`,
            affects: affects(item.digest),
          });
        }
        ctx.bytes.hashed += reply.size ?? 0;
      },
      { workers: ctx.workers },
    );
  }
  return { checked: ctx.referenced.length, problems };
}

/** A replica's object that is not local: on the remote (not a problem), and checked there when asked. */
async function checkOnRemote(ctx: VerifyContext, o: ReferencedObject): Promise<Problem | undefined> {
  ctx.remote.notLocal++;
  const check = ctx.replica?.check;
  if (!check) return undefined;
  const state = await check(o.digest, o.size, !ctx.quick);
  ctx.remote.checked++;
  if (state === 'ok') {
    if (!ctx.quick) ctx.bytes.hashed += o.size;
    return undefined;
  }
  const what =
    state === 'missing'
      ? 'is missing from the remote'
      : state === 'size'
        ? `does not have its ${o.size} bytes on the remote`
        : 'is corrupt on the remote: its bytes hash to something else';
  return {
    kind: state === 'missing' ? 'object-missing' : state === 'size' ? 'object-size' : 'object-corrupt',
    digest: o.digest,
    message: `object sha256:${o.digest} ${what}`,
    affects: ctx.affects(o.digest),
  };
}

/** Every version's manifest is readable, agrees with the index, and lists only objects the version references. */
async function checkManifests(ctx: VerifyContext): Promise<StepResult> {
  const { reg } = ctx;
  const problems: Problem[] = [];
  const versions = reg.db
    .prepare(
      'SELECT v.id, v.digest, v.file_count, a.name, v.version FROM versions v JOIN artifacts a ON a.id = v.artifact_id ORDER BY v.id',
    )
    .all() as {
    id: number;
    digest: string;
    file_count: number;
    name: string;
    version: string;
  }[];
  const objectsOf = reg.db.prepare('SELECT digest, size FROM version_objects WHERE version_id = ?');
  const broken = new Set(ctx.found.filter((p) => p.digest).map((p) => p.digest));
  for (const v of versions) {
    const who = [{ name: v.name, version: v.version }];
    if (broken.has(v.digest)) continue; // already reported as a bad object
    const listed = new Map((objectsOf.all(v.id) as { digest: string; size: number }[]).map((r) => [r.digest, r.size]));
    if (!listed.has(v.digest)) {
      problems.push({
        kind: 'dangling',
        digest: v.digest,
        message: `${v.name}@${v.version}: its manifest sha256:${v.digest} is not in version_objects (gc would remove it)`,
        affects: who,
      });
      continue;
    }
    // A replica reads a manifest it lacks from the remote; offline, a manifest not fetched yet is not checked.
    if (ctx.replica && !reg.fetchObject && !hasObject(reg, v.digest)) continue;
    let files: ReturnType<typeof parseManifest>['files'];
    try {
      files = parseManifest(await readObject(reg, v.digest), v.digest).files;
    } catch (err) {
      problems.push({
        kind: 'manifest',
        digest: v.digest,
        message: `${v.name}@${v.version}: manifest sha256:${v.digest} is unreadable (${(err as Error).message})`,
        affects: who,
      });
      continue;
    }
    if (files.length !== v.file_count)
      problems.push({
        kind: 'manifest',
        digest: v.digest,
        message: `${v.name}@${v.version}: the manifest lists ${files.length} files, the index ${v.file_count}`,
        affects: who,
      });
    for (const f of files) {
      if (listed.get(f.sha256) !== f.size) {
        problems.push({
          kind: 'dangling',
          digest: f.sha256,
          message: `${v.name}@${v.version}: file ${f.path} (sha256:${f.sha256}, ${f.size} bytes) is not in version_objects with that size`,
          affects: who,
        });
      }
    }
  }
  return { checked: versions.length, problems };
}

/**
 * Data-driven: any TEXT column named digest or *_digest in any table (profiles, evaluations…) must
 * name an object some version references, or gc would take its bytes.
 */
function checkDigestColumns({ reg }: VerifyContext): StepResult {
  const problems: Problem[] = [];
  const tables = reg.db
    .prepare(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT IN ('versions', 'version_objects', 'deleted_versions')",
    )
    .all() as { name: string }[];
  let checked = 0;
  for (const { name } of tables) {
    const cols = (reg.db.prepare('SELECT name FROM pragma_table_info(?)').all(name) as { name: string }[]).filter(
      (c) => c.name === 'digest' || c.name.endsWith('_digest'),
    );
    for (const { name: col } of cols) {
      const rows = reg.db
        .prepare(
          `SELECT DISTINCT t."${col}" AS digest FROM "${name}" t WHERE t."${col}" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM version_objects o WHERE o.digest = t."${col}")`,
        )
        .all() as { digest: string }[];
      checked++;
      for (const r of rows)
        problems.push({
          kind: 'dangling',
          table: name,
          digest: r.digest,
          message: `${name}.${col} names sha256:${r.digest}, which no version references`,
          affects: [],
        });
    }
  }
  return { checked, problems };
}

/** Every object file in objects/sha256, as digests with their sizes. */
export function* listObjectFiles(
  reg: Registry,
): Generator<{ digest: string; path: string; size: number; mtimeMs: number }> {
  const base = join(reg.objectsDir, 'sha256');
  let dirs: string[];
  try {
    dirs = readdirSync(base);
  } catch {
    return;
  }
  for (const d of dirs.sort()) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue;
    for (const f of readdirSync(join(base, d)).sort()) {
      const path = join(base, d, f);
      try {
        const st = statSync(path);
        if (st.isFile() && DIGEST_RE.test(d + f)) yield { digest: d + f, path, size: st.size, mtimeMs: st.mtimeMs };
      } catch {
        /* removed meanwhile */
      }
    }
  }
}

function countUnreferenced(reg: Registry, referenced: Set<string>): { objects: number; bytes: number } {
  let objects = 0;
  let bytes = 0;
  for (const o of listObjectFiles(reg)) {
    if (referenced.has(o.digest)) continue;
    objects++;
    bytes += o.size;
  }
  return { objects, bytes };
}
