import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { InvalidInputError } from '../errors.js';
import type { DataFormat } from './profile/types.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * Which table a dataset version is, before DuckDB sees it: the format from the file names (a folder
 * of parts must hold one format), plus cheap checks that give a clearer message than a parser would
 * (an empty file, binary bytes, a header line).
 */
export interface TableFile {
  /** Path inside the version ('/'-separated), for messages. */
  path: string;
  abs: string;
  size: number;
}

export interface TableSource {
  format: DataFormat;
  files: TableFile[];
  /** CSV only: the field separator and the decimal mark (sniffed from the first file unless given). */
  delimiter?: string;
  decimal?: '.' | ',';
}

/** What the user may say about a CSV's dialect (`--delimiter`, `--decimal`); the rest is sniffed. */
export interface CsvDialect {
  delimiter?: string | undefined;
  decimal?: '.' | ',' | undefined;
}

const DELIMITERS = [',', ';', '\t', '|'];

/** Accept a delimiter given by the user: one character, not a quote or a line break (`tab` or `\t` for a tab). */
export function parseDelimiter(text: string): string {
  const d = text === 'tab' || text === '\\t' ? '\t' : text;
  if ([...d].length !== 1 || d === '"' || d === '\n' || d === '\r')
    throw new InvalidInputError(
      `the delimiter must be one character such as , ; | or tab, not ${JSON.stringify(text)}`,
      {
        code: 'E_BAD_DELIMITER',
        hint: `e.g. ${optionRef('delimiter')} ";" for a CSV written by a European spreadsheet.`,
        details: { option: 'delimiter' },
      },
    );
  return d;
}

/**
 * The dialect of a CSV from its first 64 KiB: the separator the header line uses most outside quotes
 * (`,` `;` tab `|`; `,` when none), and a decimal comma when the separator is not a comma and numbers
 * in the data are written like 3,14 (and never like 3.14). A `;`-separated file read as comma-separated
 * would be one text column named by every header joined.
 */
export async function sniffCsvDialect(
  f: TableFile,
  given: CsvDialect = {},
): Promise<{ delimiter: string; decimal: '.' | ',' }> {
  const head = new TextDecoder('utf-8').decode(await readHead(f.abs, 64 << 10));
  const lines = head.split(/\r?\n/).slice(0, 200);
  const counts = DELIMITERS.map((d) => countOutsideQuotes(lines[0] ?? '', d));
  const best = counts.indexOf(Math.max(...counts));
  const delimiter = given.delimiter ?? (counts[best]! > 0 ? DELIMITERS[best]! : ',');
  if (given.decimal) return { delimiter, decimal: given.decimal };
  if (delimiter === ',') return { delimiter, decimal: '.' };
  let commas = 0;
  let points = 0;
  for (const line of lines.slice(1, -1))
    for (const field of line.split(delimiter)) {
      const v = field.trim().replace(/^"(.*)"$/, '$1');
      if (/^[-+]?\d+,\d+$/.test(v)) commas++;
      else if (/^[-+]?\d*\.\d+$/.test(v)) points++;
    }
  return { delimiter, decimal: commas > 0 && points === 0 ? ',' : '.' };
}

function countOutsideQuotes(line: string, ch: string): number {
  let n = 0;
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === ch) n++;
  }
  return n;
}

const EXTENSIONS: [RegExp, DataFormat][] = [
  [/\.csv$/i, 'csv'],
  [/\.(tsv|tab)$/i, 'tsv'],
  [/\.(ndjson|jsonl|json)$/i, 'ndjson'],
  [/\.(parquet|pq)$/i, 'parquet'],
];

function formatOf(path: string): DataFormat | undefined {
  return EXTENSIONS.find(([re]) => re.test(path))?.[1];
}

const NO_PROFILE_HINT = `Fix the file, or store it as it is with ${optionRef('no-profile')} (no profile, so no check against it).`;

/** Markers written next to data parts by Spark, Hadoop and friends (_SUCCESS, .crc files): not data. */
function isSidecar(path: string): boolean {
  const name = basename(path);
  return name.startsWith('_') || name.startsWith('.');
}

export function detectTable(files: readonly TableFile[]): TableSource {
  const data = files.length === 1 ? files : files.filter((f) => !isSidecar(f.path));
  if (data.length === 0)
    throw new InvalidInputError('the folder holds no data files', { code: 'E_NO_DATA_FILES', hint: NO_PROFILE_HINT });
  const byFormat = new Map<DataFormat, TableFile[]>();
  for (const f of data) {
    const format = formatOf(f.path);
    if (!format) {
      throw new InvalidInputError(`cannot tell the format of ${f.path} from its name`, {
        code: 'E_UNKNOWN_FORMAT',
        hint: `Name data files .csv, .tsv, .ndjson/.jsonl/.json or .parquet (uncompressed). ${NO_PROFILE_HINT}`,
      });
    }
    byFormat.set(format, [...(byFormat.get(format) ?? []), f]);
  }
  if (byFormat.size > 1) {
    const listing = [...byFormat]
      .map(
        ([fmt, fs]) =>
          `${fmt}: ${fs
            .slice(0, 3)
            .map((f) => f.path)
            .join(', ')}${fs.length > 3 ? ', …' : ''}`,
      )
      .join('; ');
    throw new InvalidInputError(
      `the folder mixes formats (${listing}); a folder of parts must be one table in one format`,
      {
        code: 'E_MIXED_FORMATS',
        hint: `Add each format as its own dataset. ${NO_PROFILE_HINT}`,
      },
    );
  }
  const [format, parts] = [...byFormat][0]!;
  return { format, files: [...parts].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) };
}

/** Refuse what no parser should be asked about: empty files, and binary bytes in a text format. */
export async function precheckFile(f: TableFile, format: DataFormat): Promise<void> {
  if (f.size === 0)
    throw new InvalidInputError(`${f.path} is empty: a dataset needs a header and at least one row`, {
      code: 'E_EMPTY_DATASET',
      hint: NO_PROFILE_HINT,
    });
  if (format === 'parquet') return;
  const head = await readHead(f.abs, 65_536);
  if (head.includes(0)) {
    throw new InvalidInputError(
      `${f.path} holds binary data, not ${format.toUpperCase()} text (a NUL byte in its first 64 KiB)`,
      {
        code: 'E_NOT_TEXT',
        hint: `Check that the file is what its name says. ${NO_PROFILE_HINT}`,
      },
    );
  }
}

/** The column names of a CSV/TSV file, from its first line (quotes as in RFC 4180, a UTF-8 BOM dropped). */
export async function csvHeader(f: TableFile, delim: string): Promise<string[]> {
  const head = await readHead(f.abs, 1 << 20);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, lineEnd(head)));
  } catch {
    throw new InvalidInputError(`cannot read ${f.path}: line 1: not UTF-8 text`, {
      code: 'E_NOT_UTF8',
      hint: `Convert it to UTF-8 (iconv -f LATIN1 -t UTF-8). ${NO_PROFILE_HINT}`,
    });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  text = text.replace(/\r$/, '');
  if (text.trim() === '')
    throw new InvalidInputError(`${f.path}: line 1 is empty; a CSV dataset starts with a header line`, {
      code: 'E_NO_HEADER',
      hint: NO_PROFILE_HINT,
    });
  const names: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"' && cur === '') quoted = true;
    else if (ch === delim) {
      names.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quoted)
    throw new InvalidInputError(`cannot read ${f.path}: line 1: the header has an unterminated quote`, {
      code: 'E_BAD_CSV',
      hint: NO_PROFILE_HINT,
    });
  names.push(cur);
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (n.trim() === '')
      throw new InvalidInputError(`${f.path}: header column ${i + 1} has no name`, {
        code: 'E_BAD_HEADER',
        hint: `Give every column a name in the first line. ${NO_PROFILE_HINT}`,
      });
    if (seen.has(n))
      throw new InvalidInputError(`${f.path}: the header names column ${JSON.stringify(n)} twice`, {
        code: 'E_BAD_HEADER',
        hint: `Column names must be unique. ${NO_PROFILE_HINT}`,
      });
    seen.add(n);
  });
  return names;
}

function lineEnd(buf: Buffer): number {
  const i = buf.indexOf(10);
  return i === -1 ? buf.length : i;
}

async function readHead(path: string, max: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(max);
    const { bytesRead } = await fh.read(buf, 0, max, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

export { NO_PROFILE_HINT };
