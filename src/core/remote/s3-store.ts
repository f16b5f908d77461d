import type { S3Client } from '@aws-sdk/client-s3';
import { open, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { pipeline, Transform, type Readable } from 'node:stream';
import {
  fromSystemError,
  IntegrityError,
  InvalidInputError,
  MlregError,
  NotFoundError,
  UnavailableError,
  UsageError,
} from '../errors.js';
import {
  checkKey,
  checkMaxBytes,
  checkPrefix,
  checkSize,
  keyProblem,
  MAX_PUT_IF_ABSENT_BYTES,
  type PutIfAbsentOutcome,
  type RemoteEntryInfo,
  type RemoteLocation,
  type RemoteStore,
} from './transport.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * A remote in an S3-compatible bucket, on the AWS SDK v3 (loaded only when an s3:// remote is opened).
 * - Checksums only when an operation requires them (`WHEN_REQUIRED`): the SDK's default adds trailing
 *   checksums that make streamed uploads fail on non-AWS servers (radosgw: 411 MissingContentLength).
 * - Path-style addressing for a custom endpoint (radosgw, MinIO: no per-bucket DNS names).
 * - Every request is bounded (connect and idle timeouts) and retried at most 3 times, except the
 *   conditional create: a retried `If-None-Match: *` PUT whose first attempt did land would answer 412
 *   and turn our own success into "exists", so it gets exactly one attempt and an ambiguous answer is
 *   reported as 'unknown' for the caller to read back.
 * - Only single PUTs are conditional: radosgw ignores `If-None-Match` on CompleteMultipartUpload and
 *   mishandles `If-Match`, so neither is ever used.
 */

type Loc = Extract<RemoteLocation, { kind: 's3' }>;
type Sdk = typeof import('@aws-sdk/client-s3');

const PART_BYTES = 5 << 20;
const QUEUE = 4;
const WRITE_BATCH = 1 << 20;
const MAX_PARTS = 10_000;
// Network failures that happen before a request reaches the server: nothing can have been written.
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
const NETWORK = new Set([...NOT_SENT, 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'ESOCKETTIMEDOUT']);
const DENIED = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
  'CredentialsProviderError',
]);

export class S3Store implements RemoteStore {
  readonly url: string;
  private readonly base: string;

  private made: { client?: S3Client; once?: S3Client } = {};

  private constructor(
    private readonly loc: Loc,
    private readonly sdk: Sdk,
    private readonly config: ConstructorParameters<Sdk['S3Client']>[0] & object,
    private readonly endpoint: string | undefined,
  ) {
    this.url = loc.url;
    this.base = loc.prefix === '' ? '' : `${loc.prefix}/`;
  }

  /** The client for every request but the conditional create (3 attempts); made on first use. */
  private get client(): S3Client {
    this.made.client ??= this.make(3);
    return this.made.client;
  }

  /** The same settings with one attempt: for the conditional create only; made on first use. */
  private get once(): S3Client {
    this.made.once ??= this.make(1);
    return this.made.once;
  }

  /**
   * The second client takes the first one's credentials provider (memoised), so the default
   * credential chain is resolved once per command, not once per client.
   */
  private make(maxAttempts: number): S3Client {
    const other = this.made.client ?? this.made.once;
    return new this.sdk.S3Client({
      ...this.config,
      maxAttempts,
      ...(other ? { credentials: other.config.credentials } : {}),
    });
  }

  static async open(
    loc: Loc,
    opts: { endpoint: string | undefined; region: string; timeoutMs: number },
  ): Promise<S3Store> {
    const endpoint = opts.endpoint === undefined ? undefined : checkEndpoint(opts.endpoint);
    const sdk = await import('@aws-sdk/client-s3');
    const config = {
      region: opts.region,
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
      followRegionRedirects: true,
      requestChecksumCalculation: 'WHEN_REQUIRED' as const,
      responseChecksumValidation: 'WHEN_REQUIRED' as const,
      // socketTimeout is the idle bound (no byte either way for that long), which also covers a response
      // body stalling mid-download; smithy's requestTimeout bounds a whole request and only warns by default.
      requestHandler: { connectionTimeout: Math.min(opts.timeoutMs, 10_000), socketTimeout: opts.timeoutMs },
    };
    return new S3Store(loc, sdk, config, endpoint);
  }

  async putIfAbsent(key: string, body: Uint8Array): Promise<PutIfAbsentOutcome> {
    checkKey(key);
    if (body.byteLength > MAX_PUT_IF_ABSENT_BYTES)
      throw new InvalidInputError(
        `a put-if-absent body is limited to ${MAX_PUT_IF_ABSENT_BYTES} bytes, not ${body.byteLength}`,
        { code: 'E_REMOTE_ARGUMENT', hint: 'Conditional creates are for small documents; use upload() for objects.' },
      );
    try {
      await this.once.send(
        new this.sdk.PutObjectCommand({
          Bucket: this.loc.bucket,
          Key: this.full(key),
          Body: body,
          ContentLength: body.byteLength,
          IfNoneMatch: '*',
        }),
      );
      return 'created';
    } catch (err) {
      const status = statusOf(err);
      if (status === 412) return 'exists';
      // 409: AWS's ConditionalRequestConflict (a concurrent create in flight); 5xx: radosgw answers 500 on
      // some lost races; timeouts and resets after sending: the PUT may or may not have landed.
      if (status === 409 || (status !== undefined && status >= 500)) return 'unknown';
      if (status === undefined && isNetwork(err) && !NOT_SENT.has(codeOf(err))) return 'unknown';
      throw this.mapError(err, `create ${key}`);
    }
  }

  async get(key: string, maxBytes: number): Promise<Uint8Array | undefined> {
    checkKey(key);
    checkMaxBytes(maxBytes);
    const body = await this.openBody(key, maxBytes);
    if (!body) return undefined;
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > maxBytes) throw this.tooLarge(key, total, maxBytes);
        chunks.push(chunk);
      }
    } catch (err) {
      body.destroy();
      throw this.mapError(err, `read ${key}`);
    }
    const buf = Buffer.concat(chunks, total);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  async head(key: string): Promise<RemoteEntryInfo | undefined> {
    checkKey(key);
    try {
      const r = await this.client.send(
        new this.sdk.HeadObjectCommand({ Bucket: this.loc.bucket, Key: this.full(key) }),
      );
      return { key, size: r.ContentLength ?? 0, modified: r.LastModified ?? new Date(0) };
    } catch (err) {
      // A HEAD answer has no body: a missing bucket looks like a missing key (404) here.
      if (statusOf(err) === 404) return undefined;
      throw this.mapError(err, `look up ${key}`);
    }
  }

  async *list(prefix: string, startAfter?: string): AsyncIterable<RemoteEntryInfo> {
    checkPrefix(prefix);
    let token: string | undefined;
    do {
      let page: import('@aws-sdk/client-s3').ListObjectsV2CommandOutput;
      try {
        page = await this.client.send(
          new this.sdk.ListObjectsV2Command({
            Bucket: this.loc.bucket,
            Prefix: this.base + prefix,
            ...(startAfter === undefined ? {} : { StartAfter: this.base + startAfter }),
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
      } catch (err) {
        throw this.mapError(err, `list ${prefix || '/'}`);
      }
      for (const o of page.Contents ?? []) {
        if (!o.Key?.startsWith(this.base)) continue;
        const key = o.Key.slice(this.base.length);
        // Keys mlreg cannot have written (`..`, odd characters) are not ours: never hand them on.
        if (keyProblem(key) !== undefined || !key.startsWith(prefix)) continue;
        yield { key, size: o.Size ?? 0, modified: o.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async upload(key: string, file: string, size: number): Promise<void> {
    checkKey(key);
    checkSize(size);
    try {
      await stat(file);
    } catch (err) {
      throw fromSystemError(err, file);
    }
    const { Upload } = await import('@aws-sdk/lib-storage');
    // Count what is read: a file that is not `size` bytes fails the stream before the upload completes,
    // so nothing is left at `key` (lib-storage aborts a multipart upload whose body fails).
    let total = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        total += chunk.length;
        cb(total > size ? changed(file, size, total) : null, chunk);
      },
      flush(cb) {
        cb(total !== size ? changed(file, size, total) : null);
      },
    });
    const body = pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), counter, () => undefined);
    const partSize = Math.max(PART_BYTES, Math.ceil(size / MAX_PARTS));
    const up = new Upload({
      client: this.client,
      params: { Bucket: this.loc.bucket, Key: this.full(key), Body: body },
      partSize,
      queueSize: QUEUE,
      leavePartsOnError: false,
    });
    try {
      await up.done();
    } catch (err) {
      body.destroy();
      if (err instanceof MlregError) throw err;
      if ((err as NodeJS.ErrnoException).syscall && !statusOf(err) && !isNetwork(err)) throw fromSystemError(err, file);
      throw this.mapError(err, `upload ${key}`);
    }
  }

  async download(key: string, dest: string, maxBytes: number): Promise<void> {
    checkKey(key);
    checkMaxBytes(maxBytes);
    const body = await this.openBody(key, maxBytes);
    if (!body)
      throw new NotFoundError(`${key} is not on the remote ${this.url}`, {
        code: 'E_REMOTE_OBJECT_NOT_FOUND',
        hint: 'The remote lost an object its log references, or it was removed: check the remote (mlreg remote status).',
      });
    let fh: import('node:fs/promises').FileHandle;
    try {
      fh = await open(dest, 'w');
    } catch (err) {
      body.destroy();
      throw fromSystemError(err, dest);
    }
    try {
      let total = 0;
      // Sockets deliver 16–64 KiB at a time: gather ~1 MiB per write (one writev) instead of a system
      // call per chunk; memory stays at that plus the socket's buffer.
      let batch: Buffer[] = [];
      let batched = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > maxBytes) throw this.tooLarge(key, total, maxBytes);
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= WRITE_BATCH) {
          await writeAll(fh, batch, batched);
          batch = [];
          batched = 0;
        }
      }
      await writeAll(fh, batch, batched);
      await fh.sync();
      await fh.close();
    } catch (err) {
      body.destroy();
      await fh.close().catch(() => undefined);
      await unlink(dest).catch(() => undefined);
      if (['write', 'writev', 'fsync'].includes((err as NodeJS.ErrnoException).syscall ?? ''))
        throw fromSystemError(err, dest);
      throw this.mapError(err, `download ${key}`);
    }
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    try {
      await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.loc.bucket, Key: this.full(key) }));
    } catch (err) {
      if (statusOf(err) === 404 && nameOf(err) !== 'NoSuchBucket') return;
      throw this.mapError(err, `delete ${key}`);
    }
  }

  close(): void {
    this.made.client?.destroy();
    this.made.once?.destroy();
  }

  private full(key: string): string {
    return this.base + key;
  }

  /** GetObject's body, or undefined when the key is absent; refuses a declared size over maxBytes. */
  private async openBody(key: string, maxBytes: number): Promise<Readable | undefined> {
    let r: import('@aws-sdk/client-s3').GetObjectCommandOutput;
    try {
      r = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.loc.bucket, Key: this.full(key) }));
    } catch (err) {
      if (nameOf(err) === 'NoSuchKey') return undefined;
      throw this.mapError(err, `read ${key}`);
    }
    const body = r.Body as Readable | undefined;
    if (!body) return undefined;
    if (r.ContentLength !== undefined && r.ContentLength > maxBytes) {
      body.destroy();
      throw this.tooLarge(key, r.ContentLength, maxBytes);
    }
    return body;
  }

  private tooLarge(key: string, size: number, maxBytes: number): IntegrityError {
    return new IntegrityError(`${key} on the remote ${this.url} is larger (${size} bytes) than allowed (${maxBytes})`, {
      code: 'E_REMOTE_TOO_LARGE',
      hint: 'The remote holds something mlreg did not write there; check who else writes to the bucket.',
    });
  }

  /** Translate an SDK or network error into the MlregError the user sees (never with credentials). */
  private mapError(err: unknown, what: string): unknown {
    if (err instanceof MlregError) return err;
    const status = statusOf(err);
    const name = nameOf(err);
    const where = this.endpoint ? `${this.url} (endpoint ${this.endpoint})` : this.url;
    const detail = name && name !== 'Error' ? name : codeOf(err) || (err as Error)?.message || String(err);
    if (name === 'CredentialsProviderError' || /could not load credentials/i.test((err as Error)?.message ?? ''))
      return new InvalidInputError(`no credentials found for the remote ${this.url}`, {
        code: 'E_REMOTE_ACCESS_DENIED',
        hint: 'mlreg uses the AWS SDK default chain: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or configure ~/.aws/credentials or an instance role. Credentials are never stored in the registry.',
        cause: err,
      });
    if (status === 403 || DENIED.has(name))
      return new InvalidInputError(`the remote ${where} refused the credentials (${detail}) to ${what}`, {
        code: 'E_REMOTE_ACCESS_DENIED',
        hint: 'Check the credentials the AWS SDK finds (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/credentials, an instance role) and that they may read and write this bucket and prefix; for a non-AWS server, also the endpoint and region.',
        cause: err,
      });
    if (name === 'NoSuchBucket')
      return new NotFoundError(`the bucket "${this.loc.bucket}" does not exist on ${this.endpoint ?? 'AWS S3'}`, {
        code: 'E_REMOTE_NOT_FOUND',
        hint: `Create the bucket first (aws s3 mb s3://BUCKET, or your provider's console), or check the URL and ${optionRef('endpoint')}.`,
        cause: err,
      });
    if ((status !== undefined && status >= 500) || isNetwork(err) || name === 'TimeoutError')
      return new UnavailableError(`the remote ${where} did not answer (${detail}) to ${what}`, {
        hint: `Check the network and the endpoint (${optionRef('endpoint')}, AWS_ENDPOINT_URL_S3), then run the command again; nothing was changed by the part that failed.`,
        cause: err,
      });
    if (status !== undefined)
      return new InvalidInputError(`the remote ${where} refused to ${what}: HTTP ${status} ${detail}`, {
        code: 'E_REMOTE_REFUSED',
        hint: 'The server does not accept this request; check that it is S3-compatible and the endpoint is right.',
        cause: err,
      });
    return err;
  }
}

function checkEndpoint(endpoint: string): string {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    throw new UsageError('the S3 endpoint is not a URL', {
      code: 'E_REMOTE_ENDPOINT',
      hint: `Give the server as http(s)://HOST[:PORT] (${optionRef('endpoint')}, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL).`,
    });
  }
  if (u.username || u.password)
    throw new UsageError('the S3 endpoint holds credentials; mlreg never takes credentials from a URL', {
      code: 'E_REMOTE_ENDPOINT',
      hint: 'Give http(s)://HOST[:PORT] and let the AWS SDK find credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws).',
    });
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new UsageError(`the S3 endpoint must be http:// or https://, not ${u.protocol}`, {
      code: 'E_REMOTE_ENDPOINT',
      hint: 'Give the server as http(s)://HOST[:PORT].',
    });
  return endpoint;
}

/** writev, finishing a short write (a regular file rarely has one, but nothing promises it never does). */
async function writeAll(fh: import('node:fs/promises').FileHandle, bufs: Buffer[], length: number): Promise<void> {
  if (length === 0) return;
  const { bytesWritten } = await fh.writev(bufs);
  if (bytesWritten === length) return;
  let rest = Buffer.concat(bufs, length).subarray(bytesWritten);
  while (rest.length) {
    const r = await fh.write(rest);
    rest = rest.subarray(r.bytesWritten);
  }
}

function changed(file: string, size: number, read: number): IntegrityError {
  return new IntegrityError(`${file} changed while it was being uploaded (${size} bytes expected, ${read} read)`, {
    code: 'E_SOURCE_CHANGED',
    hint: 'Run the command again once nothing is writing to the file.',
  });
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function nameOf(err: unknown): string {
  return (err as { name?: string })?.name ?? '';
}

function codeOf(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? '';
}

function isNetwork(err: unknown): boolean {
  return NETWORK.has(codeOf(err)) || nameOf(err) === 'TimeoutError';
}
