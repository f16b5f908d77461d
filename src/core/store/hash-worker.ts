import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

/**
 * A hashing worker for core/hash-pool.ts: receives one path at a time, streams it through sha256
 * in 1 MiB reads (memory stays flat), and answers with the digest and size. Synchronous reads are
 * fine here: this thread does nothing else, and the pool runs one worker per core.
 */

export interface HashRequest {
  id: number;
  path: string;
}
export interface HashReply {
  id: number;
  digest?: string;
  size?: number;
  /** errno code (ENOENT for a missing file) or message. */
  error?: string;
}

const buf = Buffer.allocUnsafe(1 << 20);

function hashFile(path: string): { digest: string; size: number } {
  const fd = openSync(path, 'r');
  try {
    const hash = createHash('sha256');
    let size = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      size += n;
    }
    return { digest: hash.digest('hex'), size };
  } finally {
    closeSync(fd);
  }
}

parentPort!.on('message', (req: HashRequest) => {
  let reply: HashReply;
  try {
    reply = { id: req.id, ...hashFile(req.path) };
  } catch (err) {
    reply = { id: req.id, error: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
  parentPort!.postMessage(reply);
});
