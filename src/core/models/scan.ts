import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { fromSystemError } from '../errors.js';
import { openRegularFile } from '../lib/open-regular.js';
import { unusableObject } from '../store/objects.js';
import { Allowlist, ALLOWLIST_VERSION } from './allowlist.js';
import { type Finding, type ImportUse, type StreamScan, StreamScanner } from './scan-file.js';
import { scanZip } from './scan-zip.js';
import type { PValue } from './pickle/values.js';

/**
 * The scan of a model version: every file streamed through a StreamScanner (at `add`, the very chunks
 * the store hashes), zip archives then read member by member, and one verdict: safe when no pickle
 * anywhere imports something dangerous or unknown and every file that claims to be a pickle could be
 * read to its end.
 */

/** Recorded with each scan; bump when the reader or the classification changes what it would find. */
export const SCANNER_VERSION = `mlreg-scan/1 (allowlist ${ALLOWLIST_VERSION})`;

export interface FileImports {
  path: string;
  format: string;
  imports: ImportUse[];
}

export interface ScanReport {
  scanner: string;
  /** sha256 of the built-in allowlist version and the user's extra entries. */
  allowlistDigest: string;
  allowExtra: string[];
  verdict: 'safe' | 'unsafe';
  files: FileImports[];
  findings: Finding[];
}

export interface ScanOutcome {
  report: ScanReport;
  /** The first pickle of each file (for the signature); not recorded. */
  roots: Map<string, PValue>;
}

/** Collects the scans of one version's files. */
export class VersionScan {
  private readonly results: StreamScan[] = [];

  constructor(readonly allow: Allowlist) {}

  scannerFor(path: string): StreamScanner {
    return new StreamScanner(path, this.allow);
  }

  /** The file's stream has ended; `storedPath` is where its bytes can be read again (zip archives). */
  async complete(scanner: StreamScanner, storedPath: string): Promise<void> {
    const r = await scanner.finish();
    this.results.push(r);
    if (r.isZip) this.results.push(...(await scanZip(storedPath, r.file, this.allow)));
  }

  outcome(): ScanOutcome {
    const findings = this.results.flatMap((r) => r.findings);
    const roots = new Map<string, PValue>();
    for (const r of this.results) if (r.root !== undefined) roots.set(r.file, r.root);
    return {
      report: {
        scanner: SCANNER_VERSION,
        allowlistDigest: this.allow.digest,
        allowExtra: [...this.allow.extra],
        verdict: findings.length ? 'unsafe' : 'safe',
        files: this.results.map((r) => ({ path: r.file, format: r.format, imports: r.imports })),
        findings,
      },
      roots,
    };
  }
}

const CHUNK = 256 << 10;

/** A file to scan; `stored` when it is a stored object, checked against what its manifest says. */
export interface ScanFile {
  path: string;
  abs: string;
  stored?: { size: number; sha256: string };
}

/**
 * Scan files read from disk (mlreg scan PATH, scan --all): the same scanner, fed by a plain read loop.
 * A stored object is not trusted to be what the index says: it is opened as a regular file only (a
 * FIFO would hang, a link to /dev/zero never end), read no further than its manifest size, and its
 * bytes must hash to its digest (the verdict is about the bytes checkout would serve).
 */
export async function scanFiles(files: readonly ScanFile[], allow: Allowlist): Promise<ScanOutcome> {
  const scan = new VersionScan(allow);
  const buf = Buffer.allocUnsafe(CHUNK);
  for (const f of files) {
    const scanner = scan.scannerFor(f.path);
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      if (f.stored) {
        const opened = await openRegularFile(f.abs);
        if (!opened)
          throw unusableObject(f.stored.sha256, f.abs, 'it is not a regular file (a symbolic link, FIFO or device)');
        if (opened.size !== f.stored.size) {
          await opened.fh.close().catch(() => {});
          throw unusableObject(
            f.stored.sha256,
            f.abs,
            `it has ${opened.size} bytes, the manifest says ${f.stored.size}`,
          );
        }
        fh = opened.fh;
      } else fh = await open(f.abs, 'r');
    } catch (err) {
      throw fromSystemError(err, f.abs);
    }
    const hash = f.stored ? createHash('sha256') : undefined;
    const limit = f.stored?.size ?? Number.MAX_SAFE_INTEGER;
    let size = 0;
    try {
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, limit - size + 1), null);
        if (bytesRead === 0) break;
        size += bytesRead;
        if (size > limit) break;
        hash?.update(buf.subarray(0, bytesRead));
        const w = scanner.write(buf.subarray(0, bytesRead));
        if (w) await w;
      }
    } catch (err) {
      throw fromSystemError(err, f.abs, { reading: f.abs });
    } finally {
      await fh.close();
    }
    if (f.stored) {
      const actual = hash!.digest('hex');
      if (size !== f.stored.size || actual !== f.stored.sha256)
        throw unusableObject(
          f.stored.sha256,
          f.abs,
          size !== f.stored.size
            ? `${size > f.stored.size ? 'more' : 'fewer'} bytes than the manifest's ${f.stored.size} could be read`
            : `its bytes hash to sha256:${actual}`,
        );
    }
    await scan.complete(scanner, f.abs);
  }
  return scan.outcome();
}

export { Allowlist };

/** One line per finding, for messages and the terminal. */
export function describeFinding(f: Finding): string {
  const at = f.offset === null ? '' : ` at byte ${f.offset}${f.decompressed ? ' (decompressed)' : ''}`;
  if (f.verdict === 'unreadable') return `${f.file}${at}: unreadable: ${f.why}`;
  return `${f.file}${at}: ${f.import}${f.op ? ` (${f.op})` : ''} is ${f.verdict}: ${f.why}`;
}
