import { createRequire } from 'node:module';
import type { Range, RangeOptions } from 'semver';
import SemVerClass from 'semver/classes/semver.js';
import { IntegrityError } from '../errors.js';

/**
 * The semver functions mlreg uses, imported one by one: the package's index loads about fifty
 * modules, a measurable part of the start-up of every command. Range support (another twenty
 * modules) is required only when a reference or a bump actually needs it.
 */
export { default as clean } from 'semver/functions/clean.js';
export { default as gt } from 'semver/functions/gt.js';
export { default as inc } from 'semver/functions/inc.js';
export { default as prerelease } from 'semver/functions/prerelease.js';
export { default as valid } from 'semver/functions/valid.js';

const require = createRequire(import.meta.url);

export { SemVerClass as SemVer };

export function satisfies(version: string | SemVerClass, range: string | Range, options?: RangeOptions): boolean {
  return (require('semver/functions/satisfies') as typeof import('semver/functions/satisfies.js'))(
    version,
    range,
    options,
  );
}

export function validRange(range: string): string | null {
  return (require('semver/ranges/valid') as typeof import('semver/ranges/valid.js'))(range);
}

/** Sort version strings newest first, parsing each once (sorting 10,000 strings with rcompare parses 280,000 times). */
export function sortDescending<T>(items: T[], versionOf: (item: T) => string): T[] {
  const parsed = items.map((item) => ({ item, v: parseStoredVersion(versionOf(item)) }));
  parsed.sort((a, b) => b.v.compare(a.v));
  return parsed.map((p) => p.item);
}

/**
 * Parse a version string read from the index. `add` lets only semantic versions in, so anything
 * else means the index was edited or restored from a hostile backup: an integrity error (exit 5), not a bug.
 */
export function parseStoredVersion(v: string): SemVerClass {
  try {
    return new SemVerClass(v);
  } catch {
    throw new IntegrityError(`the registry index holds version ${JSON.stringify(v)}, which is not a semantic version`, {
      code: 'E_HOSTILE_INDEX',
      hint: 'No mlreg command writes such a version: run `mlreg verify`, and restore the registry from a good backup.',
    });
  }
}
