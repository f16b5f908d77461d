import { open, writeFile } from 'node:fs/promises';
import type { TableSource } from '../formats.js';

/**
 * The planning sample of a text table (CSV, TSV, NDJSON): WINDOWS slices of whole lines taken at evenly
 * spaced offsets across all its files, written as one small file of the same format. The profiler reads
 * it to choose, per column, how the full pass counts values (a column that is sorted, or missing in its
 * first rows, still shows its real shape) and to estimate the number of rows. Nothing in the profile is
 * computed from it directly, so a slice that starts inside a quoted multi-line field can only cost
 * speed: the profiler then falls back to the first rows of the table.
 */
export const WINDOWS = 8;
export const WINDOW_BYTES = 256 * 1024;

export interface SampleFile {
  /** Bytes of data lines written (the header excluded), to estimate the table's rows. */
  dataBytes: number;
  /** Bytes of the whole table, headers included. */
  tableBytes: number;
}

/** Writes the sample to `dest`; null when the table is small enough to be its own sample. */
export async function writeSampleWindows(src: TableSource, dest: string): Promise<SampleFile | null> {
  const tableBytes = src.files.reduce((s, f) => s + f.size, 0);
  if (tableBytes <= WINDOWS * WINDOW_BYTES) return null;
  const hasHeader = src.format === 'csv' || src.format === 'tsv';
  const parts: Buffer[] = [];
  if (hasHeader) parts.push(lineAt(await readAt(src.files[0]!.abs, 0, WINDOW_BYTES), 0) ?? Buffer.alloc(0));
  let dataBytes = 0;
  for (let j = 0; j < WINDOWS; j++) {
    const { file, offset } = locate(src, Math.floor((j * (tableBytes - WINDOW_BYTES)) / (WINDOWS - 1)));
    const buf = await readAt(file, offset, WINDOW_BYTES);
    // A file's first line is its header; elsewhere the window starts inside a line, which is dropped.
    const start = offset === 0 && !hasHeader ? 0 : buf.indexOf(10) + 1;
    const end = buf.lastIndexOf(10) + 1;
    if (start > 0 || offset === 0) {
      if (end > start) {
        parts.push(buf.subarray(start, end));
        dataBytes += end - start;
      }
    }
  }
  await writeFile(dest, Buffer.concat(parts));
  return { dataBytes, tableBytes };
}

function locate(src: TableSource, global: number): { file: string; offset: number } {
  let at = global;
  for (const f of src.files) {
    if (at < f.size) return { file: f.abs, offset: at };
    at -= f.size;
  }
  const last = src.files[src.files.length - 1]!;
  return { file: last.abs, offset: Math.max(0, last.size - 1) };
}

function lineAt(buf: Buffer, start: number): Buffer | undefined {
  const end = buf.indexOf(10, start);
  return end === -1 ? undefined : buf.subarray(start, end + 1);
}

async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
