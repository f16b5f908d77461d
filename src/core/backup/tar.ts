import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { createGunzip, createGzip, type Gzip } from 'node:zlib';
import { EarlyFlush } from '../lib/early-flush.js';
import { writeFully } from '../lib/fs.js';

/**
 * A minimal streaming tar (ustar) writer and reader for backups. Headers are encoded and decoded by
 * the `tar` package's Header class (loaded lazily: it is only needed here); the framing is ours so
 * that every byte passes through our hashing and checks exactly once, memory stays flat (1 MiB
 * buffers), and a reader can refuse an entry before any of its bytes land on disk.
 */

export const BLOCK = 512;
const ZEROS = Buffer.alloc(BLOCK * 2);

type TarModule = typeof import('tar');
let tarModule: TarModule | undefined;
async function tar(): Promise<TarModule> {
  tarModule ??= await import('tar');
  return tarModule;
}

export function paddedSize(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** Writes a tar stream to an open file, gzip-compressed when asked. One write is in flight at a time. */
export class TarWriter {
  private pos = 0;
  private readonly flush: EarlyFlush;
  private readonly gzip: Gzip | undefined;
  private readonly gzipDone: Promise<void> | undefined;
  /** The first failure writing the compressed side (ENOSPC, EIO): every later write rejects with it. */
  private drainFailure: unknown;
  private readonly HeaderClass: TarModule['Header'];

  private constructor(
    private readonly fh: FileHandle,
    header: TarModule['Header'],
    gzip: boolean,
  ) {
    this.HeaderClass = header;
    const flush = (this.flush = new EarlyFlush(fh));
    if (gzip) {
      // Level 1: model weights barely compress, and backup speed matters more than a few percent.
      this.gzip = createGzip({ level: 1, chunkSize: 1 << 20 });
      // Drain the compressed side ourselves (a FileHandle write stream would keep the handle
      // referenced so that close() never returns); gzip's buffer limit gives the backpressure.
      const gz = this.gzip;
      this.gzipDone = (async () => {
        let at = 0;
        for await (const c of gz as AsyncIterable<Buffer>) {
          await writeFully(fh, c, at);
          at += c.length;
          await flush.wrote(at);
        }
      })();
      this.gzipDone.catch((err: unknown) => {
        // Surfaced by the next write() or finish(); the stream is stopped so nothing writes after it.
        this.drainFailure ??= err;
        gz.destroy();
      });
      // A write after the drain failed would report "write after a stream was destroyed", hiding the cause.
      gz.on('error', (err) => {
        this.drainFailure ??= err;
      });
    }
  }

  static async open(fh: FileHandle, gzip: boolean): Promise<TarWriter> {
    return new TarWriter(fh, (await tar()).Header, gzip);
  }

  /** Bytes of tar stream written so far (before compression). */
  get written(): number {
    return this.pos;
  }

  async header(path: string, size: number, mode: number, mtime: Date): Promise<void> {
    const h = new this.HeaderClass({ path, mode, size, mtime, type: 'File', uid: 0, gid: 0, uname: '', gname: '' });
    h.encode();
    await this.write(h.block!);
  }

  /** Pad the last entry's data to a whole block. */
  async pad(size: number): Promise<void> {
    const extra = paddedSize(size) - size;
    if (extra) await this.write(ZEROS.subarray(0, extra));
  }

  /** Write a chunk; resolves once the caller may reuse the buffer. */
  async write(chunk: Buffer): Promise<void> {
    if (this.gzip) {
      if (this.drainFailure !== undefined) throw this.drainFailure;
      const gz = this.gzip;
      const written = new Promise<void>((resolve, reject) =>
        gz.write(chunk, (err) => (err ? reject(this.drainFailure ?? err) : resolve())),
      );
      written.catch(() => {}); // when the race below ends on the drain's failure instead
      // gzip holds the callback while its output is not drained: a failed drain must end the wait.
      // Each write's view of the drain is handled too: a write that ended on `written` must not leave
      // behind a promise that rejects, unobserved, when the drain fails later (Node exits on it).
      const drained = this.gzipDone!.then(() => written);
      drained.catch(() => {});
      await Promise.race([written, drained]);
    } else {
      await writeFully(this.fh, chunk, this.pos);
      await this.flush.wrote(this.pos + chunk.length);
    }
    this.pos += chunk.length;
  }

  /** End-of-archive marker, flush, fsync. */
  async finish(): Promise<void> {
    await this.write(ZEROS);
    if (this.gzip) {
      this.gzip.end();
      await this.gzipDone;
    }
    await this.flush.done();
    await this.fh.sync();
  }
}

export interface TarEntry {
  path: string;
  /** The tar package's type name: 'File', 'Directory', 'SymbolicLink', 'Link', 'CharacterDevice', … */
  type: string;
  size: number;
  mode: number;
  linkpath: string | undefined;
}

/** What to do with an entry's data: a sink, or null to skip it. Throw to refuse the archive. */
export interface EntrySink {
  write(chunk: Buffer): Promise<void> | void;
  end(): Promise<void> | void;
  /** The archive ended or failed before this entry's data did: release what the sink holds (its file). */
  abort?(): Promise<void> | void;
}

export class TarFormatError extends Error {}

export interface ReadLimits {
  /** Refuse when decompressed/compressed bytes exceed this (after `ratioFloorBytes`). */
  maxRatio: number;
  ratioFloorBytes: number;
  /** Refuse when the tar stream grows past this many bytes (the caller tightens it once it knows the sizes). */
  maxBytes: () => number;
}

/**
 * Read a tar (or tar.gz, sniffed from its magic bytes) entry by entry, handing each header to
 * `onEntry` and the data to the sink it returns. Refuses truncated archives, bad checksums and
 * archives that inflate past the limits. Resolves at the end-of-archive marker.
 */
export async function readTar(
  file: string,
  limits: ReadLimits,
  onEntry: (e: TarEntry) => Promise<EntrySink | null> | EntrySink | null,
): Promise<void> {
  const { Header } = await tar();
  const head = await sniff(file);
  // Compressed input is read in small steps so the ratio below counts what gunzip has consumed,
  // not what was read ahead.
  const raw = createReadStream(file, { highWaterMark: head ? 64 << 10 : 1 << 20 });
  let compressed = 0;
  const counter = new Transform({
    transform(c: Buffer, _enc, cb) {
      compressed += c.length;
      cb(null, c);
    },
  });
  const gunzip = createGunzip({ chunkSize: 256 << 10 });
  let source: AsyncIterable<Buffer> = raw;
  if (head) {
    source = raw.pipe(counter).pipe(gunzip);
    // pipe() does not forward errors: a read error must still end the loop below.
    raw.on('error', (err) => gunzip.destroy(err));
  }
  let total = 0;
  let pending: Buffer = Buffer.alloc(0);
  let state: 'header' | 'body' | 'pad' = 'header';
  let remaining = 0;
  let padLeft = 0;
  let sink: EntrySink | null = null;
  let ended = false;
  try {
    outer: for await (const chunk0 of source) {
      let chunk: Buffer = chunk0;
      total += chunk.length;
      if (head && total > limits.ratioFloorBytes && total / Math.max(compressed, 1) > limits.maxRatio) {
        throw new TarFormatError(`the archive inflates more than ${limits.maxRatio}:1 (a decompression bomb?)`);
      }
      if (total > limits.maxBytes())
        throw new TarFormatError(`the archive holds more data than its manifest declares (${total} bytes so far)`);
      while (chunk.length) {
        if (state === 'body') {
          const take = Math.min(remaining, chunk.length);
          if (sink) await sink.write(chunk.subarray(0, take));
          remaining -= take;
          chunk = chunk.subarray(take);
          if (remaining === 0) {
            if (sink) await sink.end();
            sink = null;
            state = padLeft ? 'pad' : 'header';
          }
          continue;
        }
        if (state === 'pad') {
          const take = Math.min(padLeft, chunk.length);
          padLeft -= take;
          chunk = chunk.subarray(take);
          if (padLeft === 0) state = 'header';
          continue;
        }
        // header: gather one whole block
        const need = BLOCK - pending.length;
        pending = Buffer.concat([pending, chunk.subarray(0, need)]);
        chunk = chunk.subarray(need);
        if (pending.length < BLOCK) continue;
        const block = pending;
        pending = Buffer.alloc(0);
        if (block.every((b) => b === 0)) {
          ended = true;
          break outer;
        }
        let h: InstanceType<TarModule['Header']>;
        try {
          h = new Header(block);
        } catch (err) {
          // The tar package throws on fields it cannot decode ("invalid base256 encoding").
          throw new TarFormatError(
            `a tar header at byte ${total - chunk.length - BLOCK} cannot be decoded (${(err as Error).message}): damaged or not a tar archive`,
          );
        }
        if (!h.cksumValid)
          throw new TarFormatError(
            `a tar header at byte ${total - chunk.length - BLOCK} has a bad checksum (damaged or not a tar archive)`,
          );
        // The tar package leaves size undefined when the field does not decode to a size (Go's
        // neg-size.tar: base256 -1); reading it as 0 would misframe every later entry.
        if (h.size === undefined || !Number.isSafeInteger(h.size) || h.size < 0)
          throw new TarFormatError(
            `the tar header of ${JSON.stringify(h.path ?? '')} gives an impossible size (${h.size ?? 'not a number'})`,
          );
        const entry: TarEntry = {
          path: h.path ?? '',
          type: h.type,
          size: h.size ?? 0,
          mode: h.mode ?? 0,
          linkpath: h.linkpath || undefined,
        };
        sink = await onEntry(entry);
        remaining = entry.size;
        padLeft = paddedSize(entry.size) - entry.size;
        if (remaining > 0) state = 'body';
        else {
          if (sink) await sink.end();
          sink = null;
          state = padLeft ? 'pad' : 'header';
        }
      }
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    // A read of the archive the disk failed carries no path: name the archive, so that callers
    // report a disk fault of this file (exit 7) rather than of some other file, or damage.
    const e = err as NodeJS.ErrnoException;
    if (e.syscall === 'read' && e.path === undefined) e.path = file;
    if (code.startsWith('Z_'))
      throw new TarFormatError(`the compressed archive is damaged or truncated (${(err as Error).message})`);
    throw err;
  } finally {
    raw.destroy();
    // An entry still open here was cut short (truncated archive, refused later entry, read error):
    // its sink must close its file now, not when the garbage collector finds the handle.
    if (sink?.abort) await sink.abort();
  }
  if (!ended) throw new TarFormatError('the archive is truncated: it ends before its end-of-archive marker');
}

async function sniff(file: string): Promise<boolean> {
  const { open } = await import('node:fs/promises');
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(2);
    await fh.read(b, 0, 2, 0);
    return b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}
