import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../../helpers.js';
import { Allowlist, scanFiles } from '../../../src/core/models/scan.js';
import { sklearnSignature } from '../../../src/core/models/signature.js';
import { readOnnxSignature } from '../../../src/core/models/onnx.js';
import { PickleReader } from '../../../src/core/models/pickle/reader.js';

const SCAN = join(FIXTURES, 'models', 'scan');
const MALICIOUS = join(SCAN, 'malicious');
const BENIGN = join(SCAN, 'benign');

function filesUnder(dir: string, rel = ''): { path: string; abs: string }[] {
  return readdirSync(dir).flatMap((n) => {
    const abs = join(dir, n);
    const path = rel ? `${rel}/${n}` : n;
    return statSync(abs).isDirectory() ? filesUnder(abs, path) : [{ path, abs }];
  });
}

/** A fixture entry: one file, or a folder scanned as one model version. */
async function scanEntry(dir: string, name: string) {
  const abs = join(dir, name);
  const files = statSync(abs).isDirectory() ? filesUnder(abs) : [{ path: name, abs }];
  return scanFiles(files, new Allowlist());
}

const PAYLOAD_IMPORT: Record<string, string> = {
  os_system_global: 'os.system',
  stack_global_memo: 'posix.system',
  builtins_eval: 'builtins.eval',
  builtins_exec_proto2: '__builtin__.exec',
  getattr_chain: 'builtins.getattr',
  subprocess_popen: 'subprocess.Popen',
  nested_pickle_loads: '_pickle.loads',
  runpy_run_code: 'runpy._run_code',
  importlib_import_module: 'importlib.import_module',
  pkgutil_resolve_name: 'pkgutil.resolve_name',
  webbrowser_open: 'webbrowser.open',
  socket_connect: 'socket.create_connection',
};

test('every malicious fixture is refused, in every container, naming the payload import', async () => {
  const expected = JSON.parse(readFileSync(join(MALICIOUS, 'expected.json'), 'utf8')) as Record<string, string[]>;
  assert.deepEqual(Object.keys(expected).sort(), Object.keys(PAYLOAD_IMPORT).sort());
  let checked = 0;
  for (const [payload, entries] of Object.entries(expected)) {
    // raw pickle, 6 compressors, object .npy, PyTorch-like zip, model folder
    assert.equal(entries.length, 10, payload);
    for (const entry of entries) {
      const { report } = await scanEntry(MALICIOUS, entry);
      assert.equal(report.verdict, 'unsafe', entry);
      const imports = report.findings.map((f) => f.import);
      assert.ok(imports.includes(PAYLOAD_IMPORT[payload]!), `${entry}: ${imports.join(', ')}`);
      assert.ok(
        report.findings.every((f) => f.verdict === 'dangerous'),
        `${entry}: ${JSON.stringify(report.findings)}`,
      );
      checked++;
    }
  }
  assert.equal(checked, 120);
});

test('a real model with a payload after its raw joblib arrays is refused under every compressor', async () => {
  const names = readdirSync(MALICIOUS).filter((n) => n.startsWith('model_with_hook.joblib'));
  assert.equal(names.length, 7);
  for (const n of names) {
    const { report } = await scanEntry(MALICIOUS, n);
    assert.equal(report.verdict, 'unsafe', n);
    assert.deepEqual(
      report.findings.map((f) => f.import),
      ['posix.system'],
      n,
    );
  }
});

test('a Keras archive with a Lambda layer is refused; one without is not', async () => {
  const bad = (await scanEntry(MALICIOUS, 'lambda_layer.keras')).report;
  assert.equal(bad.verdict, 'unsafe');
  assert.ok(bad.findings.some((f) => f.import === 'keras.layers.Lambda'));
  assert.equal((await scanEntry(BENIGN, 'dense.keras')).report.verdict, 'safe');
});

test('no false positive on real scikit-learn models, numpy files, ONNX and a model folder', async () => {
  const entries = readdirSync(BENIGN).filter((n) => n !== 'expected.json');
  assert.ok(entries.length >= 25, `only ${entries.length} benign fixtures`);
  for (const n of entries) {
    const { report } = await scanEntry(BENIGN, n);
    assert.deepEqual(report.findings, [], n);
    assert.equal(report.verdict, 'safe', n);
  }
  // The older fixtures of the registry's own tests too.
  for (const n of ['cancer-v1.joblib', 'cancer-v2.joblib', 'cancer-folder']) {
    const { report } = await scanEntry(join(FIXTURES, 'models'), n);
    assert.equal(report.verdict, 'safe', n);
  }
});

test('signatures equal what scikit-learn and onnx report (the generator wrote them)', async () => {
  const { signatures } = JSON.parse(readFileSync(join(BENIGN, 'expected.json'), 'utf8')) as {
    signatures: Record<string, Record<string, unknown>>;
  };
  assert.ok(Object.keys(signatures).length >= 20);
  for (const [file, want] of Object.entries(signatures)) {
    const got = file.endsWith('.onnx')
      ? ((await readOnnxSignature(join(BENIGN, file), file)) as unknown as Record<string, unknown>)
      : ((sklearnSignature((await scanEntry(BENIGN, file)).roots) ?? {}) as unknown as Record<string, unknown>);
    const picked = Object.fromEntries(Object.keys(want).map((k) => [k, got[k]]));
    assert.deepEqual(picked, want, file);
  }
});

test('a Pipeline with a ColumnTransformer tells categorical from numeric features', async () => {
  const sig = sklearnSignature((await scanEntry(BENIGN, 'pipeline_columns.joblib')).roots);
  assert.deepEqual(sig?.features, [
    { name: 'age', kind: 'number' },
    { name: 'income', kind: 'number' },
    { name: 'city', kind: 'category' },
    { name: 'plan', kind: 'category' },
  ]);
});

test('the reader is streaming: any chunking gives the same imports, and a cut stream is not complete', () => {
  const data = readFileSync(join(MALICIOUS, 'model_with_hook.joblib'));
  const whole = new PickleReader();
  whole.push(data);
  const ref = whole.end();
  assert.ok(ref.complete);
  for (const size of [1, 7, 4096]) {
    const r = new PickleReader();
    for (let i = 0; i < data.length; i += size) r.push(data.subarray(i, i + size));
    const got = r.end();
    assert.deepEqual(
      got.imports.map((x) => [x.module, x.name, x.offset]),
      ref.imports.map((x) => [x.module, x.name, x.offset]),
      `chunk ${size}`,
    );
  }
  const cut = new PickleReader();
  cut.push(data.subarray(0, data.length - 10));
  const c = cut.end();
  assert.equal(c.complete, false);
  assert.ok(c.error);
});

test('a truncated or corrupt file that claims to be a pickle is refused, a CSV is not', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'mlreg-scan-'));
  try {
    const good = readFileSync(join(BENIGN, 'ridge.joblib'));
    writeFileSync(join(dir, 'cut.joblib'), good.subarray(0, good.length - 40));
    writeFileSync(join(dir, 'junk.pkl'), Buffer.from('\x80\x04\xff\xff garbage'));
    const gz = readFileSync(join(BENIGN, 'pipeline_columns.gzip.joblib'));
    writeFileSync(join(dir, 'cut.gzip.joblib'), gz.subarray(0, gz.length - 100));
    writeFileSync(join(dir, 'broken.pt'), Buffer.from('PK\x03\x04 not really a zip'));
    // A corrupt lz4 block size: the decoder fails early, and the scan must still finish (it once waited forever).
    const lz4 = Buffer.from(readFileSync(join(BENIGN, 'pipeline_columns.lz4.joblib')));
    lz4.writeUInt32LE(0x7fffffff, 7);
    writeFileSync(join(dir, 'bad.lz4.joblib'), lz4);
    const xz = Buffer.from(readFileSync(join(BENIGN, 'pipeline_columns.xz.joblib')));
    xz[xz.length - 30]! ^= 0xff;
    writeFileSync(join(dir, 'bad.xz.joblib'), xz);
    writeFileSync(join(dir, 'data.csv'), 'city,income\nparis,1\ncos,2\n');
    for (const n of ['cut.joblib', 'junk.pkl', 'cut.gzip.joblib', 'broken.pt', 'bad.lz4.joblib', 'bad.xz.joblib']) {
      const { report } = await scanFiles([{ path: n, abs: join(dir, n) }], new Allowlist());
      assert.equal(report.verdict, 'unsafe', n);
      assert.ok(
        report.findings.some((f) => f.verdict === 'unreadable'),
        n,
      );
    }
    const { report } = await scanFiles([{ path: 'data.csv', abs: join(dir, 'data.csv') }], new Allowlist());
    assert.equal(report.verdict, 'safe');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the allowlist: unknown imports can be allowed by name, dangerous ones cannot', () => {
  const base = new Allowlist();
  assert.equal(base.classify('mypkg.features', 'Encoder').verdict, 'unknown');
  assert.equal(base.classify('os', 'system').verdict, 'dangerous');
  assert.equal(base.classify('__builtin__', 'getattr').verdict, 'dangerous');
  assert.equal(base.classify('builtins', 'set').verdict, 'allowed');
  assert.equal(base.classify('operator', 'attrgetter').verdict, 'dangerous');
  assert.equal(base.classify('sklearn.utils._testing', 'TempMemmap').verdict, 'dangerous');
  assert.equal(base.classify('numpy', 'load').verdict, 'dangerous');
  assert.equal(base.classify('sklearn.ensemble._forest', 'RandomForestClassifier').verdict, 'allowed');
  const extra = new Allowlist(['mypkg.features.Encoder', 'os.system', 'other.*']);
  assert.equal(extra.classify('mypkg.features', 'Encoder').verdict, 'allowed');
  assert.equal(extra.classify('other', 'Thing').verdict, 'allowed');
  assert.equal(extra.classify('os', 'system').verdict, 'dangerous');
  assert.notEqual(extra.digest, base.digest);
});
