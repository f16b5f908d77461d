import * as semver from '../lib/semver.js';
import { ConflictError, InvalidInputError, UsageError } from '../errors.js';
import { optionRef } from '../lib/option-ref.js';

export type Bump = 'patch' | 'minor' | 'major' | 'prerelease';
export const BUMPS: readonly Bump[] = ['patch', 'minor', 'major', 'prerelease'];

export interface VersionRequest {
  version?: string | undefined;
  bump?: Bump | undefined;
  preid?: string | undefined;
}

/** The number a new version gets when nothing is said: a minor bump (the first version is 1.0.0). */
export const DEFAULT_BUMP: Bump = 'minor';
export const FIRST_VERSION = '1.0.0';

/** A version string `add` accepts: canonical semver (no leading "v", no spaces), so never a path. */
export function isValidVersionString(v: string): boolean {
  return semver.valid(v) !== null && semver.clean(v) === v;
}

/** Check a request before any I/O, so bad input is refused before bytes are stored. */
export function validateVersionRequest(req: VersionRequest): void {
  if (req.version !== undefined && req.bump !== undefined) {
    throw new UsageError('give either a version number or a bump, not both', {
      code: 'E_VERSION_AND_BUMP',
      hint: `Use ${optionRef('version')} 1.2.0 for an exact number, or ${optionRef('bump')} minor to count on from the highest version.`,
    });
  }
  if (req.version !== undefined && !isValidVersionString(req.version)) {
    throw new InvalidInputError(`${JSON.stringify(req.version)} is not a semantic version`, {
      code: 'E_BAD_VERSION',
      hint: 'Use MAJOR.MINOR.PATCH with an optional -prerelease, e.g. 1.4.0 or 2.0.0-rc.1 (no leading "v").',
    });
  }
  if (req.bump !== undefined && !BUMPS.includes(req.bump)) {
    throw new UsageError(`the bump takes ${BUMPS.join(', ')}, not ${JSON.stringify(req.bump)}`, {
      details: { option: 'bump' },
      code: 'E_BAD_BUMP',
      hint: `patch: 1.2.3 → 1.2.4, minor: → 1.3.0, major: → 2.0.0, prerelease (with ${optionRef('preid')} rc): → 1.2.4-rc.0.`,
    });
  }
  if (req.preid !== undefined && !/^[0-9A-Za-z-]+$/.test(req.preid)) {
    throw new InvalidInputError(`${JSON.stringify(req.preid)} is not a valid prerelease identifier`, {
      details: { option: 'preid' },
      code: 'E_BAD_PREID',
      hint: 'Use letters, digits and "-", e.g. rc or beta.',
    });
  }
  if (req.preid !== undefined && req.bump !== 'prerelease') {
    throw new UsageError('a prerelease identifier goes with a prerelease bump', {
      details: { option: 'preid' },
      code: 'E_PREID_WITHOUT_PRERELEASE',
      hint: `e.g. ${optionRef('bump')} prerelease ${optionRef('preid')} rc gives 1.3.0-rc.0.`,
    });
  }
}

/**
 * Pure planning of the next version number from the numbers that exist (run inside the write
 * transaction so two writers never get the same number).
 */
export function planVersion(existing: readonly string[], req: VersionRequest): string {
  validateVersionRequest(req);
  if (req.version !== undefined) {
    if (existing.includes(req.version)) {
      throw new ConflictError(`version ${req.version} already exists`, {
        code: 'E_VERSION_EXISTS',
        hint: `Versions are immutable: choose another number, or use ${optionRef('bump')} to take the next one.`,
      });
    }
    return req.version;
  }
  const bump = req.bump ?? DEFAULT_BUMP;
  if (existing.length === 0) return bump === 'prerelease' ? `${FIRST_VERSION}-${req.preid ?? 'rc'}.0` : FIRST_VERSION;
  const highest = existing.reduce((a, b) => (semver.gt(b, a) ? b : a));
  let next = req.preid ? semver.inc(highest, bump, req.preid) : semver.inc(highest, bump);
  // Bumping "prerelease" from a prerelease of another preid (1.1.0-beta.2 with --preid rc) can land below an
  // existing number; keep counting until the number is new.
  while (next !== null && existing.includes(next))
    next = req.preid ? semver.inc(next, bump, req.preid) : semver.inc(next, bump);
  if (next === null)
    throw new InvalidInputError(`cannot bump ${highest} by ${bump}`, {
      code: 'E_BAD_BUMP',
      hint: `Give the number with ${optionRef('version')} instead.`,
    });
  return next;
}
