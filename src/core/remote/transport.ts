import { fileURLToPath } from 'node:url';
import { InvalidInputError, UsageError } from '../errors.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * The storage layer of a team registry: a flat namespace of keys on a remote (an S3 bucket under a
 * prefix, or a folder on a shared filesystem), with the one ordering primitive the log needs:
 * put-if-absent of a small object. Everything above (log entries, checkpoints, replicas) is built on
 * this interface only, so the two stores behave the same to their callers and run the same tests.
 *
 * Keys are relative to the remote's root (the S3 prefix or the folder) and made of `/`-separated
 * segments of `[A-Za-z0-9._-]`, none empty, none starting with a dot (so `..` and hidden temp files can
 * never be keys), at most 1024 bytes: what mlreg itself writes (`objects/sha256/ab/…`, `log/…json`).
 * A key that breaks these rules is refused before anything is sent (InvalidInputError); keys found on
 * the remote that break them are not listed (mlreg cannot have written them).
 *
 * Errors (the MlregError hierarchy): remote unreachable, timed out or answering 5xx → UnavailableError
 * (exit 6, E_REMOTE_UNAVAILABLE); credentials missing or refused → InvalidInputError
 * E_REMOTE_ACCESS_DENIED (credentials are never printed); missing bucket or folder → NotFoundError
 * E_REMOTE_NOT_FOUND; an object larger than the caller allows → IntegrityError E_REMOTE_TOO_LARGE.
 */

export interface RemoteEntryInfo {
  key: string;
  size: number;
  modified: Date;
}

/**
 * The answer to a put-if-absent. `created`: this call made the key (the server said so). `exists`: the
 * key was already there and was left unchanged. `unknown`: the answer was ambiguous (timeout after the
 * request was sent, a 5xx, AWS's 409 ConditionalRequestConflict, radosgw's 500 on a lost race): the key
 * may or may not hold our body, so the caller must read it back and compare (e.g. a writer id) before
 * deciding. Never assume either way.
 */
export type PutIfAbsentOutcome = 'created' | 'exists' | 'unknown';

export interface RemoteStore {
  /** The URL as the user gave it (URLs holding credentials are refused, so this is safe to print). */
  readonly url: string;
  /**
   * Create `key` holding `body` only if nothing is there: one small single PUT with `If-None-Match: *`
   * (S3) or link() of a fsynced temp file (file://). Meant for small documents (log entries, markers):
   * bodies over 5 MiB are refused. A connection refused before anything was sent throws UnavailableError
   * (nothing was created).
   */
  putIfAbsent(key: string, body: Uint8Array): Promise<PutIfAbsentOutcome>;
  /** The whole object, or undefined if absent. An object over `maxBytes` is refused (IntegrityError). */
  get(key: string, maxBytes: number): Promise<Uint8Array | undefined>;
  /** Size and modification time, or undefined if absent. */
  head(key: string): Promise<RemoteEntryInfo | undefined>;
  /**
   * Every key starting with `prefix` (a plain string prefix, not only a folder), in lexicographic
   * (byte) order, strictly after `startAfter` when given. Fetched page by page as it is iterated.
   */
  list(prefix: string, startAfter?: string): AsyncIterable<RemoteEntryInfo>;
  /**
   * Stream a local file of `size` bytes to `key`, replacing what is there (meant for content-addressed
   * objects, where a replacement holds the same bytes). Memory stays flat (multipart on S3). A file whose
   * size is not `size` when read is refused (IntegrityError) and nothing is left at `key` from this call.
   */
  upload(key: string, file: string, size: number): Promise<void>;
  /**
   * Stream `key` into the local file `dest` (created or truncated, fsynced). The caller hashes and
   * validates it and moves it into place. An object over `maxBytes` is refused (IntegrityError) and
   * `dest` removed; a missing one is NotFoundError (E_REMOTE_OBJECT_NOT_FOUND).
   */
  download(key: string, dest: string, maxBytes: number): Promise<void>;
  /** Remove `key`; no error if it is already absent. */
  delete(key: string): Promise<void>;
  /** Release connections; the store must not be used afterwards. */
  close(): void;
}

export interface OpenRemoteOptions {
  /**
   * S3 endpoint URL (e.g. `http://127.0.0.1:7480`) for non-AWS servers; path-style addressing is used
   * when it is set. The CLI resolves it (`--endpoint`, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL:
   * see `resolveEndpoint`); core never reads the environment itself.
   */
  endpoint?: string;
  /** S3 region for signing; default us-east-1. */
  region?: string;
  /**
   * How long one request may wait for the server (connect, or silence while a request is in flight),
   * in ms; default 30,000. Bounded retries come on top (3 attempts for idempotent requests, one for a
   * put-if-absent).
   */
  timeoutMs?: number;
}

export type RemoteLocation =
  | { kind: 's3'; url: string; bucket: string; prefix: string }
  | { kind: 'file'; url: string; path: string };

export const MAX_KEY_BYTES = 1024;
export const MAX_PUT_IF_ABSENT_BYTES = 5 << 20;
export const DEFAULT_TIMEOUT_MS = 30_000;

const URL_HINT = 'Use s3://BUCKET/PREFIX (an S3-compatible bucket) or file:///absolute/path (a shared folder).';
const SEGMENT_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
// Bucket names as S3 allows them (plus `_`, which older radosgw and MinIO setups accept).
const BUCKET_RE = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

/** Parse and validate a remote URL. Never echoes credentials found in it. */
export function parseRemoteUrl(url: string): RemoteLocation {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  if (scheme === 's3') return parseS3(url);
  if (scheme === 'file') return parseFile(url);
  throw new UsageError(`not a remote URL mlreg can use: ${redact(url)}`, { code: 'E_REMOTE_URL', hint: URL_HINT });
}

function parseS3(url: string): RemoteLocation {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(url);
  if (!m) throw badUrl(url, 'expected s3://BUCKET/PREFIX');
  const authority = m[1]!;
  if (authority.includes('@') || authority.includes(':'))
    throw new UsageError('the remote URL holds credentials or a port; mlreg never takes credentials from a URL', {
      code: 'E_REMOTE_URL',
      hint: `Give s3://BUCKET/PREFIX and let the AWS SDK find credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws, an instance role); the server goes in ${optionRef('endpoint')}.`,
    });
  if (!BUCKET_RE.test(authority) || authority.includes('..'))
    throw badUrl(url, `"${authority}" is not a valid bucket name (3–63 of a-z 0-9 . - _)`);
  const prefix = (m[2] ?? '').replace(/\/+$/, '');
  if (prefix !== '') {
    if (/[?#]/.test(prefix)) throw badUrl(url, 'a query or fragment is not allowed');
    const problem = keyProblem(prefix);
    if (problem) throw badUrl(url, `the prefix ${problem}`);
  }
  return { kind: 's3', url, bucket: authority, prefix };
}

function parseFile(url: string): RemoteLocation {
  // WHATWG URLs read `file:relative` as `/relative`: insist on the absolute form.
  if (!/^file:\/\//i.test(url)) throw badUrl(url, 'expected file:///absolute/path');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badUrl(url, 'expected file:///absolute/path');
  }
  if (parsed.username || parsed.password) throw badUrl(url, 'a file:// URL cannot hold credentials');
  if (parsed.host !== '' && parsed.host !== 'localhost')
    throw badUrl(url, `"${parsed.host}" is a host; a file:// remote is a folder on this machine (file:///path)`);
  if (parsed.search || parsed.hash) throw badUrl(url, 'a query or fragment is not allowed');
  let path = fileURLToPath(parsed);
  if (path.length > 1) path = path.replace(/\/+$/, '');
  return { kind: 'file', url, path };
}

function badUrl(url: string, why: string): UsageError {
  return new UsageError(`invalid remote URL ${redact(url)}: ${why}`, { code: 'E_REMOTE_URL', hint: URL_HINT });
}

/** The URL with any user:password@ part masked, for messages. */
export function redact(url: string): string {
  return url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/@]*@/, '$1***@');
}

/** Why `key` cannot be a remote key, or undefined when it can. */
export function keyProblem(key: string): string | undefined {
  if (typeof key !== 'string' || key === '') return 'is empty';
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) return `is longer than ${MAX_KEY_BYTES} bytes`;
  if (key.startsWith('/')) return 'starts with "/"';
  for (const seg of key.split('/')) {
    if (seg === '') return 'has an empty segment ("//" or a trailing "/")';
    if (seg === '.' || seg === '..') return `has a "${seg}" segment`;
    if (!SEGMENT_RE.test(seg)) return `has a segment "${seg}" outside [A-Za-z0-9._-] or starting with "."`;
  }
  return undefined;
}

/** Refuse a key mlreg must never send (InvalidInputError, before any request). */
export function checkKey(key: string): void {
  const problem = keyProblem(key);
  if (problem)
    throw new InvalidInputError(`remote key ${JSON.stringify(key)} ${problem}`, {
      code: 'E_REMOTE_KEY',
      hint: 'Remote keys are relative paths of [A-Za-z0-9._-] segments with no "..", no leading "/" and no leading dot.',
    });
}

/** A list prefix may be empty or end with "/" (a folder); otherwise the same characters as a key. */
export function checkPrefix(prefix: string): void {
  if (prefix === '') return;
  checkKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

export function checkMaxBytes(maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0)
    throw new InvalidInputError(`maxBytes must be a non-negative integer, not ${maxBytes}`, {
      code: 'E_REMOTE_ARGUMENT',
    });
}

export function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0)
    throw new InvalidInputError(`an upload size must be a non-negative integer, not ${size}`, {
      code: 'E_REMOTE_ARGUMENT',
    });
}

/**
 * The S3 endpoint the CLI should pass: the `--endpoint` flag, else AWS_ENDPOINT_URL_S3, else
 * AWS_ENDPOINT_URL (as the AWS CLI does). Takes the environment as an argument: core never reads it.
 */
export function resolveEndpoint(flag: string | undefined, env: Record<string, string | undefined>): string | undefined {
  for (const v of [flag, env.AWS_ENDPOINT_URL_S3, env.AWS_ENDPOINT_URL]) if (v && v.trim() !== '') return v.trim();
  return undefined;
}

/**
 * Open the remote at `url`. No request is made for S3 (the first operation finds out whether the bucket
 * exists and the credentials work); a file:// folder must exist. The AWS SDK is loaded only here, and
 * only for s3:// URLs.
 */
export async function openRemote(url: string, opts: OpenRemoteOptions = {}): Promise<RemoteStore> {
  const loc = parseRemoteUrl(url);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new UsageError(`the remote timeout must be a positive number of ms, not ${timeoutMs}`, {
      code: 'E_REMOTE_ARGUMENT',
    });
  if (loc.kind === 'file') {
    const { FileStore } = await import('./file-store.js');
    return FileStore.open(loc.url, loc.path);
  }
  const { S3Store } = await import('./s3-store.js');
  return S3Store.open(loc, { endpoint: opts.endpoint, region: opts.region ?? 'us-east-1', timeoutMs });
}
