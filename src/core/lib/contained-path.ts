import { isAbsolute, relative, resolve } from 'node:path';
import { IntegrityError } from '../errors.js';

/**
 * Defence in depth for every writer of paths built from index values (version strings, manifest
 * paths): whatever the checks upstream let through, the resolved path must stay inside `dir`.
 * A value that would leave it means the index was tampered with: an integrity error (exit 5).
 */
export function containedPath(dir: string, ...parts: string[]): string {
  const base = resolve(dir);
  const full = resolve(base, ...parts);
  const rel = relative(base, full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw new IntegrityError(
      `refusing to write ${JSON.stringify(parts.join('/'))}: it resolves to ${full}, outside ${base}`,
      {
        code: 'E_PATH_ESCAPE',
        hint: 'The registry index holds a value no mlreg command writes: run `mlreg verify`, and restore the registry from a good backup.',
      },
    );
  }
  return full;
}
