import { latestEvaluations, type EvaluationValue } from '../evaluations/record.js';
import { lineageOf, metricsOf, paramsOf, stagesOfVersion, tagsOf, type Lineage } from './add.js';
import { parseManifest, type Manifest } from '../store/manifest.js';
import { resolveRef, type VersionRecord } from './refs.js';
import type { Registry } from '../registry/registry.js';
import { stagesAt } from '../stages/promote.js';
import { readObject } from '../store/objects.js';
import { loadProfile } from '../datasets/profiles.js';
import type { Profile } from '../datasets/profile/types.js';
import { latestScan, type RecordedScan, signatureOf } from '../models/record.js';
import type { Signature } from '../models/signature.js';

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
  /** With --at: which version held each stage of the artifact at that moment. */
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
    const version = resolveRef(reg, ref);
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
