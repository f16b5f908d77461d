import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** File helpers every durable write shares (temp file, fsync, rename). EarlyFlush is in early-flush.ts. */

/** Read and write buffers: big enough for few syscalls, small enough to stay out of V8's large-object space for long. */
export const CHUNK = 256 << 10;

/**
 * Write all of `data` at `position`. A write may take fewer bytes than asked (disk full, a file size
 * limit); without the loop the rest would be silently missing from a file hashed as complete.
 * The retry of the rest is what surfaces the error (ENOSPC, EFBIG).
 */
export async function writeFully(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let off = 0;
  while (off < data.length) off += (await fh.write(data, off, data.length - off, position + off)).bytesWritten;
}

/** fsync a folder so a rename or create inside it survives a crash. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    /* some filesystems refuse fsync on folders; the rename is still atomic */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Write a small file atomically: temp, fsync, rename, fsync folder. */
export function writeFileAtomic(path: string, data: string | Uint8Array, tmp: string): void {
  writeFileSync(tmp, data, { flush: true });
  try {
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw err;
  }
  fsyncDir(dirname(path));
}

/** mlreg's own version, from its package.json (compiled to dist/src/core/lib/: the package root is four levels up). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;
}
