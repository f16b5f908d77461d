import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

/**
 * A hashing worker for core/hash-pool.ts: receives one path at a time, streams it through sha256
 * in 1 MiB reads (memory stays flat), and answers with the digest and size. Synchronous reads are
 * fine here: this thread does nothing else, and the pool runs one worker per core.
 */

export interface HashRequest {
  id: number;
  path: string;
  /** The size the caller expects: reading stops just past it (a file that grew, or /dev/zero, is not read on). */
  size?: number;
}
export interface HashReply {
  id: number;
  digest?: string;
  size?: number;
  /** errno code (ENOENT for a missing file) or message. */
  error?: string;
}

const buf = Buffer.allocUnsafe(1 << 20);

/** An error whose code says the path holds something other than a regular file. */
class NotRegular extends Error {
  readonly code = 'ENOTREG';
}

function hashFile(path: string, limit = Number.MAX_SAFE_INTEGER): { digest: string; size: number } {
  // No symbolic link followed, no blocking open (a FIFO would hang this worker for good).
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new NotRegular(`${path} is not a regular file`);
    const hash = createHash('sha256');
    let size = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, limit - size + 1), null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      size += n;
      if (size > limit) break;
    }
    return { digest: hash.digest('hex'), size };
  } finally {
    closeSync(fd);
  }
}

parentPort!.on('message', (req: HashRequest) => {
  let reply: HashReply;
  try {
    reply = { id: req.id, ...hashFile(req.path, req.size) };
  } catch (err) {
    reply = { id: req.id, error: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
  parentPort!.postMessage(reply);
});
