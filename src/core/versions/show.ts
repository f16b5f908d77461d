import { latestEvaluations, type EvaluationValue } from '../evaluations/record.js';
import { lineageOf, metricsOf, paramsOf, stagesOfVersion, tagsOf, type Lineage } from './queries.js';
import { parseManifest, type Manifest } from '../store/manifest.js';
import { getArtifact, parseRef, resolveRef, type VersionRecord } from './refs.js';
import { NotFoundError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import { stagesAt } from '../stages/promote.js';
import { readObject } from '../store/objects.js';
import { loadProfile } from '../datasets/profiles.js';
import type { Profile } from '../datasets/profile/types.js';
import { latestScan, type RecordedScan, signatureOf } from '../models/record.js';
import type { Signature } from '../models/signature.js';
import { optionRef } from '../lib/option-ref.js';

export interface VersionDetails {
  version: VersionRecord;
  manifest: Manifest;
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Record<string, string>;
  lineage: Lineage;
  /** Models: the evaluation values that count (newest per dataset × slice × metric). */
  evaluations: EvaluationValue[];
  /** Stages pointing at this version now. */
  stages: string[];
  /**
   * With --at: which version held each stage of the artifact at that moment. A stage reference
   * (`fraud@production --at T`) is resolved as of T too: a post-mortem needs what served then.
   */
  stagesAt?: { at: string; stages: Record<string, string> };
  /** Datasets: the profile computed at `add` (null when added with --no-profile). */
  profile?: Profile | null;
  /** Models: the newest scan of its pickles (null when added before scans existed). */
  scan?: RecordedScan | null;
  /** Models: the input signature read at add or given (null when none was found). */
  signature?: Signature | null;
}

export async function showVersion(
  reg: Registry,
  ref: string,
  opts: { at?: string | undefined } = {},
): Promise<VersionDetails> {
  const base = reg.read(() => {
    const version = opts.at === undefined ? resolveRef(reg, ref) : resolveRefAt(reg, ref, opts.at);
    return {
      version,
      metrics: metricsOf(reg, version.id),
      params: paramsOf(reg, version.id),
      tags: tagsOf(reg, version.id),
      lineage: lineageOf(reg, version.id),
      evaluations: version.kind === 'model' ? latestEvaluations(reg, version.id) : [],
      stages: stagesOfVersion(reg, version.id),
      ...(version.kind === 'dataset' ? { profile: loadProfile(reg, version.id) } : {}),
      ...(version.kind === 'model'
        ? { scan: latestScan(reg, version.id), signature: signatureOf(reg, version.id) }
        : {}),
      ...(opts.at !== undefined
        ? { stagesAt: { at: opts.at, stages: stagesAt(reg, version.artifactId, opts.at) } }
        : {}),
    };
  });
  const manifest = parseManifest(await readObject(reg, base.version.digest), base.version.digest);
  return { ...base, manifest };
}

/** A reference as of a past moment: a stage names the version that held it then; other selectors are timeless. */
function resolveRefAt(reg: Registry, text: string, at: string): VersionRecord {
  const ref = parseRef(text);
  if (ref.selector.kind !== 'stage') return resolveRef(reg, ref);
  const stage = ref.selector.stage;
  const held = stagesAt(reg, getArtifact(reg, ref.name).id, at)[stage];
  if (held === undefined)
    throw new NotFoundError(`${ref.name}@${stage} held no version at ${at}`, {
      code: 'E_STAGE_EMPTY_AT',
      hint: `See when it was set with \`mlreg history ${ref.name} ${optionRef('stage')} ${stage}\`.`,
    });
  return resolveRef(reg, `${ref.name}@${held}`);
}
