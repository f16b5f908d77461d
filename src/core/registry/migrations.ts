import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** The SQL migrations shipped in `registry/migrations`, numbered 0001_name.sql upward. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

// Compiled to dist/src/core/migrations.js: the package root is three levels up.
const MIGRATIONS_DIR = fileURLToPath(new URL('../../../../registry/migrations/', import.meta.url));

let cached: Migration[] | undefined;

export function loadMigrations(): Migration[] {
  if (cached) return cached;
  const list = readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({
      version: Number(f.slice(0, 4)),
      name: f.replace(/\.sql$/, ''),
      sql: readFileSync(join(MIGRATIONS_DIR, f), 'utf8'),
    }));
  list.forEach((m, i) => {
    if (i > 0 && m.version <= list[i - 1]!.version) throw new Error(`migration ${m.name} repeats number ${m.version}`);
  });
  cached = list;
  return list;
}

/** The registry format this build writes: the number of the newest migration. */
export function currentFormatVersion(): number {
  return loadMigrations().at(-1)?.version ?? 0;
}
