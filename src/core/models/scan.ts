import { open } from 'node:fs/promises';
import { fromSystemError } from '../errors.js';
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

/** Scan files read from disk (mlreg scan PATH, scan --all): the same scanner, fed by a plain read loop. */
export async function scanFiles(
  files: readonly { path: string; abs: string }[],
  allow: Allowlist,
): Promise<ScanOutcome> {
  const scan = new VersionScan(allow);
  const buf = Buffer.allocUnsafe(CHUNK);
  for (const f of files) {
    const scanner = scan.scannerFor(f.path);
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(f.abs, 'r');
    } catch (err) {
      throw fromSystemError(err, f.abs);
    }
    try {
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        const w = scanner.write(buf.subarray(0, bytesRead));
        if (w) await w;
      }
    } finally {
      await fh.close();
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
