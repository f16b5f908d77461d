import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import { cli, cliInProcess, type CliResult, copySeed, ROOT, tempDir } from '../helpers.js';

/**
 * The fault-injection harness: run one mlreg command with the LD_PRELOAD shim (fault-shim.c) failing
 * the Nth system call under the test's folder (EIO, ENOSPC, or a crash at it), then check the
 * registry's promises without the shim: a documented exit code (never 70), `verify` clean, no
 * half-visible version, DIR/current on the version its stage holds, and a retry that succeeds.
 */

/** Exit codes README documents for a failure; 70 is a bug, anything else unexplained. */
export const DOCUMENTED = new Set([0, 1, 2, 3, 4, 5, 6, 7]);

/** DIR/reg with model m@1.0.0 (BYTES random bytes) in production: the registry a fault test starts from. */
export async function registryWith(dir: string, bytes = 200_000): Promise<string> {
  const reg = join(dir, 'reg');
  assert.equal((await cliInProcess(['init', reg])).code, 0);
  // Random bytes: a backup must not compress them away.
  writeFileSync(join(dir, 'model.bin'), randomBytes(bytes));
  const add = await cliInProcess(['add', 'model', 'm', join(dir, 'model.bin'), '--registry', reg]);
  assert.equal(add.code, 0, add.stderr);
  assert.equal((await cliInProcess(['promote', 'm@1.0.0', '--to', 'production', '--registry', reg])).code, 0);
  return reg;
}

let shim: string | undefined | null = null;

/** Build the shim once per test process; undefined (with the reason) where there is no C compiler. */
export function buildShim(): { path?: string; skip?: string } {
  if (shim === null) {
    const out = tempDir('mlreg-shim-');
    process.once('exit', out.cleanup);
    const so = join(out.path, 'fault-shim.so');
    const r = spawnSync(
      'cc',
      ['-shared', '-fPIC', '-O1', '-o', so, join(ROOT, 'test', 'faults', 'fault-shim.c'), '-ldl'],
      {
        encoding: 'utf8',
      },
    );
    shim = r.status === 0 ? so : undefined;
    if (shim === undefined)
      skipReason = `no C compiler to build the fault shim (${r.error?.message ?? r.stderr.trim()})`;
  }
  return shim ? { path: shim } : { skip: skipReason };
}
let skipReason = '';

export type Fault = 'EIO' | 'ENOSPC' | 'EINVAL' | 'CRASH';

export interface FaultRun {
  args: string[];
  cwd: string;
  prefix: string;
  at: number;
  fault: Fault;
  ops?: string;
  /** More environment for the command (e.g. TMPDIR, so a temp folder falls under the prefix). */
  env?: Record<string, string>;
}

/** Run the CLI in its own process with the shim; `at` 0 only counts the matching calls. */
export function runWithFault(run: FaultRun): CliResult & { count: number; killed: boolean; failed: string } {
  const so = buildShim().path!;
  const countFile = join(run.cwd, `.fault-count-${process.pid}`);
  const logFile = join(run.cwd, `.fault-log-${process.pid}`);
  rmSync(countFile, { force: true });
  rmSync(logFile, { force: true });
  const r = cli(run.args, {
    cwd: run.cwd,
    env: {
      ...run.env,
      LD_PRELOAD: so,
      // libuv may submit file I/O through io_uring, which no shim sees.
      UV_USE_IO_URING: '0',
      MLREG_FAULT_PREFIX: run.prefix,
      MLREG_FAULT_AT: String(run.at),
      MLREG_FAULT_ERR: run.fault,
      MLREG_FAULT_OPS: run.ops ?? '',
      MLREG_FAULT_COUNT: countFile,
      MLREG_FAULT_LOG: logFile,
    },
  });
  const count = existsSync(countFile) ? Number(readFileSync(countFile, 'utf8').trim().split('\n').pop()) : -1;
  const failed = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim() : '';
  rmSync(countFile, { force: true });
  rmSync(logFile, { force: true });
  return { ...r, count, killed: r.code === 137 || r.code === -1 || (r.code as number | null) === null, failed };
}

/** The state the invariants compare: versions of `m`, the production stage, DIR/current. */
export interface State {
  versions: string[];
  production: string | null;
  current: string | null;
}

export async function stateOf(reg: string, checkoutDir?: string): Promise<State> {
  const list = await cliInProcess(['list', 'm', '--json', '--registry', reg]);
  const versions: string[] = (list.json?.data?.versions ?? []).map((v: { version: string }) => v.version);
  const show = await cliInProcess(['show', 'm@production', '--json', '--registry', reg]);
  const production: string | null = show.json?.ok ? show.json.data.version.version : null;
  let current: string | null = null;
  if (checkoutDir && existsSync(join(checkoutDir, 'current'))) {
    // DIR/current -> versions/<version>-… (checkout's layout): the version is the folder's first part.
    current = basename(readlinkSync(join(checkoutDir, 'current')));
  }
  return { versions, production, current };
}

export interface Scenario {
  name: string;
  /** Make the world the command runs in, under `dir` (the shim's prefix); returns what the command needs. */
  prepare(dir: string): Promise<void>;
  args(dir: string): string[];
  /** Extra invariants of this command, after the run (no shim); messages of what broke. */
  check?(dir: string, r: CliResult, before: State, after: State): string[];
  /** The command a user would run again; default: the same. */
  retry?(dir: string): string[];
  checkoutDir?(dir: string): string;
}

async function seed(dir: string): Promise<void> {
  await copySeed('fault-sweep', dir, async (s) => {
    const reg = join(s, 'reg');
    const ok = async (args: string[]) => {
      const r = await cliInProcess([...args, '--registry', reg], { cwd: s });
      if (r.code !== 0) throw new Error(`seed: ${args.join(' ')}: ${r.stderr}`);
    };
    await ok(['init', reg]);
    writeFileSync(join(s, 'a.bin'), Buffer.alloc(300_000, 1));
    writeFileSync(join(s, 'b.bin'), Buffer.alloc(200_000, 2));
    writeFileSync(join(s, 'c.bin'), Buffer.alloc(100_000, 3));
    await ok(['add', 'model', 'm', join(s, 'a.bin'), '--version', '1.0.0']);
    await ok(['add', 'model', 'm', join(s, 'b.bin'), '--version', '1.0.1']);
    writeFileSync(join(s, 'd.bin'), Buffer.alloc(50_000, 4));
    await ok(['add', 'model', 'm', join(s, 'd.bin'), '--version', '0.9.0']);
    await ok(['promote', 'm@1.0.0', '--to', 'production', '--checkout', join(s, 'srv')]);
    await ok(['promote', 'm@1.0.1', '--to', 'production', '--checkout', join(s, 'srv')]);
    await ok(['backup', join(s, 'seed.tar')]);
    return s;
  });
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'add',
    prepare: seed,
    args: (d) => ['add', 'model', 'm', join(d, 'c.bin'), '--registry', join(d, 'reg'), '--json'],
    check: (_d, r, before, after) => {
      const out: string[] = [];
      const grew = after.versions.length - before.versions.length;
      if (grew < 0 || grew > 1) out.push(`versions went from ${before.versions.length} to ${after.versions.length}`);
      if (r.code === 0 && grew !== 1) out.push('add reported success but no version appeared');
      const added = after.versions.find((v) => !before.versions.includes(v));
      // A killed add reports nothing; one that exits must tell the truth about the version.
      if (r.code !== 137 && r.code !== 0 && added && !r.stdout.includes(added))
        out.push(`add failed (${r.json?.error?.code}) although ${added} was registered, without naming it`);
      return out;
    },
  },
  {
    name: 'promote --checkout',
    prepare: seed,
    args: (d) => [
      'promote',
      'm@1.0.0',
      '--to',
      'production',
      '--checkout',
      join(d, 'srv'),
      '--registry',
      join(d, 'reg'),
      '--json',
    ],
    checkoutDir: (d) => join(d, 'srv'),
  },
  {
    name: 'rollback --checkout',
    prepare: seed,
    args: (d) => [
      'rollback',
      'm',
      '--to',
      '1.0.0',
      '--checkout',
      join(d, 'srv'),
      '--registry',
      join(d, 'reg'),
      '--json',
    ],
    checkoutDir: (d) => join(d, 'srv'),
  },
  {
    name: 'backup',
    prepare: seed,
    args: (d) => ['backup', join(d, 'out.tar'), '--registry', join(d, 'reg'), '--json'],
    retry: (d) => ['backup', join(d, 'retry.tar'), '--registry', join(d, 'reg'), '--json'],
    // A killed backup may leave its .partial (never a file that looks whole); a failing one must not.
    check: (d, r) =>
      r.code !== 137 && existsSync(join(d, 'out.tar.partial')) ? ['out.tar.partial was left behind'] : [],
  },
  {
    name: 'backup .tgz',
    prepare: seed,
    args: (d) => ['backup', join(d, 'out.tgz'), '--registry', join(d, 'reg'), '--json'],
    retry: (d) => ['backup', join(d, 'retry.tgz'), '--registry', join(d, 'reg'), '--json'],
    check: (d, r) =>
      r.code !== 137 && existsSync(join(d, 'out.tgz.partial')) ? ['out.tgz.partial was left behind'] : [],
  },
  {
    name: 'restore --force',
    prepare: seed,
    args: (d) => ['restore', join(d, 'seed.tar'), '--into', join(d, 'reg'), '--force', '--json'],
    check: (d) => {
      const left = readdirSync(d).filter((n) => n.startsWith('.mlreg-restore-'));
      return existsSync(join(d, 'reg', 'mlreg.db')) ? [] : [`${d}/reg holds no registry (left: ${left.join(', ')})`];
    },
  },
  {
    name: 'gc',
    async prepare(d) {
      await seed(d);
      const r = await cliInProcess(['delete', 'm@0.9.0', '--registry', join(d, 'reg')]);
      if (r.code !== 0) throw new Error(`prepare gc: ${r.stderr}`);
    },
    args: (d) => ['gc', '--registry', join(d, 'reg'), '--json'],
  },
];

export interface Outcome {
  scenario: string;
  at: number;
  fault: Fault;
  code: number;
  errorCode: string | undefined;
  violations: string[];
}

/**
 * Run `scenario` once with the `at`-th matching call failing, then check every invariant. A crash
 * (SIGKILL from the shim) is an allowed outcome; the registry must still be whole afterwards.
 */
export async function sweepOnce(scenario: Scenario, at: number, fault: Fault, ops?: string): Promise<Outcome> {
  const t = tempDir('mlreg-fault-');
  try {
    const dir = join(t.path, 'w');
    mkdirSync(dir);
    await scenario.prepare(dir);
    const reg = join(dir, 'reg');
    const co = scenario.checkoutDir?.(dir);
    const before = await stateOf(reg, co);
    const r = runWithFault({
      args: scenario.args(dir),
      cwd: dir,
      prefix: `${dir}/`,
      at,
      fault,
      ...(ops ? { ops } : {}),
    });
    const violations: string[] = [];
    if (!r.killed && !DOCUMENTED.has(r.code)) violations.push(`exit ${r.code}: ${r.stdout.trim()} ${r.stderr.trim()}`);
    if (!r.killed && r.code !== 0 && r.json === undefined)
      violations.push(`--json printed no JSON document: ${JSON.stringify(r.stdout)}`);
    const verify = await cliInProcess(['verify', '--json', '--registry', reg]);
    if (verify.code !== 0) violations.push(`verify after the fault: exit ${verify.code} ${verify.stdout.trim()}`);
    const after = await stateOf(reg, co);
    // The index is the truth and DIR/current follows it: it may lag behind a move that committed
    // (a crash or a failed switch after the commit: the command says how to catch up), never run ahead.
    if (co && after.current !== null && after.production !== null && after.current !== after.production) {
      if (after.current !== before.current)
        violations.push(`${co}/current serves ${after.current}, ahead of production, which holds ${after.production}`);
      else if (r.code === 0) violations.push(`exit 0 but ${co}/current still serves ${after.current}`);
      else if (!r.killed && !/mlreg follow m@production .* --once/.test(r.json?.error?.hint ?? ''))
        violations.push(`${co}/current is behind its stage and the error does not say how to catch up: ${r.stdout}`);
    }
    violations.push(...(scenario.check?.(dir, { ...r, code: r.killed ? 137 : r.code }, before, after) ?? []));
    const retry = await cliInProcess(scenario.retry?.(dir) ?? scenario.args(dir), { cwd: dir });
    // A run that got as far as committing leaves nothing to redo: that answer is a successful retry.
    if (retry.code !== 0 && retry.json?.error?.code !== 'E_NOTHING_TO_DO')
      violations.push(`retry: exit ${retry.code} ${retry.stdout.trim()}`);
    else if (co) {
      // What the error's hint says to run when the folder is behind its stage.
      const reconcile = await cliInProcess(['follow', 'm@production', co, '--once', '--json', '--registry', reg]);
      if (reconcile.code !== 0) violations.push(`follow --once: exit ${reconcile.code} ${reconcile.stdout.trim()}`);
      const final = await stateOf(reg, co);
      if (final.current === null || final.production === null || final.current !== final.production)
        violations.push(`after the retry ${co}/current serves ${final.current}, production holds ${final.production}`);
    }
    return {
      scenario: scenario.name,
      at,
      fault,
      code: r.killed ? 137 : r.code,
      errorCode: r.json?.error?.code,
      violations,
    };
  } finally {
    t.cleanup();
  }
}

/** How many matching calls `scenario` makes (a run with nothing failed). */
export async function callsOf(scenario: Scenario, ops?: string): Promise<number> {
  const t = tempDir('mlreg-fault-');
  try {
    const dir = join(t.path, 'w');
    mkdirSync(dir);
    await scenario.prepare(dir);
    const r = runWithFault({
      args: scenario.args(dir),
      cwd: dir,
      prefix: `${dir}/`,
      at: 0,
      fault: 'EIO',
      ...(ops ? { ops } : {}),
    });
    if (r.code !== 0) throw new Error(`${scenario.name} without a fault: exit ${r.code} ${r.stdout} ${r.stderr}`);
    return r.count;
  } finally {
    t.cleanup();
  }
}

/** `n` points spread over 1..total (always the first and the last). */
export function spread(total: number, n: number): number[] {
  if (total <= n) return Array.from({ length: total }, (_, i) => i + 1);
  const out = new Set<number>();
  for (let i = 0; i < n; i++) out.add(1 + Math.round((i * (total - 1)) / (n - 1)));
  return [...out];
}

/** Counts for the report: runs, faults injected, outcomes by exit code and error code. */
export function summarise(outcomes: Outcome[]): string {
  const byCode = new Map<string, number>();
  for (const o of outcomes) {
    const k = `${o.scenario} ${o.fault}: ${o.code}${o.errorCode ? ` ${o.errorCode}` : ''}`;
    byCode.set(k, (byCode.get(k) ?? 0) + 1);
  }
  const bad = outcomes.filter((o) => o.violations.length);
  return [
    `${outcomes.length} runs, ${bad.length} with violations`,
    `outcomes: ${[...byCode].map(([k, n]) => `${k}: ${n}`).join(', ')}`,
    ...bad.slice(0, 20).map((o) => `  ${o.scenario} ${o.fault}@${o.at}: ${o.violations.join(' | ')}`),
  ].join('\n');
}
