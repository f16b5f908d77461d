import { Transform, type TransformCallback } from 'node:stream';
import { createRequire } from 'node:module';

/**
 * A streaming decoder of the LZ4 frame format (what python-lz4's lz4.frame, and so joblib, writes).
 * lz4js decodes each block; this class only walks the frame layout (header, sized blocks, checksums)
 * so that memory stays at one block plus the 64 KiB window linked blocks may refer back into.
 */

interface Lz4js {
  decompressBlock(src: Uint8Array, dst: Uint8Array, sIndex: number, sLength: number, dIndex: number): number;
}
let lz4js: Lz4js | undefined;
function blockDecoder(): Lz4js {
  lz4js ??= createRequire(import.meta.url)('lz4js') as Lz4js;
  return lz4js;
}

const MAGIC = 0x184d2204;
const WINDOW = 64 << 10;
const BLOCK_SIZES: Record<number, number> = { 4: 64 << 10, 5: 256 << 10, 6: 1 << 20, 7: 4 << 20 };

type State = 'magic' | 'header' | 'block' | 'contentChecksum' | 'skippable';

export class Lz4FrameDecoder extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private state: State = 'magic';
  private blockChecksum = false;
  private contentChecksum = false;
  private blockMax = 0;
  private win: Uint8Array = new Uint8Array(0);
  private hist = 0;
  private frames = 0;
  private skipLeft = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    try {
      let pos = 0;
      for (;;) {
        const used = this.stepAt(pos);
        if (used === 0) break;
        pos += used;
      }
      this.pending = Buffer.from(this.pending.subarray(pos));
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.frames === 0 || this.state !== 'magic' || this.pending.length > 0)
      cb(new Error('the lz4 stream ends inside a frame'));
    else cb();
  }

  /** Parse one unit at `pos`; returns the bytes it used, 0 when it needs more. */
  private stepAt(pos: number): number {
    const b = this.pending;
    const avail = b.length - pos;
    switch (this.state) {
      case 'magic': {
        if (avail < 4) return 0;
        const m = b.readUInt32LE(pos);
        if (m === MAGIC) {
          this.state = 'header';
          return 4;
        }
        if ((m & 0xfffffff0) === 0x184d2a50) {
          if (avail < 8) return 0;
          this.skipLeft = b.readUInt32LE(pos + 4);
          this.state = 'skippable';
          return 8;
        }
        throw new Error('not an lz4 frame (bad magic number)');
      }
      case 'skippable': {
        if (avail === 0) return 0;
        const n = Math.min(avail, this.skipLeft);
        this.skipLeft -= n;
        if (this.skipLeft === 0) this.state = 'magic';
        return n;
      }
      case 'header': {
        if (avail < 2) return 0;
        const flg = b[pos]!;
        const bd = b[pos + 1]!;
        if (flg >> 6 !== 1) throw new Error('an lz4 frame of an unknown version');
        const size = 3 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0);
        if (avail < size) return 0;
        const max = BLOCK_SIZES[(bd >> 4) & 7];
        if (max === undefined) throw new Error('an lz4 frame with an invalid block size');
        if (flg & 0x01) throw new Error('an lz4 frame that needs a dictionary');
        this.blockChecksum = (flg & 0x10) !== 0;
        this.contentChecksum = (flg & 0x04) !== 0;
        this.blockMax = max;
        this.win = new Uint8Array(WINDOW + max);
        this.hist = 0;
        this.state = 'block';
        return size;
      }
      case 'block': {
        if (avail < 4) return 0;
        const word = b.readUInt32LE(pos);
        if (word === 0) {
          this.state = this.contentChecksum ? 'contentChecksum' : 'magic';
          if (!this.contentChecksum) this.frames++;
          return 4;
        }
        const raw = (word & 0x80000000) !== 0;
        const len = word & 0x7fffffff;
        if (len > this.blockMax) throw new Error('an lz4 block larger than its frame allows');
        const total = 4 + len + (this.blockChecksum ? 4 : 0);
        if (avail < total) return 0;
        const src = b.subarray(pos + 4, pos + 4 + len);
        let end: number;
        if (raw) {
          this.win.set(src, this.hist);
          end = this.hist + len;
        } else {
          end = blockDecoder().decompressBlock(src, this.win, 0, len, this.hist);
          if (!(end >= this.hist && end <= this.win.length)) throw new Error('a corrupt lz4 block');
        }
        this.push(Buffer.from(this.win.subarray(this.hist, end)));
        // Keep the last 64 KiB as the window the next (linked) block may copy from.
        const keep = Math.min(end, WINDOW);
        this.win.copyWithin(0, end - keep, end);
        this.hist = keep;
        return total;
      }
      case 'contentChecksum':
        if (avail < 4) return 0;
        this.state = 'magic';
        this.frames++;
        return 4;
    }
  }
}
