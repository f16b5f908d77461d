import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { UsageError } from '../core/errors.js';
import { locateRegistry, Registry, type Runtime } from '../core/registry/registry.js';

/** Everything a command needs from the process (argv, env, cwd), gathered once and passed to core as plain values. */
export interface GlobalOptions {
  json?: boolean;
  registry?: string;
  actor?: string;
  /** On a replica: answer from the local copy without asking the remote. */
  offline?: boolean;
}

export class Context {
  readonly json: boolean;
  private readonly globals: GlobalOptions;
  private opened: Registry | undefined;
  private readonly closers: (() => void)[] = [];

  constructor(globals: GlobalOptions) {
    this.globals = globals;
    this.json = !!globals.json;
  }

  get runtime(): Runtime {
    return processRuntime();
  }

  /** The registry folder named by --registry or MLREG_REGISTRY, if any (init creates it there). */
  explicitRegistry(): string | undefined {
    return this.globals.registry ?? (process.env.MLREG_REGISTRY || undefined);
  }

  registryDir(): string {
    return locateRegistry({ explicit: this.globals.registry, env: process.env.MLREG_REGISTRY, cwd: process.cwd() });
  }

  registry(): Registry {
    this.opened ??= Registry.open(this.registryDir(), this.runtime);
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
    const given = this.globals.actor ?? process.env.MLREG_ACTOR;
    if (given !== undefined) {
      if (!given.trim())
        throw new UsageError('the actor is empty', {
          code: 'E_BAD_ACTOR',
          hint: 'Pass --actor NAME or set MLREG_ACTOR.',
        });
      return given.trim();
    }
    const git = gitIdentity();
    if (git) return git;
    try {
      return userInfo().username;
    } catch {
      return process.env.USER ?? 'unknown';
    }
  }

  /** Show a progress bar for large transfers, on a terminal only. */
  get interactive(): boolean {
    return !!process.stderr.isTTY && !process.env.CI;
  }
}

function gitIdentity(): string | undefined {
  const get = (key: string): string => {
    try {
      return execFileSync('git', ['config', '--get', key], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 2000,
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

export function processRuntime(): Runtime {
  const timeout = Number(process.env.MLREG_LOCK_TIMEOUT);
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
    now: () => new Date(),
    busyTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : 60_000,
    signalProcessGroup(pgid: number, signal: NodeJS.Signals): void {
      // A negative pid signals the process group the child leads.
      process.kill(-pgid, signal);
    },
  };
}
