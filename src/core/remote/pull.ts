import { IntegrityError, MlregError } from '../errors.js';
import { translateSqliteError } from '../registry/db.js';
import type { Registry } from '../registry/registry.js';
import { applyOperations } from './apply.js';
import { MAX_ENTRY_BYTES, parseEntry, parsePayload, payloadKey, type LogEntry } from './entry.js';
import { LOG_PREFIX, logKey, logNumber } from './layout.js';
import { readPosition, setPosition } from './replica-state.js';
import type { RemoteStore } from './transport.js';

export interface PullResult {
  from: number;
  to: number;
  applied: number;
}

/** The numbers of the log entries after `position`, in order, up to the first gap. One list request. */
export async function entriesAfter(store: RemoteStore, position: number): Promise<number[]> {
  const out: number[] = [];
  let expect = position + 1;
  for await (const info of store.list(LOG_PREFIX, logKey(position))) {
    const n = logNumber(info.key);
    if (n === undefined || n < expect) continue;
    // Entries are made one after the other with put-if-absent: a gap means entry `expect` is not
    // readable yet (or was removed): stop there rather than apply anything out of order.
    if (n !== expect) break;
    out.push(n);
    expect++;
  }
  return out;
}

/**
 * Read and check entry `n`; with `headerOnly`, an entry whose operations are in a payload is returned
 * without them (enough to tell whose entry it is).
 */
export async function readEntry(store: RemoteStore, n: number, headerOnly = false): Promise<LogEntry | undefined> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await store.get(logKey(n), MAX_ENTRY_BYTES);
  } catch (err) {
    if (err instanceof MlregError && err.code === 'E_REMOTE_TOO_LARGE')
      throw new IntegrityError(`remote log entry ${n} is larger than the ${MAX_ENTRY_BYTES} bytes an entry may hold`, {
        code: 'E_REMOTE_ENTRY_INVALID',
        hint: 'Nothing from it was applied. Check who writes to the remote.',
        cause: err,
      });
    throw err;
  }
  if (bytes === undefined) return undefined;
  const entry = parseEntry(bytes, n);
  if (!entry.payload || headerOnly) return entry;
  const gz = await store.get(payloadKey(entry.payload.digest), entry.payload.size);
  if (gz === undefined)
    throw new IntegrityError(`remote log entry ${n}: its payload sha256:${entry.payload.digest} is missing`, {
      code: 'E_REMOTE_ENTRY_INVALID',
      hint: 'Nothing from it was applied. The remote lost the operations of this change; check who writes to it.',
    });
  return { ...entry, ops: parsePayload(gz, entry.payload, n) };
}

/**
 * Apply one parsed entry inside the caller's transaction. An entry that does not fit the state it
 * is replayed on (a version it names is not there, a stage holds something else) is refused whole.
 */
export function applyEntry(reg: Registry, entry: LogEntry): void {
  try {
    reg.db.transaction(() => applyOperations(reg, entry.ops, entry.actor, { replayed: true }))();
  } catch (err) {
    if (err instanceof MlregError && !(err instanceof IntegrityError))
      throw new IntegrityError(
        `remote log entry ${entry.n} does not apply to the registry as it stands: ${err.message}`,
        {
          code: 'E_REMOTE_ENTRY_INVALID',
          hint: 'Nothing from it was applied. The remote log is inconsistent; check who writes to it.',
          cause: err,
        },
      );
    throw translateSqliteError(err, reg.dbPath);
  }
}

/**
 * Bring the replica to the remote's head: list the entries after the local position, read and check
 * each, and apply them in order in one transaction (with the new position). An entry refused (exit
 * 5) stops the pull after the entries before it are committed; the replica stays usable as it was.
 */
export async function pull(reg: Registry, store: RemoteStore): Promise<PullResult> {
  const from = readPosition(reg);
  const numbers = await entriesAfter(store, from);
  const entries: LogEntry[] = [];
  let refused: unknown;
  // Small documents: fetch a few at a time, keep the order.
  for (let i = 0; i < numbers.length && refused === undefined; i += 8) {
    const batch = numbers.slice(i, i + 8);
    const settled = await Promise.allSettled(batch.map((n) => readEntry(store, n)));
    for (const s of settled) {
      if (s.status === 'rejected') {
        refused = s.reason;
        break;
      }
      if (s.value === undefined) break;
      entries.push(s.value);
    }
    if (entries.length < i + batch.length) break;
  }
  // Nothing new: no write at all (reading commands refresh this way, also on a read-only registry).
  if (entries.length === 0 && refused === undefined) return { from, to: from, applied: 0 };
  const to = commitEntries(reg, entries);
  if (refused !== undefined) throw refused;
  return { from, to, applied: to - from };
}

/** Apply entries (in order, from any position they start at) in one write transaction. */
export function commitEntries(reg: Registry, entries: readonly LogEntry[]): number {
  const journal = reg.journal;
  reg.journal = undefined;
  let refused: unknown;
  try {
    const position = reg.db
      .transaction(() => {
        let position = readPosition(reg);
        for (const e of entries) {
          if (e.n <= position) continue; // another process on this folder applied it meanwhile
          if (e.n !== position + 1) break;
          try {
            applyEntry(reg, e); // its own savepoint: a refused entry leaves nothing behind
          } catch (err) {
            refused = err;
            break;
          }
          position = e.n;
        }
        setPosition(reg, position, reg.nowIso());
        return position;
      })
      .immediate();
    if (refused !== undefined) throw refused;
    return position;
  } catch (err) {
    throw translateSqliteError(err, reg.dbPath);
  } finally {
    reg.journal = journal;
  }
}
