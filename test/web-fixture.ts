import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectTable } from '../src/core/datasets/formats.js';
import { profileTable } from '../src/core/datasets/profile/profiler.js';
import { datasetAddHooks } from '../src/core/datasets/profiles.js';
import type { Profile } from '../src/core/datasets/profile/types.js';
import { recordEvaluation } from '../src/core/evaluations/record.js';
import { recordObservations } from '../src/core/monitor/observations.js';
import { addRule } from '../src/core/monitor/rules-store.js';
import { Registry, type Runtime } from '../src/core/registry/registry.js';
import { promote } from '../src/core/stages/promote.js';
import { rollback } from '../src/core/stages/rollback.js';
import { addVersion } from '../src/core/versions/add.js';
import { deprecate } from '../src/core/versions/retire.js';
import { recordReport } from '../src/core/follow/reports.js';
import { resolveRef } from '../src/core/versions/refs.js';
import { FIXTURES, testRuntime } from './helpers.js';

/**
 * A registry for the web app's tests, built through the core API from the real fixtures (the
 * scikit-learn models, the cancer CSVs) on a clock that moves a few hours per step, so the stage
 * timeline and the monitoring chart have something to draw. Every user string that a page shows
 * carries an XSS attempt somewhere: a description, a tag, a reason, a column name, a category.
 */

export const XSS = {
  description: '<img src=x onerror=alert(1)>',
  tag: '<svg onload=alert(2)>',
  reason: '<img src=x onerror=alert(3)>',
  column: '<img src=x onerror=alert(4)>',
  category: '<script>alert(5)</script>',
  deprecation: '<i onmouseover=alert(6)>old</i>',
  follower: '<img src=x onerror=alert(7)>',
};

export async function buildWebFixture(root: string, work: string): Promise<void> {
  let t = Date.parse('2026-10-01T08:00:00Z');
  const runtime: Runtime = { ...testRuntime, now: () => new Date(t) };
  const tick = (hours: number) => (t += hours * 3_600_000);
  Registry.init(root, runtime);
  const reg = Registry.open(root, runtime);
  const actor = 'alice <alice@example.com>';
  try {
    const dataset = async (name: string, version: string, path: string, description?: string) => {
      tick(2);
      return addVersion(reg, {
        kind: 'dataset',
        name,
        path,
        version,
        actor,
        description,
        ...datasetAddHooks(reg, true),
      });
    };
    await dataset(
      'train',
      '1.0.0',
      join(FIXTURES, 'datasets', 'train.csv'),
      'Breast cancer training set (scikit-learn)',
    );
    await dataset(
      'train',
      '1.1.0',
      join(FIXTURES, 'datasets', 'batch_drifted.csv'),
      'A batch with three drifted columns',
    );

    // A dataset whose column name and category values are markup.
    const hostile = (src: string, dest: string) => {
      const text = readFileSync(join(FIXTURES, 'datasets', src), 'utf8')
        .replace('diagnosis', `"${XSS.column}"`)
        .replaceAll(',small\n', `,${XSS.category}\n`);
      writeFileSync(join(work, dest), text);
      return join(work, dest);
    };
    await dataset('hostile', '1.0.0', hostile('holdout.csv', 'hostile-a.csv'), XSS.description);
    await dataset('hostile', '1.1.0', hostile('batch_drifted.csv', 'hostile-b.csv'));

    const metrics = (file: string) =>
      JSON.parse(readFileSync(join(FIXTURES, 'models', file), 'utf8')) as Record<string, number>;
    const model = async (version: string, path: string, metricsFile: string, description: string) => {
      tick(3);
      return addVersion(reg, {
        kind: 'model',
        name: 'cancer',
        path: join(FIXTURES, 'models', path),
        version,
        metrics: metrics(metricsFile),
        params: { model: 'LogisticRegression', C: '1.0' },
        tags: { owner: 'ml-team', note: XSS.tag },
        trainedOn: ['train@1.0.0'],
        description,
        actor,
      });
    };
    await model('1.0.0', 'cancer-v1.joblib', 'cancer-v1.metrics.json', XSS.description);
    await model('1.1.0', 'cancer-v2.joblib', 'cancer-v2.metrics.json', 'Retrained with more regularisation');
    await model('1.2.0', 'cancer-folder', 'cancer-folder.metrics.json', 'The model as a folder');

    for (const [v, auc, acc] of [
      ['1.0.0', 0.981, 0.95],
      ['1.1.0', 0.985, 0.96],
      ['1.2.0', 0.979, 0.94],
    ] as const) {
      tick(1);
      recordEvaluation(reg, {
        model: `cancer@${v}`,
        dataset: 'train@1.0.0',
        results: { all: { auc, accuracy: acc }, large: { auc: auc - 0.02, accuracy: acc - 0.03 } },
        actor,
        source: 'record',
      });
    }

    const live = (values: number[], stepHours: number) => {
      for (const auc of values) {
        tick(stepHours);
        recordObservations(reg, {
          target: { name: 'cancer', stage: 'production' },
          values: [{ metric: 'auc', value: auc }],
          source: 'live',
          actor: 'monitor',
        });
      }
    };
    tick(2);
    promote(reg, { ref: 'cancer@1.0.0', stage: 'production', actor, reason: XSS.reason });
    live([0.97, 0.965, 0.968, 0.96, 0.962], 6);
    tick(4);
    promote(reg, { ref: 'cancer@1.1.0', stage: 'staging', actor: 'bob', reason: 'candidate' });
    tick(8);
    promote(reg, { ref: 'cancer@1.1.0', stage: 'production', actor: 'bob', reason: 'better auc on train@1.0.0' });
    live([0.95, 0.93, 0.9, 0.87], 6);
    tick(2);
    rollback(reg, { name: 'cancer', actor: 'oncall', reason: 'live auc fell under 0.9' });
    live([0.961, 0.964, 0.966], 6);
    tick(3);
    promote(reg, { ref: 'cancer@1.2.0', stage: 'staging', actor: 'bob', reason: 'folder build' });
    addRule(reg, { name: 'cancer', stage: 'production' }, 'auc < 0.9', 3, actor);
    tick(1);
    deprecate(reg, 'cancer@1.1.0', { actor: 'oncall', reason: XSS.deprecation });
    tick(1);
    promote(reg, { ref: 'train@1.0.0', stage: 'production', actor, reason: 'reference data' });
    // A follower serving cancer@production (1.0.0 after the rollback), with a hostile id and host.
    const served = resolveRef(reg, 'cancer@production');
    recordReport(
      reg,
      {
        op: 'follower.report',
        at: new Date(t).toISOString(),
        name: 'cancer',
        stage: 'production',
        follower: XSS.follower,
        host: XSS.follower,
        version: served.version,
        digest: served.digest,
        switchedAt: new Date(t).toISOString(),
        previous: '1.1.0',
        hook: { result: 'ok', exitCode: 0, ms: 12, message: null },
        heartbeatMs: 60_000,
        deployed: true,
      },
      'web-1',
    );
  } finally {
    reg.close();
  }
}

/**
 * A wide table made from a real fixture: its columns repeated under new names (with a small
 * per-copy shift in numeric columns) until there are `columns` of them.
 */
export function writeWideCsv(src: string, dest: string, columns = 100): void {
  const lines = readFileSync(src, 'utf8').trim().split('\n');
  const head = lines[0]!.split(',');
  const rows = lines.slice(1).map((l) => l.split(','));
  const picks = Array.from({ length: columns }, (_, i) => ({
    col: i % head.length,
    copy: Math.floor(i / head.length),
  }));
  const out = [picks.map((p) => `${head[p.col]}_${p.copy}`).join(',')];
  for (const r of rows)
    out.push(
      picks
        .map((p) => {
          const v = r[p.col] ?? '';
          const n = Number(v);
          return v !== '' && Number.isFinite(n) && p.copy > 0 ? String(n * (1 + p.copy / 100)) : v;
        })
        .join(','),
    );
  writeFileSync(dest, `${out.join('\n')}\n`);
}

/**
 * Add a wide CSV as a dataset version through the core API. The profile is computed with a larger
 * DuckDB memory limit than `add` uses (256 MB), which a 100-column table exceeds today.
 */
export async function addWideDataset(root: string, name: string, version: string, csv: string): Promise<void> {
  const reg = Registry.open(root, testRuntime);
  try {
    await addVersion(reg, {
      kind: 'dataset',
      name,
      path: csv,
      version,
      actor: 'tester',
      inspect: (files) => profileTable(detectTable(files), { tempPath: (x) => reg.tempPath(x), memoryLimitMb: 2048 }),
      profileOf: (profile) => ({ format: (profile as Profile).format, profile }),
    });
  } finally {
    reg.close();
  }
}
