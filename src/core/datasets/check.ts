import { existsSync } from 'node:fs';
import { InvalidInputError, NotFoundError, UsageError } from '../errors.js';
import { walkSource } from '../store/manifest.js';
import { findArtifact, parseRef, resolveRef, type VersionRecord } from '../versions/refs.js';
import type { Registry } from '../registry/registry.js';
import { lineageOf } from '../versions/queries.js';
import { checkProfiles, type DataCheckReport } from './check-profiles.js';
import type { Profile } from './profile/types.js';
import type { CsvDialect } from './formats.js';
import { profileFiles, requireProfile } from './profiles.js';
import { resolveThresholds, type CheckThresholds } from './thresholds.js';
import { signatureOf } from '../models/record.js';
import { checkAgainstSignature, featuresOf } from '../models/signature-diff.js';
import { optionRef } from '../lib/option-ref.js';

export type { DataCheckReport, CheckRecord, CheckStatus } from './check-profiles.js';
export type { CheckThresholds } from './thresholds.js';

/**
 * `mlreg check CURRENT --against REFERENCE`, and `mlreg monitor data`: profile or load
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
  /** A CSV given as the current data: its separator and decimal mark, when not sniffed right. */
  dialect?: CsvDialect;
  /** Columns left out of every check (ids, timestamps: they always "drift"). */
  ignoreColumns?: readonly string[];
  /** WARN fails the gate too. */
  strict?: boolean;
}

export async function checkDataset(reg: Registry, opts: CheckDatasetOptions): Promise<DataCheckReport> {
  return (await checkDatasetWithProfiles(reg, opts)).report;
}

/** The same check, also handing back both profiles (the HTML report draws their distributions). */
export async function checkDatasetWithProfiles(
  reg: Registry,
  opts: CheckDatasetOptions,
): Promise<{ report: DataCheckReport; reference: LabelledProfile; current: LabelledProfile }> {
  const thresholds = resolveThresholds((k) => reg.getConfig(k), opts.thresholds);
  const reference = loadReference(reg, opts);
  const current = await loadCurrent(reg, opts.current, opts.dialect);
  const report = checkPair(reference, current, thresholds, opts);
  return {
    report: opts.againstModel === undefined ? report : withModelInputs(reg, opts.againstModel, current, report),
    reference,
    current,
  };
}

/**
 * `--against-model`: when the model version has a signature with named features, the batch's columns
 * are checked against it first (a missing feature or a type it cannot take fails the gate).
 */
function withModelInputs(
  reg: Registry,
  modelRef: string,
  current: LabelledProfile,
  report: DataCheckReport,
): DataCheckReport {
  const { model, features } = reg.read(() => {
    const m = resolveRef(reg, modelRef, 'model');
    return { model: `${m.name}@${m.version}`, features: featuresOf(signatureOf(reg, m.id)) };
  });
  if (!features) return report;
  const records = checkAgainstSignature(features, current.profile.columns, model);
  const counts = { ...report.counts };
  for (const r of records) counts[r.status]++;
  const status: 'PASS' | 'FAIL' = counts.FAIL > 0 || (report.strict && counts.WARN > 0) ? 'FAIL' : 'PASS';
  const missing = records.filter((r) => r.status === 'FAIL' && r.check === 'model input').length;
  const badType = records.filter((r) => r.check === 'model input type').length;
  return {
    ...report,
    records: [...records, ...report.records],
    counts,
    status,
    summary: `model inputs: ${missing} missing, ${badType} of a type ${model} cannot take; ${report.summary.replace(/: (PASS|FAIL)$/, `: ${status}`)}`,
  };
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
  opts: {
    failOnColumns?: readonly string[] | undefined;
    ignoreColumns?: readonly string[] | undefined;
    strict?: boolean | undefined;
  } = {},
): DataCheckReport {
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
      `${unknown.map((c) => JSON.stringify(c)).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not a column of ${reference.label}`,
      {
        code: 'E_UNKNOWN_COLUMN',
        hint: `Columns of ${reference.label}: ${[...names].slice(0, 20).join(', ')}${names.size > 20 ? ', …' : ''}.`,
        details: { option: 'failOnColumn' },
      },
    );
  }
  const either = new Set([...names, ...current.profile.columns.map((c) => c.name)]);
  const notThere = (opts.ignoreColumns ?? []).filter((c) => !either.has(c));
  if (notThere.length) {
    throw new UsageError(
      `cannot ignore ${notThere.map((c) => JSON.stringify(c)).join(', ')}: not a column of ${reference.label} or ${current.label}`,
      {
        code: 'E_UNKNOWN_COLUMN',
        hint: `Columns of ${reference.label}: ${[...names].slice(0, 20).join(', ')}${names.size > 20 ? ', …' : ''}.`,
        details: { option: 'ignore-column', columns: notThere },
      },
    );
  }
  const ignored = new Set(opts.ignoreColumns ?? []);
  const without = (p: Profile): Profile =>
    ignored.size ? { ...p, columns: p.columns.filter((c) => !ignored.has(c.name)) } : p;
  return checkProfiles({
    reference: without(reference.profile),
    current: without(current.profile),
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
    throw new UsageError(
      'give exactly one reference: a dataset version, or a model version whose training data is the reference',
      {
        code: 'E_NO_REFERENCE',
        hint: `e.g. mlreg check batch.csv ${optionRef('against')} train@production`,
      },
    );
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
      hint: `Give the reference directly with ${optionRef('against')} DATASET_REF, or add the model with ${optionRef('trained-on')} DATASET_REF.`,
    });
  }
  if (trained.datasets.length > 1) {
    throw new UsageError(
      `${label} was trained on ${trained.datasets.length} datasets (${trained.datasets.map((d) => `${d.name}@${d.version}`).join(', ')}); which one is the reference?`,
      {
        code: 'E_AMBIGUOUS_REFERENCE',
        hint: `Name it with ${optionRef('against')} DATASET_REF.`,
      },
    );
  }
  const d = trained.datasets[0]!;
  return loadDatasetProfile(reg, `${d.name}@${d.version}`);
}

async function loadCurrent(
  reg: Registry,
  current: CheckDatasetOptions['current'],
  dialect: CsvDialect = {},
): Promise<LabelledProfile> {
  if (typeof current !== 'string')
    return 'ref' in current ? loadDatasetProfile(reg, current.ref) : profilePath(reg, current.path, dialect);
  const isRef = looksLikeRegisteredRef(reg, current);
  const isPath = existsSync(current);
  if (isRef && isPath) {
    // `cats` names both a dataset and a file here: taking either silently checks the wrong data.
    throw new UsageError(`${JSON.stringify(current)} is both a dataset in the registry and a file or folder here`, {
      code: 'E_AMBIGUOUS_DATA',
      hint: `Write ./${current} for the file, or ${current.includes('@') ? current : `${current}@latest`} for the registered dataset.`,
    });
  }
  if (isRef) return loadDatasetProfile(reg, current);
  if (isPath) return profilePath(reg, current, dialect);
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

async function profilePath(reg: Registry, path: string, dialect: CsvDialect = {}): Promise<LabelledProfile> {
  const { files } = await walkSource(path);
  reg.cleanStaleTemp();
  return { label: path, profile: await profileFiles(reg, files, dialect) };
}
