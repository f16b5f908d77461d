import { isFlaggedUnsafe } from '../models/record.js';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { materialise } from '../versions/checkout.js';
import { InvalidInputError, NotFoundError, UsageError } from '../errors.js';
import { parseEvalOutput } from './parse-output.js';
import { recordEvaluation, type RecordedEvaluation, type SliceMetrics } from './record.js';
import { parseManifest } from '../store/manifest.js';
import { resolveRef, type VersionRecord } from '../versions/refs.js';
import type { Registry } from '../registry/registry.js';
import { runCommand, type RunOutcome } from '../lib/run-command.js';
import { readObject } from '../store/objects.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * `eval run`: for each model, check the model and the dataset out (hash-checked) into a private
 * temp folder, run the user's command there with MLREG_* variables and {model}/{dataset}
 * substituted, and parse the one JSON document it prints. mlreg itself never opens model files.
 * All or nothing: values are recorded only when every model's run succeeded, in one transaction.
 */

export interface EvalRunOptions {
  models: readonly (string | VersionRecord)[];
  dataset: string | VersionRecord;
  /** The command and its arguments; `{model}` and `{dataset}` are replaced by the checkout folders. */
  command: readonly string[];
  /** Passed through as `shell -c` when the command is one string for a shell (promote --eval-cmd). */
  shell?: boolean;
  timeoutMs?: number | undefined;
  /** The environment the command inherits (the CLI passes its own). */
  env: Record<string, string | undefined>;
  cwd: string;
  onStderr?: (chunk: Buffer) => void;
  actor: string;
  /** Run the command even on a model version whose newest scan found unsafe imports. */
  allowUnsafe?: boolean;
}

export interface EvalRunResult {
  dataset: { name: string; version: string };
  runs: { model: { name: string; version: string }; results: SliceMetrics; ms: number }[];
  recorded: RecordedEvaluation[];
}

export async function evalRun(reg: Registry, opts: EvalRunOptions): Promise<EvalRunResult> {
  if (opts.command.length === 0 || opts.command[0] === '') {
    throw new UsageError('no evaluation command given', {
      code: 'E_NO_COMMAND',
      hint: `Put the command after --, e.g. mlreg eval run fraud@1.4.0 ${optionRef('on')} holdout@latest -- python eval.py`,
    });
  }
  if (opts.models.length === 0)
    throw new UsageError('no model to evaluate', {
      code: 'E_USAGE',
      hint: `Give one or more model references before ${optionRef('on')}.`,
    });
  const { models, dataset } = reg.read(() => {
    const ms = opts.models.map((m) => (typeof m === 'string' ? resolveRef(reg, m) : m));
    for (const m of ms) {
      if (m.kind !== 'model')
        throw new UsageError(`${m.name} is a dataset; eval run evaluates models`, {
          code: 'E_WRONG_KIND',
          hint: `Give model references before ${optionRef('on')} DATASET_REF.`,
        });
      // The evaluation command loads the model: a version flagged unsafe would run its payload here.
      if (!opts.allowUnsafe && isFlaggedUnsafe(reg, m.id))
        throw new InvalidInputError(`${m.name}@${m.version} is flagged unsafe by the model scan`, {
          code: 'E_UNSAFE_MODEL',
          hint: `Its pickles import code mlreg does not allow (see \`mlreg scan ${m.name}@${m.version}\`). Pass ${optionRef('allow-unsafe')} to run the evaluation anyway.`,
        });
    }
    const d = typeof opts.dataset === 'string' ? resolveRef(reg, opts.dataset) : opts.dataset;
    if (d.kind !== 'dataset')
      throw new UsageError(`${d.name} is a model; evaluations are on a dataset`, {
        code: 'E_WRONG_KIND',
        hint: 'Register the evaluation data with `mlreg add dataset NAME PATH`.',
        details: { option: 'on' },
      });
    return { models: ms, dataset: d };
  });

  reg.cleanStaleTemp();
  const work = reg.tempPath('eval');
  const runs: EvalRunResult['runs'] = [];
  try {
    mkdirSync(work, { mode: 0o700 });
    const datasetDir = join(work, 'dataset');
    // One copy of the dataset serves every model's run (the command is told to treat it as read-only).
    await checkoutInto(reg, dataset, work, datasetDir);
    for (const model of models) {
      const modelDir = join(work, 'model');
      await checkoutInto(reg, model, work, modelDir);
      const modelRef = `${model.name}@${model.version}`;
      const datasetRef = `${dataset.name}@${dataset.version}`;
      const argv = opts.shell
        ? ['/bin/sh', '-c', substitute(opts.command.join(' '), modelDir, datasetDir, shellQuote)]
        : opts.command.map((a) => substitute(a, modelDir, datasetDir, (s) => s));
      const outcome = await runCommand({
        argv,
        cwd: opts.cwd,
        timeoutMs: opts.timeoutMs,
        onStderr: opts.onStderr,
        signalGroup: reg.runtime.signalProcessGroup?.bind(reg.runtime),
        env: {
          ...opts.env,
          MLREG_MODEL_DIR: modelDir,
          MLREG_MODEL_REF: modelRef,
          MLREG_DATASET_DIR: datasetDir,
          MLREG_DATASET_REF: datasetRef,
        },
      });
      const results = interpret(outcome, argv[0]!, modelRef, opts.timeoutMs);
      runs.push({ model: { name: model.name, version: model.version }, results, ms: 'ms' in outcome ? outcome.ms : 0 });
      rmSync(modelDir, { recursive: true, force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const recorded = reg.write(() =>
    runs.map((r, i) =>
      recordEvaluation(reg, {
        model: models[i]!,
        dataset,
        results: r.results,
        actor: opts.actor,
        source: 'run',
        details: { command: [...opts.command], ms: r.ms },
      }),
    ),
  );
  return { dataset: { name: dataset.name, version: dataset.version }, runs, recorded };
}

/** A private, hash-checked copy, deleted after the run: nothing to fsync. */
async function checkoutInto(reg: Registry, v: VersionRecord, parent: string, target: string): Promise<void> {
  const manifest = parseManifest(await readObject(reg, v.digest), v.digest);
  await materialise(reg, manifest, parent, target, { durable: false });
}

function substitute(arg: string, modelDir: string, datasetDir: string, quote: (s: string) => string): string {
  return arg.replaceAll('{model}', quote(modelDir)).replaceAll('{dataset}', quote(datasetDir));
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Turn the way the command ended into metric values, or an error naming the reason. */
function interpret(
  outcome: RunOutcome,
  program: string,
  modelRef: string,
  timeoutMs: number | undefined,
): SliceMetrics {
  const who = `the evaluation command for ${modelRef}`;
  const nothing = 'Nothing was recorded.';
  switch (outcome.kind) {
    case 'spawn-error':
      if (outcome.errno === 'ENOENT') {
        throw new NotFoundError(`evaluation command not found: ${program}`, {
          code: 'E_EVAL_COMMAND_NOT_FOUND',
          hint: `Check the name and PATH (relative paths start from the current folder). ${nothing}`,
        });
      }
      if (outcome.errno === 'EACCES') {
        throw new InvalidInputError(`evaluation command cannot be executed: ${program}`, {
          code: 'E_EVAL_COMMAND_NOT_EXECUTABLE',
          hint: `Make it executable (chmod +x) or run it through its interpreter. ${nothing}`,
        });
      }
      throw new InvalidInputError(`evaluation command ${program} could not start: ${outcome.message}`, {
        code: 'E_EVAL_COMMAND_FAILED',
        hint: nothing,
      });
    case 'exited':
      if (outcome.code !== 0) {
        throw new InvalidInputError(`${who} exited with status ${outcome.code}`, {
          code: 'E_EVAL_COMMAND_FAILED',
          hint: `Its stderr is shown above. ${nothing}`,
          details: { exitStatus: outcome.code },
        });
      }
      try {
        return parseEvalOutput(outcome.stdout, who);
      } catch (err) {
        if (err instanceof InvalidInputError)
          throw new InvalidInputError(err.message, { code: err.code, hint: `${err.hint} ${nothing}` });
        throw err;
      }
    case 'signalled':
      throw new InvalidInputError(`${who} was killed by ${outcome.signal}`, {
        code: 'E_EVAL_COMMAND_FAILED',
        hint: `Check its memory use and stderr. ${nothing}`,
      });
    case 'timeout':
      throw new InvalidInputError(
        `${who} did not finish within ${(timeoutMs ?? 0) / 1000} s; its process group was killed (a process that left the group, e.g. with setsid, may still be running)`,
        {
          code: 'E_EVAL_TIMEOUT',
          hint: `Raise ${optionRef('timeout')} if it needs longer. ${nothing}`,
        },
      );
    case 'too-much-output':
      throw new InvalidInputError(`${who} printed more than 16 MiB on stdout; it was stopped`, {
        code: 'E_EVAL_OUTPUT',
        hint: `Print only the metrics JSON on stdout and log to stderr. ${nothing}`,
      });
  }
}
