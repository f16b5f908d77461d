import { signatureOf } from '../models/record.js';
import { diffSignatures, type SignatureDiff } from '../models/signature-diff.js';
import { UsageError } from '../errors.js';
import { latestEvaluations, type EvaluationValue } from './record.js';
import { parseManifest, type Manifest } from '../store/manifest.js';
import { judge, metricDirection, type Direction, type Verdict } from './metric-direction.js';
import { resolveRef, type VersionRecord } from '../versions/refs.js';
import type { Registry } from '../registry/registry.js';
import { readObject } from '../store/objects.js';
import { lineageOf, metricsOf, paramsOf, stagesOfVersion } from '../versions/queries.js';

/**
 * `compare A B` for two model versions, A the baseline (e.g. production) and B the candidate:
 * metrics recorded at add and every evaluation both share (same dataset version and slice), with
 * B − A and a better/worse verdict by the metric's direction; params, files, lineage, stages.
 */

export interface ModelSide {
  name: string;
  version: string;
  digest: string;
  size: number;
  fileCount: number;
  createdAt: string;
  createdBy: string;
  description: string | null;
  deprecated: boolean;
  stages: string[];
  trainedOn: { name: string; version: string }[];
}

export interface MetricDiffRow {
  metric: string;
  a: number | null;
  b: number | null;
  /** b − a, when both have it */
  delta: number | null;
  direction: Direction | null;
  /** Is B better than A? null when one side lacks the metric or its direction is unknown. */
  verdict: Verdict | null;
}

export interface EvaluationDiff {
  dataset: { name: string; version: string } | null;
  slice: string;
  rows: MetricDiffRow[];
}

export type ChangeStatus = 'added' | 'removed' | 'changed' | 'same';

export interface ParamDiffRow {
  key: string;
  a: string | null;
  b: string | null;
  status: ChangeStatus;
}

export interface FileDiffRow {
  path: string;
  status: Exclude<ChangeStatus, 'same'>;
  sizeA: number | null;
  sizeB: number | null;
}

export interface ModelComparison {
  kind: 'model';
  a: ModelSide;
  b: ModelSide;
  /** Identical content (same manifest digest). */
  sameContent: boolean;
  metrics: MetricDiffRow[];
  evaluations: EvaluationDiff[];
  /** Evaluations (dataset × slice) only one side has: listed, not compared. */
  unshared: { a: { dataset: string | null; slice: string }[]; b: { dataset: string | null; slice: string }[] };
  params: ParamDiffRow[];
  files: { changes: FileDiffRow[]; unchanged: number; sizeA: number; sizeB: number };
  lineage: { a: ModelSide['trainedOn']; b: ModelSide['trainedOn']; same: boolean };
  /** Input signatures (null when neither version has one). */
  signature: SignatureDiff | null;
}

function metricRows(reg: Registry, a: Record<string, number>, b: Record<string, number>): MetricDiffRow[] {
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return names.map((metric) => {
    const va = Object.hasOwn(a, metric) ? a[metric]! : null;
    const vb = Object.hasOwn(b, metric) ? b[metric]! : null;
    const direction = metricDirection(reg, metric) ?? null;
    if (va === null || vb === null) return { metric, a: va, b: vb, delta: null, direction, verdict: null };
    const j = judge(direction ?? undefined, va, vb);
    return { metric, a: va, b: vb, delta: j.delta, direction, verdict: j.verdict };
  });
}

function side(reg: Registry, v: VersionRecord): ModelSide {
  return {
    name: v.name,
    version: v.version,
    digest: v.digest,
    size: v.size,
    fileCount: v.fileCount,
    createdAt: v.createdAt,
    createdBy: v.createdBy,
    description: v.description,
    deprecated: v.deprecated !== null,
    stages: stagesOfVersion(reg, v.id),
    trainedOn: lineageOf(reg, v.id).trainedOn,
  };
}

type Group = { dataset: EvaluationValue['dataset']; slice: string; metrics: Record<string, number> };

function groupEvaluations(values: EvaluationValue[]): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const e of values) {
    const key = `${e.datasetVersionId ?? ''}\u0000${e.slice}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { dataset: e.dataset, slice: e.slice, metrics: {} }));
    g.metrics[e.metric] = e.value;
  }
  return groups;
}

function diffFiles(ma: Manifest, mb: Manifest): ModelComparison['files'] {
  const fa = new Map(ma.files.map((f) => [f.path, f]));
  const fb = new Map(mb.files.map((f) => [f.path, f]));
  const changes: FileDiffRow[] = [];
  let unchanged = 0;
  for (const path of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
    const x = fa.get(path);
    const y = fb.get(path);
    if (x && y && x.sha256 === y.sha256 && x.mode === y.mode) unchanged++;
    else
      changes.push({
        path,
        status: !x ? 'added' : !y ? 'removed' : 'changed',
        sizeA: x?.size ?? null,
        sizeB: y?.size ?? null,
      });
  }
  return {
    changes,
    unchanged,
    sizeA: ma.files.reduce((s, f) => s + f.size, 0),
    sizeB: mb.files.reduce((s, f) => s + f.size, 0),
  };
}

export async function compareModels(
  reg: Registry,
  refA: string | VersionRecord,
  refB: string | VersionRecord,
): Promise<ModelComparison> {
  const base = reg.read(() => {
    const va = typeof refA === 'string' ? resolveRef(reg, refA) : refA;
    const vb = typeof refB === 'string' ? resolveRef(reg, refB) : refB;
    if (va.kind !== 'model' || vb.kind !== 'model')
      throw new UsageError(`compareModels takes two models, not ${va.kind} and ${vb.kind}`, {
        code: 'E_COMPARE_KINDS',
        hint: 'Use `mlreg compare`, which picks the comparison by kind.',
      });
    const pa = paramsOf(reg, va.id);
    const pb = paramsOf(reg, vb.id);
    const params: ParamDiffRow[] = [...new Set([...Object.keys(pa), ...Object.keys(pb)])].sort().map((key) => {
      const a = Object.hasOwn(pa, key) ? pa[key]! : null;
      const b = Object.hasOwn(pb, key) ? pb[key]! : null;
      return { key, a, b, status: a === null ? 'added' : b === null ? 'removed' : a === b ? 'same' : 'changed' };
    });
    const ga = groupEvaluations(latestEvaluations(reg, va.id));
    const gb = groupEvaluations(latestEvaluations(reg, vb.id));
    const evaluations: EvaluationDiff[] = [];
    for (const [key, g] of ga) {
      const h = gb.get(key);
      if (h) evaluations.push({ dataset: g.dataset, slice: g.slice, rows: metricRows(reg, g.metrics, h.metrics) });
    }
    const label = (g: Group) => ({
      dataset: g.dataset ? `${g.dataset.name}@${g.dataset.version}` : null,
      slice: g.slice,
    });
    return {
      va,
      vb,
      a: side(reg, va),
      b: side(reg, vb),
      metrics: metricRows(reg, metricsOf(reg, va.id), metricsOf(reg, vb.id)),
      evaluations,
      unshared: {
        a: [...ga].filter(([k]) => !gb.has(k)).map(([, g]) => label(g)),
        b: [...gb].filter(([k]) => !ga.has(k)).map(([, g]) => label(g)),
      },
      params,
      signature: diffSignatures(signatureOf(reg, va.id), signatureOf(reg, vb.id)),
    };
  });
  const [ma, mb] = await Promise.all(
    [base.va, base.vb].map(async (v) => parseManifest(await readObject(reg, v.digest), v.digest)),
  );
  const key = (t: { name: string; version: string }) => `${t.name}@${t.version}`;
  return {
    kind: 'model',
    a: base.a,
    b: base.b,
    sameContent: base.va.digest === base.vb.digest,
    metrics: base.metrics,
    evaluations: base.evaluations,
    unshared: base.unshared,
    params: base.params,
    files: diffFiles(ma!, mb!),
    lineage: {
      a: base.a.trainedOn,
      b: base.b.trainedOn,
      same: base.a.trainedOn.map(key).join() === base.b.trainedOn.map(key).join(),
    },
    signature: base.signature,
  };
}
