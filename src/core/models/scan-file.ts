import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Allowlist, Verdict } from './allowlist.js';
import { claimsModelFormat, type Compression, decompressor, parseNpyHeader, SNIFF_BYTES, sniff } from './containers.js';
import { PickleReader, type PickleResult } from './pickle/reader.js';
import type { PValue } from './pickle/values.js';

/**
 * Scan one file's bytes as they stream past (the same chunks the store hashes): decide from the
 * first bytes what it is, decompress when joblib compressed it, and read every pickle in it with the
 * non-executing reader. Zip archives need their central directory, at the end, so they are read
 * afterwards from the stored object (scan-zip.ts).
 */

export interface Finding {
  /** The file, and for an archive member `file!member`. */
  file: string;
  offset: number | null;
  /** module.name, or what could not be read. */
  import: string;
  op: string;
  verdict: Exclude<Verdict, 'allowed'> | 'unreadable';
  why: string;
  /** The offset counts bytes of the decompressed stream (joblib compressed it). */
  decompressed?: true;
}

export interface ImportUse {
  import: string;
  verdict: Verdict;
  count: number;
  firstOffset: number;
}

export interface StreamScan {
  file: string;
  /** pickle, joblib+zlib, npy, npy+pickle, zip, data (no pickle found), … */
  format: string;
  /** Every distinct import, classified (what the version records). */
  imports: ImportUse[];
  /** What makes the file unsafe (empty when it is safe). */
  findings: Finding[];
  /** The first pickle's value, for the signature (not recorded). */
  root?: PValue;
  isZip: boolean;
}

type Mode = 'head' | 'pickle' | 'compressed' | 'npy-head' | 'ignore';

export class StreamScanner {
  private mode: Mode = 'head';
  private head: Buffer[] = [];
  private reader: PickleReader | undefined;
  private decomp: Duplex | undefined;
  private compression: Compression | undefined;
  private decompError: Error | undefined;
  private decompEnded: Promise<void> = Promise.resolve();
  private decompHead: Buffer | undefined;
  private format = 'data';
  private claimed: boolean;
  private zip = false;
  /** Where the pickle starts in the file (after a .npy header), so offsets are file offsets. */
  private readerBase = 0;
  /** Problems found outside the pickle reader (a bad .npy header). */
  private extraFindings: Finding[] = [];

  constructor(
    readonly file: string,
    private readonly allow: Allowlist,
  ) {
    this.claimed = claimsModelFormat(file);
  }

  /** Feed the next chunk; the caller may reuse its buffer once this returns (or its promise settles). */
  write(chunk: Uint8Array): void | Promise<void> {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    switch (this.mode) {
      case 'head':
      case 'npy-head':
        this.head.push(Buffer.from(buf));
        return this.decide(false);
      case 'pickle':
        this.reader!.push(buf);
        return;
      case 'compressed':
        return this.feedCompressed(Buffer.from(buf));
      case 'ignore':
        return;
    }
  }

  private decide(atEnd: boolean): void | Promise<void> {
    const head = this.head.length === 1 ? this.head[0]! : Buffer.concat(this.head);
    this.head = [head];
    if (this.mode === 'head') {
      if (head.length < SNIFF_BYTES && !atEnd) return;
      const kind = sniff(head);
      switch (kind.kind) {
        case 'compressed':
          this.mode = 'compressed';
          this.compression = kind.compression;
          this.format = `joblib+${kind.compression}`;
          this.startCompressed();
          this.head = [];
          return this.feedCompressed(head);
        case 'zip':
          this.mode = 'ignore';
          this.format = 'zip';
          this.zip = true;
          this.head = [];
          return;
        case 'npy':
          this.mode = 'npy-head';
          this.format = 'npy';
          this.claimed = true;
          break;
        case 'pickle':
          this.claimed = true;
          this.startPickle(head);
          return;
        case 'other':
          this.startPickle(head);
          return;
      }
    }
    // npy: wait for the whole header, then read the payload as a pickle only for object dtypes.
    const h = parseNpyHeader(head);
    if (h === undefined) {
      if (atEnd) this.unreadable('the .npy header is cut short', 0);
      return;
    }
    this.head = [];
    if (h instanceof Error) {
      this.unreadable(h.message, 0);
      this.mode = 'ignore';
      return;
    }
    if (!h.objectDtype) {
      this.mode = 'ignore';
      return;
    }
    this.format = 'npy+pickle';
    this.reader = new PickleReader();
    this.mode = 'pickle';
    this.readerBase = h.headerEnd;
    this.reader.push(head.subarray(h.headerEnd));
  }

  private unreadable(why: string, offset: number | null): void {
    this.extraFindings.push({ file: this.file, offset, import: '(unreadable)', op: '', verdict: 'unreadable', why });
  }

  private startPickle(head: Buffer): void {
    this.mode = 'pickle';
    this.format = 'pickle';
    this.reader = new PickleReader();
    this.head = [];
    this.reader.push(head);
  }

  private startCompressed(): void {
    const d = decompressor(this.compression!);
    this.decomp = d;
    this.reader = new PickleReader();
    d.on('data', (c: Buffer) => {
      if (!this.decompHead) {
        this.decompHead = Buffer.from(c.subarray(0, 2));
        if (sniff(this.decompHead).kind === 'pickle') this.claimed = true;
      }
      this.reader!.push(c);
    });
    d.on('error', (err: Error) => {
      this.decompError ??= err;
    });
    // Listen from the start: a corrupt stream can fail (and close) long before the input ends.
    // 'end' rather than stream.finished(): unbzip2-stream is an old-style stream that never emits 'finish'.
    this.decompEnded = new Promise<void>((resolve) => {
      d.once('end', () => resolve());
      d.once('error', () => resolve());
      d.once('close', () => resolve());
    });
  }

  private async feedCompressed(buf: Buffer): Promise<void> {
    const d = this.decomp!;
    if (this.decompError || d.destroyed) return;
    if (!d.write(buf)) await Promise.race([once(d, 'drain'), this.decompEnded]);
  }

  /** The stream has ended: classify what was found. */
  async finish(): Promise<StreamScan> {
    if (this.mode === 'head' || this.mode === 'npy-head') {
      const r = this.decide(true);
      if (r) await r;
    }
    if (this.decomp) {
      this.decomp.end();
      await this.decompEnded;
    }
    const result = this.reader?.end();
    return this.classify(result);
  }

  private classify(result: PickleResult | undefined): StreamScan {
    const findings: Finding[] = [...this.extraFindings];
    const uses = new Map<string, ImportUse>();
    const complete = result?.complete ?? false;
    // A file that does not claim to be a pickle and does not read as one is data: of what the trial
    // read met on the way, only dangerous imports count (a CSV line can look like a GLOBAL opcode).
    const counts = complete || this.claimed;
    if (this.decompError && (this.claimed || complete)) {
      findings.push({
        file: this.file,
        offset: null,
        import: '(unreadable)',
        op: '',
        verdict: 'unreadable',
        why: `the ${this.compression} stream cannot be decompressed: ${this.decompError.message}`,
      });
    }
    if (result) {
      for (const imp of result.imports) {
        const key = `${imp.module}.${imp.name}`;
        const c = this.allow.classify(imp.module, imp.name);
        if (!counts && c.verdict !== 'dangerous') continue;
        const use = uses.get(key);
        if (use) use.count++;
        else uses.set(key, { import: key, verdict: c.verdict, count: 1, firstOffset: imp.offset + this.readerBase });
        if (c.verdict !== 'allowed' && !use)
          findings.push({
            file: this.file,
            offset: imp.offset + this.readerBase,
            import: key,
            op: imp.op,
            verdict: c.verdict,
            why: c.why,
          });
      }
      for (const call of result.calls) {
        if (!call.indirect || (!counts && !complete)) continue;
        findings.push({
          file: this.file,
          offset: call.offset + this.readerBase,
          import: call.target,
          op: call.op,
          verdict: 'dangerous',
          why: 'calls something that is not an import (the result of another call, e.g. getattr(...)(...))',
        });
      }
      if (result.error && this.claimed && !this.decompError) {
        findings.push({
          file: this.file,
          offset: result.error.offset + this.readerBase,
          import: '(unreadable)',
          op: '',
          verdict: 'unreadable',
          why: `not a pickle mlreg can read: ${result.error.message}`,
        });
      }
    }
    if (this.compression) for (const f of findings) if (f.offset !== null) f.decompressed = true;
    let format = this.format;
    if (result && !complete && !this.claimed) format = this.compression ? `${this.compression} (not a pickle)` : 'data';
    return {
      file: this.file,
      format,
      imports: [...uses.values()],
      findings,
      ...(complete && result?.root !== undefined ? { root: result.root } : {}),
      isZip: this.zip,
    };
  }
}
