import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/**
 * Open a file mlreg itself stored (an object, a snapshot) for reading without trusting what is at
 * its path now: no symbolic link followed (one to /dev/zero never ends), no blocking open (a FIFO
 * would hang), and only a regular file accepted. Returns undefined for anything else, so the
 * caller reports it in its own words; the handle is closed then.
 */
export async function openRegularFile(path: string): Promise<{ fh: FileHandle; size: number } | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') return undefined;
    throw err;
  }
  try {
    const st = await fh.stat();
    if (st.isFile()) return { fh, size: st.size };
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
  await fh.close().catch(() => {});
  return undefined;
}
