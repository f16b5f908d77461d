import { fromSystemError, IntegrityError, InvalidInputError, NotFoundError } from '../errors.js';
import { hashFiles } from '../store/hash-pool.js';
import { applyOperations } from '../remote/apply.js';
import { parseManifest, type SourceFile } from '../store/manifest.js';
import { fetchIfMissing, objectPath, readObject, unusableObject } from '../store/objects.js';
import { resolveRef, type VersionRecord } from '../versions/refs.js';
import type { Registry } from '../registry/registry.js';
import { type CsvDialect, detectTable } from './formats.js';
import { PROFILE_FORMAT, type Profile } from './profile/types.js';
import { optionRef } from '../lib/option-ref.js';

/** Profiles in the index (table dataset_profiles), and the `add dataset` hooks that compute them. */

export async function profileFiles(
  reg: Registry,
  files: readonly { path: string; abs: string; size: number }[],
  dialect: CsvDialect = {},
): Promise<Profile> {
  const { profileTable } = await import('./profile/profiler.js');
  return profileTable(detectTable(files), { tempPath: (suffix) => reg.tempPath(suffix), dialect });
}

export function loadProfile(reg: Registry, versionId: number): Profile | null {
  const row = reg.db.prepare('SELECT format, profile FROM dataset_profiles WHERE version_id = ?').get(versionId) as
    | { format: number; profile: string }
    | undefined;
  if (!row) return null;
  if (row.format > PROFILE_FORMAT) {
    throw new InvalidInputError(
      `the profile of version ${versionId} was written by a newer mlreg (profile format ${row.format})`,
      { code: 'E_PROFILE_TOO_NEW', hint: 'Upgrade mlreg.' },
    );
  }
  return JSON.parse(row.profile) as Profile;
}

/** The profile of a dataset version, or a clear error when it was added with --no-profile. */
export function requireProfile(reg: Registry, v: VersionRecord): Profile {
  if (v.kind !== 'dataset') {
    throw new InvalidInputError(`${v.name}@${v.version} is a model, not a dataset`, {
      code: 'E_NOT_A_DATASET',
      hint: 'Give a dataset reference (mlreg list shows the kind of each artifact).',
    });
  }
  const p = loadProfile(reg, v.id);
  if (!p) {
    throw new NotFoundError(`${v.name}@${v.version} has no profile (it was stored without one)`, {
      code: 'E_NO_PROFILE',
      hint: `Profile the stored version with \`mlreg profile ${v.name}@${v.version}\`, then check or compare it.`,
    });
  }
  return p;
}

/**
 * The hooks `addVersion` runs for a dataset: `inspect` profiles the files before anything is stored
 * (a file DuckDB cannot read, or with an empty column, is refused there, so nothing is registered), `profileOf` hands the
 * profile to the add transaction. Without a profile (--no-profile) there are no hooks.
 */
/**
 * A snapshot is a reference for later checks: a column with no value at all gives nothing to check
 * against (no type, no distribution), so it is refused at `add` rather than discovered at the gate.
 */
function refuseEmptyColumns(profile: Profile): Profile {
  const empty = profile.columns.filter((c) => c.kind === 'empty').map((c) => c.name);
  if (empty.length) {
    throw new InvalidInputError(
      `column${empty.length === 1 ? '' : 's'} ${empty.map((c) => JSON.stringify(c)).join(', ')} ${empty.length === 1 ? 'has' : 'have'} no value in any of the ${profile.table.rows} rows`,
      {
        code: 'E_EMPTY_COLUMN',
        hint: `Drop the column or fill it, or store the data as it is with ${optionRef('no-profile')} (no profile, so no check against it).`,
      },
    );
  }
  return profile;
}

export function datasetAddHooks(
  reg: Registry,
  profile: boolean,
  dialect: CsvDialect = {},
): {
  inspect?: (files: readonly SourceFile[]) => Promise<unknown>;
  profileOf?: (inspected: unknown) => { format: number; profile: unknown };
} {
  if (!profile) return {};
  return {
    inspect: async (files) => refuseEmptyColumns(await profileFiles(reg, files, dialect)),
    profileOf: (inspected) => ({ format: (inspected as Profile).format, profile: inspected }),
  };
}

export interface StoredProfileResult {
  name: string;
  version: string;
  /** False when the version already had a profile (nothing was computed or written). */
  computed: boolean;
  profile: Profile;
}

/**
 * `mlreg profile REF`: profile a dataset version that was stored without one (--no-profile), from
 * its objects in the store. Every object is hash-checked first, so damaged bytes never become the
 * reference of later checks.
 */
export async function profileStoredVersion(reg: Registry, ref: string, actor: string): Promise<StoredProfileResult> {
  const v = reg.read(() => resolveRef(reg, ref, 'dataset'));
  const existing = reg.read(() => loadProfile(reg, v.id));
  if (existing) return { name: v.name, version: v.version, computed: false, profile: existing };
  const manifest = parseManifest(await readObject(reg, v.digest), v.digest);
  for (const f of manifest.files) await fetchIfMissing(reg, f.sha256);
  const files = manifest.files.map((f) => ({
    path: f.path,
    abs: objectPath(reg, f.sha256),
    size: f.size,
    sha256: f.sha256,
  }));
  await hashFiles(
    files.map((f) => ({ ...f, path: f.abs, rel: f.path })),
    (item, reply) => {
      // The hash worker opens regular files only and reads no further than the manifest size: an
      // object replaced by a FIFO or a link to /dev/zero is refused here, before DuckDB reads it.
      if (reply.error === 'ENOTREG' || reply.error === 'ELOOP')
        throw unusableObject(
          item.sha256,
          item.path,
          `${v.name}@${v.version}'s ${item.rel} is not a regular file (a symbolic link, FIFO or device)`,
        );
      if (reply.error && reply.error !== 'ENOENT')
        throw fromSystemError(
          Object.assign(new Error(reply.error), { code: reply.error, syscall: 'read' }),
          'profile',
          {
            reading: item.path,
            leftAs: 'nothing was changed',
          },
        );
      if (reply.digest !== item.sha256)
        throw new IntegrityError(
          `${v.name}@${v.version}: the stored bytes of ${item.rel} ${reply.error === 'ENOENT' ? 'are missing' : 'do not match its digest'} (object sha256:${item.sha256}, ${item.path})`,
          {
            code: reply.error === 'ENOENT' ? 'E_OBJECT_MISSING' : 'E_OBJECT_CORRUPT',
            hint: 'Run `mlreg verify`, and restore the registry from a backup or add the data again.',
          },
        );
    },
  );
  const profile = refuseEmptyColumns(await profileFiles(reg, files));
  reg.write(() => {
    if (loadProfile(reg, v.id)) return; // another process was first
    applyOperations(
      reg,
      [
        {
          op: 'profile.store',
          at: reg.nowIso(),
          name: v.name,
          version: v.version,
          profile: { format: profile.format, profile },
        },
      ],
      actor,
    );
  });
  return { name: v.name, version: v.version, computed: true, profile };
}
