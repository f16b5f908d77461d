import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addVersion } from '../../../src/core/versions/add.js';
import { datasetAddHooks, loadProfile, profileFiles } from '../../../src/core/datasets/profiles.js';
import { PROFILE_FORMAT, type Profile } from '../../../src/core/datasets/profile/types.js';
import { FIXTURES, tempRegistry } from '../../helpers.js';

const DATA = join(FIXTURES, 'datasets');
const expected = JSON.parse(readFileSync(join(DATA, 'expected.json'), 'utf8')) as {
  rows: { train: number };
  columns: Record<string, { count: number; mean: number; std: number }>;
  categorical: Record<string, Record<string, number>>;
};

const sig4 = (x: number): string => x.toPrecision(4);
const file = (abs: string) => ({ path: abs.split('/').pop()!, abs, size: statSync(abs).size });

test('profile of the breast cancer train split: mean and std match pandas to 4 significant digits', async () => {
  const t = tempRegistry();
  try {
    const added = await addVersion(t.reg, {
      kind: 'dataset',
      name: 'train',
      path: join(DATA, 'train.csv'),
      actor: 'tester',
      ...datasetAddHooks(t.reg, true),
    });
    const p = loadProfile(t.reg, added.version.id)!;
    assert.ok(p, 'the profile is stored with the version');
    assert.equal(p.table.rows, expected.rows.train);
    assert.equal(p.table.format, 'csv');
    assert.equal(p.columns.length, Object.keys(expected.columns).length + 2);
    for (const [name, want] of Object.entries(expected.columns)) {
      const c = p.columns.find((x) => x.name === name)!;
      assert.equal(c.kind, 'numeric', name);
      assert.equal(c.count, want.count, `${name} count`);
      assert.equal(sig4(c.numeric!.mean), sig4(want.mean), `${name} mean`);
      assert.equal(sig4(c.numeric!.std), sig4(want.std), `${name} std`);
      // n, mean and M2 reproduce the sample std exactly.
      assert.ok(Math.abs(Math.sqrt(c.numeric!.m2 / (c.numeric!.n - 1)) - c.numeric!.std) < 1e-12);
      assert.equal(c.numeric!.quantiles.x.length, 101);
      assert.equal(c.numeric!.bins.counts.length, 20);
      assert.equal(
        c.numeric!.bins.counts.reduce((s, x) => s + x, 0),
        c.numeric!.n,
        `${name} bins hold every value`,
      );
      assert.equal(c.exact!.values!.length, c.numeric!.n, `${name}: small table keeps sorted values`);
    }
    for (const [name, counts] of Object.entries(expected.categorical)) {
      const c = p.columns.find((x) => x.name === name)!;
      assert.equal(c.kind, 'categorical');
      assert.deepEqual(Object.fromEntries(c.categories!.top), counts, `${name} value counts`);
      assert.deepEqual(c.categories!.allowed, Object.keys(counts).sort());
      assert.equal(c.categories!.other, 0);
    }
    assert.deepEqual(readdirSync(t.reg.tmpDir), [], 'DuckDB files in tmp/ are removed');
  } finally {
    t.cleanup();
  }
});

test('the same file always gives the same profile', async () => {
  const t = tempRegistry();
  try {
    const a = await profileFiles(t.reg, [file(join(DATA, 'holdout.csv'))]);
    const b = await profileFiles(t.reg, [file(join(DATA, 'holdout.csv'))]);
    assert.deepEqual(a, b);
  } finally {
    t.cleanup();
  }
});

test('types and kinds: integers, floats with NaN and inf, booleans, dates, text, missing markers', async () => {
  const t = tempRegistry();
  try {
    const csv = join(t.dir, 'kinds.csv');
    writeFileSync(
      csv,
      'id,x,flag,day,word,maybe\n1,1.5,true,2026-01-01,a,\n2,nan,false,2026-01-02,b,NA\n3,inf,TRUE,2026-01-03,a,\n-4,-2,false,2026-01-04,c,\n',
    );
    const p = await profileFiles(t.reg, [file(csv)]);
    const col = (n: string) => p.columns.find((c) => c.name === n)!;
    assert.deepEqual(
      p.columns.map((c) => [c.name, c.type, c.kind]),
      [
        ['id', 'BIGINT', 'numeric'],
        ['x', 'DOUBLE', 'numeric'],
        ['flag', 'BOOLEAN', 'boolean'],
        ['day', 'DATE', 'datetime'],
        ['word', 'VARCHAR', 'categorical'],
        ['maybe', 'VARCHAR', 'empty'],
      ],
    );
    assert.equal(col('id').numeric!.negatives, 1);
    assert.equal(col('id').numeric!.sum, 2);
    assert.equal(col('x').nan, 1);
    assert.equal(col('x').inf, 1);
    assert.equal(col('x').missing, 1, 'NaN counts as missing, like pandas');
    assert.equal(col('x').numeric!.n, 2, 'moments use finite values only');
    assert.equal(col('x').numeric!.mean, -0.25);
    assert.deepEqual(col('flag').categories!.top, [
      ['false', 2],
      ['true', 2],
    ]);
    assert.deepEqual(col('day').datetime, { min: '2026-01-01', max: '2026-01-04' });
    assert.equal(col('maybe').missing, 4);
    assert.equal(col('maybe').missingRate, 1);
  } finally {
    t.cleanup();
  }
});

test('TSV, NDJSON, Parquet and a folder of CSV parts profile to the same statistics', async () => {
  const t = tempRegistry();
  try {
    const rows = Array.from({ length: 50 }, (_, i) => ({ a: i, b: (i * 7) % 13, c: ['x', 'y', 'z'][i % 3]! }));
    const csv = (rs: typeof rows) => 'a,b,c\n' + rs.map((r) => `${r.a},${r.b},${r.c}`).join('\n') + '\n';
    const single = join(t.dir, 'one.csv');
    writeFileSync(single, csv(rows));
    const tsv = join(t.dir, 'one.tsv');
    writeFileSync(tsv, 'a\tb\tc\n' + rows.map((r) => `${r.a}\t${r.b}\t${r.c}`).join('\n') + '\n');
    const nd = join(t.dir, 'one.ndjson');
    writeFileSync(nd, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const parts = join(t.dir, 'parts');
    mkdirSync(parts);
    writeFileSync(join(parts, 'part-0.csv'), csv(rows.slice(0, 20)));
    writeFileSync(join(parts, 'part-1.csv'), csv(rows.slice(20)));
    writeFileSync(join(parts, '_SUCCESS'), '');
    // Parquet written by DuckDB itself from the CSV.
    const pq = join(t.dir, 'one.parquet');
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const inst = await DuckDBInstance.create(':memory:');
    const conn = await inst.connect();
    await conn.run(`COPY (SELECT * FROM read_csv('${single}')) TO '${pq}' (FORMAT parquet)`);
    conn.closeSync();
    inst.closeSync();

    const base = await profileFiles(t.reg, [file(single)]);
    const summary = (p: Profile) =>
      p.columns.map((c) => [
        c.name,
        c.kind,
        c.count,
        c.numeric?.mean,
        c.numeric?.std,
        c.numeric?.min,
        c.numeric?.max,
        c.categories?.top,
      ]);
    for (const other of [tsv, nd, pq]) {
      const p = await profileFiles(t.reg, [file(other)]);
      assert.equal(p.table.rows, 50, other);
      assert.deepEqual(summary(p), summary(base), other);
    }
    const folder = await profileFiles(
      t.reg,
      readdirSync(parts).map((n) => ({ ...file(join(parts, n)), path: n })),
    );
    assert.equal(folder.table.files, 2, '_SUCCESS is not a part');
    assert.deepEqual(summary(folder), summary(base));
  } finally {
    t.cleanup();
  }
});

test('a table above 1000 rows keeps no exact values, and categories are capped at the top 100 plus "other"', async () => {
  const t = tempRegistry();
  try {
    const csv = join(t.dir, 'big.csv');
    const lines = ['v,cat'];
    for (let i = 0; i < 3000; i++) lines.push(`${(i * 7919) % 1000},c${i % 150}`);
    writeFileSync(csv, lines.join('\n') + '\n');
    const p = await profileFiles(t.reg, [file(csv)]);
    const v = p.columns[0]!;
    const cat = p.columns[1]!;
    assert.equal(v.exact, undefined);
    assert.equal(cat.kind, 'categorical');
    assert.equal(cat.categories!.top.length, 100);
    assert.equal(cat.categories!.top.reduce((s, e) => s + e[1], 0) + cat.categories!.other, 3000);
    assert.equal(cat.categories!.allowed, null, 'more than 100 values: no allowed set');
    assert.equal(cat.distinct, 150);
  } finally {
    t.cleanup();
  }
});

test('a CSV value further down than the type sniffer looks widens its column instead of being rounded or refused', async () => {
  const t = tempRegistry();
  try {
    const path = join(t.dir, 'late.csv');
    const lines = ['id,n,code'];
    for (let i = 0; i < 200_000; i++) lines.push(`${i},${i % 7},${i % 5}`);
    lines.push('x,1.5,7');
    writeFileSync(path, lines.join('\n') + '\n');
    const p = await profileFiles(t.reg, [file(path)]);
    assert.deepEqual(
      p.columns.map((c) => [c.name, c.type, c.kind]),
      [
        ['id', 'VARCHAR', 'text'],
        ['n', 'DOUBLE', 'numeric'],
        ['code', 'BIGINT', 'numeric'],
      ],
    );
    assert.equal(p.columns[1]!.numeric!.max, 6);
    assert.ok(
      p.columns[1]!.categories!.top.some(([v, k]) => v === '1.5' && k === 1),
      '1.5 is kept, not rounded to 2',
    );
    assert.equal(p.columns[1]!.numeric!.sum, lines.slice(1, -1).reduce((s, l) => s + Number(l.split(',')[1]), 0) + 1.5);
  } finally {
    t.cleanup();
  }
});

test('profiles of the previous format are read as they are; a profile from a newer mlreg is refused with a hint', async () => {
  const t = tempRegistry();
  try {
    const added = await addVersion(t.reg, {
      kind: 'dataset',
      name: 'train',
      path: join(DATA, 'holdout.csv'),
      actor: 'tester',
      ...datasetAddHooks(t.reg, true),
    });
    const stored = loadProfile(t.reg, added.version.id)!;
    const old = {
      ...stored,
      format: 1,
      table: { ...stored.table, sketch: { ...stored.table.sketch, quantiles: 'approx_quantile' as const, threads: 1 } },
    };
    t.reg.db
      .prepare('UPDATE dataset_profiles SET format = 1, profile = ? WHERE version_id = ?')
      .run(JSON.stringify(old), added.version.id);
    assert.deepEqual(loadProfile(t.reg, added.version.id), old);
    t.reg.db
      .prepare('UPDATE dataset_profiles SET format = ? WHERE version_id = ?')
      .run(PROFILE_FORMAT + 1, added.version.id);
    assert.throws(
      () => loadProfile(t.reg, added.version.id),
      (err: Error & { code?: string; hint?: string }) =>
        err.code === 'E_PROFILE_TOO_NEW' && /Upgrade mlreg/.test(err.hint ?? ''),
    );
  } finally {
    t.cleanup();
  }
});

test('a table small enough to read whole gets exact distinct counts; estimates are marked as such', async () => {
  const t = tempRegistry();
  try {
    const lines = ['id,amount,when'];
    // Unique ids of 398 rows: HyperLogLog read this as 384.
    for (let i = 0; i < 398; i++)
      lines.push(`${100_000 + i * 7919},${(i * 37) % 1000}.5,2026-01-${String((i % 28) + 1).padStart(2, '0')}`);
    const f = join(t.dir, 'ids.csv');
    writeFileSync(f, lines.join('\n') + '\n');
    const p = await profileFiles(t.reg, [{ path: 'ids.csv', abs: f, size: statSync(f).size }]);
    const col = (name: string) => p.columns.find((c) => c.name === name)!;
    assert.equal(col('id').distinct, 398);
    assert.equal(col('id').distinctApprox, undefined);
    assert.equal(col('when').distinct, 28);
    assert.equal(col('when').distinctApprox, undefined);
  } finally {
    t.cleanup();
  }
});
