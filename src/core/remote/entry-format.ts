import type { Operation } from './ops.js';

// What a writer needs to encode a log entry (entry.ts checks and parses the entries it reads).

/**
 * A log entry: the change one write command made, as the domain operations it applied.
 *
 *   {"format":"mlreg-log","formatVersion":1,"n":12,"id":"<uuid>","writer":"<uuid>","actor":"…",
 *    "time":"2026-11-30T10:00:00.000Z","command":"promote","ops":[{"op":"stage.move",…}]}
 *
 * `id` is unique to the entry and `writer` to the replica that wrote it: after an ambiguous answer
 * to the conditional PUT the writer reads entry n back and knows whether it is its own.
 */

export const LOG_FORMAT = 'mlreg-log';
export const LOG_FORMAT_VERSION = 2;
/** Entries that hold their operations inline are still written as format 1 (readable by older mlreg). */
export const LOG_FORMAT_INLINE = 1;
/** The largest entry read from a remote; a bigger one is refused before it is parsed. */
export const MAX_ENTRY_BYTES = 8 << 20;

export interface LogEntry {
  format: typeof LOG_FORMAT;
  formatVersion: number;
  n: number;
  id: string;
  writer: string;
  actor: string;
  time: string;
  command: string;
  /** The operations; empty in an entry whose operations are in a payload (until it is resolved). */
  ops: Operation[];
  /**
   * Format 2: a change too large for one entry keeps its operations in a content-addressed payload
   * (`payloads/sha256/<2>/<62>.json.gz`, a gzip-compressed JSON array of operations), uploaded before
   * the entry. `count` is the number of operations in it.
   */
  payload?: PayloadRef;
}

export interface PayloadRef {
  digest: string;
  size: number;
  count: number;
}

/** The largest payload (compressed) written to or read from a remote. */
export const MAX_PAYLOAD_BYTES = 64 << 20;

export function encodeEntry(entry: LogEntry): Buffer {
  const doc = entry.payload ? { ...entry, ops: undefined } : entry;
  return Buffer.from(`${JSON.stringify(doc)}\n`, 'utf8');
}

/** The key of a payload on the remote. */
export function payloadKey(digest: string): string {
  return `payloads/sha256/${digest.slice(0, 2)}/${digest.slice(2)}.json.gz`;
}
