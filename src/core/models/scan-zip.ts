import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { Allowlist } from './allowlist.js';
import { type Finding, type StreamScan, StreamScanner } from './scan-file.js';

/**
 * Zip containers (PyTorch .pt/.pth, .keras, .npz): read the central directory with yauzl, then stream
 * every member through the same scanner a file gets. A zip that cannot be read, an encrypted member,
 * a name given twice (two readers could disagree on which one counts) or a zip inside the zip is
 * refused rather than skipped: a parser gap must not be a way around the scan.
 */

interface YauzlEntry {
  fileName: string;
  uncompressedSize: number;
  generalPurposeBitFlag: number;
}
interface YauzlZip {
  on(ev: 'entry', fn: (e: YauzlEntry) => void): void;
  on(ev: 'end', fn: () => void): void;
  on(ev: 'error', fn: (err: Error) => void): void;
  readEntry(): void;
  openReadStream(e: YauzlEntry, cb: (err: Error | null, s?: Readable) => void): void;
  close(): void;
}
interface Yauzl {
  open(path: string, opts: object, cb: (err: Error | null, zip?: YauzlZip) => void): void;
}

const MAX_KERAS_CONFIG = 64 << 20;

/** Lambda layers (and anything else naming Python code) in a Keras config. */
function kerasFindings(bytes: Buffer, where: string, size: number): Finding[] {
  const finding = (why: string, what = 'keras.layers.Lambda'): Finding => ({
    file: where,
    offset: null,
    import: what,
    op: 'config',
    verdict: 'dangerous',
    why,
  });
  if (size > MAX_KERAS_CONFIG)
    return [{ ...finding('a Keras config over 64 MiB is not read', '(unreadable)'), verdict: 'unreadable' }];
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    return [{ ...finding('the Keras config.json is not JSON', '(unreadable)'), verdict: 'unreadable' }];
  }
  const out: Finding[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.class_name === 'Lambda')
        out.push(finding('a Lambda layer carries marshalled Python bytecode that runs on load'));
      else if (o.class_name === '__lambda__' || o.class_name === 'function')
        out.push(finding('a serialised Python function that runs on load', `keras.${String(o.class_name)}`));
      Object.values(o).forEach(walk);
    }
  };
  walk(doc);
  return out;
}

export async function scanZip(path: string, file: string, allow: Allowlist): Promise<StreamScan[]> {
  const yauzl = createRequire(import.meta.url)('yauzl') as Yauzl;
  const out: StreamScan[] = [];
  const unreadable = (why: string, member?: string): StreamScan => ({
    file: member ? `${file}!${member}` : file,
    format: 'zip',
    imports: [],
    findings: [
      {
        file: member ? `${file}!${member}` : file,
        offset: null,
        import: '(unreadable)',
        op: '',
        verdict: 'unreadable',
        why,
      } satisfies Finding,
    ],
    isZip: false,
  });
  let zip: YauzlZip;
  try {
    zip = await new Promise<YauzlZip>((resolve, reject) =>
      yauzl.open(path, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false }, (err, z) =>
        err || !z ? reject(err ?? new Error('no zip')) : resolve(z),
      ),
    );
  } catch (err) {
    return [unreadable(`not a zip archive mlreg can read: ${(err as Error).message}`)];
  }
  const seen = new Set<string>();
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject);
      zip.on('end', resolve);
      zip.on('entry', (entry) => {
        void (async () => {
          const name = entry.fileName;
          if (name.endsWith('/')) return;
          if (seen.has(name)) {
            out.push(unreadable('the archive holds two members of this name', name));
            return;
          }
          seen.add(name);
          if (entry.generalPurposeBitFlag & 1) {
            out.push(unreadable('an encrypted member cannot be scanned', name));
            return;
          }
          const stream = await new Promise<Readable>((res, rej) =>
            zip.openReadStream(entry, (err, s) => (err || !s ? rej(err ?? new Error('no stream')) : res(s))),
          );
          const scanner = new StreamScanner(`${file}!${name}`, allow);
          // A Keras archive's config.json can hold a Lambda layer: marshalled Python bytecode, no pickle.
          const kerasConfig =
            file.toLowerCase().endsWith('.keras') && name === 'config.json' ? ([] as Buffer[]) : undefined;
          let configBytes = 0;
          for await (const chunk of stream) {
            const w = scanner.write(chunk as Buffer);
            if (w) await w;
            if (kerasConfig && configBytes < MAX_KERAS_CONFIG) {
              kerasConfig.push(Buffer.from(chunk as Buffer));
              configBytes += (chunk as Buffer).length;
            }
          }
          const r = await scanner.finish();
          if (kerasConfig)
            r.findings.push(...kerasFindings(Buffer.concat(kerasConfig), `${file}!${name}`, configBytes));
          if (r.isZip) out.push(unreadable('a zip inside a zip is not scanned', name));
          else out.push(r);
        })().then(
          () => zip.readEntry(),
          (err: unknown) => reject(err),
        );
      });
      zip.readEntry();
    });
  } catch (err) {
    out.push(unreadable(`the zip archive cannot be read: ${(err as Error).message}`));
  } finally {
    zip.close();
  }
  return out;
}
