import { UsageError } from '../errors.js';
import type { EvalRunResult } from '../evaluations/run.js';
import type { GateReport, GateSpec } from '../evaluations/gates.js';
import { resolveRef, type VersionRecord } from '../versions/refs.js';
import type { Registry } from '../registry/registry.js';
import { checkStagePolicy, type PolicyReport } from './policy.js';
import { promote, type PromoteOptions, type StageMove } from './promote.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * `promote` with its gates: the registry's stage order and `--if-better`. Both are checked inside
 * the promote transaction (the `guard`), so the stage cannot move between the check and the write.
 * `--eval-cmd` runs before it: it evaluates whichever side lacks the evaluation the gate needs.
 * The gate machinery loads only for a gated promote: a plain one (the on-call path) stays light.
 */

export interface EvalCommandSpec {
  /** A shell command line; {model} and {dataset} are replaced by the (quoted) checkout folders. */
  command: string;
  timeoutMs?: number | undefined;
  env: Record<string, string | undefined>;
  cwd: string;
  onStderr?: (chunk: Buffer) => void;
}

export interface GatedPromoteOptions extends Omit<PromoteOptions, 'guard'> {
  gate?: GateSpec | undefined;
  force?: boolean | undefined;
  evalCommand?: EvalCommandSpec | undefined;
}

export type GatedMove = StageMove & { gate?: GateReport; policy?: PolicyReport; evaluated?: EvalRunResult };

export async function promoteGated(reg: Registry, opts: GatedPromoteOptions): Promise<GatedMove> {
  const { gate, force, evalCommand, ...base } = opts;
  if (evalCommand && !gate)
    throw new UsageError('an evaluation command goes with a gate (a metric to beat on a dataset)', {
      code: 'E_BAD_GATE',
      hint: 'It evaluates whichever side lacks the evaluation the gate needs.',
      details: { option: 'evalCmd' },
    });
  if (evalCommand && opts.dryRun)
    throw new UsageError('an evaluation command records evaluations, so it cannot be combined with a dry run', {
      code: 'E_BAD_GATE',
      hint: `Run \`mlreg eval run\` first, then promote ${optionRef('dry-run')}.`,
      details: { option: 'evalCmd' },
    });
  const gates = gate ? await import('../evaluations/gates.js') : undefined;
  if (gate) gates!.validateGateSpec(gate);

  let spec = gate;
  let evaluated: EvalRunResult | undefined;
  if (gate && evalCommand) {
    const [{ evalRun }, evaluations] = await Promise.all([
      import('../evaluations/run.js'),
      import('../evaluations/record.js'),
    ]);
    const plan = reg.read(() => planEvaluations(reg, evaluations, gate, base.ref, base.stage));
    // Pin the dataset version that was evaluated, so the gate compares exactly those values.
    spec = { ...gate, dataset: plan.dataset };
    if (plan.missing.length) {
      evaluated = await evalRun(reg, {
        models: plan.missing,
        dataset: plan.dataset,
        command: [evalCommand.command],
        shell: true,
        timeoutMs: evalCommand.timeoutMs,
        env: evalCommand.env,
        cwd: evalCommand.cwd,
        onStderr: evalCommand.onStderr,
        actor: opts.actor,
      });
    }
  }
  let gateReport: GateReport | undefined;
  let policy: PolicyReport | undefined;
  const move = promote(reg, {
    ...base,
    guard: ({ version, current }) => {
      policy = checkStagePolicy(reg, version, base.stage, !!force);
      if (spec) {
        gateReport = gates!.evaluateGate(reg, spec, base.stage, version, current);
        if (!gateReport.passed) throw gates!.gateError(gateReport);
      }
      if (!policy && !gateReport && !force) return undefined;
      // What the promote event records: the gate report, the policy check, and --force.
      return {
        ...(gateReport ? { gate: gateReport } : {}),
        ...(policy ? { policy } : {}),
        ...(force ? { force: true } : {}),
      };
    },
  });
  const { guard: _details, ...plain } = move;
  return {
    ...plain,
    ...(gateReport ? { gate: gateReport } : {}),
    ...(policy ? { policy } : {}),
    ...(evaluated ? { evaluated } : {}),
  };
}

/** Which of challenger and current holder lack the gate's metric on the dataset (on the slices it needs). */
function planEvaluations(
  reg: Registry,
  { DEFAULT_SLICE, latestEvaluations }: typeof import('../evaluations/record.js'),
  gate: GateSpec,
  ref: string,
  stage: string,
): { dataset: VersionRecord; missing: VersionRecord[] } {
  const challenger = resolveRef(reg, ref);
  const dataset = typeof gate.dataset === 'string' ? resolveRef(reg, gate.dataset) : gate.dataset;
  const holder = reg.db
    .prepare('SELECT version_id FROM stages WHERE artifact_id = ? AND stage = ?')
    .get(challenger.artifactId, stage) as { version_id: number } | undefined;
  const sides = [challenger];
  if (holder && holder.version_id !== challenger.id) {
    const current = resolveRef(reg, `${challenger.name}@${stage}`);
    if (!current.deprecated) sides.push(current); // a deprecated holder is no baseline: no need to evaluate it
  }
  const needed = gate.allSlices ? [DEFAULT_SLICE] : gate.slices?.length ? gate.slices : [DEFAULT_SLICE];
  const missing = sides.filter((v) => {
    const have = new Set(
      latestEvaluations(reg, v.id, { datasetVersionId: dataset.id, metric: gate.metric }).map((e) => e.slice),
    );
    return needed.some((s) => !have.has(s));
  });
  return { dataset, missing };
}
