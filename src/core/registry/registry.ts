import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { openDb, openDbForReading, translateSqliteError, walHasFrames, type Db, type ReadMode } from './db.js';
import { recoverInterruptedRestore } from '../backup/interrupted-restore.js';
import {
  ConflictError,
  fromSystemError,
  IntegrityError,
  InvalidInputError,
  MlregError,
  NotFoundError,
} from '../errors.js';
import type Database from 'better-sqlite3';
import type { Operation } from '../remote/ops.js';
import { currentFormatVersion } from './migrations.js';
import { fsyncDir } from '../lib/fs.js';
import { optionRef } from '../lib/option-ref.js';

export const DB_FILE = 'mlreg.db';
export const DEFAULT_DIR_NAME = '.mlreg';

/** What the host process tells core about itself; the CLI fills it from `process`, tests set it directly. */
export interface Runtime {
  pid: number;
  /** True while a process with this pid runs on this machine (used to clean temp files of dead writers). */
  isProcessAlive(pid: number): boolean;
  now(): Date;
  /** Milliseconds a writer waits for the lock before giving up. */
  busyTimeoutMs: number;
  /**
   * Signal a whole process group (a timed-out evaluation command and everything it started).
   * Without it only the command itself is signalled.
   */
  signalProcessGroup?(pgid: number, signal: NodeJS.Signals): void;
}

export const defaultRuntime: Runtime = {
  pid: 0,
  isProcessAlive: () => true,
  now: () => new Date(),
  busyTimeoutMs: 60_000,
};

export interface LocateOptions {
  /** --registry DIR */
  explicit?: string | undefined;
  /** MLREG_REGISTRY */
  env?: string | undefined;
  cwd: string;
}

/**
 * Find the registry folder: --registry, else MLREG_REGISTRY, else the nearest `.mlreg/` walking up
 * from the working directory (like git finds `.git`).
 */
export function locateRegistry(opts: LocateOptions): string {
  const given = opts.explicit ?? (opts.env ? opts.env : undefined);
  if (given !== undefined) return resolve(opts.cwd, given);
  let dir = resolve(opts.cwd);
  for (;;) {
    const candidate = join(dir, DEFAULT_DIR_NAME);
    if (existsSync(join(candidate, DB_FILE))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new NotFoundError(`no mlreg registry found in ${opts.cwd} or any folder above it`, {
    code: 'E_NO_REGISTRY',
    hint: `Create one with \`mlreg init\` (makes ./.mlreg), or point to one with ${optionRef('registry')} DIR or MLREG_REGISTRY.`,
  });
}

/**
 * How a replica of a remote registry takes part in writes (core/remote/replica.ts): it runs the
 * write transactions of one command (so it can send their operations to the remote before the local
 * commit) and collects the domain operations `applyOperations` applies. A registry that is only local
 * has none.
 */
export interface Journal {
  write<T>(fn: () => T): T;
  record(ops: readonly unknown[], actor: string): void;
  /**
   * Run `fn` once the change is committed (on a replica: once the remote took it), not inside the
   * transaction: what follows the index (a serving folder) must not run ahead of it.
   */
  afterCommit(fn: () => void): void;
}

/** Run `fn` inside the transaction on a local registry, or once the remote took the change on a replica. */
export function whenCommitted(reg: Registry, fn: () => void): void {
  if (reg.journal) reg.journal.afterCommit(fn);
  else fn();
}

/** Operations this process applied and committed (not replayed from a remote): what webhooks announce. */
export interface CommittedChange {
  op: Operation;
  actor: string;
}

/** Fetches an object this folder does not hold yet (a replica's lazy download), hash-checked. */
export type ObjectFetcher = (digest: string) => Promise<void>;

/**
 * The registry that commands run in `dir` found before a new one was made there: the nearest
 * `.mlreg/` in a folder above. A registry made below it shadows it for every command run there.
 */
export function enclosingRegistry(dir: string): string | undefined {
  let parent = dirname(resolve(dir));
  for (;;) {
    const candidate = join(parent, DEFAULT_DIR_NAME);
    if (candidate !== resolve(dir) && existsSync(join(candidate, DB_FILE))) return candidate;
    const up = dirname(parent);
    if (up === parent) return undefined;
    parent = up;
  }
}

export class Registry {
  readonly root: string;
  readonly db: Db;
  readonly runtime: Runtime;
  journal: Journal | undefined;
  fetchObject: ObjectFetcher | undefined;
  /** How a reading command sees the index (see ReadMode); 'write' for a registry opened to change it. */
  readonly mode: ReadMode | 'write';

  /**
   * The changes this process made and committed, in order, for the CLI to announce (webhooks) once
   * the command is done. Changes of a transaction that rolled back never reach it.
   */
  readonly committedChanges: CommittedChange[] = [];
  private pendingChanges: CommittedChange[] = [];
  private writeDepth = 0;

  private constructor(root: string, db: Db, runtime: Runtime, mode: ReadMode | 'write' = 'write') {
    this.root = root;
    this.db = db;
    this.runtime = runtime;
    this.mode = mode;
  }

  /** True when a reading command sees a copy that may miss commits still only in the -wal file. */
  get mayMissRecentChanges(): boolean {
    return this.mode === 'copy' && walHasFrames(this.dbPath);
  }

  get dbPath(): string {
    return join(this.root, DB_FILE);
  }
  get objectsDir(): string {
    return join(this.root, 'objects');
  }
  get tmpDir(): string {
    return join(this.root, 'tmp');
  }

  /** Create an empty registry in `dir` (made if missing). Refuses a folder that already holds one. */
  static init(dir: string, runtime: Runtime = defaultRuntime): { root: string; format: number } {
    const root = resolve(dir);
    if (existsSync(join(root, DB_FILE))) {
      throw new ConflictError(`${root} already holds an mlreg registry`, {
        code: 'E_REGISTRY_EXISTS',
        hint: 'Use it as it is, or choose another folder.',
      });
    }
    try {
      if (existsSync(root) && !statSync(root).isDirectory()) {
        throw new InvalidInputError(`${root} exists and is not a folder`, {
          hint: 'Choose a folder path for the registry.',
        });
      }
      for (const sub of ['', 'objects', 'objects/sha256', 'tmp']) mkdirSync(join(root, sub), { recursive: true });
      const db = openDb(join(root, DB_FILE), { busyTimeoutMs: runtime.busyTimeoutMs, create: true });
      const reg = new Registry(root, db, runtime);
      reg.write(() => {
        const ins = db.prepare('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)');
        ins.run('created_at', runtime.now().toISOString());
        ins.run('format', String(currentFormatVersion()));
      });
      db.close();
      fsyncDir(root);
      return { root, format: currentFormatVersion() };
    } catch (err) {
      throw fromSystemError(err, 'mlreg init');
    }
  }

  /** Open an existing registry; migrates an older format forward (in one transaction). */
  static open(dir: string, runtime: Runtime = defaultRuntime): Registry {
    const root = checkFolder(dir, runtime);
    const db = openDb(join(root, DB_FILE), { busyTimeoutMs: runtime.busyTimeoutMs, create: false });
    return new Registry(root, db, runtime);
  }

  /**
   * Open for a command that only reads (list, show, history, verify…): works on a read-only
   * registry and on a full disk, and writes nothing. A registry of an older format is opened to
   * be upgraded instead, which needs writing.
   */
  static openForReading(dir: string, runtime: Runtime = defaultRuntime): Registry {
    const root = checkFolder(dir, runtime);
    try {
      const { db, mode } = openDbForReading(join(root, DB_FILE), { busyTimeoutMs: runtime.busyTimeoutMs });
      return new Registry(root, db, runtime, mode);
    } catch (err) {
      if (err instanceof MlregError && err.code === 'E_FORMAT_OLD') return Registry.open(dir, runtime);
      throw err;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
    if (this.readerTemp) rmSync(this.readerTemp, { recursive: true, force: true });
    this.readerTemp = undefined;
  }

  /** A reading command's private temp folder (outside the registry), made on first use. */
  private readerTemp: string | undefined;

  /** Private temp folders of reading commands on this host whose process is gone (kill -9). */
  private cleanDeadReaderTemp(prefix: string): void {
    let names: string[];
    try {
      names = readdirSync(tmpdir());
    } catch {
      return;
    }
    for (const name of names) {
      if (!name.startsWith(prefix)) continue;
      const pid = Number(name.slice(prefix.length).split('-')[0]);
      if (!Number.isInteger(pid) || pid === this.runtime.pid || this.runtime.isProcessAlive(pid)) continue;
      try {
        rmSync(join(tmpdir(), name), { recursive: true, force: true });
      } catch {
        /* another user's, or already gone: leave it */
      }
    }
  }

  /**
   * Run `fn` as one `BEGIN IMMEDIATE` transaction: the write lock is taken first, so reads inside
   * see the latest state and version numbers allocated here are unique across processes.
   */
  write<T>(fn: () => T): T {
    if (this.journal) return this.journal.write(fn);
    const mark = this.pendingChanges.length;
    this.writeDepth++;
    let out: T;
    try {
      out = this.db
        .transaction(() => {
          this.refuseForeignSchemaObjects();
          return fn();
        })
        .immediate();
    } catch (err) {
      this.pendingChanges.length = mark; // rolled back (or only this savepoint): never announced
      throw translateSqliteError(err, this.dbPath);
    } finally {
      this.writeDepth--;
    }
    if (this.writeDepth === 0) this.committedChanges.push(...this.pendingChanges.splice(0));
    return out;
  }

  /**
   * A write that stays in this folder (a record of webhook deliveries): never part of a command's
   * change, never sent to a remote, never announced.
   */
  writeLocal<T>(fn: () => T): T {
    try {
      return this.db
        .transaction(() => {
          this.refuseForeignSchemaObjects();
          return fn();
        })
        .immediate();
    } catch (err) {
      throw translateSqliteError(err, this.dbPath);
    }
  }

  /** Called by applyOperations: the operations join `committedChanges` once their transaction commits. */
  noteChanges(ops: readonly Operation[], actor: string): void {
    const changes = ops.map((op) => ({ op, actor }));
    if (this.journal) this.journal.afterCommit(() => this.committedChanges.push(...changes));
    else if (this.writeDepth > 0) this.pendingChanges.push(...changes);
    else this.committedChanges.push(...changes);
  }

  private foreignObjects: Database.Statement | undefined;

  /**
   * No registry format has a trigger or a view: one in the index was put there by hand or by a
   * hostile backup, and a trigger would run with this change (deleting stages, rewriting the audit
   * trail). Checked inside every write transaction (one lookup in a small table); readers and
   * `verify` still work, so the damage can be seen.
   */
  private refuseForeignSchemaObjects(): void {
    this.foreignObjects ??= this.db.prepare(
      "SELECT type, name FROM sqlite_schema WHERE type IN ('trigger', 'view') LIMIT 1",
    );
    const found = this.foreignObjects.get() as { type: string; name: string } | undefined;
    if (found)
      throw new IntegrityError(
        `the registry index holds a ${found.type} ${JSON.stringify(found.name)} that no registry format has; refusing to write`,
        {
          code: 'E_HOSTILE_INDEX',
          hint: `Nothing was changed. Run \`mlreg verify\`, and restore the registry from a good backup (mlreg restore FILE ${optionRef('into')} DIR ${optionRef('force')}).`,
        },
      );
  }

  /** A consistent read (one snapshot) across several queries. */
  read<T>(fn: () => T): T {
    try {
      return this.db.transaction(fn).deferred();
    } catch (err) {
      throw translateSqliteError(err, this.dbPath);
    }
  }

  nowIso(): string {
    return this.runtime.now().toISOString();
  }

  /**
   * Name for a temp file owned by this process: `<host>-<pid>-<random>.<suffix>`, in the registry's
   * tmp/. A registry opened for reading writes nothing into its folder (it may be read-only or on a
   * full disk): its temp files (a profiled batch's sample, DuckDB's spill) go to a private folder
   * in the system's temp folder, removed by close().
   */
  tempPath(suffix: string): string {
    const rand = Math.random().toString(36).slice(2, 10);
    let dir = this.tmpDir;
    if (this.mode !== 'write') {
      try {
        if (!this.readerTemp) {
          const prefix = `mlreg-read-${safeHost()}-`;
          this.cleanDeadReaderTemp(prefix);
          this.readerTemp = mkdtempSync(join(tmpdir(), `${prefix}${this.runtime.pid}-`));
        }
      } catch (err) {
        throw fromSystemError(err, 'a temp folder for a reading command', { writing: tmpdir() });
      }
      dir = this.readerTemp;
    }
    return join(dir, `${safeHost()}-${this.runtime.pid}-${rand}.${suffix}`);
  }

  /**
   * Remove temp files left by writers that died (kill -9, power loss). A file belongs to a dead
   * writer when its pid no longer runs on this host; files from other hosts (a shared folder) go
   * only once they are a day old. Returns the names removed.
   */
  cleanStaleTemp(): string[] {
    const removed: string[] = [];
    // A reading command changes nothing in the registry (its own temp files are elsewhere).
    if (this.mode !== 'write') return removed;
    let names: string[];
    try {
      names = readdirSync(this.tmpDir);
    } catch {
      return removed;
    }
    const host = safeHost();
    const dayAgo = this.runtime.now().getTime() - 86_400_000;
    for (const name of names) {
      const m = /^(.+)-(\d+)-[a-z0-9]+\./.exec(name);
      const path = join(this.tmpDir, name);
      let stale: boolean;
      if (m && m[1] === host) stale = Number(m[2]) !== this.runtime.pid && !this.runtime.isProcessAlive(Number(m[2]));
      else {
        try {
          stale = statSync(path).mtimeMs < dayAgo;
        } catch {
          continue;
        }
      }
      if (!stale) continue;
      try {
        // Folders too: `eval run` works in a private folder named like a temp file.
        rmSync(path, { recursive: true, force: true });
        removed.push(name);
      } catch {
        /* another cleaner got there first, or it cannot be removed: leave it */
      }
    }
    return removed;
  }

  getConfig(key: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM config WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }
}

/** The registry folder `dir` resolved, once it is known to hold an index, objects/ and tmp/. */
function checkFolder(dir: string, runtime: Runtime): string {
  const root = resolve(dir);
  const dbFile = join(root, DB_FILE);
  // A restore --force killed mid-swap left the registry aside: put it back before looking.
  if (!existsSync(dbFile)) recoverInterruptedRestore(root, runtime);
  if (!existsSync(dbFile)) {
    // A project folder given where its registry was meant: point at the registry inside it.
    const inside = join(root, DEFAULT_DIR_NAME);
    throw new NotFoundError(`no mlreg registry at ${root} (no ${DB_FILE} there)`, {
      code: 'E_NO_REGISTRY',
      hint: existsSync(join(inside, DB_FILE))
        ? `${root} is a project folder; its registry is ${inside}: use ${optionRef('registry')} ${inside}.`
        : `Create one with \`mlreg init ${dir}\`, or check ${optionRef('registry')} / MLREG_REGISTRY.`,
    });
  }
  for (const sub of ['objects', 'tmp']) {
    if (!existsSync(join(root, sub))) {
      throw new NotFoundError(`${root} is missing its ${sub}/ folder`, {
        code: 'E_REGISTRY_INCOMPLETE',
        hint: 'The registry folder was damaged; restore it from a backup (mlreg restore).',
      });
    }
  }
  return root;
}

function safeHost(): string {
  return hostname().replace(/[^A-Za-z0-9.]/g, '_') || 'host';
}
