import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CliResult } from '../helpers.js';
import { s3TestServer, s3TestUrl } from '../s3/server.js';

/**
 * The remotes an e2e replica suite runs on: a file:// folder always, and the real S3 server (radosgw)
 * when one was started (test/s3/with-s3.sh).
 */
export interface RemoteKind {
  kind: 'file' | 's3';
  /** A fresh, empty remote URL (a folder below ROOT for file://, a new bucket for s3://). */
  make(root: string): string;
  env: Record<string, string | undefined>;
  /** The endpoint to pass to openRemote (undefined for file://). */
  endpoint: string | undefined;
}

/** The kinds to run on; `bucket` prefixes the S3 bucket names so that suites do not share one. */
export function remoteKinds(bucket: string): RemoteKind[] {
  const kinds: RemoteKind[] = [
    {
      kind: 'file',
      make: (root) => {
        const dir = join(root, `remote-${randomBytes(4).toString('hex')}`);
        mkdirSync(dir);
        return `file://${dir}`;
      },
      env: {},
      endpoint: undefined,
    },
  ];
  const server = s3TestServer();
  if (server)
    kinds.push({
      kind: 's3',
      make: () => s3TestUrl(server, bucket),
      env: { AWS_ENDPOINT_URL_S3: server.endpoint },
      endpoint: server.endpoint,
    });
  return kinds;
}

/** R, after asserting it exited 0 (WHAT names the step in the failure). */
export function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}
