import { join } from 'node:path';
import type { Registry } from '../src/core/registry/registry.js';
import { addVersion } from '../src/core/versions/add.js';
import assert from 'node:assert/strict';
import { cliInProcess, copySeed, FIXTURES, tempDir, type CliResult } from './helpers.js';
import { registryState } from './registry-state.js';

/** Shared plumbing of the evaluation, gate and compare tests. */

export const EVAL_FIXTURES = join(FIXTURES, 'eval');
export const SCORE = join(EVAL_FIXTURES, 'score.mjs');
export const MISBEHAVE = join(EVAL_FIXTURES, 'misbehave.mjs');

/** Every row of every table and every object, to prove that a refused command changed nothing. */
export function dbSnapshot(root: string): string {
  return JSON.stringify(registryState(root));
}

export interface HoldoutRegistry {
  dir: string;
  reg: string;
  run: (args: string[]) => Promise<CliResult>;
  cleanup: () => void;
}

/** What a suite adds to the holdout registry, once (`key` names the result): then each case gets a copy. */
export interface HoldoutSeed {
  key: string;
  build: (run: (args: string[]) => Promise<CliResult>, dir: string) => Promise<void>;
}

/** A temp registry holding the holdout (hold@1.0.0) and what `seed` adds, and `run` for the CLI on it. */
export async function holdoutRegistry(seed?: HoldoutSeed): Promise<HoldoutRegistry> {
  const t = tempDir();
  const reg = join(t.path, 'reg');
  const runOn = (root: string, cwd: string) => (args: string[]) => cliInProcess(['--registry', root, ...args], { cwd });
  await copySeed(`holdout+${seed?.key ?? ''}`, reg, async (seedCwd) => {
    const seedReg = join(seedCwd, 'reg');
    const run = runOn(seedReg, seedCwd);
    assert.equal((await run(['init', seedReg])).code, 0);
    assert.equal((await run(['add', 'dataset', 'hold', join(EVAL_FIXTURES, 'holdout.csv')])).code, 0);
    await seed?.build(run, seedCwd);
    return seedReg;
  });
  return { dir: t.path, reg, run: runOn(reg, t.path), cleanup: t.cleanup };
}

/** Three threshold models (a: 0.6, b: 0.5, c: 0.42 → m@1.0.0, 1.1.0, 1.2.0) and the holdout (hold@1.0.0). */
export async function seedModels(reg: Registry): Promise<void> {
  await addVersion(reg, { kind: 'dataset', name: 'hold', path: join(EVAL_FIXTURES, 'holdout.csv'), actor: 'tester' });
  for (const m of ['a', 'b', 'c'])
    await addVersion(reg, {
      kind: 'model',
      name: 'm',
      path: join(EVAL_FIXTURES, `model-${m}`),
      actor: 'tester',
      trainedOn: ['hold'],
    });
}

/** Accuracy of a threshold model on the holdout, computed here independently of the evaluation script. */
export function expectedAccuracy(csv: string, threshold: number, onlyRecent = false): number {
  const rows = csv
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').map(Number));
  const used = rows.filter((r) => !onlyRecent || r[2] === 1);
  return used.filter(([x, label]) => (x! > threshold ? 1 : 0) === label).length / used.length;
}
