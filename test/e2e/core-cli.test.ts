import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync, mkdirSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cli, cliInProcess, FIXTURES, tempDir } from '../helpers.js';

const MODELS = join(FIXTURES, 'models');
const expectedMetrics = JSON.parse(readFileSync(join(MODELS, 'metrics.json'), 'utf8')) as Record<
  string,
  Record<string, number>
>;

test('the on-call story with real scikit-learn models: add, promote, roll back, history, checkout', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    assert.equal((await cliInProcess(['init'], { cwd })).code, 0);
    assert.ok(existsSync(join(cwd, '.mlreg', 'mlreg.db')));

    const v1 = await cliInProcess(
      [
        'add',
        'model',
        'cancer',
        join(MODELS, 'cancer-v1.joblib'),
        '--metrics-file',
        join(MODELS, 'cancer-v1.metrics.json'),
        '--param',
        'C=0.05',
        '--tag',
        'team=risk',
        '--description',
        'logistic regression',
        '--json',
      ],
      { cwd },
    );
    assert.equal(v1.code, 0, v1.stderr);
    assert.equal(v1.json?.data.version.version, '1.0.0');
    assert.equal(v1.json?.data.version.size, readFileSync(join(MODELS, 'cancer-v1.joblib')).length);
    const v2 = await cliInProcess(
      [
        'add',
        'model',
        'cancer',
        join(MODELS, 'cancer-v2.joblib'),
        '--metrics-file',
        join(MODELS, 'cancer-v2.metrics.json'),
        '--json',
      ],
      { cwd },
    );
    assert.equal(v2.json?.data.version.version, '1.1.0');
    const v3 = await cliInProcess(
      ['add', 'model', 'cancer', join(MODELS, 'cancer-folder'), '--bump', 'major', '--json'],
      { cwd },
    );
    assert.equal(v3.json?.data.version.version, '2.0.0');
    assert.equal(v3.json?.data.version.fileCount, 3);

    const shown = (await cliInProcess(['show', 'cancer@1.0.0', '--json'], { cwd })).json?.data;
    assert.deepEqual(shown.metrics, expectedMetrics['cancer-v1.joblib']);
    assert.deepEqual(shown.params, { C: '0.05' });
    assert.deepEqual(shown.tags, { team: 'risk' });
    assert.equal(shown.version.description, 'logistic regression');
    assert.equal(shown.manifest.files[0].path, 'cancer-v1.joblib');

    for (const v of ['1.0.0', '1.1.0', '2.0.0']) {
      const p = await cliInProcess(
        ['promote', `cancer@${v}`, '--to', 'production', '--reason', `ship ${v}`, '--json'],
        { cwd },
      );
      assert.equal(p.code, 0, p.stderr);
    }
    const rb = await cliInProcess(
      ['rollback', 'cancer', '--reason', 'INC-42: recall dropped', '--actor', 'oncall-bob', '--json'],
      {
        cwd,
      },
    );
    assert.equal(rb.code, 0, rb.stderr);
    assert.deepEqual([rb.json?.data.from, rb.json?.data.to, rb.json?.data.actor], ['2.0.0', '1.1.0', 'oncall-bob']);

    const hist = (await cliInProcess(['history', 'cancer', '--json'], { cwd })).json?.data.events;
    assert.deepEqual(
      hist.map((e: { kind: string; from: string | null; to: string; actor: string; reason: string }) => [
        e.kind,
        e.from,
        e.to,
        e.actor,
        e.reason,
      ]),
      [
        ['rollback', '2.0.0', '1.1.0', 'oncall-bob', 'INC-42: recall dropped'],
        ['promote', '1.1.0', '2.0.0', 'tester', 'ship 2.0.0'],
        ['promote', '1.0.0', '1.1.0', 'tester', 'ship 1.1.0'],
        ['promote', null, '1.0.0', 'tester', 'ship 1.0.0'],
      ],
    );
    const human = (await cliInProcess(['history', 'cancer'], { cwd })).stdout;
    assert.match(human, /rollback\s+production\s+2\.0\.0 → 1\.1\.0\s+oncall-bob/);

    // checkout, then rollback --checkout switches the serving folder in the same step.
    const srv = join(cwd, 'srv');
    const co = await cliInProcess(['checkout', 'cancer@production', srv, '--json'], { cwd });
    assert.equal(co.code, 0, co.stderr);
    assert.equal(readlinkSync(join(srv, 'current')), 'versions/1.1.0');
    assert.deepEqual(
      readFileSync(join(srv, 'current', 'cancer-v2.joblib')),
      readFileSync(join(MODELS, 'cancer-v2.joblib')),
    );
    const rb2 = await cliInProcess(['rollback', 'cancer', '--checkout', srv, '--json'], { cwd });
    assert.equal(rb2.code, 0, rb2.stderr);
    assert.equal(readlinkSync(join(srv, 'current')), 'versions/1.0.0');
    assert.equal(rb2.json?.data.checkout.previous, '1.1.0');
    const pf = await cliInProcess(['promote', 'cancer@2.0.0', '--to', 'production', '--checkout', srv, '--json'], {
      cwd,
    });
    assert.equal(pf.code, 0, pf.stderr);
    // The version's files, and the metadata file that says what the folder serves (docs/serving.md).
    assert.deepEqual(readdirSync(join(srv, 'current')).sort(), [
      '.mlreg-version.json',
      'config.json',
      'model.joblib',
      'preprocessing',
    ]);

    const listed = (await cliInProcess(['list', '--json'], { cwd })).json?.data.artifacts;
    assert.deepEqual(
      listed.map((a: { name: string; versions: number; latest: string; stages: object }) => [
        a.name,
        a.versions,
        a.latest,
        a.stages,
      ]),
      [['cancer', 3, '2.0.0', { production: '2.0.0' }]],
    );
    const versions = (await cliInProcess(['list', 'cancer', '--json'], { cwd })).json?.data.versions;
    assert.deepEqual(
      versions.map((v: { version: string }) => v.version),
      ['2.0.0', '1.1.0', '1.0.0'],
    );
  } finally {
    t.cleanup();
  }
});

test('re-adding identical content stores no second copy', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    await cliInProcess(['init'], { cwd });
    const a = (await cliInProcess(['add', 'model', 'm', join(MODELS, 'cancer-v2.joblib'), '--json'], { cwd })).json
      ?.data;
    const b = (await cliInProcess(['add', 'model', 'm', join(MODELS, 'cancer-v2.joblib'), '--json'], { cwd })).json
      ?.data;
    assert.ok(a.bytesWritten > 0);
    assert.equal(b.bytesWritten, 0);
    assert.equal(a.version.digest, b.version.digest);
  } finally {
    t.cleanup();
  }
});

test('registry discovery: --registry, then MLREG_REGISTRY, then the nearest .mlreg above the working folder', async () => {
  const t = tempDir();
  try {
    const project = join(t.path, 'project');
    const deep = join(project, 'src', 'deep');
    mkdirSync(deep, { recursive: true });
    await cliInProcess(['init'], { cwd: project });
    await cliInProcess(['init', join(t.path, 'other')], { cwd: t.path });
    await cliInProcess(['add', 'model', 'walked', join(MODELS, 'cancer-v1.joblib')], { cwd: deep });
    await cliInProcess(['add', 'model', 'by-env', join(MODELS, 'cancer-v1.joblib')], {
      cwd: deep,
      env: { MLREG_REGISTRY: join(t.path, 'other') },
    });
    await cliInProcess(
      ['add', 'model', 'by-flag', join(MODELS, 'cancer-v1.joblib'), '--registry', join(t.path, 'other')],
      {
        cwd: deep,
        env: { MLREG_REGISTRY: join(project, '.mlreg') },
      },
    );
    const names = (dir: string) =>
      cli(['list', '--json', '--registry', dir], { cwd: t.path }).json?.data.artifacts.map(
        (a: { name: string }) => a.name,
      );
    assert.deepEqual(names(join(project, '.mlreg')), ['walked']);
    assert.deepEqual(names(join(t.path, 'other')), ['by-env', 'by-flag']);
    // init creates the registry where the others would look for it.
    assert.equal(
      (await cliInProcess(['init'], { cwd: t.path, env: { MLREG_REGISTRY: join(t.path, 'from-env') } })).code,
      0,
    );
    assert.ok(existsSync(join(t.path, 'from-env', 'mlreg.db')));
    const none = await cliInProcess(['list', '--json'], { cwd: t.path });
    assert.equal(none.code, 3);
    assert.equal(none.json?.error?.code, 'E_NO_REGISTRY');
    assert.match(none.json?.error?.hint ?? '', /mlreg init/);
  } finally {
    t.cleanup();
  }
});

test('--json prints exactly one document on stdout, and errors go to stderr in human mode', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    await cliInProcess(['init'], { cwd });
    const ok = await cliInProcess(['add', 'model', 'm', join(MODELS, 'cancer-v1.joblib'), '--json'], { cwd });
    assert.equal(ok.stdout.trim().split('\n').length, 1);
    assert.equal(ok.json?.ok, true);
    const bad = await cliInProcess(['show', 'm@9.9.9'], { cwd });
    assert.equal(bad.code, 3);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /mlreg: error: m has no version 9\.9\.9\nhint: /);
    const usage = await cliInProcess(['promote', 'm@1.0.0', '--json'], { cwd });
    assert.equal(usage.code, 2);
    assert.equal(usage.json?.ok, false);
    assert.match(usage.json?.error?.message ?? '', /--to/);
  } finally {
    t.cleanup();
  }
});

test('a newcomer gets help: every command explains itself', async () => {
  const top = await cliInProcess(['--help']);
  assert.equal(top.code, 0);
  for (const cmd of ['init', 'add', 'list', 'show', 'promote', 'rollback', 'history', 'checkout'])
    assert.match(top.stdout, new RegExp(`\\n  ${cmd}\\b`));
  const version = await cliInProcess(['--version']);
  assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+/);
});
