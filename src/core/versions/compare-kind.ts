import { UsageError } from '../errors.js';
import { resolveRef, type ArtifactKind } from './refs.js';
import type { Registry } from '../registry/registry.js';

/**
 * What `compare A B` compares: two models or two datasets. Resolves both references (so an unknown
 * one is reported before any work) and refuses a model paired with a dataset.
 */
export function compareKind(reg: Registry, refA: string, refB: string): ArtifactKind {
  const [a, b] = reg.read(() => [resolveRef(reg, refA), resolveRef(reg, refB)] as const);
  if (a.kind !== b.kind) {
    throw new UsageError(
      `cannot compare ${a.name}@${a.version} (a ${a.kind}) with ${b.name}@${b.version} (a ${b.kind})`,
      {
        code: 'E_COMPARE_KINDS',
        hint: 'Compare two model versions, or two dataset versions. To see how a model did on a dataset, use `mlreg show MODEL_REF` (its evaluations).',
      },
    );
  }
  return a.kind;
}
