import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { IntegrityError } from '../errors.js';
import {
  LOG_FORMAT,
  LOG_FORMAT_VERSION,
  type LogEntry,
  MAX_ENTRY_BYTES,
  MAX_PAYLOAD_BYTES,
  type PayloadRef,
} from './entry-format.js';
import { OperationShapeError, parseOperation, type Operation } from './ops.js';

// Checking and parsing what comes from a remote, and payloads. What a writer needs to encode an entry
// is in entry-format.ts, so a write command does not load the operation checks (ops.ts) or zlib.

export {
  encodeEntry,
  LOG_FORMAT,
  LOG_FORMAT_INLINE,
  LOG_FORMAT_VERSION,
  type LogEntry,
  MAX_ENTRY_BYTES,
  MAX_PAYLOAD_BYTES,
  type PayloadRef,
  payloadKey,
} from './entry-format.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/;

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
  const hasPayload = o.formatVersion >= 2 && o.payload !== undefined;
  for (const k of Object.keys(o))
    if (![...ENTRY_KEYS, hasPayload ? 'payload' : 'ops'].includes(k))
      throw new OperationShapeError(where, `unexpected field ${JSON.stringify(k.slice(0, 80))}`);
  if (o.n !== n) throw new OperationShapeError(where, `it says it is entry ${JSON.stringify(o.n)}`);
  const text = (k: string, re: RegExp | null, max: number): string => {
    const v = o[k];
    if (typeof v !== 'string' || v.length === 0 || v.length > max || (re && !re.test(v)))
      throw new OperationShapeError(where, `field ${k} is not valid`);
    return v;
  };
  let payload: PayloadRef | undefined;
  if (hasPayload) payload = parsePayloadRef(o.payload, where);
  else if (!Array.isArray(o.ops) || o.ops.length === 0) throw new OperationShapeError(where, 'no operations');
  return {
    format: LOG_FORMAT,
    formatVersion: o.formatVersion,
    n,
    id: text('id', UUID_RE, 36),
    writer: text('writer', UUID_RE, 36),
    actor: text('actor', /^[^\u0000-\u001f]*$/, 512),
    time: text('time', ISO_RE, 40),
    command: text('command', /^[a-z][a-z -]{0,63}$/, 64),
    ops: payload ? [] : parseOperations(o.ops as unknown[], where),
    ...(payload ? { payload } : {}),
  };
}

const ENTRY_KEYS = ['format', 'formatVersion', 'n', 'id', 'writer', 'actor', 'time', 'command'];
const DIGEST_RE = /^[0-9a-f]{64}$/;
/** The most a payload read from a remote may inflate to. */
export const MAX_PAYLOAD_INFLATED = 1 << 30;

function parsePayloadRef(v: unknown, where: string): PayloadRef {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new OperationShapeError(where, 'payload is not an object');
  const p = v as Record<string, unknown>;
  for (const k of Object.keys(p))
    if (!['digest', 'size', 'count'].includes(k))
      throw new OperationShapeError(where, `unexpected payload field ${JSON.stringify(k.slice(0, 80))}`);
  const int = (k: string, max: number): number => {
    const x = p[k];
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 1 || x > max)
      throw new OperationShapeError(where, `payload ${k} is not valid`);
    return x;
  };
  if (typeof p.digest !== 'string' || !DIGEST_RE.test(p.digest))
    throw new OperationShapeError(where, 'payload digest is not valid');
  return { digest: p.digest, size: int('size', MAX_PAYLOAD_BYTES), count: int('count', 10_000_000) };
}

export function parseOperations(ops: unknown[], where: string): Operation[] {
  return ops.map((op, i) => parseOperation(op, `${where}, operation ${i + 1}`));
}

/** Check and parse a payload's bytes (already limited to its size): its digest, its inflated size, its operations. */
export function parsePayload(gz: Uint8Array, ref: PayloadRef, n: number): Operation[] {
  const where = `remote log entry ${n}`;
  if (gz.length !== ref.size)
    throw new OperationShapeError(where, `its payload has ${gz.length} bytes, not ${ref.size}`);
  const actual = createHash('sha256').update(gz).digest('hex');
  if (actual !== ref.digest)
    throw new IntegrityError(
      `${where}: its payload sha256:${ref.digest} is corrupt (its bytes hash to sha256:${actual})`,
      {
        code: 'E_OBJECT_CORRUPT',
        hint: 'Nothing from the entry was applied. The remote holds damaged bytes; check who writes to it.',
      },
    );
  let doc: unknown;
  try {
    doc = JSON.parse(gunzipSync(gz, { maxOutputLength: MAX_PAYLOAD_INFLATED }).toString('utf8'));
  } catch {
    throw new OperationShapeError(where, 'its payload is not gzip-compressed JSON within the size allowed');
  }
  if (!Array.isArray(doc) || doc.length !== ref.count)
    throw new OperationShapeError(where, `its payload is not a list of ${ref.count} operations`);
  return parseOperations(doc, where);
}

/** A payload for operations too large to travel inline: gzip-compressed JSON, named by its digest. */
export function encodePayload(ops: readonly Operation[]): { gz: Buffer; ref: PayloadRef } {
  const gz = gzipSync(Buffer.from(JSON.stringify(ops), 'utf8'));
  return { gz, ref: { digest: createHash('sha256').update(gz).digest('hex'), size: gz.length, count: ops.length } };
}
