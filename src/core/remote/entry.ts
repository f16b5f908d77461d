import { IntegrityError } from '../errors.js';
import { OperationShapeError, parseOperation, type Operation } from './ops.js';

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
export const LOG_FORMAT_VERSION = 1;
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
  ops: Operation[];
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/;

export function encodeEntry(entry: LogEntry): Buffer {
  return Buffer.from(`${JSON.stringify(entry)}\n`, 'utf8');
}

/** Parse and check an entry read from a remote, as entry number `n`. Throws IntegrityError (exit 5). */
export function parseEntry(bytes: Uint8Array, n: number): LogEntry {
  const where = `remote log entry ${n}`;
  if (bytes.length > MAX_ENTRY_BYTES)
    throw new OperationShapeError(where, `${bytes.length} bytes, more than the ${MAX_ENTRY_BYTES} an entry may hold`);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new OperationShapeError(where, 'not JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw new OperationShapeError(where, 'not an object');
  const o = doc as Record<string, unknown>;
  if (o.format !== LOG_FORMAT) throw new OperationShapeError(where, 'not an mlreg log entry');
  if (typeof o.formatVersion !== 'number' || !Number.isInteger(o.formatVersion))
    throw new OperationShapeError(where, 'no format version');
  if (o.formatVersion > LOG_FORMAT_VERSION) {
    throw new IntegrityError(
      `${where} is log format ${o.formatVersion}, newer than this mlreg understands (${LOG_FORMAT_VERSION})`,
      {
        code: 'E_REMOTE_FORMAT_TOO_NEW',
        hint: 'Someone wrote to the remote with a newer mlreg: upgrade mlreg (npm install -g mlreg@latest). Nothing was applied from it.',
      },
    );
  }
  for (const k of Object.keys(o))
    if (!['format', 'formatVersion', 'n', 'id', 'writer', 'actor', 'time', 'command', 'ops'].includes(k))
      throw new OperationShapeError(where, `unexpected field ${JSON.stringify(k.slice(0, 80))}`);
  if (o.n !== n) throw new OperationShapeError(where, `it says it is entry ${JSON.stringify(o.n)}`);
  const text = (k: string, re: RegExp | null, max: number): string => {
    const v = o[k];
    if (typeof v !== 'string' || v.length === 0 || v.length > max || (re && !re.test(v)))
      throw new OperationShapeError(where, `field ${k} is not valid`);
    return v;
  };
  if (!Array.isArray(o.ops) || o.ops.length === 0) throw new OperationShapeError(where, 'no operations');
  return {
    format: LOG_FORMAT,
    formatVersion: o.formatVersion,
    n,
    id: text('id', UUID_RE, 36),
    writer: text('writer', UUID_RE, 36),
    actor: text('actor', /^[^\u0000-\u001f]*$/, 512),
    time: text('time', ISO_RE, 40),
    command: text('command', /^[a-z][a-z -]{0,63}$/, 64),
    ops: o.ops.map((op, i) => parseOperation(op, `${where}, operation ${i + 1}`)),
  };
}
