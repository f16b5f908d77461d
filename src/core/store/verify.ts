import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hashFiles } from './hash-pool.js';
import { parseManifest } from './manifest.js';
import type { Registry } from '../registry/registry.js';
import { DIGEST_RE, objectPath, readObject } from './objects.js';

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
  objects: { referenced: number; bytes: number; hashedBytes: number };
  /** Objects in objects/ that no version references: what `gc` would remove (not a problem). */
  unreferenced: { objects: number; bytes: number };
}

export async function verifyRegistry(
  reg: Registry,
  opts: { quick?: boolean; workers?: number } = {},
): Promise<VerifyReport> {
  const problems: Problem[] = [];
  const steps: VerifyStep[] = [];
  const step = async (name: string, fn: () => Promise<number> | number): Promise<void> => {
    const before = problems.length;
    const start = Date.now();
    const checked = await fn();
    steps.push({
      name,
      ok: problems.length === before,
      checked,
      problems: problems.length - before,
      ms: Date.now() - start,
    });
  };

  const affectedBy = reg.db.prepare(
    `SELECT DISTINCT a.name, v.version FROM version_objects o JOIN versions v ON v.id = o.version_id JOIN artifacts a ON a.id = v.artifact_id
     WHERE o.digest = ? ORDER BY a.name, v.id`,
  );
  const affects = (digest: string): AffectedVersion[] => affectedBy.all(digest) as AffectedVersion[];

  await step('index integrity (PRAGMA integrity_check)', () => {
    const rows = reg.db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[];
    for (const r of rows)
      if (r.integrity_check !== 'ok')
        problems.push({ kind: 'index-corrupt', message: `mlreg.db: ${r.integrity_check}`, affects: [] });
    return 1;
  });

  await step('foreign keys (PRAGMA foreign_key_check)', () => {
    const rows = reg.db.prepare('PRAGMA foreign_key_check').all() as {
      table: string;
      rowid: number | null;
      parent: string;
      fkid: number;
    }[];
    for (const r of rows) {
      problems.push({
        kind: 'foreign-key',
        table: r.table,
        message: `${r.table} row ${r.rowid ?? '?'} points at a missing ${r.parent} row`,
        affects: [],
      });
    }
    return (reg.db.prepare("SELECT COUNT(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as { n: number }).n;
  });

  const referenced = reg.db
    .prepare(
      'SELECT digest, MAX(size) AS size, COUNT(DISTINCT size) AS sizes FROM version_objects GROUP BY digest ORDER BY digest',
    )
    .all() as { digest: string; size: number; sizes: number }[];
  let bytes = 0;
  let hashedBytes = 0;
  await step(
    opts.quick ? 'objects present with the right size' : 'objects present, right size, re-hashed',
    async () => {
      const toHash: { digest: string; path: string; size: number }[] = [];
      for (const o of referenced) {
        bytes += o.size;
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
      if (!opts.quick) {
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
            hashedBytes += reply.size ?? 0;
          },
          { workers: opts.workers },
        );
      }
      return referenced.length;
    },
  );

  await step('version manifests readable and indexed', async () => {
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
    const broken = new Set(problems.filter((p) => p.digest).map((p) => p.digest));
    for (const v of versions) {
      const who = [{ name: v.name, version: v.version }];
      if (broken.has(v.digest)) continue; // already reported as a bad object
      const listed = new Map(
        (objectsOf.all(v.id) as { digest: string; size: number }[]).map((r) => [r.digest, r.size]),
      );
      if (!listed.has(v.digest)) {
        problems.push({
          kind: 'dangling',
          digest: v.digest,
          message: `${v.name}@${v.version}: its manifest sha256:${v.digest} is not in version_objects (gc would remove it)`,
          affects: who,
        });
        continue;
      }
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
    return versions.length;
  });

  await step('digest columns point at referenced objects', () => {
    // Data-driven: any TEXT column named digest or *_digest in any table (profiles, evaluations…)
    // must name an object some version references, or gc would take its bytes.
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
    return checked;
  });

  const unreferenced = countUnreferenced(reg, new Set(referenced.map((r) => r.digest)));
  return {
    ok: problems.length === 0,
    quick: !!opts.quick,
    steps,
    problems,
    objects: { referenced: referenced.length, bytes, hashedBytes },
    unreferenced,
  };
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
