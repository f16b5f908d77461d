import { createReadStream } from 'node:fs';
import { fromSystemError, InvalidInputError } from '../errors.js';

/**
 * A small streaming CSV reader (RFC 4180: quoted fields with "" escapes and line breaks, CRLF or
 * LF, optional BOM) that hands each row to a callback as soon as it is parsed, so a file of any
 * size is read in constant memory and rows die young (cheap for the garbage collector). Errors
 * name the file and the line.
 */

export type RowFn = (row: string[], line: number) => void;

// A row longer than this is an unterminated quote, not data (and re-scanning it per chunk would be quadratic).
const MAX_PENDING = 4 * 1024 * 1024;

export class CsvParser {
  private pending = '';
  /** Physical line where the next row starts (1-based). */
  line = 1;
  private first = true;

  constructor(
    private readonly file: string,
    private readonly delimiter = ',',
  ) {}

  /** Parse what can be parsed, calling `onRow` for each row; keeps an incomplete last row for the next chunk. */
  push(chunk: string, final: boolean, onRow: RowFn): void {
    let s = this.pending + chunk;
    this.pending = '';
    if (this.first && s.length > 0) {
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
      this.first = false;
    }
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
          if (c !== -1 && c !== delim && c !== 10 && c !== 13)
            throw this.error(`unexpected ${JSON.stringify(s[i])} after a closing quote`, this.line + extraLines);
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
          this.emit(onRow, row, extraLines);
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
        this.emit(onRow, row, extraLines);
        break;
      }
    }
  }

  private keep(s: string, from: number): void {
    this.pending = s.slice(from);
    if (this.pending.length > MAX_PENDING)
      throw this.error('a row runs on for more than 4 MiB: unterminated quote?', this.line);
  }

  private emit(onRow: RowFn, row: string[], extraLines: number): void {
    const line = this.line;
    this.line += 1 + extraLines;
    // Blank lines carry no row.
    if (!(row.length === 1 && row[0] === '')) onRow(row, line);
  }

  error(why: string, line: number): InvalidInputError {
    return new InvalidInputError(`${this.file}, line ${line}: ${why}`, {
      code: 'E_BAD_CSV',
      hint: 'The file must be CSV (RFC 4180): comma-separated, fields with commas, quotes or line breaks in double quotes.',
    });
  }
}

export interface CsvTable {
  header: string[];
  /** Position of a column, or an error listing the columns there are. */
  /** The index of a column; `option` names the setting that chose it (the CLI maps it to its flag). */
  column(name: string, option: string): number;
  /** Call `fn` for every data row (checked to have as many fields as the header); resolves to the row count. */
  forEach(fn: RowFn): Promise<number>;
}

/** Open a CSV file with a header row for streaming. */
export async function openCsv(file: string, what: string): Promise<CsvTable> {
  const parser = new CsvParser(file);
  // 64 KiB chunks: strings under V8's large-object size die young instead of waiting for a full GC.
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 16 });
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<string>;
  let done = false;
  const next = async (onRow: RowFn): Promise<void> => {
    let r: IteratorResult<string>;
    try {
      r = await it.next();
    } catch (err) {
      stream.destroy();
      throw fromSystemError(err, what);
    }
    done = !!r.done;
    if (r.done) parser.push('', true, onRow);
    else parser.push(r.value, false, onRow);
  };
  // Read until the header row is complete; rows parsed in the same chunk wait in `early`.
  let header: string[] | undefined;
  const early: [string[], number][] = [];
  const collect: RowFn = (row, line) => {
    if (header === undefined) header = row;
    else early.push([row, line]);
  };
  while (header === undefined && !done) await next(collect);
  if (header === undefined) {
    stream.destroy();
    throw new InvalidInputError(`${what} ${file} is empty`, {
      code: 'E_BAD_CSV',
      hint: 'Give a CSV file with a header row.',
    });
  }
  const cols = header;
  return {
    header: cols,
    column(name, option) {
      const idx = cols.indexOf(name);
      if (idx === -1) {
        throw new InvalidInputError(`${what} ${file} has no column ${JSON.stringify(name)}`, {
          code: 'E_NO_COLUMN',
          hint: `Its columns are ${cols.join(', ')}; choose one of them.`,
          details: { option, columns: cols },
        });
      }
      return idx;
    },
    async forEach(fn) {
      let count = 0;
      const checked: RowFn = (row, line) => {
        if (row.length !== cols.length)
          throw parser.error(`${row.length} fields where the header has ${cols.length}`, line);
        count++;
        fn(row, line);
      };
      try {
        for (const [row, line] of early.splice(0)) checked(row, line);
        while (!done) await next(checked);
      } finally {
        stream.destroy();
      }
      return count;
    },
  };
}

/** One CSV field, quoted when it must be. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v;
}
