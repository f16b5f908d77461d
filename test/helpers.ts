import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, cpSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Registry, type Runtime } from '../src/core/registry/registry.js';
import { cliRuntime } from '../src/cli/context.js';
import { runCli } from '../src/cli/main.js';

/** Shared test plumbing: temp folders, temp registries, and running the built CLI. */

// Compiled to dist/test/helpers.js: the package root is two levels up.
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'mlreg.js');
export const FIXTURES = join(ROOT, 'test', 'fixtures');

export function tempDir(prefix = 'mlreg-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export const testRuntime: Runtime = { ...cliRuntime({ env: process.env }), busyTimeoutMs: 30_000 };

/** A fresh registry in a temp folder; `cleanup` closes and removes it. */
export function tempRegistry(): { reg: Registry; dir: string; root: string; cleanup: () => void } {
  const t = tempDir();
  const root = join(t.path, 'reg');
  Registry.init(root, testRuntime);
  const reg = Registry.open(root, testRuntime);
  return {
    reg,
    dir: t.path,
    root,
    cleanup: () => {
      reg.close();
      t.cleanup();
    },
  };
}

// Seed registries of this test file, by name: built once, removed when the file's process exits.
const seeds = new Map<string, Promise<string>>();

/**
 * Put a copy of the seed registry `key` at `into` (cp -r of a small folder). The first call builds it:
 * `build(seedDir)` (usually CLI calls) makes a registry in the fresh folder seedDir and returns its path;
 * every later call only copies it.
 */
export async function copySeed(key: string, into: string, build: (seedDir: string) => Promise<string>): Promise<void> {
  let seed = seeds.get(key);
  if (!seed) {
    seed = (async () => {
      const t = tempDir('mlreg-seed-');
      process.once('exit', t.cleanup);
      return build(t.path);
    })();
    seeds.set(key, seed);
  }
  cpSync(await seed, into, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when it is JSON. */
  json:
    | {
        ok: boolean;
        data?: any;
        error?: { code: string; message: string; hint: string; details?: any };
        webhooks?: any;
      }
    | undefined;
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

function baseEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', MLREG_ACTOR: 'tester', ...extra };
  delete env.MLREG_REGISTRY;
  if (extra.MLREG_REGISTRY !== undefined) env.MLREG_REGISTRY = extra.MLREG_REGISTRY;
  for (const [k, v] of Object.entries(extra)) if (v === undefined) delete env[k];
  return env;
}

/** Core's text as the CLI prints it: option marks (src/core/lib/option-ref.ts) spelled as flags. */
export { spelledAsFlags as asPrinted } from '../src/cli/flags.js';

/** Core's option marks (src/core/lib/option-ref.ts) are spelled as flags before anything is printed. */
const OPTION_MARK = /[\u{E000}\u{E001}]/u;

function toResult(code: number | null, stdout: string, stderr: string): CliResult {
  for (const [name, text] of [
    ['stdout', stdout],
    ['stderr', stderr],
  ] as const) {
    const at = text.search(OPTION_MARK);
    if (at !== -1)
      throw new Error(
        `an option mark reached the CLI's ${name}: ${JSON.stringify(text.slice(Math.max(0, at - 60), at + 60))}`,
      );
  }
  let json: CliResult['json'];
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code: code ?? -1, stdout, stderr, json };
}

/** Run the built CLI synchronously. */
export function cli(args: string[], opts: CliOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? process.cwd(),
    env: baseEnv(opts.env),
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 60_000,
  });
  return toResult(r.status, r.stdout, r.stderr);
}

/** A stream that keeps what is written to it, as a spawned process's pipe would. */
function captured(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

// In-process runs take turns: each gets its own working folder for the duration of the run.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Run the CLI inside this test process (no Node start-up): the same command line, environment and
 * folder as `cli()`, the same {code, stdout, stderr, json}. Use `cli()` for what needs a real process
 * (kill -9, signals, terminals, concurrent writers, exit behaviour).
 */
export function cliInProcess(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const run = async (): Promise<CliResult> => {
    const out = captured();
    const err = captured();
    const cwd = opts.cwd ?? process.cwd();
    const before = process.cwd();
    // Paths typed on the command line are opened relative to the process's folder, as in a real run.
    process.chdir(cwd);
    try {
      const code = await runCli([process.execPath, BIN, ...args], {
        stdout: out.stream,
        stderr: err.stream,
        stdin: Readable.from(opts.input ? [Buffer.from(opts.input)] : []),
        env: baseEnv(opts.env),
        cwd,
        isTTY: { stdout: false, stderr: false },
      });
      return toResult(code, out.text(), err.text());
    } finally {
      process.chdir(before);
    }
  };
  const next = queue.then(run, run);
  queue = next.catch(() => undefined);
  return next;
}

/** Run the built CLI without blocking the test (for parallel runs). */
export function cliAsync(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? process.cwd(),
      env: baseEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve(toResult(code, stdout, stderr)));
  });
}

/** A file of `mib` MiB of random bytes, every MiB different (nothing dedupes inside the store). */
export function writeBigFile(path: string, mib: number): void {
  const chunk = randomBytes(1 << 20);
  const fd = openSync(path, 'w');
  try {
    for (let i = 0; i < mib; i++) {
      chunk.writeUInt32LE(i, 0);
      writeSync(fd, chunk);
    }
  } finally {
    closeSync(fd);
  }
}

/** Run the CLI and SIGKILL it after `ms`; resolves with its exit code (null when it was killed). */
export function killAfter(args: string[], cwd: string, ms: number): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, MLREG_ACTOR: 'killer', NO_COLOR: '1' },
      stdio: 'ignore',
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/**
 * Put at `reg` a copy of a registry holding one dataset version, `name`@1.0.0 from `csv`: profiling it is
 * most of what a dataset case costs, so it is done once per test file.
 */
export function copyDatasetSeed(reg: string, name: string, csv: string): Promise<void> {
  return copySeed(`dataset ${name} ${csv}`, reg, async (seedDir) => {
    const seedReg = join(seedDir, 'reg');
    for (const args of [
      ['init', seedReg],
      ['--registry', seedReg, 'add', 'dataset', name, csv],
    ]) {
      const r = await cliInProcess(args);
      if (r.code !== 0) throw new Error(`seed: ${args.join(' ')}: exit ${r.code} ${r.stderr}`);
    }
    return seedReg;
  });
}
