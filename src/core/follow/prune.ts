import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fromSystemError } from '../errors.js';

/**
 * `follow --keep N`: keep the N most recently materialised version folders of DIR/versions and
 * remove the others. The version served and the one before it (a rollback's target) are never
 * removed, whatever N. The stamp that lets a folder be reused goes first, so a folder removed
 * halfway is never taken for a complete one.
 */
export function pruneVersions(dir: string, keep: number, protect: readonly (string | null)[]): string[] {
  const versionsDir = join(dir, 'versions');
  let names: string[];
  try {
    names = readdirSync(versionsDir).filter((n) => !n.startsWith('.'));
  } catch (err) {
    throw fromSystemError(err, 'serving folder');
  }
  const kept = new Set(protect.filter((v): v is string => v !== null));
  const others = names
    .filter((n) => !kept.has(n))
    .map((n) => {
      try {
        return { name: n, at: statSync(join(versionsDir, n)).mtimeMs };
      } catch {
        return { name: n, at: 0 };
      }
    })
    .sort((a, b) => b.at - a.at || (a.name < b.name ? 1 : -1));
  const room = Math.max(0, keep - kept.size);
  const removed: string[] = [];
  for (const { name } of others.slice(room)) {
    try {
      rmSync(join(versionsDir, `.${name}.mlreg-stamp`), { force: true });
      rmSync(join(versionsDir, name), { recursive: true, force: true });
      removed.push(name);
    } catch (err) {
      throw fromSystemError(err, 'serving folder (pruning old versions)');
    }
  }
  return removed;
}
