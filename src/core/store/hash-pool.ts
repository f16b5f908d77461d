import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HashReply } from './hash-worker.js';

/**
 * Hash many files on every core: one worker thread per core (at most one per file), each fed the
 * next file as soon as it finishes the last, largest files first so the tail stays short.
 * `onResult` sees each answer as it arrives.
 */
export async function hashFiles<T extends { path: string; size: number }>(
  items: readonly T[],
  onResult: (item: T, reply: HashReply) => void,
  opts: { workers?: number } = {},
): Promise<void> {
  if (items.length === 0) return;
  const queue = [...items].sort((a, b) => b.size - a.size);
  const count = Math.max(1, Math.min(opts.workers ?? availableParallelism(), queue.length));
  const url = new URL('./hash-worker.js', import.meta.url);
  let next = 0;
  const runWorker = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(url);
      let current: T | undefined;
      const feed = (): void => {
        if (next >= queue.length) {
          void worker.terminate().then(() => resolve());
          return;
        }
        const id = next++;
        current = queue[id]!;
        worker.postMessage({ id, path: current.path, size: current.size });
      };
      worker.on('message', (reply: HashReply) => {
        try {
          onResult(current!, reply);
        } catch (err) {
          void worker.terminate();
          reject(err);
          return;
        }
        feed();
      });
      worker.on('error', reject);
      feed();
    });
  await Promise.all(Array.from({ length: count }, runWorker));
}
