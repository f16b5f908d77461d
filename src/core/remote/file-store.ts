import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  realpathSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { type FileHandle, lstat, open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir } from '../lib/fs.js';
import {
  fromSystemError,
  IntegrityError,
  InvalidInputError,
  MlregError,
  NotFoundError,
  UnavailableError,
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
  type RemoteStore,
} from './transport.js';

/**
 * A remote on a shared filesystem (NFS, SMB, a mounted volume): keys are files under the folder.
 * - put-if-absent: write a temp file, fsync, then link() it to the key. link never replaces an existing
 *   name, so of two writers exactly one gets the name; the other gets EEXIST. On NFS a lost reply can
 *   turn our own successful link into EEXIST on the retransmission, so the link count of the temp file
 *   decides (2 = the link is ours), as NFS-safe lock files do.
 * - other writes: temp file, fsync, rename() over the key, fsync the folder.
 * - the folder is untrusted: every folder on the way to a key is lstat-ed and must be a real folder (not
 *   a symlink), and files are opened with O_NOFOLLOW, so a symlink planted in the remote never makes
 *   mlreg read or write outside it. (Someone who can swap a folder for a symlink between that check and
 *   the write could still race it: Node has no openat(); the share's owners are trusted that far.)
 * Temp files live in `<folder>/.mlreg-tmp/`; names starting with a dot are never keys, so they are never
 * listed. A crashed writer can leave a temp file there; it is harmless and may be removed.
 */

const TMP_DIR = '.mlreg-tmp';
const CHUNK = 256 << 10;
const UNAVAILABLE_CODES = new Set(['ESTALE', 'EIO', 'ETIMEDOUT', 'ENOTCONN', 'EHOSTDOWN', 'EHOSTUNREACH', 'ENETDOWN']);

export class FileStore implements RemoteStore {
  private constructor(
    readonly url: string,
    private readonly root: string,
  ) {}

  /** The folder must exist (like a bucket); it is resolved once, so a symlink given by the user is fine. */
  static async open(url: string, path: string): Promise<FileStore> {
    // Synchronous metadata calls, like put-if-absent's: every write command on a replica opens its store.
    let root: string;
    try {
      root = realpathSync.native(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new NotFoundError(`the remote folder ${path} does not exist`, {
          code: 'E_REMOTE_NOT_FOUND',
          hint: `Create it (mkdir -p ${path}) on the shared filesystem, or check the URL ${url}.`,
          cause: err,
        });
      throw mapError(err, url);
    }
    let st: Stats;
    try {
      st = statSync(root);
    } catch (err) {
      throw mapError(err, url);
    }
    if (!st.isDirectory())
      throw new InvalidInputError(`the remote ${url} is not a folder`, {
        code: 'E_REMOTE_URL',
        hint: 'A file:// remote is a folder (on a shared filesystem) that mlreg fills with its own files.',
      });
    return new FileStore(url, root);
  }

  async putIfAbsent(key: string, body: Uint8Array): Promise<PutIfAbsentOutcome> {
    checkKey(key);
    checkBodySize(body);
    // Synchronous calls: a small body, on the path of every write command, in about ten steps (two
    // of them fsync) that would each wait for a turn of the event loop and of the thread pool.
    let tmp: string | undefined;
    try {
      tmp = this.writeTemp(body);
      const final = this.pathForWrite(key);
      try {
        linkSync(tmp, final.path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP')
          throw new InvalidInputError(`the filesystem holding ${this.url} does not support hard links`, {
            code: 'E_REMOTE_NO_LINKS',
            hint: 'A file:// remote needs hard links to create log entries atomically (NFS, ext4, xfs, btrfs have them); use another share or an s3:// remote.',
            cause: err,
          });
        const ours = linkCount(tmp);
        if (ours === 2) return 'created';
        if (code === 'EEXIST' && ours === 1) return 'exists';
        if (UNAVAILABLE_CODES.has(code ?? '') || ours === undefined) return 'unknown';
        throw mapError(err, this.url);
      }
      fsyncDir(final.dir);
      return 'created';
    } catch (err) {
      throw mapError(err, this.url);
    } finally {
      if (tmp !== undefined) unlinkQuietly(tmp);
    }
  }

  async get(key: string, maxBytes: number): Promise<Uint8Array | undefined> {
    checkKey(key);
    checkMaxBytes(maxBytes);
    const fh = await this.openObject(key);
    if (!fh) return undefined;
    try {
      const size = (await fh.stat()).size;
      if (size > maxBytes) throw tooLarge(this.url, key, size, maxBytes);
      // Read one byte more than allowed so a file growing under us is caught too.
      const buf = Buffer.allocUnsafe(Math.min(size, maxBytes) + 1);
      let n = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
        if (bytesRead === 0) break;
        n += bytesRead;
        if (n > maxBytes) throw tooLarge(this.url, key, n, maxBytes);
        if (n === buf.length) break;
      }
      // Keys are written whole (temp file, then link or rename): a file that changes size while it is
      // read was written by something else.
      if (n !== size)
        throw new IntegrityError(`${key} on the remote ${this.url} changed while it was read`, {
          code: 'E_REMOTE_CHANGED',
          hint: 'Something other than mlreg writes to the remote folder; check who can write there.',
        });
      return new Uint8Array(buf.buffer, buf.byteOffset, n);
    } catch (err) {
      throw mapError(err, this.url);
    } finally {
      await fh.close();
    }
  }

  async head(key: string): Promise<RemoteEntryInfo | undefined> {
    checkKey(key);
    const p = this.pathFor(key, false);
    if (!p) return undefined;
    let st: Stats;
    try {
      st = await lstat(p.path);
    } catch (err) {
      if (isAbsent(err)) return undefined;
      throw mapError(err, this.url);
    }
    if (st.isSymbolicLink()) throw hostile(this.url, key, 'is a symlink');
    if (!st.isFile()) return undefined;
    return { key, size: st.size, modified: st.mtime };
  }

  async *list(prefix: string, startAfter?: string): AsyncIterable<RemoteEntryInfo> {
    checkPrefix(prefix);
    yield* this.walk('', prefix, startAfter);
  }

  /**
   * Depth-first, in byte order: sorting a folder's entries with "/" appended to folder names gives the
   * global lexicographic order of the keys (every key under folder `d` starts with `d/`), and lets whole
   * folders be skipped when they hold nothing after `startAfter` or under `prefix`.
   */
  private async *walk(dirKey: string, prefix: string, startAfter?: string): AsyncGenerator<RemoteEntryInfo> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dirKey === '' ? this.root : join(this.root, dirKey), { withFileTypes: true });
    } catch (err) {
      if (isAbsent(err)) return;
      throw mapError(err, this.url);
    }
    const items: { key: string; isDir: boolean }[] = [];
    for (const e of entries) {
      // Symlinks, dot-files (our temp folder) and names mlreg cannot have written are not keys.
      if (keyProblem(e.name) !== undefined || e.name.includes('/')) continue;
      if (e.isDirectory()) items.push({ key: `${dirKey}${e.name}/`, isDir: true });
      else if (e.isFile()) items.push({ key: `${dirKey}${e.name}`, isDir: false });
    }
    items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const item of items) {
      if (item.isDir) {
        const under = item.key.startsWith(prefix) || prefix.startsWith(item.key);
        const after = !startAfter || item.key > startAfter || startAfter.startsWith(item.key);
        if (under && after) yield* this.walk(item.key, prefix, startAfter);
        continue;
      }
      if (!item.key.startsWith(prefix) || (startAfter !== undefined && item.key <= startAfter)) continue;
      let st: Stats;
      try {
        st = await lstat(join(this.root, item.key));
      } catch (err) {
        if (isAbsent(err)) continue; // deleted while listing
        throw mapError(err, this.url);
      }
      if (st.isFile()) yield { key: item.key, size: st.size, modified: st.mtime };
    }
  }

  async upload(key: string, file: string, size: number): Promise<void> {
    checkKey(key);
    checkSize(size);
    const tmp = this.tempName();
    this.ensureTmpDir();
    let src: FileHandle | undefined;
    let dst: FileHandle | undefined;
    try {
      try {
        src = await open(file, 'r');
      } catch (err) {
        throw fromSystemError(err, file);
      }
      dst = await open(tmp, 'wx', 0o444);
      const buf = Buffer.allocUnsafe(CHUNK);
      let total = 0;
      for (;;) {
        const { bytesRead } = await src.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        total += bytesRead;
        if (total > size) break;
        await dst.write(buf, 0, bytesRead);
      }
      if (total !== size)
        throw new IntegrityError(
          `${file} changed while it was being uploaded (${size} bytes expected, ${total} read)`,
          {
            code: 'E_SOURCE_CHANGED',
            hint: 'Run the command again once nothing is writing to the file.',
          },
        );
      await dst.sync();
      await dst.close();
      dst = undefined;
      const final = this.pathForWrite(key);
      await rename(tmp, final.path);
      fsyncDir(final.dir);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw mapError(err, this.url);
    } finally {
      await src?.close();
      await dst?.close();
    }
  }

  async download(key: string, dest: string, maxBytes: number): Promise<void> {
    checkKey(key);
    checkMaxBytes(maxBytes);
    const fh = await this.openObject(key);
    if (!fh)
      throw new NotFoundError(`${key} is not on the remote ${this.url}`, {
        code: 'E_REMOTE_OBJECT_NOT_FOUND',
        hint: 'The remote lost an object its log references, or it was removed: check the remote (mlreg remote status).',
      });
    let out: FileHandle | undefined;
    try {
      const size = (await fh.stat()).size;
      if (size > maxBytes) throw tooLarge(this.url, key, size, maxBytes);
      try {
        out = await open(dest, 'w');
      } catch (err) {
        throw fromSystemError(err, dest);
      }
      const buf = Buffer.allocUnsafe(CHUNK);
      let total = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        total += bytesRead;
        if (total > maxBytes) throw tooLarge(this.url, key, total, maxBytes);
        await out.write(buf, 0, bytesRead);
      }
      await out.sync();
    } catch (err) {
      if (out) {
        await out.close().catch(() => undefined);
        out = undefined;
        await unlink(dest).catch(() => undefined);
      }
      throw mapError(err, this.url);
    } finally {
      await out?.close();
      await fh.close();
    }
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    const p = this.pathFor(key, false);
    if (!p) return;
    try {
      await unlink(p.path); // removes a symlink itself, never its target
      fsyncDir(p.dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (isAbsent(err) || code === 'EISDIR') return;
      throw mapError(err, this.url);
    }
  }

  close(): void {}

  /**
   * The path of `key` after checking that every folder on the way is a real folder inside the root
   * (created when `create`; undefined when one is missing and not `create`).
   */
  private pathFor(key: string, create: boolean): { dir: string; path: string } | undefined {
    const segs = key.split('/');
    const name = segs.pop()!;
    let dir = this.root;
    let keySoFar = '';
    for (const seg of segs) {
      const next = join(dir, seg);
      keySoFar += keySoFar ? `/${seg}` : seg;
      const made = this.realFolder(next, keySoFar, create);
      if (made === 'absent') return undefined;
      if (made === 'made') fsyncDir(dir);
      dir = next;
    }
    return { dir, path: join(dir, name) };
  }

  private pathForWrite(key: string): { dir: string; path: string } {
    return this.pathFor(key, true)!; // with create, every folder exists or pathFor threw
  }

  /** Metadata calls only, made synchronously (they are on the path of every put-if-absent). */
  private realFolder(path: string, key: string, create: boolean): 'ok' | 'made' | 'absent' {
    for (let attempt = 0; ; attempt++) {
      try {
        const st = lstatSync(path);
        if (st.isSymbolicLink()) throw hostile(this.url, key, 'is a symlink');
        if (!st.isDirectory()) {
          if (!create) return 'absent';
          throw hostile(this.url, key, 'is a file where a folder is expected');
        }
        return 'ok';
      } catch (err) {
        if (err instanceof MlregError) throw err;
        if (!isAbsent(err)) throw mapError(err, this.url);
        if (!create) return 'absent';
      }
      try {
        mkdirSync(path, { mode: 0o755 });
        return 'made';
      } catch (err) {
        // Another writer made it first: check what is there now.
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw mapError(err, this.url);
      }
    }
  }

  private async openObject(key: string): Promise<FileHandle | undefined> {
    const p = this.pathFor(key, false);
    if (!p) return undefined;
    let fh: FileHandle;
    try {
      fh = await open(p.path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if (isAbsent(err)) return undefined;
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw hostile(this.url, key, 'is a symlink');
      throw mapError(err, this.url);
    }
    const st = await fh.stat().catch(async (err) => {
      await fh.close();
      throw mapError(err, this.url);
    });
    if (!st.isFile()) {
      await fh.close();
      return undefined;
    }
    return fh;
  }

  private tempName(): string {
    // Random enough to never collide between hosts sharing the folder (pids do).
    return join(this.root, TMP_DIR, randomBytes(16).toString('hex'));
  }

  private ensureTmpDir(): void {
    this.realFolder(join(this.root, TMP_DIR), TMP_DIR, true);
  }

  private writeTemp(body: Uint8Array): string {
    this.ensureTmpDir();
    const tmp = this.tempName();
    let fd: number | undefined;
    try {
      fd = openSync(tmp, 'wx', 0o444);
      for (let off = 0; off < body.byteLength; ) off += writeSync(fd, body, off, body.byteLength - off);
      fsyncSync(fd);
      return tmp;
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      unlinkQuietly(tmp);
      throw mapError(err, this.url);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}

function checkBodySize(body: Uint8Array): void {
  if (body.byteLength > MAX_PUT_IF_ABSENT_BYTES)
    throw new InvalidInputError(
      `a put-if-absent body is limited to ${MAX_PUT_IF_ABSENT_BYTES} bytes, not ${body.byteLength}`,
      {
        code: 'E_REMOTE_ARGUMENT',
        hint: 'Conditional creates are for small documents (log entries); upload large objects with upload().',
      },
    );
}

function linkCount(path: string): number | undefined {
  try {
    return statSync(path).nlink;
  } catch {
    return undefined;
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone, or left for whoever cleans the temp folder */
  }
}

function isAbsent(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function tooLarge(url: string, key: string, size: number, maxBytes: number): IntegrityError {
  return new IntegrityError(`${key} on the remote ${url} is larger (${size} bytes) than allowed (${maxBytes})`, {
    code: 'E_REMOTE_TOO_LARGE',
    hint: 'The remote holds something mlreg did not write there; check who else writes to it.',
  });
}

function hostile(url: string, key: string, what: string): IntegrityError {
  return new IntegrityError(`${key} in the remote folder ${url} ${what}; mlreg never follows links out of it`, {
    code: 'E_REMOTE_HOSTILE',
    hint: 'Something other than mlreg changed the remote folder: remove that entry and check who can write there.',
  });
}

export function mapError(err: unknown, url: string): unknown {
  if (err instanceof MlregError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (UNAVAILABLE_CODES.has(code))
    return new UnavailableError(`the remote folder ${url} did not answer (${code})`, {
      hint: 'Check that the shared filesystem is mounted and its server reachable, then run the command again; nothing was changed.',
      cause: err,
    });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    return new InvalidInputError(`permission denied on the remote folder ${url} (${code})`, {
      code: 'E_REMOTE_ACCESS_DENIED',
      hint: 'Check the owner and permissions of the shared folder (ls -ld), or run as a user who may write there.',
      cause: err,
    });
  return fromSystemError(err, url);
}
