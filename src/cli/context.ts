import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { locateRegistry, Registry, type Runtime } from '../core/registry/registry.js';
import type { RemoteStore } from '../core/remote/transport.js';

/** A stream a command writes to: process.stdout/stderr for a real run, a buffer in tests. */
export type OutStream = NodeJS.WritableStream & { isTTY?: boolean };

/**
 * Everything a run takes from the process it runs in, handed over once by the process adapter
 * (main.ts `main`) or by a test. Nothing else in src/cli reads process.env, process.cwd() or the
 * standard streams, so a command runs the same in-process as in its own process.
 */
export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  stdin?: NodeJS.ReadableStream;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  /** Whether each stream is a terminal (colour, progress bars, help width). */
  isTTY: { stdout: boolean; stderr: boolean };
  /** The terminal's width, when stdout is one. */
  columns?: number;
  /** The clock (tests may fix it). */
  now?: () => Date;
}

/** What a command running on a replica can use of its remote (set by cli/replica.ts). */
export interface ReplicaHandle {
  url: string;
  /** The remote, opened once per run. */
  store(): Promise<RemoteStore>;
  /** Run a change as the next log entry of the remote (pull, run, put-if-absent, retried on a lost race). */
  replicate<T>(run: () => Promise<T>): Promise<T>;
}

/** Options every command takes (main.ts addGlobalOptions). */
export interface GlobalOptions {
  json?: boolean;
  registry?: string;
  actor?: string;
  /** On a replica: answer from the local copy without asking the remote. */
  offline?: boolean;
}

/** One command run: its global options, its IO and the command line; opens the registry at most once. */
export class Context {
  readonly json: boolean;
  readonly io: CliIo;
  /** The whole command line, as given to runCli (`eval run` reads what follows `--`). */
  readonly argv: readonly string[];
  private readonly globals: GlobalOptions;
  private opened: Registry | undefined;
  /** Set when the registry is a replica of a remote. */
  replica: ReplicaHandle | undefined;
  private readonly closers: (() => void)[] = [];

  constructor(globals: GlobalOptions, io: CliIo, argv: readonly string[]) {
    this.globals = globals;
    this.io = io;
    this.argv = argv;
    this.json = !!globals.json;
  }

  get env(): Readonly<Record<string, string | undefined>> {
    return this.io.env;
  }

  get cwd(): string {
    return this.io.cwd;
  }

  get runtime(): Runtime {
    return cliRuntime(this.io);
  }

  /** A path the user typed, relative to the run's folder. */
  path(p: string): string {
    return resolve(this.io.cwd, p);
  }

  /** The registry folder named by --registry or MLREG_REGISTRY, if any (init creates it there). */
  explicitRegistry(): string | undefined {
    return this.globals.registry ?? (this.io.env.MLREG_REGISTRY || undefined);
  }

  registryDir(): string {
    return locateRegistry({ explicit: this.globals.registry, env: this.io.env.MLREG_REGISTRY, cwd: this.io.cwd });
  }

  registry(): Registry {
    this.opened ??= Registry.open(this.registryDir(), this.runtime);
    return this.opened;
  }

  /** The registry if the command opened one (to announce its changes), without opening it. */
  openedRegistry(): Registry | undefined {
    return this.opened;
  }

  /**
   * The registry for a command that only reads: works on a read-only registry and on a full disk.
   * When it had to read a private copy that may miss the newest commits, a person is told so.
   */
  readRegistry(): Registry {
    if (!this.opened) {
      this.opened = Registry.openForReading(this.registryDir(), this.runtime);
      if (this.opened.mayMissRecentChanges)
        this.io.stderr.write(
          'mlreg: note: the registry could not be opened with locks (read-only folder or full disk); changes committed in the last moments may not show.\n',
        );
    }
    return this.opened;
  }

  get offline(): boolean {
    return !!this.globals.offline;
  }

  /** Release something when the command ends (a remote's connections). */
  onClose(fn: () => void): void {
    this.closers.push(fn);
  }

  close(): void {
    for (const fn of this.closers.splice(0)) {
      try {
        fn();
      } catch {
        /* closing is best effort */
      }
    }
    this.opened?.close();
  }

  /** Who is acting: --actor, else MLREG_ACTOR, else git's user.name <user.email>, else the OS user. */
  actor(): string {
    const given = this.globals.actor ?? this.io.env.MLREG_ACTOR;
    if (given !== undefined) {
      if (!given.trim())
        throw new UsageError('the actor is empty', {
          code: 'E_BAD_ACTOR',
          hint: 'Pass --actor NAME or set MLREG_ACTOR.',
        });
      return given.trim();
    }
    const git = gitIdentity(this.io);
    if (git) return git;
    try {
      return userInfo().username;
    } catch {
      return this.io.env.USER ?? 'unknown';
    }
  }

  /** Show a progress bar for large transfers, on a terminal only. */
  get interactive(): boolean {
    return this.io.isTTY.stderr && !this.io.env.CI;
  }
}

function gitIdentity(io: CliIo): string | undefined {
  const get = (key: string): string => {
    try {
      return execFileSync('git', ['config', '--get', key], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 2000,
        cwd: io.cwd,
        env: io.env as NodeJS.ProcessEnv,
      }).trim();
    } catch {
      return '';
    }
  };
  const name = get('user.name');
  const email = get('user.email');
  if (name && email) return `${name} <${email}>`;
  return name || email || undefined;
}

/** The runtime core sees: this OS's processes, the run's clock and lock timeout (MLREG_LOCK_TIMEOUT, ms). */
export function cliRuntime(io: Pick<CliIo, 'env' | 'now'>): Runtime {
  const timeout = Number(io.env.MLREG_LOCK_TIMEOUT);
  return {
    pid: process.pid,
    isProcessAlive(pid: number): boolean {
      try {
        process.kill(pid, 0);
        return true;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'EPERM';
      }
    },
    now: io.now ?? (() => new Date()),
    busyTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : 60_000,
    signalProcessGroup(pgid: number, signal: NodeJS.Signals): void {
      // A negative pid signals the process group the child leads.
      process.kill(-pgid, signal);
    },
  };
}
