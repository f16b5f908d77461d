import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliInProcess, copyDatasetSeed, FIXTURES, tempDir, type CliResult } from '../helpers.js';
import { registryState } from '../registry-state.js';

const DATA = join(FIXTURES, 'datasets');
const expected = JSON.parse(readFileSync(join(DATA, 'expected.json'), 'utf8')) as { batch_changed: string[] };

/** A registry in a temp folder (holding train@1.0.0 from train.csv if `withTrain`) and a runner bound to it. */
async function setup(withTrain = false): Promise<{
  dir: string;
  reg: string;
  run: (...args: string[]) => Promise<CliResult>;
  cleanup: () => void;
}> {
  const t = tempDir();
  const reg = join(t.path, 'reg');
  if (withTrain) await copyDatasetSeed(reg, 'train', join(DATA, 'train.csv'));
  else assert.equal((await cliInProcess(['init', reg])).code, 0);
  return {
    dir: t.path,
    reg,
    run: (...args) => cliInProcess(['--registry', reg, ...args], { cwd: t.path }),
    cleanup: t.cleanup,
  };
}

/** Every row of every table and every stored object (see state.ts). */
const snapshot = (reg: string): string => JSON.stringify(registryState(reg));

const failingColumns = (report: { records: { column: string; status: string }[] }): string[] =>
  [...new Set(report.records.filter((r) => r.status === 'FAIL').map((r) => r.column))].sort();

test('add dataset profiles it; show prints a per-column summary, --json the full profile; lineage both ways', async () => {
  const s = await setup();
  try {
    const added = await s.run('add', 'dataset', 'train', join(DATA, 'train.csv'), '--json');
    assert.equal(added.code, 0, added.stderr);
    const shown = await s.run('show', 'train', '--json');
    const profile = shown.json!.data.profile;
    assert.equal(profile.table.rows, 455);
    assert.equal(profile.columns.length, 32);
    assert.equal(profile.columns.find((c: { name: string }) => c.name === 'size_class').kind, 'categorical');
    const human = await s.run('show', 'train@1.0.0');
    assert.match(human.stdout, /Profile {2}455 rows × 32 columns, csv/);
    assert.match(human.stdout, /size_class\s+VARCHAR\s+categorical\s+0\s+3\s/);
    assert.match(human.stdout, /mean_texture\s+DOUBLE\s+numeric\s+0\s+\d+\s+19\.32/);

    assert.equal(
      (await s.run('add', 'model', 'clf', join(DATA, 'make_datasets.py'), '--trained-on', 'train@1.0.0')).code,
      0,
    );
    assert.deepEqual((await s.run('show', 'clf', '--json')).json!.data.lineage.trainedOn, [
      { name: 'train', version: '1.0.0' },
    ]);
    assert.deepEqual((await s.run('show', 'train', '--json')).json!.data.lineage.usedBy, [
      { name: 'clf', version: '1.0.0' },
    ]);
    assert.match((await s.run('show', 'train')).stdout, /models trained on it {2}clf@1\.0\.0/);
    assert.equal((await s.run('show', 'clf', '--json')).json!.data.profile, undefined, 'models have no profile');
  } finally {
    s.cleanup();
  }
});

test('check: the drifted batch fails (exit 1) on exactly its three changed columns; the shuffled holdout passes (exit 0)', async () => {
  const s = await setup(true);
  try {
    await s.run('promote', 'train@1.0.0', '--to', 'production');
    const before = snapshot(s.reg);

    const bad = await s.run('check', join(DATA, 'batch_drifted.csv'), '--against', 'train@production', '--json');
    assert.equal(bad.code, 1, bad.stderr);
    assert.equal(bad.json!.ok, false);
    assert.equal(bad.json!.error!.code, 'E_CHECK_FAILED');
    assert.deepEqual(failingColumns(bad.json!.error!.details), [...expected.batch_changed].sort());
    const record = bad.json!.error!.details.records[0];
    assert.deepEqual(Object.keys(record).sort(), [
      'check',
      'column',
      'message',
      'statistic',
      'status',
      'threshold',
      'value',
    ]);

    const human = await s.run('check', join(DATA, 'batch_drifted.csv'), '--against', 'train@production');
    assert.equal(human.code, 1);
    assert.match(human.stdout, /^STATUS\s+COLUMN\s+CHECK\s+VALUE\s+THRESHOLD\s+MESSAGE/m);
    assert.match(human.stdout.split('\n')[2]!, /^FAIL/, 'worst first');
    assert.match(human.stdout, /FAIL {2}drift in \d+\/32 columns \(\d+%\) < 50%: PASS; 3 failed/);
    assert.match(human.stderr, /data check failed on 3 columns/);

    const good = await s.run('check', join(DATA, 'holdout_shuffled.csv'), '--against', 'train@production', '--json');
    assert.equal(good.code, 0, good.stdout);
    assert.equal(good.json!.data.status, 'PASS');
    const md = await s.run('check', join(DATA, 'holdout_shuffled.csv'), '--against', 'train', '--format', 'markdown');
    assert.equal(md.code, 0);
    assert.match(md.stdout, /^### Data check: ✅ PASS/);
    assert.match(md.stdout, /^\| status \| column \| check \| value \| threshold \| message \|$/m);
    // --strict: the holdout's warnings (std ratios of a 114-row sample) now fail.
    assert.equal((await s.run('check', join(DATA, 'holdout_shuffled.csv'), '--against', 'train', '--strict')).code, 1);
    // A looser threshold by flag and by setting.
    assert.equal(
      (
        await s.run(
          'check',
          join(DATA, 'batch_drifted.csv'),
          '--against',
          'train',
          '--json',
          '--max-unseen-share',
          '0.2',
          '--mean-shift-std',
          '4',
          '--missing-min-increase',
          '0.3',
          '--missing-ratio',
          '100',
        )
      ).code,
      1,
      'missing rate FAILs when the reference had none',
    );
    assert.equal(
      (await s.run('check', join(DATA, 'batch_drifted.csv'), '--against', 'train', '--drift-share', 'lots')).code,
      2,
    );
    assert.equal(snapshot(s.reg), before, 'checks change nothing');
  } finally {
    s.cleanup();
  }
});

test('check --against-model, a registered current, --fail-on-column, and config thresholds', async () => {
  const s = await setup(true);
  try {
    await s.run('add', 'dataset', 'batch', join(DATA, 'holdout.csv'));
    await s.run('add', 'model', 'clf', join(DATA, 'make_datasets.py'), '--trained-on', 'train');
    const viaModel = await s.run('check', 'batch@latest', '--against-model', 'clf@latest', '--json');
    assert.equal(viaModel.code, 0, viaModel.stdout);
    assert.equal(viaModel.json!.data.reference.label, 'train@1.0.0');
    assert.equal(viaModel.json!.data.current.label, 'batch@1.0.0');
    const critical = await s.run('check', 'batch', '--against', 'train', '--fail-on-column', 'mean_area', '--json');
    assert.equal(critical.code, 1, 'mean_area warns (std ratio 0.79): critical, so it fails');
    assert.deepEqual(failingColumns(critical.json!.error!.details), ['mean_area']);
    assert.equal((await s.run('config', 'set', 'check.std_ratio_warn_min', '0.7')).code, 0);
    assert.equal(
      (await s.run('check', 'batch', '--against', 'train', '--fail-on-column', 'mean_area')).code,
      0,
      'the setting widens the band',
    );
    assert.equal((await s.run('config', 'set', 'check.std_ratio_warn_min', 'wide')).code, 2);
    const unknown = await s.run('check', 'batch', '--against', 'train', '--fail-on-column', 'nope');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--fail-on-column: "nope" is not a column/);
    const none = await s.run('check', 'batch', '--json');
    assert.equal(none.code, 2);
    assert.equal(none.json!.error!.code, 'E_NO_REFERENCE');
  } finally {
    s.cleanup();
  }
});

/** Each bad input: refused with exit 2, a message naming the problem, and the registry unchanged. */
test('bad input at add: clear message, exit 2, nothing registered', async () => {
  const s = await setup();
  try {
    await s.run('add', 'dataset', 'ok', join(DATA, 'holdout.csv'));
    const bad = join(s.dir, 'bad');
    mkdirSync(bad);
    const w = (name: string, body: string | Buffer): string => {
      const p = join(bad, name);
      writeFileSync(p, body);
      return p;
    };
    const mixed = join(bad, 'mixed');
    mkdirSync(mixed);
    writeFileSync(join(mixed, 'a.csv'), 'x\n1\n');
    writeFileSync(join(mixed, 'b.parquet'), 'PAR1');
    const parts = join(bad, 'parts');
    mkdirSync(parts);
    writeFileSync(join(parts, 'part-0.csv'), 'x,y\n1,2\n');
    writeFileSync(join(parts, 'part-1.csv'), 'x,z\n3,4\n');
    const garbage = Buffer.alloc(4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 151 + 7) % 256;
    const cases: [string, string, string, RegExp][] = [
      ['empty file', w('empty.csv', ''), 'E_EMPTY_DATASET', /empty\.csv is empty/],
      ['header only', w('header.csv', 'a,b,c\n'), 'E_NO_ROWS', /header\.csv has a header but no rows/],
      [
        'ragged rows',
        w('ragged.csv', 'a,b\n1,2\n3,4,5\n6,7\n'),
        'E_BAD_DATA_FILE',
        /ragged\.csv as CSV: line 3: Expected Number of Columns: 2 Found: 3/,
      ],
      [
        'bad quoting',
        w('quote.csv', 'a,b\n1,2\n3,"x,y\n4,5\n'),
        'E_BAD_DATA_FILE',
        /quote\.csv as CSV: line 3: Value with unterminated quote/,
      ],
      ['binary garbage named .csv', w('garbage.csv', garbage), 'E_NOT_TEXT', /garbage\.csv holds binary data/],
      [
        'non-UTF-8 text',
        w('latin1.csv', Buffer.from('name,city\n1,M\xfcnchen\n', 'latin1')),
        'E_NOT_UTF8',
        /latin1\.csv as CSV: line 2: .*not utf-8/i,
      ],
      ['a folder mixing formats', mixed, 'E_MIXED_FORMATS', /mixes formats \(csv: a\.csv; parquet: b\.parquet\)/],
      [
        'mismatched schemas in a folder',
        parts,
        'E_SCHEMA_MISMATCH',
        /part-1\.csv has columns \[x, z\] but part-0\.csv has \[x, y\]/,
      ],
      [
        'a compressed file',
        w('data.csv.gz', Buffer.from([0x1f, 0x8b, 8, 0])),
        'E_UNKNOWN_FORMAT',
        /cannot tell the format of data\.csv\.gz/,
      ],
      [
        'a column that is all missing',
        w('hole.csv', 'a,b\n1,\n2,NA\n3,\n'),
        'E_EMPTY_COLUMN',
        /column "b" has no value in any of the 3 rows/,
      ],
    ];
    const before = snapshot(s.reg);
    for (const [what, path, code, message] of cases) {
      const r = await s.run('add', 'dataset', 'data', path, '--json');
      assert.equal(r.code, 2, `${what}: ${r.stdout}`);
      assert.equal(r.json!.error!.code, code, what);
      assert.match(r.json!.error!.message, message, what);
      assert.match(r.json!.error!.hint, /--no-profile/, what);
      const human = await s.run('add', 'dataset', 'data', path);
      assert.equal(human.code, 2, what);
      assert.match(human.stderr, /mlreg: error: /, what);
      assert.equal(snapshot(s.reg), before, `${what}: nothing registered`);
    }
    assert.deepEqual(readdirSync(join(s.reg, 'tmp')), [], 'no DuckDB leftovers');
    // --no-profile stores what the parser refuses; such a version cannot be checked against.
    const raw = await s.run('add', 'dataset', 'raw', join(bad, 'ragged.csv'), '--no-profile');
    assert.equal(raw.code, 0, raw.stderr);
    assert.match((await s.run('show', 'raw')).stdout, /\(none: added with --no-profile\)/);
    const noProfile = await s.run('check', join(DATA, 'holdout.csv'), '--against', 'raw', '--json');
    assert.equal(noProfile.code, 3);
    assert.equal(noProfile.json!.error!.code, 'E_NO_PROFILE');
  } finally {
    s.cleanup();
  }
});

test('bad input at check: a 1-row reference, a current that is not there, a current DuckDB cannot read', async () => {
  const s = await setup();
  try {
    const one = join(s.dir, 'one.csv');
    writeFileSync(one, 'a,b\n1,x\n');
    assert.equal((await s.run('add', 'dataset', 'one', one)).code, 0, 'a 1-row dataset can be stored');
    await s.run('add', 'dataset', 'train', join(DATA, 'train.csv'));
    const before = snapshot(s.reg);
    const small = await s.run('check', one, '--against', 'one', '--json');
    assert.equal(small.code, 2);
    assert.equal(small.json!.error!.code, 'E_REFERENCE_TOO_SMALL');
    assert.match(small.json!.error!.message, /one@1\.0\.0 has 1 row: too few/);
    const missing = await s.run('check', join(s.dir, 'nope.csv'), '--against', 'train', '--json');
    assert.equal(missing.code, 3);
    assert.equal(missing.json!.error!.code, 'E_CURRENT_NOT_FOUND');
    const ragged = join(s.dir, 'ragged.csv');
    writeFileSync(ragged, 'a,b\n1,2\n3\n');
    const unreadable = await s.run('check', ragged, '--against', 'train', '--json');
    assert.equal(unreadable.code, 2);
    assert.match(unreadable.json!.error!.message, /line 3: Expected Number of Columns: 2 Found: 1/);
    assert.equal(snapshot(s.reg), before);
  } finally {
    s.cleanup();
  }
});

test('compare two dataset versions: schema, rows, columns and drift; table, markdown and json; kinds must match', async () => {
  const s = await setup(true);
  try {
    const changed = join(s.dir, 'changed.csv');
    const lines = readFileSync(join(DATA, 'batch_drifted.csv'), 'utf8').trimEnd().split('\n');
    // Drop the last column (size_class) and add one.
    writeFileSync(
      changed,
      lines
        .map((l, i) => `${l.slice(0, l.lastIndexOf(','))},${i === 0 ? 'site' : i % 2 ? 'north' : 'south'}`)
        .join('\n') + '\n',
    );
    await s.run('add', 'dataset', 'train', changed);
    const j = await s.run('compare', 'train@1.0.0', 'train@1.1.0', '--json');
    assert.equal(j.code, 0, j.stderr);
    const d = j.json!.data;
    assert.deepEqual(d.rows, { a: 455, b: 114, delta: -341, change: -341 / 455 });
    assert.deepEqual(d.schema.added, [{ name: 'site', type: 'VARCHAR' }]);
    assert.deepEqual(d.schema.removed, [{ name: 'size_class', type: 'VARCHAR' }]);
    assert.equal(
      d.columns.find((c: { column: string }) => c.column === 'mean_texture').mean[1] >
        d.columns.find((c: { column: string }) => c.column === 'mean_texture').mean[0],
      true,
    );
    assert.ok(
      d.drift.records.some(
        (r: { column: string; check: string; status: string }) =>
          r.column === 'size_class' && r.check === 'column' && r.status === 'FAIL',
      ),
    );
    const table = await s.run('compare', 'train@1.0.0', 'train@1.1.0');
    assert.equal(table.code, 0);
    assert.match(table.stdout, /rows {5}455 → 114 \(-341, -74\.9%\)/);
    assert.match(table.stdout, /added: {3}site \(VARCHAR\)/);
    assert.match(table.stdout, /removed: size_class \(VARCHAR\)/);
    const md = await s.run('compare', 'train@1.0.0', 'train@1.1.0', '--format', 'markdown');
    assert.match(md.stdout, /^### Dataset `train@1\.0\.0` → `train@1\.1\.0`/);
    assert.match(md.stdout, /\| mean_texture \| numeric \|/);
    const asJson = await s.run('compare', 'train@1.0.0', 'train@1.1.0', '--format', 'json');
    assert.deepEqual(JSON.parse(asJson.stdout).rows, d.rows);

    await s.run('add', 'model', 'clf', join(DATA, 'make_datasets.py'));
    const mixed = await s.run('compare', 'train', 'clf', '--json');
    assert.equal(mixed.code, 2);
    assert.equal(mixed.json!.error!.code, 'E_COMPARE_KINDS');
    assert.equal((await s.run('compare', 'train', 'train', '--format', 'yaml')).code, 2);
  } finally {
    s.cleanup();
  }
});

test('datasets have stages, history, rollback and checkout like models', async () => {
  const s = await setup(true);
  try {
    await s.run('add', 'dataset', 'train', join(DATA, 'holdout.csv'));
    assert.equal((await s.run('promote', 'train@1.0.0', '--to', 'training')).code, 0);
    assert.equal((await s.run('promote', 'train@1.1.0', '--to', 'training')).code, 0);
    const rb = await s.run('rollback', 'train', '--stage', 'training', '--json');
    assert.equal(rb.code, 0, rb.stderr);
    assert.equal(rb.json!.data.to, '1.0.0');
    const hist = await s.run('history', 'train', '--json');
    assert.equal(hist.code, 0);
    assert.deepEqual(hist.json!.data.events.map((e: { kind: string; to: string }) => `${e.kind} ${e.to}`).sort(), [
      'promote 1.0.0',
      'promote 1.1.0',
      'rollback 1.0.0',
    ]);
    const out = join(s.dir, 'serve');
    assert.equal((await s.run('checkout', 'train@training', out)).code, 0);
    assert.equal(
      readFileSync(join(out, 'current', 'train.csv'), 'utf8'),
      readFileSync(join(DATA, 'train.csv'), 'utf8'),
    );
    // The profile follows the version the stage points at.
    assert.equal((await s.run('show', 'train@training', '--json')).json!.data.profile.table.rows, 455);
  } finally {
    s.cleanup();
  }
});
