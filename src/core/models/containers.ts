import { createGunzip, createInflate } from 'node:zlib';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import { Lz4FrameDecoder } from './lz4-frame.js';

/**
 * Where pickles hide: the magic numbers of joblib's compressors, NumPy's .npy, zip archives and bare
 * pickles, and a streaming decompressor for each compressor. Node's zlib does zlib and gzip; bz2 and
 * xz/lzma come from npm packages loaded only when such a file is met.
 */

export type Compression = 'zlib' | 'gzip' | 'bz2' | 'xz' | 'lzma' | 'lz4';
export type Sniffed =
  | { kind: 'compressed'; compression: Compression }
  | { kind: 'zip' }
  | { kind: 'npy' }
  | { kind: 'pickle' }
  | { kind: 'other' };

/** How many leading bytes `sniff` wants to see. */
export const SNIFF_BYTES = 16;

export function sniff(head: Buffer): Sniffed {
  const b = (i: number): number => head[i] ?? -1;
  if (b(0) === 0x1f && b(1) === 0x8b) return { kind: 'compressed', compression: 'gzip' };
  // zlib: CMF 0x78 (deflate, 32K window) and a header checksum that is a multiple of 31.
  if (b(0) === 0x78 && b(1) >= 0 && ((b(0) << 8) | b(1)) % 31 === 0) return { kind: 'compressed', compression: 'zlib' };
  if (head.subarray(0, 3).toString('latin1') === 'BZh' && b(3) >= 0x31 && b(3) <= 0x39)
    return { kind: 'compressed', compression: 'bz2' };
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])))
    return { kind: 'compressed', compression: 'xz' };
  // The legacy .lzma ("alone") header joblib checks for: properties 0x5d, then a dictionary size.
  if (b(0) === 0x5d && b(1) === 0x00 && b(2) === 0x00) return { kind: 'compressed', compression: 'lzma' };
  if (b(0) === 0x04 && b(1) === 0x22 && b(2) === 0x4d && b(3) === 0x18)
    return { kind: 'compressed', compression: 'lz4' };
  if (b(0) === 0x50 && b(1) === 0x4b && (b(2) === 3 || b(2) === 5) && (b(3) === 4 || b(3) === 6))
    return { kind: 'zip' };
  if (head.subarray(0, 6).equals(Buffer.from('\x93NUMPY', 'latin1'))) return { kind: 'npy' };
  if (b(0) === 0x80 && b(1) >= 0 && b(1) <= 5) return { kind: 'pickle' };
  return { kind: 'other' };
}

/** A streaming decompressor for `c` (a Duplex: write compressed bytes, read plain ones). */
export function decompressor(c: Compression): Duplex {
  const require = createRequire(import.meta.url);
  switch (c) {
    case 'gzip':
      return createGunzip();
    case 'zlib':
      return createInflate();
    case 'bz2':
      return (require('unbzip2-stream') as () => Duplex)();
    case 'xz':
    case 'lzma':
      // liblzma's auto decoder reads both the .xz and the legacy .lzma container.
      return (require('lzma-native') as { createDecompressor(): Duplex }).createDecompressor();
    case 'lz4':
      return new Lz4FrameDecoder();
  }
}

/**
 * Parse a .npy header (magic, version, header length, then a Python dict literal) once enough bytes
 * are there. Returns undefined while more bytes are needed.
 */
export function parseNpyHeader(
  head: Buffer,
): { headerEnd: number; descr: string; objectDtype: boolean } | undefined | Error {
  if (head.length < 10) return undefined;
  const major = head[6]!;
  if (major < 1 || major > 3) return new Error(`a .npy file of format version ${major}`);
  const lenBytes = major === 1 ? 2 : 4;
  if (head.length < 8 + lenBytes) return undefined;
  const hlen = major === 1 ? head.readUInt16LE(8) : head.readUInt32LE(8);
  if (hlen > 1 << 20) return new Error('a .npy header longer than 1 MiB');
  const headerEnd = 8 + lenBytes + hlen;
  if (head.length < headerEnd) return undefined;
  const text = head.toString(major === 3 ? 'utf8' : 'latin1', 8 + lenBytes, headerEnd);
  const m = /['"]descr['"]\s*:\s*(['"])(.*?)\1/.exec(text);
  if (m) return { headerEnd, descr: m[2]!, objectDtype: m[2]!.includes('O') };
  // A structured dtype is a list of fields: any object field means the payload is a pickle.
  if (/['"]descr['"]\s*:\s*\[/.test(text))
    return { headerEnd, descr: 'structured', objectDtype: /['"][<>|=]?O\d*['"]/.test(text) };
  return new Error('a .npy header without a dtype');
}

/** File name endings that say "this is a pickle, or a container of pickles". */
const CLAIMING_EXTENSIONS = [
  '.pkl',
  '.pickle',
  '.joblib',
  '.jl',
  '.dill',
  '.sav',
  '.pt',
  '.pth',
  '.ckpt',
  '.npy',
  '.npz',
  '.keras',
];

export function claimsModelFormat(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  return CLAIMING_EXTENSIONS.some((ext) => base.endsWith(ext) || base.includes(`${ext}.`));
}
