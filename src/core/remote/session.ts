import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import {
  ConflictError,
  IntegrityError,
  InvalidInputError,
  MlregError,
  UnavailableError,
  UsageError,
} from '../errors.js';
import { translateSqliteError } from '../registry/db.js';
import type { Journal, Registry } from '../registry/registry.js';

import {
  encodeEntry,
  LOG_FORMAT,
  LOG_FORMAT_INLINE,
  LOG_FORMAT_VERSION,
  type LogEntry,
  MAX_PAYLOAD_BYTES,
  payloadKey,
} from './entry-format.js';
import { CHECKPOINT_EVERY, checkpointKey, logKey } from './layout.js';
import type { Operation } from './ops.js';
import type { Operation as Op } from './ops.js';
import { readPosition, setPosition } from './replica-state.js';
import type { RemoteStore } from './transport.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * Writing to a replica. A write command runs as usual, but its write transactions (`reg.write`) go
 * through a WriteSession: the first one opens one local `BEGIN IMMEDIATE` transaction that stays open
 * until the command has finished, and `applyOperations` records every operation applied in it. Then:
 *
 *   1. upload the objects the operations reference that the remote lacks;
 *   2. create log entry N+1 (N = the local position when the transaction began) with put-if-absent;
 *   3. created → record position N+1 and commit locally. Lost the race (`exists`) → roll back, pull,
 *      and run the command again against the new head (bounded, with jitter): a plan that no longer
 *      holds fails exactly as it would locally (`--expect` → exit 4). `unknown` → read entry N+1
 *      back and compare its id with ours before deciding.
 *
 * A process killed before step 2 leaves uploaded objects nobody references (content-addressed, so
 * harmless); killed after step 2 and before the local commit, its change is in the log and the next
 * command on that folder applies it from there. Nothing is ever half-visible.
 */

export type SessionOutcome = 'nothing' | 'committed' | 'lost';
/** Points of the protocol a test can stop a writer at (kill -9 there must leave nothing half-visible). */
export type Step = 'planned' | 'objects-uploaded' | 'entry-created';

/** An entry larger than this keeps its operations in a payload (the conditional PUT takes at most 5 MiB). */
export const MAX_INLINE_ENTRY_BYTES = 4 << 20;

export interface SessionLimits {
  /** Entries above this many bytes move their operations to a payload (tests lower it). */
  inlineBytes?: number;
  /** A remote copy of an object older than this is uploaded again before it is referenced (gc.ts). */
  reuseFreshMs?: number;
}

export class WriteSession implements Journal {
  private ops: Operation[] = [];
  private committed: (() => void)[] = [];
  private actor: string | undefined;
  private position = 0;
  private changesAtBegin = 0;

  constructor(
    private readonly reg: Registry,
    private readonly writerId: string,
    /** The command's name, for the refusal message of a command that does not replicate its writes. */
    private readonly command: string,
    private readonly writes: boolean,
    private readonly limits: SessionLimits = {},
    /** Run with --offline: a change needs the remote. */
    private readonly offline = false,
  ) {}

  write<T>(fn: () => T): T {
    if (!this.writes && this.offline)
      throw new UsageError(
        `\`mlreg ${this.command}\` would change the shared registry, which needs its remote; ${optionRef('offline')} cannot`,
        {
          code: 'E_OFFLINE_WRITE',
          hint: `Run it again without ${optionRef('offline')} once the remote answers (\`mlreg remote status\` shows the remote).`,
        },
      );
    if (!this.writes)
      throw new UsageError(`\`mlreg ${this.command}\` cannot change a replica of a remote registry (yet)`, {
        code: 'E_REPLICA_UNSUPPORTED',
        hint: 'On a replica, add, promote, rollback, deprecate, undeprecate, delete, eval, config, monitor, review, scan, profile, gc and webhook (add, remove) are shared; run this one on a registry that is not shared through a remote.',
      });
    const db = this.reg.db;
    try {
      if (!db.inTransaction) {
        db.exec('BEGIN IMMEDIATE');
        this.position = readPosition(this.reg);
        this.changesAtBegin = totalChanges(this.reg);
      }
      // Inside the open transaction better-sqlite3 runs this as a savepoint: a write that throws
      // undoes only itself, as `reg.write` does on a local registry.
      return db.transaction(fn)();
    } catch (err) {
      throw translateSqliteError(err, this.reg.dbPath);
    }
  }

  record(ops: readonly unknown[], actor: string): void {
    if (this.actor !== undefined && this.actor !== actor)
      throw new Error('one command wrote operations under two actors; a log entry has one');
    this.actor = actor;
    this.ops.push(...(ops as Operation[]));
  }

  /** Whether the command recorded operations to send. */
  get hasChanges(): boolean {
    return this.ops.length > 0;
  }

  afterCommit(fn: () => void): void {
    if (!this.writes) fn();
    else this.committed.push(fn);
  }

  /** The callbacks of a committed change, in order (their errors are the command's). */
  private runCommitted(): void {
    for (const fn of this.committed.splice(0)) fn();
  }

  get open(): boolean {
    return this.reg.db.inTransaction;
  }

  abort(): void {
    this.committed = [];
    if (this.reg.db.inTransaction) this.reg.db.exec('ROLLBACK');
  }

  /** Send the operations to the remote as the next log entry, then commit locally (see above). */
  async finish(
    /** The remote, opened only when there is something to send (a change that changes nothing needs no request). */
    storeOf: () => Promise<RemoteStore>,
    onNotice?: (text: string) => void,
    onStep?: (step: Step) => Promise<void>,
  ): Promise<SessionOutcome> {
    const reg = this.reg;
    if (!reg.db.inTransaction || this.ops.length === 0) {
      const changed = reg.db.inTransaction ? totalChanges(reg) - this.changesAtBegin : 0;
      if (reg.db.inTransaction) reg.db.exec('ROLLBACK');
      if (changed > 0) throw new Error(`${this.command} changed the index without recording operations`);
      this.runCommitted(); // nothing to send (e.g. the stage already held the version): the index is as it was
      return 'nothing';
    }
    let entry: LogEntry = {
      format: LOG_FORMAT,
      formatVersion: LOG_FORMAT_INLINE,
      n: this.position + 1,
      id: randomUUID(),
      writer: this.writerId,
      actor: this.actor ?? 'unknown',
      time: reg.nowIso(),
      command: this.command,
      ops: this.ops,
    };
    let bytes = encodeEntry(entry);
    let outcome: 'created' | 'exists';
    let store: RemoteStore | undefined;
    try {
      await onStep?.('planned');
      store = await storeOf();
      const objects = objectsOf(this.ops);
      // A change too large for one entry travels as a payload the entry names (uploaded first, like objects).
      if (bytes.length > (this.limits.inlineBytes ?? MAX_INLINE_ENTRY_BYTES)) {
        const { encodePayload } = await import('./entry.js');
        const { gz, ref } = encodePayload(this.ops);
        if (gz.length > MAX_PAYLOAD_BYTES)
          throw new InvalidInputError(
            `this change is ${gz.length} bytes compressed, more than the ${MAX_PAYLOAD_BYTES} one log entry's payload may hold`,
            {
              code: 'E_CHANGE_TOO_LARGE',
              hint: 'Split it into smaller changes (e.g. fewer observations per command).',
            },
          );
        await uploadBytes(reg, store, payloadKey(ref.digest), gz);
        entry = { ...entry, formatVersion: LOG_FORMAT_VERSION, ops: [], payload: ref };
        bytes = encodeEntry(entry);
      }
      // Objects first; checked again when the entry would come later than a remote gc allows (gc.ts).
      const sync = objects.size > 0 ? await import('./objects-sync.js') : undefined;
      const uploaded: string[] = [];
      if (sync) {
        const freshMs = this.limits.reuseFreshMs ?? sync.REUSE_FRESH_MS;
        let checkedAt: number;
        do {
          checkedAt = Date.now();
          uploaded.push(...(await sync.uploadMissing(reg, store, objects, { now: reg.runtime.now(), freshMs })));
          await onStep?.('objects-uploaded');
        } while (Date.now() - checkedAt > freshMs);
      } else await onStep?.('objects-uploaded');
      outcome = await putEntry(store, entry, bytes);
      if (outcome === 'created') {
        // A remote gc that judged an object just before this writer uploaded it again may have removed it.
        if (sync) await sync.reuploadVanished(reg, store, objects, uploaded);
        await onStep?.('entry-created');
      }
    } catch (err) {
      this.abort();
      throw err;
    }
    if (outcome === 'exists') {
      this.abort();
      return 'lost';
    }
    try {
      setPosition(reg, entry.n, entry.time);
      reg.db.exec('COMMIT');
    } catch (err) {
      this.abort();
      throw new IntegrityError(
        `the change was recorded on the remote as log entry ${entry.n}, but this folder could not commit it (${(err as Error).message})`,
        {
          code: 'E_REPLICA_COMMIT',
          hint: 'Nothing is lost: the next command (or `mlreg pull`) applies it here from the remote. Check the disk of this folder.',
          cause: err,
        },
      );
    }
    this.runCommitted();
    if (entry.n % CHECKPOINT_EVERY === 0)
      await writeCheckpoint(reg, store!, entry.n).catch((err) => {
        onNotice?.(
          `warning: could not leave checkpoint ${entry.n} on the remote (${(err as Error).message}); clones replay more of the log meanwhile`,
        );
      });
    return 'committed';
  }
}

/** Every object the operations reference, with its size (uploaded before the entry that names them). */
function objectsOf(ops: readonly Op[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const op of ops) if (op.op === 'version.add') for (const o of op.objects) out.set(o.digest, o.size);
  return out;
}

function totalChanges(reg: Registry): number {
  return (reg.db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
}

/**
 * Create the entry; an ambiguous answer is settled by reading the entry back: ours (same id) is a
 * success, another is a lost race, none yet means the PUT did not land and may be tried again.
 */
async function putEntry(store: RemoteStore, entry: LogEntry, bytes: Uint8Array): Promise<'created' | 'exists'> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const outcome = await store.putIfAbsent(logKey(entry.n), bytes);
    if (outcome !== 'unknown') return outcome;
    let there: LogEntry | undefined;
    try {
      const { readEntry } = await import('./pull.js');
      there = await readEntry(store, entry.n, true);
    } catch (err) {
      if (err instanceof IntegrityError) return 'exists'; // something is there, and it is not ours
      throw new UnavailableError(
        `the remote gave no clear answer whether log entry ${entry.n} was created, and could not be asked again`,
        {
          code: 'E_REMOTE_AMBIGUOUS',
          hint: 'Nothing was committed here. Run `mlreg pull`, then `mlreg history NAME` to see whether the change is there before running it again.',
          cause: err,
        },
      );
    }
    if (there) return there.id === entry.id && there.writer === entry.writer ? 'created' : 'exists';
  }
  throw new UnavailableError(`the remote kept giving no clear answer for log entry ${entry.n}`, {
    code: 'E_REMOTE_AMBIGUOUS',
    hint: 'Nothing was committed here and the entry is not on the remote. Try again later.',
  });
}

/** Upload bytes to `key` through a temp file of this registry (uploads stream from files). */
async function uploadBytes(reg: Registry, store: RemoteStore, key: string, bytes: Uint8Array): Promise<void> {
  const tmp = reg.tempPath('payload');
  try {
    writeFileSync(tmp, bytes, { flush: true });
    await store.upload(key, tmp, bytes.length);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Leave the state after entry `n` on the remote, so new clones replay only what follows. */
export async function writeCheckpoint(reg: Registry, store: RemoteStore, n: number): Promise<void> {
  const { dumpCheckpoint } = await import('./checkpoint.js');
  const gz = reg.read(() => {
    if (readPosition(reg) !== n) return undefined; // moved on meanwhile: the next writer leaves one
    return dumpCheckpoint(reg, n);
  });
  if (!gz) return;
  const tmp = reg.tempPath('ckpt');
  try {
    writeFileSync(tmp, gz, { flush: true });
    await store.upload(checkpointKey(n), tmp, gz.length);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Pull (pull.ts and the operation checks it needs, loaded only then: a write on a current replica
 * sends its entry without reading the log).
 */
async function pullTo(reg: Registry, store: RemoteStore): Promise<{ applied: number }> {
  const { pull } = await import('./pull.js');
  return pull(reg, store);
}

export interface ReplicatedRun {
  command: string;
  writerId: string;
  /** At most this many attempts when other writers keep winning the race (default 12). */
  maxAttempts?: number;
  /**
   * Pull before running (default). False: run at the local position first, for commands that are
   * cheap to run again: a replica that is current then costs one request.
   */
  pullFirst?: boolean;
  onNotice?: (text: string) => void;
  /** Called at each step of the protocol (tests stop a writer there). */
  onStep?: (step: Step) => Promise<void>;
  sleep?: (ms: number) => Promise<void>;
  limits?: SessionLimits;
}

/**
 * Run a write command on a replica: pull to the head, run it in a WriteSession, send its entry,
 * and on a lost race run it again from the new head.
 */
export async function runReplicated<T>(
  reg: Registry,
  /** The remote, or how to open it: opened only once a request is needed. */
  remote: RemoteStore | (() => Promise<RemoteStore>),
  opts: ReplicatedRun,
  run: () => Promise<T>,
): Promise<T> {
  const max = opts.maxAttempts ?? 12;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const idle = reg.journal;
  const store = typeof remote === 'function' ? remote : async () => remote;
  try {
    // Pull first, or plan at the local position and let put-if-absent tell whether the remote
    // moved (one request when the replica is current). A plan refused on a stale replica is
    // re-checked at the head before its error counts.
    let fresh = opts.pullFirst !== false;
    if (fresh) await pullTo(reg, await store());
    for (let attempt = 1; ; attempt++) {
      const session = new WriteSession(reg, opts.writerId, opts.command, true, opts.limits);
      reg.journal = session;
      let result: T;
      try {
        result = await run();
      } catch (err) {
        session.abort();
        reg.journal = idle;
        if (!fresh && err instanceof MlregError) {
          fresh = true;
          if ((await pullTo(reg, await store())).applied > 0) continue;
        }
        throw err;
      }
      const outcome = await session.finish(store, opts.onNotice, opts.onStep);
      reg.journal = idle;
      if (outcome !== 'lost') return result;
      if (attempt >= max)
        throw new ConflictError(`another writer changed the remote first, ${attempt} times in a row`, {
          code: 'E_REMOTE_RACE',
          hint: 'Nothing was changed. Run the command again; if it keeps losing, fewer writers at once help.',
        });
      // Jitter so racing writers do not collide again in lockstep (not needed when we were only behind).
      if (fresh) await sleep(Math.floor(Math.random() * 40 * Math.min(attempt, 5)) + 5);
      await pullTo(reg, await store());
      fresh = true;
    }
  } catch (err) {
    if (reg.db.inTransaction) reg.db.exec('ROLLBACK');
    if (err instanceof MlregError || !(err instanceof Error)) throw err;
    throw translateSqliteError(err, reg.dbPath);
  } finally {
    reg.journal = idle;
  }
}
