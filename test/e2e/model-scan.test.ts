import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliInProcess, FIXTURES, tempDir } from '../helpers.js';

const SCAN = join(FIXTURES, 'models', 'scan');

async function registry() {
  const t = tempDir();
  const env = { MLREG_REGISTRY: join(t.path, 'reg') };
  assert.equal((await cliInProcess(['init', env.MLREG_REGISTRY])).code, 0);
  return { t, run: (args: string[]) => cliInProcess([...args, '--json'], { env }) };
}

test('add refuses an unsafe model with exit 2 and registers nothing; --unsafe registers it flagged', async () => {
  const { t, run } = await registry();
  try {
    const refused = await run(['add', 'model', 'fraud', join(SCAN, 'malicious', 'os_system_global.joblib.lz4')]);
    assert.equal(refused.code, 2);
    assert.equal(refused.json?.error?.code, 'E_UNSAFE_MODEL');
    assert.match(refused.json!.error!.message, /os\.system \(GLOBAL\) is dangerous/);
    assert.equal(refused.json?.error?.details.findings[0].file, 'os_system_global.joblib.lz4');
    assert.deepEqual((await run(['list'])).json?.data.artifacts, []);

    const folder = await run(['add', 'model', 'fraud', join(SCAN, 'malicious', 'runpy_run_code_folder')]);
    assert.equal(folder.code, 2);
    assert.equal(folder.json?.error?.details.findings[0].file, 'model/parts/estimator.bin');

    const forced = await run(['add', 'model', 'fraud', join(SCAN, 'malicious', 'subprocess_popen.pt'), '--unsafe']);
    assert.equal(forced.code, 0, forced.stdout + forced.stderr);
    const shown = await run(['show', 'fraud@1.0.0']);
    assert.equal(shown.json?.data.scan.verdict, 'unsafe');
    assert.match(shown.json?.data.scan.override, /--unsafe/);
    const listed = await run(['list', 'fraud']);
    assert.equal(listed.json?.data.versions[0].unsafe, true);
    const history = await run(['history', 'fraud']);
    assert.equal(history.code, 0);
  } finally {
    t.cleanup();
  }
});

test('--allow-import and scan.allow let a named unknown import through; dangerous ones stay refused', async () => {
  const { t, run } = await registry();
  try {
    // A pickle of a class mlreg does not know: module mypkg.models, class Scorer.
    const file = join(t.path, 'custom.pkl');
    writeFileSync(file, Buffer.from('\x80\x02cmypkg.models\nScorer\n)\x81}b.', 'latin1'));
    const refused = await run(['add', 'model', 'm', file]);
    assert.equal(refused.code, 2);
    assert.equal(refused.json?.error?.details.findings[0].verdict, 'unknown');
    assert.equal((await run(['add', 'model', 'm', file, '--allow-import', 'mypkg.models.Scorer'])).code, 0);
    assert.equal((await run(['config', 'set', 'scan.allow', 'mypkg.models.*'])).code, 0);
    assert.equal((await run(['add', 'model', 'm', file, '--version', '2.0.0'])).code, 0);
    assert.equal((await run(['config', 'set', 'scan.allow', 'not an entry'])).code, 2);
    const os = await run([
      'add',
      'model',
      'm',
      join(SCAN, 'malicious', 'os_system_global.pkl'),
      '--allow-import',
      'os.system',
    ]);
    assert.equal(os.code, 2);
    assert.equal((await run(['add', 'model', 'm', file, '--allow-import', 'bad name'])).code, 2);
  } finally {
    t.cleanup();
  }
});

test('scan PATH and REF, and scan --all reports versions whose verdict changed', async () => {
  const { t, run } = await registry();
  try {
    assert.equal((await run(['scan', join(SCAN, 'benign', 'model_folder')])).code, 0);
    const bad = await run(['scan', join(SCAN, 'malicious', 'webbrowser_open.npy')]);
    assert.equal(bad.code, 2);
    assert.equal(bad.json?.error?.code, 'E_UNSAFE_MODEL');
    const file = join(t.path, 'custom.pkl');
    writeFileSync(file, Buffer.from('\x80\x02cmypkg.models\nScorer\n)\x81}b.', 'latin1'));
    assert.equal((await run(['config', 'set', 'scan.allow', 'mypkg.models.Scorer'])).code, 0);
    assert.equal((await run(['add', 'model', 'm', file])).code, 0);
    assert.equal((await run(['add', 'model', 'm', join(SCAN, 'benign', 'svc.joblib')])).code, 0);
    assert.equal((await run(['scan', 'm@1.0.0'])).code, 0);
    const same = await run(['scan', '--all']);
    assert.equal(same.code, 0);
    assert.equal(same.json?.data.scanned, 2);
    assert.deepEqual(same.json?.data.changes, []);
    // Taking the allowance back: the version that needed it turns unsafe, and is flagged.
    assert.equal((await run(['config', 'unset', 'scan.allow'])).code, 0);
    const changed = await run(['scan', '--all']);
    assert.equal(changed.json?.data.changes.length, 1);
    assert.equal(changed.json?.data.changes[0].version, '1.0.0');
    assert.equal(changed.json?.data.changes[0].after.verdict, 'unsafe');
    assert.equal(
      (await run(['list', 'm'])).json?.data.versions.find((v: { version: string }) => v.version === '1.0.0').unsafe,
      true,
    );
  } finally {
    t.cleanup();
  }
});

test('show has the signature read from the model; --signature overrides it', async () => {
  const { t, run } = await registry();
  try {
    assert.equal((await run(['add', 'model', 'p', join(SCAN, 'benign', 'pipeline_columns.xz.joblib')])).code, 0);
    const sig = (await run(['show', 'p'])).json?.data.signature;
    assert.equal(sig.class, 'sklearn.pipeline.Pipeline');
    assert.deepEqual(sig.feature_names_in, ['age', 'income', 'city', 'plan']);
    assert.equal((await run(['add', 'model', 'o', join(SCAN, 'benign', 'linear.onnx')])).code, 0);
    assert.equal((await run(['show', 'o'])).json?.data.signature.inputs[0].name, 'features');
    const given = join(t.path, 'sig.json');
    writeFileSync(given, JSON.stringify({ features: [{ name: 'age', kind: 'number' }, 'city'] }));
    assert.equal(
      (
        await run([
          'add',
          'model',
          'o',
          join(SCAN, 'benign', 'linear.onnx'),
          '--signature',
          given,
          '--version',
          '2.0.0',
        ])
      ).code,
      0,
    );
    assert.deepEqual((await run(['show', 'o@2.0.0'])).json?.data.signature.features, [
      { name: 'age', kind: 'number' },
      { name: 'city', kind: 'any' },
    ]);
    writeFileSync(given, '{"features": 3}');
    assert.equal((await run(['add', 'model', 'o', join(SCAN, 'benign', 'linear.onnx'), '--signature', given])).code, 2);
  } finally {
    t.cleanup();
  }
});

test('compare gives a newly required feature its own line; check --against-model checks the batch against the signature', async () => {
  const { t, run } = await registry();
  try {
    const rows = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i)).join('\n');
    const train = join(t.path, 'train.csv');
    writeFileSync(
      train,
      `age,income,city,plan\n${rows(60, (i) => `${20 + (i % 40)},${30000 + i * 500},${['paris', 'lyon', 'nice'][i % 3]},${i % 2 ? 'pro' : 'basic'}`)}\n`,
    );
    assert.equal((await run(['add', 'dataset', 'train', train])).code, 0);
    assert.equal(
      (await run(['add', 'model', 'p', join(SCAN, 'benign', 'scaler_pipeline.joblib'), '--trained-on', 'train'])).code,
      0,
    );
    assert.equal(
      (await run(['add', 'model', 'p', join(SCAN, 'benign', 'pipeline_columns.joblib'), '--trained-on', 'train'])).code,
      0,
    );
    const cmp = await run(['compare', 'p@1.0.0', 'p@1.1.0']);
    assert.equal(cmp.code, 0, cmp.stderr);
    assert.deepEqual(cmp.json?.data.signature.newlyRequired, ['city', 'plan']);
    const text = await cliInProcess(['compare', 'p@1.0.0', 'p@1.1.0'], {
      env: { MLREG_REGISTRY: join(t.path, 'reg') },
    });
    assert.match(text.stdout, /NEW REQUIRED FEATURES: city, plan/);

    const ok = join(t.path, 'ok.csv');
    writeFileSync(
      ok,
      `age,income,city,plan,extra\n${rows(60, (i) => `${20 + (i % 40)},${30000 + i * 500},${['paris', 'lyon', 'nice'][i % 3]},${i % 2 ? 'pro' : 'basic'},x`)}\n`,
    );
    const pass = await run(['check', ok, '--against-model', 'p@1.1.0']);
    assert.equal(pass.code, 0, pass.stdout);
    const info = pass.json?.data.records.find(
      (r: { column: string; check: string }) => r.column === 'extra' && r.check === 'model input',
    );
    assert.equal(info.status, 'INFO');

    const bad = join(t.path, 'bad.csv');
    writeFileSync(
      bad,
      `age,income,city\n${rows(60, (i) => `old${i},${30000 + i * 500},${['paris', 'lyon', 'nice'][i % 3]}`)}\n`,
    );
    const fail = await run(['check', bad, '--against-model', 'p@1.1.0']);
    assert.equal(fail.code, 1);
    const failed = fail.json?.error?.details.records.filter(
      (r: { status: string; check: string }) => r.check.startsWith('model input') && r.status === 'FAIL',
    );
    assert.deepEqual(failed.map((r: { column: string; check: string }) => `${r.column}:${r.check}`).sort(), [
      'age:model input type',
      'plan:model input',
    ]);
  } finally {
    t.cleanup();
  }
});

test('eval run refuses a version flagged unsafe unless --allow-unsafe', async () => {
  const { t, run } = await registry();
  try {
    const data = join(t.path, 'holdout.csv');
    writeFileSync(data, 'x,y\n1,2\n3,4\n');
    assert.equal((await run(['add', 'dataset', 'holdout', data])).code, 0);
    assert.equal(
      (await run(['add', 'model', 'm', join(SCAN, 'malicious', 'socket_connect.joblib.bz2'), '--unsafe'])).code,
      0,
    );
    const cmd = ['--', process.execPath, '-e', 'console.log(JSON.stringify({auc: 0.5}))'];
    // --json goes before `--`: everything after it is the evaluation command.
    const env = { MLREG_REGISTRY: join(t.path, 'reg') };
    const refused = await cliInProcess(['eval', 'run', 'm', '--on', 'holdout', '--json', ...cmd], { env });
    assert.equal(refused.code, 2);
    assert.equal(refused.json?.error?.code, 'E_UNSAFE_MODEL');
    const allowed = await cliInProcess(['eval', 'run', 'm', '--on', 'holdout', '--allow-unsafe', '--json', ...cmd], {
      env,
    });
    assert.equal(allowed.code, 0, allowed.stdout + allowed.stderr);
  } finally {
    t.cleanup();
  }
});
