import { createReadStream } from 'node:fs';
import { fromSystemError, InvalidInputError } from '../errors.js';

/**
 * A small streaming CSV reader (RFC 4180: quoted fields with "" escapes and line breaks, CRLF or
 * LF, optional BOM) that hands rows over in batches, so a file of any size is read in constant
 * memory. Errors name the file and the line.
 */

// A quoted field longer than this is an unterminated quote, not data.
const MAX_PENDING = 64 * 1024 * 1024;

export class CsvParser {
  private pending = '';
  /** Physical line where the next row starts (1-based). */
  line = 1;
  private first = true;

  constructor(private readonly file: string, private readonly delimiter = ',') {}

  /** Parse what can be parsed; keeps an incomplete last row for the next chunk. */
  push(chunk: string, final = false): string[][] {
    let s = this.pending + chunk;
    this.pending = '';
    if (this.first && s.length > 0) {
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
      this.first = false;
    }
    const rows: string[][] = [];
    const n = s.length;
    const delim = this.delimiter.charCodeAt(0);
    let i = 0;
    outer: while (i < n) {
      const rowStart = i;
      const row: string[] = [];
      let extraLines = 0;
      for (;;) {
        let value: string;
        if (s.charCodeAt(i) === 34 /* " */) {
          let j = i + 1;
          value = '';
          for (;;) {
            const k = s.indexOf('"', j);
            if (k === -1 || (k + 1 === n && !final)) {
              if (final) throw this.error(`unterminated quoted field`, this.line);
              this.keep(s, rowStart);
              break outer;
            }
            const part = s.slice(j, k);
            value += part;
            for (let p = part.indexOf('\n'); p !== -1; p = part.indexOf('\n', p + 1)) extraLines++;
            if (s.charCodeAt(k + 1) === 34) {
              value += '"';
              j = k + 2;
              continue;
            }
            i = k + 1;
            break;
          }
          const c = i < n ? s.charCodeAt(i) : -1;
          if (c !== -1 && c !== delim && c !== 10 && c !== 13) throw this.error(`unexpected ${JSON.stringify(s[i])} after a closing quote`, this.line + extraLines);
        } else {
          let k = i;
          while (k < n) {
            const c = s.charCodeAt(k);
            if (c === delim || c === 10 || c === 13) break;
            k++;
          }
          value = s.slice(i, k);
          i = k;
        }
        row.push(value);
        if (i >= n) {
          if (!final) {
            this.keep(s, rowStart);
            break outer;
          }
          this.emit(rows, row, extraLines);
          break outer;
        }
        const c = s.charCodeAt(i);
        if (c === delim) {
          i++;
          continue;
        }
        if (c === 13) {
          if (i + 1 >= n && !final) {
            this.keep(s, rowStart);
            break outer;
          }
          i += s.charCodeAt(i + 1) === 10 ? 2 : 1;
        } else i++; // \n
        this.emit(rows, row, extraLines);
        break;
      }
    }
    return rows;
  }

  private keep(s: string, from: number): void {
    this.pending = s.slice(from);
    if (this.pending.length > MAX_PENDING) throw this.error('a field runs on for more than 64 MiB: unterminated quote?', this.line);
  }

  private emit(rows: string[][], row: string[], extraLines: number): void {
    // Blank lines carry no row.
    if (!(row.length === 1 && row[0] === '')) rows.push(row);
    this.line += 1 + extraLines;
  }

  error(why: string, line: number): InvalidInputError {
    return new InvalidInputError(`${this.file}, line ${line}: ${why}`, { code: 'E_BAD_CSV', hint: 'The file must be CSV (RFC 4180): comma-separated, fields with commas, quotes or line breaks in double quotes.' });
  }
}

export interface CsvTable {
  header: string[];
  /** Position of a column, or an error listing the columns there are. */
  column(name: string, option: string): number;
  /** Batches of rows (each checked to have as many fields as the header), with the line each starts on. */
  batches(): AsyncGenerator<{ rows: string[][]; lines: number[] }>;
}

/** Open a CSV file with a header row for streaming. */
export async function openCsv(file: string, what: string): Promise<CsvTable> {
  const parser = new CsvParser(file);
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<string>;
  let buffered: string[][] = [];
  let bufferedLines: number[] = [];
  let done = false;
  // Read until the header row is complete.
  const pull = async (): Promise<boolean> => {
    let r: IteratorResult<string>;
    try {
      r = await it.next();
    } catch (err) {
      throw fromSystemError(err, what);
    }
    const startLine = parser.line;
    const rows = r.done ? parser.push('', true) : parser.push(r.value);
    done = !!r.done;
    // Line numbers are exact for rows without embedded line breaks, which is what errors need.
    buffered = rows;
    bufferedLines = rows.map((_, k) => startLine + k);
    return !done;
  };
  while (buffered.length === 0 && (await pull()));
  const header = buffered.shift();
  bufferedLines.shift();
  if (!header) {
    stream.destroy();
    throw new InvalidInputError(`${what} ${file} is empty`, { code: 'E_BAD_CSV', hint: 'Give a CSV file with a header row.' });
  }
  return {
    header,
    column(name, option) {
      const idx = header.indexOf(name);
      if (idx === -1) {
        throw new InvalidInputError(`${what} ${file} has no column ${JSON.stringify(name)}`, { code: 'E_NO_COLUMN', hint: `Its columns are ${header.join(', ')}; choose one with ${option}.` });
      }
      return idx;
    },
    async *batches() {
      try {
        for (;;) {
          if (buffered.length) {
            for (let k = 0; k < buffered.length; k++) {
              if (buffered[k]!.length !== header.length) throw parser.error(`${buffered[k]!.length} fields where the header has ${header.length}`, bufferedLines[k]!);
            }
            yield { rows: buffered, lines: bufferedLines };
          }
          buffered = [];
          if (done) return;
          await pull();
        }
      } finally {
        stream.destroy();
      }
    },
  };
}

/** One CSV field, quoted when it must be. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v;
}
