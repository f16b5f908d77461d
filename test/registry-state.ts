import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * A fingerprint of everything a registry holds: every row of every table and every file under
 * objects/. Tests take it before and after a refused command to prove nothing changed.
 */
export function registryState(root: string): { tables: Record<string, unknown[]>; objects: string[] } {
  const db = new Database(join(root, 'mlreg.db'), { readonly: true, fileMustExist: true });
  try {
    const names = (
      db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .all() as { name: string }[]
    ).map((r) => r.name);
    const tables: Record<string, unknown[]> = {};
    for (const n of names) tables[n] = db.prepare(`SELECT * FROM "${n}"`).all();
    return { tables, objects: listFiles(join(root, 'objects')) };
  } finally {
    db.close();
  }
}

function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(join(dir, e.name), rel));
    else out.push(rel);
  }
  return out.sort();
}
