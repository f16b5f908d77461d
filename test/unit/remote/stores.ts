import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openRemote, type RemoteStore } from '../../../src/core/remote/transport.js';
import { S3_SKIP, s3TestServer, s3TestUrl } from '../../s3/server.js';

/**
 * The two kinds of remote, so that one suite runs against both: a folder (file://) and the real radosgw
 * (s3://, skipped with a clear reason when no server was started).
 */
export interface TestRemote {
  store: RemoteStore;
  url: string;
  /** The endpoint to pass to openRemote (undefined for file://). */
  endpoint: string | undefined;
  /** A scratch folder for local files (uploads, downloads). */
  scratch: string;
  cleanup(): void;
}

export interface StoreKind {
  name: 'file' | 's3';
  /** Why this kind is skipped, or false. */
  skip: string | false;
  make(label: string, opts?: { timeoutMs?: number }): Promise<TestRemote>;
}

export const STORE_KINDS: StoreKind[] = [
  {
    name: 'file',
    skip: false,
    async make(label, opts = {}) {
      const dir = mkdtempSync(join(tmpdir(), `mlreg-remote-${label}-`));
      mkdirSync(join(dir, 'remote'));
      mkdirSync(join(dir, 'scratch'));
      const url = pathToFileURL(join(dir, 'remote')).href;
      const store = await openRemote(url, opts);
      return {
        store,
        url,
        endpoint: undefined,
        scratch: join(dir, 'scratch'),
        cleanup: () => {
          store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 's3',
    skip: s3TestServer() ? false : S3_SKIP,
    async make(label, opts = {}) {
      const server = s3TestServer()!;
      const url = s3TestUrl(server, label);
      const store = await openRemote(url, { endpoint: server.endpoint, ...opts });
      const scratch = mkdtempSync(join(tmpdir(), `mlreg-remote-${label}-`));
      // The bucket's contents are disposable (the server is wiped when stopped); each test has its own prefix.
      return {
        store,
        url,
        endpoint: server.endpoint,
        scratch,
        cleanup: () => {
          store.close();
          rmSync(scratch, { recursive: true, force: true });
        },
      };
    },
  },
];

export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Run `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export const enc = (s: string) => new TextEncoder().encode(s);
export const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
