import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmtMs, median, timeCommand, timeShell, type BenchRow } from './lib.js';

/**
 * The model scan: `add` of a 1 GiB joblib file (one large float64 array, written raw after its
 * NumpyArrayWrapper as joblib does) against `add` of a 1 GiB file that is not a pickle, in the same
 * run; and `mlreg scan` of a gzip-compressed joblib against `zcat` of the same file.
 * The files are generated here, without Python, byte for byte in joblib's layout.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'mlreg.js');
const RUNS = Number(process.env.MLREG_BENCH_RUNS ?? 5);

const u8 = (...xs: number[]): Buffer => Buffer.from(xs);
const str = (s: string): Buffer => Buffer.concat([u8(0x8c, s.length), Buffer.from(s, 'latin1'), u8(0x94)]);
const i32 = (n: number): Buffer => {
  const b = Buffer.alloc(5);
  b[0] = 0x4a; // BININT
  b.writeInt32LE(n, 1);
  return b;
};
const frame = (body: Buffer): Buffer => {
  const h = Buffer.alloc(9);
  h[0] = 0x95;
  h.writeBigUInt64LE(BigInt(body.length), 1);
  return Buffer.concat([h, body]);
};

/** What joblib.dump({'coef': np.ndarray(n, float64), 'name': 'big'}) writes, for any n < 2^31. */
export function joblibLayout(n: number): { head: Buffer; tail: Buffer } {
  const body = Buffer.concat([
    u8(0x7d, 0x94, 0x28),
    str('coef'),
    str('joblib.numpy_pickle'),
    str('NumpyArrayWrapper'),
    u8(0x93, 0x94, 0x29, 0x81, 0x94, 0x7d, 0x94, 0x28),
    str('subclass'),
    str('numpy'),
    str('ndarray'),
    u8(0x93, 0x94),
    str('shape'),
    i32(n),
    u8(0x85, 0x94),
    str('order'),
    str('C'),
    str('dtype'),
    u8(0x68, 0x08, 0x68, 0x0f, 0x93, 0x94),
    str('f8'),
    u8(0x89, 0x88, 0x87, 0x94, 0x52, 0x94, 0x28, 0x4b, 0x03),
    str('<'),
    u8(0x4e, 0x4e, 0x4e),
    i32(-1),
    i32(-1),
    u8(0x4b, 0x00, 0x74, 0x94, 0x62),
    str('allow_mmap'),
    u8(0x88),
    str('numpy_array_alignment_bytes'),
    u8(0x4b, 0x10, 0x75, 0x62),
  ]);
  const start = Buffer.concat([u8(0x80, 0x04), frame(body)]);
  const pad = 16 - ((start.length + 1) % 16);
  const head = Buffer.concat([start, u8(pad), Buffer.alloc(pad, 0xff)]);
  const tail = frame(Buffer.concat([str('name'), str('big'), u8(0x75, 0x2e)]));
  return { head, tail };
}

/** Write `mib` MiB of array data (values that compress like real weights, roughly 2:1). */
function writeData(fd: number, mib: number): void {
  const chunk = randomBytes(1 << 20);
  for (let i = 0; i < chunk.length; i += 8) chunk[i + 6] = 0x3f; // plausible float64 exponents
  for (let i = 0; i < mib; i++) {
    chunk.writeUInt32LE(i, 0);
    writeSync(fd, chunk);
  }
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const work = mkdtempSync(join(process.env.MLREG_BENCH_DIR ?? tmpdir(), 'mlreg-bench-scan-'));
  const env = { ...process.env, MLREG_ACTOR: 'bench', NO_COLOR: '1' };
  try {
    const mib = Number(process.env.MLREG_BENCH_SCAN_MB ?? 1024);
    const joblib = join(work, 'model.joblib');
    const plain = join(work, 'weights.bin');
    const { head, tail } = joblibLayout((mib << 20) / 8);
    let fd = openSync(joblib, 'w');
    writeSync(fd, head);
    writeData(fd, mib);
    writeSync(fd, tail);
    closeSync(fd);
    fd = openSync(plain, 'w');
    writeData(fd, mib);
    writeSync(fd, Buffer.alloc(head.length + tail.length, 7));
    closeSync(fd);

    const times = { joblib: [] as number[], plain: [] as number[] };
    let rss = 0;
    for (let i = 0; i < RUNS; i++) {
      timeShell('sync');
      for (const which of i % 2 ? (['plain', 'joblib'] as const) : (['joblib', 'plain'] as const)) {
        const reg = join(work, `reg-${which}-${i}`);
        timeCommand(`node ${BIN} init ${reg}`, env);
        const t = timeCommand(`node ${BIN} add model m ${which === 'joblib' ? joblib : plain} --registry ${reg}`, env);
        times[which].push(t.ms);
        if (which === 'joblib') rss = Math.max(rss, t.rssMb);
      }
      for (const which of ['joblib', 'plain'])
        rmSync(join(work, `reg-${which}-${i}`), { recursive: true, force: true });
      timeShell('sync');
    }
    const j = median(times.joblib);
    const p = median(times.plain);
    rows.push({
      name: `add ${mib} MiB joblib (scanned)`,
      measured: fmtMs(j),
      floor: `add ${mib} MiB non-pickle ${fmtMs(p)}`,
      ratio: j / p,
      target: '≤ 1.15×',
      pass: j / p <= 1.15,
    });
    rows.push({
      name: `add ${mib} MiB joblib peak RSS`,
      measured: `${rss.toFixed(0)} MB`,
      floor: '-',
      ratio: rss,
      target: '≤ 150 MB',
      pass: rss <= 150,
    });
    rmSync(plain);

    const gz = `${joblib}.gz`;
    timeShell(`gzip -1 -c ${joblib} > ${gz}`);
    rmSync(joblib);
    const scanTimes: number[] = [];
    const zcatTimes: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const zcat = () => zcatTimes.push(timeShell(`zcat ${gz} > /dev/null`));
      if (i % 2) zcat();
      const t = timeCommand(`node ${BIN} scan ${gz} --json > /dev/null`, env);
      scanTimes.push(t.ms);
      if (i % 2 === 0) zcat();
    }
    const s = median(scanTimes);
    const z = median(zcatTimes);
    rows.push({
      name: `scan ${mib} MiB gzip joblib`,
      measured: fmtMs(s),
      floor: `zcat ${fmtMs(z)}`,
      ratio: s / z,
      target: '≤ 1.5×',
      pass: s / z <= 1.5,
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return rows;
}
