import { existsSync } from 'node:fs';
import { InvalidInputError, NotFoundError, UsageError } from '../errors.js';
import { walkSource } from '../store/manifest.js';
import { findArtifact, parseRef, resolveRef, type VersionRecord } from '../versions/refs.js';
import type { Registry } from '../registry/registry.js';
import { lineageOf } from '../versions/add.js';
import { checkProfiles, type CheckReport } from './check-profiles.js';
import type { Profile } from './profile/types.js';
import { profileFiles, requireProfile } from './profiles.js';
import { resolveThresholds, type CheckThresholds } from './thresholds.js';

export type { CheckReport, CheckRecord, CheckStatus } from './check-profiles.js';
export type { CheckThresholds } from './thresholds.js';

/**
 * `mlreg check CURRENT --against REFERENCE`, and `mlreg monitor data` (issue 6): profile or load
 * both sides and run the gate. Reads only: a plain file given as CURRENT is profiled in tmp/ and
 * never registered.
 */
export interface CheckDatasetOptions {
  /**
   * The data to check: a dataset reference, or a file/folder that is not registered. A string is
   * a reference when an artifact of that name exists, else a path; { ref } / { path } say which.
   */
  current: string | { ref: string } | { path: string };
  /** The dataset version to compare with (e.g. "train@production"). */
  reference?: string | undefined;
  /** Or: the dataset this model version was trained on (e.g. "fraud@production"). */
  againstModel?: string | undefined;
  /** Overrides of the registry's `check.*` settings and the defaults. */
  thresholds?: Partial<CheckThresholds>;
  /** Critical columns: any WARN on them (drift included) is a FAIL. */
  failOnColumns?: readonly string[];
  /** WARN fails the gate too. */
  strict?: boolean;
}

export async function checkDataset(reg: Registry, opts: CheckDatasetOptions): Promise<CheckReport> {
  return (await checkDatasetWithProfiles(reg, opts)).report;
}

/** The same check, also handing back both profiles (the HTML report draws their distributions). */
export async function checkDatasetWithProfiles(
  reg: Registry,
  opts: CheckDatasetOptions,
): Promise<{ report: CheckReport; reference: LabelledProfile; current: LabelledProfile }> {
  const thresholds = resolveThresholds((k) => reg.getConfig(k), opts.thresholds);
  const reference = loadReference(reg, opts);
  const current = await loadCurrent(reg, opts.current);
  return { report: checkPair(reference, current, thresholds, opts), reference, current };
}

export interface LabelledProfile {
  label: string;
  profile: Profile;
  version?: VersionRecord;
}

/** Run the gate on two loaded profiles (also used by `compare` for datasets). */
export function checkPair(
  reference: LabelledProfile,
  current: LabelledProfile,
  thresholds: CheckThresholds,
  opts: { failOnColumns?: readonly string[] | undefined; strict?: boolean | undefined } = {},
): CheckReport {
  if (reference.profile.table.rows < 2) {
    throw new InvalidInputError(
      `the reference ${reference.label} has ${reference.profile.table.rows} row: too few to compare against (no spread, no distribution)`,
      {
        code: 'E_REFERENCE_TOO_SMALL',
        hint: 'Check against a reference dataset with at least 2 rows (better: hundreds).',
      },
    );
  }
  const names = new Set(reference.profile.columns.map((c) => c.name));
  const unknown = (opts.failOnColumns ?? []).filter((c) => !names.has(c));
  if (unknown.length) {
    throw new UsageError(
      `--fail-on-column names ${unknown.map((c) => JSON.stringify(c)).join(', ')}, not a column of ${reference.label}`,
      {
        code: 'E_UNKNOWN_COLUMN',
        hint: `Columns of ${reference.label}: ${[...names].slice(0, 20).join(', ')}${names.size > 20 ? ', …' : ''}.`,
      },
    );
  }
  return checkProfiles({
    reference: reference.profile,
    current: current.profile,
    referenceLabel: reference.label,
    currentLabel: current.label,
    thresholds,
    failOnColumns: opts.failOnColumns ?? [],
    strict: !!opts.strict,
  });
}

export function loadDatasetProfile(reg: Registry, ref: string): LabelledProfile {
  return reg.read(() => {
    const v = resolveRef(reg, ref, 'dataset');
    return { label: `${v.name}@${v.version}`, profile: requireProfile(reg, v), version: v };
  });
}

function loadReference(reg: Registry, opts: CheckDatasetOptions): LabelledProfile {
  if ((opts.reference === undefined) === (opts.againstModel === undefined)) {
    throw new UsageError('give exactly one reference: --against DATASET_REF or --against-model MODEL_REF', {
      code: 'E_NO_REFERENCE',
      hint: 'e.g. mlreg check batch.csv --against train@production',
    });
  }
  if (opts.reference !== undefined) return loadDatasetProfile(reg, opts.reference);
  const trained = reg.read(() => {
    const model = resolveRef(reg, opts.againstModel!, 'model');
    return { model, datasets: lineageOf(reg, model.id).trainedOn };
  });
  const label = `${trained.model.name}@${trained.model.version}`;
  if (trained.datasets.length === 0) {
    throw new NotFoundError(`${label} records no dataset it was trained on`, {
      code: 'E_NO_TRAINING_DATA',
      hint: 'Give the reference directly with --against DATASET_REF, or add the model with --trained-on DATASET_REF.',
    });
  }
  if (trained.datasets.length > 1) {
    throw new UsageError(
      `${label} was trained on ${trained.datasets.length} datasets (${trained.datasets.map((d) => `${d.name}@${d.version}`).join(', ')}); which one is the reference?`,
      {
        code: 'E_AMBIGUOUS_REFERENCE',
        hint: 'Name it with --against DATASET_REF.',
      },
    );
  }
  const d = trained.datasets[0]!;
  return loadDatasetProfile(reg, `${d.name}@${d.version}`);
}

async function loadCurrent(reg: Registry, current: CheckDatasetOptions['current']): Promise<LabelledProfile> {
  if (typeof current !== 'string')
    return 'ref' in current ? loadDatasetProfile(reg, current.ref) : profilePath(reg, current.path);
  if (looksLikeRegisteredRef(reg, current)) return loadDatasetProfile(reg, current);
  if (existsSync(current)) return profilePath(reg, current);
  throw new NotFoundError(`${JSON.stringify(current)} is neither a dataset in the registry nor a file or folder`, {
    code: 'E_CURRENT_NOT_FOUND',
    hint: 'Give a dataset reference (NAME@VERSION, NAME@STAGE) or the path of a CSV, NDJSON or Parquet file or folder.',
  });
}

function looksLikeRegisteredRef(reg: Registry, text: string): boolean {
  let name: string;
  try {
    name = parseRef(text).name;
  } catch {
    return false;
  }
  return findArtifact(reg, name) !== undefined;
}

async function profilePath(reg: Registry, path: string): Promise<LabelledProfile> {
  const { files } = await walkSource(path);
  reg.cleanStaleTemp();
  return { label: path, profile: await profileFiles(reg, files) };
}
