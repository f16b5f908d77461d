import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { DiskError, ExitCode, InvalidInputError } from '../../../src/core/errors.js';
import { detectTable } from '../../../src/core/datasets/formats.js';
import { profileTable, resourceError, type ProfileOptions } from '../../../src/core/datasets/profile/profiler.js';
import { columnGroups } from '../../../src/core/datasets/profile/memory-plan.js';
import type { Profile } from '../../../src/core/datasets/profile/types.js';
import { cliInProcess, FIXTURES, tempRegistry } from '../../helpers.js';

/**
 * Wide tables: a query's memory grows with its columns, so a table too wide for one query within
 * DuckDB's memory limit is profiled in groups of columns, and the grouping never changes the profile.
 */

type Reg = ReturnType<typeof tempRegistry>['reg'];

function profile(reg: Reg, path: string, opts: Partial<ProfileOptions> = {}): Promise<Profile> {
  return profileTable(detectTable([{ path: path.split('/').pop()!, abs: path, size: statSync(path).size }]), {
    tempPath: (s) => reg.tempPath(s),
    ...opts,
  });
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** A CSV of `rows` × `cols` generated values, streamed to `path`. */
async function writeCsv(path: string, rows: number, cols: number, cell: (u: () => number, c: number) => string) {
  const out = createWriteStream(path);
  const u = lcg(rows * 31 + cols);
  out.write(`${Array.from({ length: cols }, (_, c) => `col_${c}`).join(',')}\n`);
  for (let r = 0; r < rows; r++) {
    const line = `${Array.from({ length: cols }, (_, c) => cell(u, c)).join(',')}\n`;
    if (!out.write(line)) await new Promise<void>((res) => out.once('drain', () => res()));
  }
  await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
}

const gaussian = (u: () => number): string =>
  (Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u())).toFixed(6);

test('add dataset of 100 rows × 80 float columns (the table that ran out of memory) succeeds in process', async () => {
  const t = tempRegistry();
  try {
    const csv = join(t.dir, 'floats80.csv');
    await writeCsv(csv, 100, 80, gaussian);
    const r = await cliInProcess(['--registry', t.root, '--json', 'add', 'dataset', 'wide', csv]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const shown = await cliInProcess(['--registry', t.root, '--json', 'show', 'wide']);
    assert.equal(shown.code, 0, shown.stderr);
  } finally {
    t.cleanup();
  }
});

test('300 mixed columns × 200 rows and 200 low-cardinality integer columns profile, every column complete', async () => {
  const t = tempRegistry();
  try {
    const mixed = join(t.dir, 'mixed300.csv');
    const kinds = ['f', 'i', 'c', 'b'];
    await writeCsv(mixed, 200, 300, (u, c) => {
      switch (kinds[c % 4]) {
        case 'f':
          return (u() * 1000 - 500).toFixed(3);
        case 'i':
          return String(Math.floor(u() * 1e6));
        case 'c':
          return ['red', 'green', 'blue'][Math.floor(u() * 3)]!;
        default:
          return u() < 0.5 ? 'true' : 'false';
      }
    });
    const p = await profile(t.reg, mixed);
    assert.equal(p.table.rows, 200);
    assert.equal(p.columns.length, 300);
    assert.deepEqual(
      p.columns.map((c) => c.name),
      Array.from({ length: 300 }, (_, c) => `col_${c}`),
      'columns keep their order across groups',
    );
    for (const [c, col] of p.columns.entries()) {
      const want = { f: 'numeric', i: 'numeric', c: 'categorical', b: 'boolean' }[kinds[c % 4]!];
      assert.equal(col.kind, want, col.name);
      assert.equal(col.count, 200, col.name);
    }

    const ints = join(t.dir, 'ints200.csv');
    await writeCsv(ints, 1000, 200, (u) => String(Math.floor(u() * 5)));
    const q = await profile(t.reg, ints);
    assert.equal(q.columns.length, 200);
    for (const col of q.columns) {
      assert.equal(col.type, 'BIGINT', col.name);
      assert.equal(col.distinct, 5, col.name);
      assert.equal(
        col.categories!.top.reduce((s, e) => s + e[1], 0),
        1000,
      );
    }
  } finally {
    t.cleanup();
  }
});

test('a profile computed in groups of columns equals the one-pass profile (cancer CSV, and a sampled 140,000-row table)', async () => {
  const t = tempRegistry();
  try {
    const cancer = join(FIXTURES, 'datasets', 'train.csv');
    const one = await profile(t.reg, cancer);
    for (const maxGroupColumns of [1, 3, 7]) {
      assert.deepEqual(await profile(t.reg, cancer, { maxGroupColumns }), one, `groups of ${maxGroupColumns}`);
    }
    // Past 131,072 rows the numeric sample is a hash-chosen subset of the rows: every group picks the same rows.
    const sampled = join(t.dir, 'sampled.csv');
    const cats = ['a', 'b', 'c'];
    await writeCsv(sampled, 140_000, 5, (u, c) =>
      c === 2 ? cats[Math.floor(u() * 3)]! : c === 4 ? String(Math.floor(u() * 1e6)) : (u() * u() * 100).toFixed(3),
    );
    const whole = await profile(t.reg, sampled);
    assert.equal(whole.table.sketch.quantiles, 'sample', 'the table is past the exact size');
    assert.deepEqual(await profile(t.reg, sampled, { maxGroupColumns: 2 }), whole);
  } finally {
    t.cleanup();
  }
});

test('column groups: consecutive, within the budget, a column over budget alone', () => {
  assert.deepEqual(columnGroups([1, 1, 1, 1, 1], 2), [[0, 1], [2, 3], [4]]);
  assert.deepEqual(columnGroups([1, 5, 1, 1], 3), [[0], [1], [2, 3]]);
  assert.deepEqual(columnGroups([1, 1, 1], 100, 2), [[0, 1], [2]]);
  assert.deepEqual(columnGroups([1, 1, 1], 100), [[0, 1, 2]]);
});

test('DuckDB out of memory is a resource error (exit 7, E_OUT_OF_MEMORY), never bad data', async () => {
  const t = tempRegistry();
  try {
    const csv = join(t.dir, 'floats.csv');
    await writeCsv(csv, 2000, 40, gaussian);
    // A memory limit far below what even one column's query needs: the failure must not read as the file's.
    const err = await profile(t.reg, csv, { memoryLimitMb: 1 }).then(
      () => assert.fail('a 1 MB limit cannot profile this table'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DiskError, String(err));
    assert.ok(!(err instanceof InvalidInputError));
    assert.equal(err.code, 'E_OUT_OF_MEMORY');
    assert.equal(err.exitCode, ExitCode.disk);
    assert.match(err.message, /out of memory/);
    assert.match(err.hint, /Not a problem with the file/);
    assert.doesNotMatch(err.hint, /Fix the file/);

    const spill = resourceError(new Error('IO Error: Could not write file "x.tmp": No space left on device'));
    assert.equal(spill?.code, 'E_NO_SPACE');
    assert.equal(resourceError(new Error('Conversion Error: Could not convert string "a" to DOUBLE')), undefined);
  } finally {
    t.cleanup();
  }
});
