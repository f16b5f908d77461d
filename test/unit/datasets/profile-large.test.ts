import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectTable } from '../../../src/core/datasets/formats.js';
import { profileTable } from '../../../src/core/datasets/profile/profiler.js';
import { WINDOW_BYTES } from '../../../src/core/datasets/profile/sample.js';
import { QUANTILE_LEVELS, type Profile } from '../../../src/core/datasets/profile/types.js';
import { tempRegistry } from '../../helpers.js';

/**
 * Tables past the plan's sample size (131,072 rows), where the profile's one pass uses its sketches:
 * a hash-chosen row sample for quantiles and bins, integer sums for the moments. Checked against the
 * exact statistics computed here from the generated values.
 */

function profile(reg: ReturnType<typeof tempRegistry>['reg'], path: string, threads: number): Promise<Profile> {
  return profileTable(detectTable([{ path: 'data.csv', abs: path, size: statSync(path).size }]), {
    tempPath: (s) => reg.tempPath(s),
    loadThreads: threads,
  });
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function exactStats(values: number[]): { mean: number; std: number; sorted: Float64Array } {
  const sorted = Float64Array.from(values).sort();
  const mean = values.reduce((s, x) => s + x, 0) / values.length;
  const m2 = values.reduce((s, x) => s + (x - mean) ** 2, 0);
  return { mean, std: Math.sqrt(m2 / (values.length - 1)), sorted };
}

const quantile = (sorted: Float64Array, p: number): number => {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  return sorted[lo]! + (h - lo) * (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!);
};

const close = (a: number, b: number, rel: number): boolean =>
  Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));

test('a 400,000-row table: the same profile on 1 and 2 threads, exact moments, quantiles and bins from the row sample close to the exact ones', async () => {
  const t = tempRegistry();
  try {
    const u = lcg(7);
    const xs: number[] = [];
    const ys: number[] = [];
    const lines = ['x,y,cat,id'];
    for (let i = 0; i < 400_000; i++) {
      const x = Number((u() * u() * 1000).toFixed(3));
      // Large values with a small spread: the moments must not lose it (sums are shifted by the sample's mean).
      const y = 1e9 + Math.floor(u() * 100);
      xs.push(x);
      ys.push(y);
      lines.push(`${x},${y},c${Math.floor(u() * 10)},id${i}`);
    }
    const path = join(t.dir, 'big.csv');
    writeFileSync(path, lines.join('\n') + '\n');
    const one = await profile(t.reg, path, 1);
    const two = await profile(t.reg, path, 2);
    assert.deepEqual(two, one, 'the profile does not depend on the number of threads');
    assert.equal(one.table.sketch.quantiles, 'sample');
    assert.equal(one.table.sketch.sampleRate, 4);

    const col = (n: string) => one.columns.find((c) => c.name === n)!;
    const x = col('x');
    const ex = exactStats(xs);
    assert.equal(x.kind, 'numeric');
    assert.ok(close(x.numeric!.mean, ex.mean, 1e-12), `mean ${x.numeric!.mean} vs ${ex.mean}`);
    assert.ok(close(x.numeric!.std, ex.std, 1e-9), `std ${x.numeric!.std} vs ${ex.std}`);
    assert.equal(x.numeric!.min, ex.sorted[0]);
    assert.equal(x.numeric!.max, ex.sorted[ex.sorted.length - 1]);
    // Every sample quantile lies within 1% of rank (0.1% at the tails) of the exact one.
    QUANTILE_LEVELS.forEach((p, j) => {
      const tol = p < 0.01 || p > 0.99 ? 0.001 : 0.01;
      const got = x.numeric!.quantiles.x[j]!;
      assert.ok(
        got >= quantile(ex.sorted, Math.max(0, p - tol)) && got <= quantile(ex.sorted, Math.min(1, p + tol)),
        `p${p}: ${got}`,
      );
    });
    const { edges, counts } = x.numeric!.bins;
    assert.equal(
      counts.reduce((s, c) => s + c, 0),
      400_000,
    );
    const w = (edges[20]! - edges[0]!) / 20;
    const exactBins = new Array<number>(20).fill(0);
    for (const v of xs) exactBins[Math.min(Math.floor((v - edges[0]!) / w), 19)]!++;
    counts.forEach((c, j) =>
      assert.ok(
        Math.abs(c - exactBins[j]!) <= 5 * Math.sqrt(exactBins[j]! * 4) + 2,
        `bin ${j}: ${c} vs ${exactBins[j]}`,
      ),
    );

    const y = col('y');
    const ey = exactStats(ys);
    assert.ok(close(y.numeric!.mean, ey.mean, 1e-15));
    assert.ok(
      close(y.numeric!.std, ey.std, 1e-9),
      `std ${y.numeric!.std} vs ${ey.std}: the spread of 100 on top of 1e9 survives`,
    );
    assert.equal(y.categories!.top.length, 100, 'an integer column with 100 values is counted exactly');
    assert.equal(
      y.categories!.top.reduce((s, e) => s + e[1], 0),
      400_000,
    );

    assert.equal(col('cat').kind, 'categorical');
    assert.equal(col('cat').distinct, 10);
    assert.equal(col('id').kind, 'text');
  } finally {
    t.cleanup();
  }
});

test('columns that are missing wherever the plan samples are still profiled exactly: a follow-up pass counts, rescales and collects them', async () => {
  const t = tempRegistry();
  try {
    // 500,000 rows of ~18 bytes: the plan reads 8 slices of 256 KiB at even offsets; the values of
    // `late`, `few` and `word` sit between the first two slices, where the plan sees none of them.
    const u = lcg(11);
    const lines = ['n,late,few,word,dip'];
    let bytes = lines[0]!.length + 1;
    const late: number[] = [];
    const few = new Map<string, number>();
    const words = new Set<string>();
    for (let i = 0; i < 500_000; i++) {
      const inGap = bytes > WINDOW_BYTES + 100_000 && late.length < 2000;
      const inWordGap = bytes > WINDOW_BYTES + 100_000 && bytes < WINDOW_BYTES + 600_000;
      let row = `${(u() * 1e6).toFixed(6)},`;
      if (inGap) {
        const v = 1e6 + late.length * 0.37;
        late.push(v);
        row += String(v);
      }
      row += ',';
      if (inGap) {
        const k = String(late.length % 30);
        few.set(k, (few.get(k) ?? 0) + 1);
        row += k;
      }
      row += ',';
      if (inWordGap) {
        const w = `w${Math.floor(u() * 300)}`;
        words.add(w);
        row += w;
      }
      // Positive where the plan looks, negative in the gap: negatives are counted in the follow-up.
      row += inGap ? ',-1.5' : `,${(u() * 100).toFixed(2)}`;
      lines.push(row);
      bytes += row.length + 1;
    }
    const path = join(t.dir, 'gaps.csv');
    writeFileSync(path, lines.join('\n') + '\n');
    assert.ok(
      Math.floor((bytes - WINDOW_BYTES) / 7) > WINDOW_BYTES + 600_000,
      'the gap lies between the first two slices',
    );

    const p = await profile(t.reg, path, 2);
    assert.deepEqual(await profile(t.reg, path, 1), p);
    const col = (n: string) => p.columns.find((c) => c.name === n)!;

    const l = col('late');
    const el = exactStats(late);
    assert.equal(l.count, 2000);
    assert.ok(close(l.numeric!.mean, el.mean, 1e-13), `mean ${l.numeric!.mean} vs ${el.mean}`);
    assert.ok(close(l.numeric!.std, el.std, 1e-9), `std ${l.numeric!.std} vs ${el.std}`);
    // Too few of its values fell in the row sample: all were collected, so its quantiles and bins are exact.
    QUANTILE_LEVELS.forEach((q, j) =>
      assert.ok(close(l.numeric!.quantiles.x[j]!, quantile(el.sorted, q), 1e-12), `p${q}`),
    );
    assert.equal(
      l.numeric!.bins.counts.reduce((s, c) => s + c, 0),
      2000,
    );

    const f = col('few');
    assert.equal(f.distinct, 30);
    assert.deepEqual(Object.fromEntries(f.categories!.top), Object.fromEntries(few));

    const dip = col('dip');
    assert.equal(dip.numeric!.negatives, 2000);
    assert.equal(col('n').numeric!.negatives, 0);

    const w = col('word');
    assert.equal(w.kind, 'categorical');
    assert.equal(w.distinct, words.size);
    assert.equal(w.categories!.top.length, 100);
  } finally {
    t.cleanup();
  }
});

test('a JSON array whose rows the plan overestimates is still profiled exactly: every value is collected once the table turns out small', async () => {
  const t = tempRegistry();
  try {
    const u = lcg(3);
    const xs: number[] = [];
    const rows: string[] = [];
    for (let i = 0; i < 60_000; i++) {
      const x = Number((u() * 1e4).toFixed(4));
      xs.push(x);
      rows.push(JSON.stringify({ x, note: `row ${i} ${'.'.repeat(80)}` }));
    }
    // One object per line inside [ ]: the plan's line slices do not parse, so it reads the first rows and guesses the count from the size.
    const path = join(t.dir, 'rows.json');
    writeFileSync(path, `[\n${rows.join(',\n')}\n]\n`);
    const p = await profileTable(detectTable([{ path: 'rows.json', abs: path, size: statSync(path).size }]), {
      tempPath: (s) => t.reg.tempPath(s),
    });
    assert.equal(p.table.rows, 60_000);
    assert.equal(p.table.sketch.quantiles, 'exact');
    const x = p.columns.find((c) => c.name === 'x')!;
    const ex = exactStats(xs);
    QUANTILE_LEVELS.forEach((q, j) =>
      assert.ok(close(x.numeric!.quantiles.x[j]!, quantile(ex.sorted, q), 1e-12), `p${q}`),
    );
    const w = (x.numeric!.max - x.numeric!.min) / 20;
    const bins = new Array<number>(20).fill(0);
    for (const v of xs) bins[Math.min(Math.floor((v - x.numeric!.min) / w), 19)]!++;
    assert.deepEqual(x.numeric!.bins.counts, bins, 'exact bin counts');
  } finally {
    t.cleanup();
  }
});

test('a numeric column empty in the rows the type sniffer reads is profiled as numbers; a text one stays text', async () => {
  const t = tempRegistry();
  try {
    const u = lcg(5);
    const lines = ['id,late,note'];
    const late: number[] = [];
    for (let i = 0; i < 300_000; i++) {
      // Nothing in the first 30,000 rows (past DuckDB's 20,480-row sniff), then numbers; `note` likewise but words.
      const v = i < 30_000 ? '' : (u() * 100).toFixed(2);
      if (v) late.push(Number(v));
      lines.push(`${i},${v},${i < 30_000 ? '' : `w${i % 7}`}`);
    }
    const path = join(t.dir, 'late.csv');
    writeFileSync(path, lines.join('\n') + '\n');
    const p = await profile(t.reg, path, 2);
    const l = p.columns.find((c) => c.name === 'late')!;
    assert.equal(l.type, 'DOUBLE');
    assert.equal(l.kind, 'numeric');
    assert.equal(l.count, 270_000);
    assert.ok(close(l.numeric!.mean, exactStats(late).mean, 1e-12));
    const note = p.columns.find((c) => c.name === 'note')!;
    assert.deepEqual([note.type, note.kind, note.distinct], ['VARCHAR', 'categorical', 7]);
  } finally {
    t.cleanup();
  }
});

test('a table of repeated rows is counted exactly rather than described by a sample of copies', async () => {
  const t = tempRegistry();
  try {
    // 600,000 rows that are 2,000 distinct rows repeated: a hash of the row takes all copies of a row or
    // none, so a 1-in-8 sample would hold ~250 of the 2,000 values.
    const distinctRows = Array.from({ length: 2000 }, (_, k) => `${(k * 0.731).toFixed(3)}`);
    const lines = ['x'];
    const xs: number[] = [];
    for (let i = 0; i < 600_000; i++) {
      const v = distinctRows[(i * 7919) % 2000]!;
      lines.push(v);
      xs.push(Number(v));
    }
    const path = join(t.dir, 'repeats.csv');
    writeFileSync(path, lines.join('\n') + '\n');
    const p = await profile(t.reg, path, 2);
    const x = p.columns[0]!.numeric!;
    const ex = exactStats(xs);
    QUANTILE_LEVELS.forEach((q, j) =>
      assert.ok(
        close(x.quantiles.x[j]!, quantile(ex.sorted, q), 1e-12),
        `p${q}: ${x.quantiles.x[j]} vs ${quantile(ex.sorted, q)}`,
      ),
    );
    assert.equal(
      x.bins.counts.reduce((s, c) => s + c, 0),
      600_000,
    );
    assert.equal(p.table.sketch.sampleRate, 8);
  } finally {
    t.cleanup();
  }
});

test('values near the largest double: finite bins and quantiles, no overflow in the moments', async () => {
  const t = tempRegistry();
  try {
    const lines = ['x'];
    for (let i = 0; i < 200_000; i++) lines.push(String((i % 2 ? 1 : -1) * (1e307 + (i % 1000) * 1e304)));
    const path = join(t.dir, 'huge.csv');
    writeFileSync(path, lines.join('\n') + '\n');
    const p = await profile(t.reg, path, 2);
    const x = p.columns[0]!.numeric!;
    assert.ok(Number.isFinite(x.mean) && Math.abs(x.mean) < 1e305, `mean ${x.mean}`);
    assert.ok(x.bins.edges.every(Number.isFinite) && x.bins.counts.reduce((s, c) => s + c, 0) === 200_000);
    assert.ok(x.quantiles.x.every(Number.isFinite));
  } finally {
    t.cleanup();
  }
});

test('a small folder of parts read on several threads gives the same profile as on one', async () => {
  const t = tempRegistry();
  try {
    const u = lcg(9);
    const dir = join(t.dir, 'parts');
    mkdirSync(dir);
    const files: { path: string; abs: string; size: number }[] = [];
    for (let k = 0; k < 6; k++) {
      const lines = ['a,b'];
      for (let i = 0; i < 5000; i++) lines.push(`${(u() * 1e3).toFixed(4)},${(u() * 7).toFixed(1)}`);
      const path = join(dir, `part-${k}.csv`);
      writeFileSync(path, lines.join('\n') + '\n');
      files.push({ path: `part-${k}.csv`, abs: path, size: statSync(path).size });
    }
    const run = (threads: number) =>
      profileTable(detectTable(files), { tempPath: (s) => t.reg.tempPath(s), loadThreads: threads });
    const one = await run(1);
    for (let i = 0; i < 3; i++) assert.deepEqual(await run(4), one);
  } finally {
    t.cleanup();
  }
});
