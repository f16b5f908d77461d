import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Benchmark plumbing. Every figure is a ratio against a floor measured in the same run on the same
 * machine (never an absolute time), the median of several runs.
 */
export interface BenchRow {
  name: string;
  /** What was measured for mlreg, e.g. "2.31 s". */
  measured: string;
  /** The floor it is compared with, e.g. "openssl+cp+sync 2.05 s". */
  floor: string;
  /** measured / floor (or the figure itself when the target is absolute, e.g. ms or MB). */
  ratio: number;
  target: string;
  pass: boolean;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Run a shell command and return its wall time in ms and the peak RSS of the child in MB (GNU time). */
export function timeCommand(
  cmd: string,
  env: NodeJS.ProcessEnv = process.env,
): { ms: number; rssMb: number; stdout: string } {
  const out = join(tmpdir(), `mlreg-bench-time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const start = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', '-o', out, '/bin/bash', '-c', cmd], {
    env,
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.error) throw new Error(`benchmarks need GNU time (Debian package "time"): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`benchmark command failed (${r.status}): ${cmd}\n${r.stderr}`);
  const kb = Number(readFileSync(out, 'utf8').trim().split('\n').at(-1));
  rmSync(out, { force: true });
  return { ms, rssMb: Number.isFinite(kb) ? kb / 1024 : NaN, stdout: r.stdout };
}

export function timeShell(cmd: string): number {
  const start = process.hrtime.bigint();
  const r = spawnSync('/bin/bash', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`floor command failed: ${cmd}\n${r.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

/** A file of `mib` MiB of random bytes (each MiB numbered, so none repeats and nothing compresses or dedupes). */
export function makeFile(path: string, mib: number): void {
  const chunk = randomBytes(1 << 20);
  const fd = openSync(path, 'w');
  for (let i = 0; i < mib; i++) {
    chunk.writeUInt32LE(i, 0);
    writeSync(fd, chunk);
  }
  closeSync(fd);
}
