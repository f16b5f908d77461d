/**
 * Aligned, borderless tables (like `gh` and `heroku releases` print). Not cli-table3: its layout
 * is quadratic in the number of rows (13.5 s for the 10,000 versions of `bench/core.ts`, against a
 * 300 ms target for the whole command), and easy-table and table took 0.3 s and 2 s. Widths
 * come from string-width (East Asian wide characters, emoji, ANSI colours), with a fast path for
 * cells of narrow characters (ASCII, Latin, arrows), which are nearly all of them.
 */

// SGR colour sequences only: the ones chalk writes.
const ANSI = /\x1b\[[0-9;]*m/g;
// One column per character: printable ASCII, Latin-1 signs (± · °), Latin letters, Greek (Δ),
// punctuation, arrows (→), mathematical operators (≤ ≥) and box drawing, minus the few that string-width
// counts as two because they can be emoji (© ® ‼ ⁉ ↔ ↕ ↖ ↗ ↘ ↙ ↩ ↪) and the soft hyphen. Gate reports and
// compare tables use some of these; loading string-width for them cost 9 ms of a 140 ms command.
const NARROW =
  /^[\x20-\x7e\u00a0-\u00a8\u00aa-\u00ac\u00af-\u02ff\u0370-\u03ff\u2010-\u2027\u2030-\u203b\u203d-\u2048\u204a-\u205e\u2190-\u2193\u219a-\u21a8\u21ab-\u22ff\u2500-\u257f]*$/;

/** True when every character of `text` is one column wide without asking string-width. */
export function isPlainNarrow(text: string): boolean {
  return NARROW.test(text);
}

// string-width (and its Unicode tables) loads only when a table holds a cell that needs it: a
// first render notes the miss, the output module loads it and renders again.
let exactWidth: ((text: string) => number) | undefined;
let missedExactWidth = false;

export async function loadExactWidths(): Promise<void> {
  exactWidth ??= (await import('string-width')).default;
}

/** True once per render that met a cell whose width needs string-width and did not have it. */
export function takeMissedExactWidth(): boolean {
  const missed = missedExactWidth;
  missedExactWidth = false;
  return missed;
}

export function displayWidth(text: string): number {
  const bare = text.includes('\x1b') ? text.replace(ANSI, '') : text;
  if (isPlainNarrow(bare)) return bare.length;
  if (exactWidth) return exactWidth(bare);
  missedExactWidth = true;
  return [...bare].length;
}

export interface TableOptions {
  /** Spaces between columns. */
  gap?: number;
  /**
   * The terminal's width: when the table is wider, the widest columns are cut (with an ellipsis)
   * until it fits, down to a readable minimum. Undefined (output piped to a file) keeps full text.
   */
  maxWidth?: number | undefined;
}

/** Narrowest a column is cut to: enough for a word and the ellipsis. */
const MIN_CUT = 8;
/** The last resort for any column: its header, or this many columns (four characters and the ellipsis). */
const MIN_NARROW = 5;
/** Columns this narrow (versions, stages, short digests, numbers) are never cut: they are what a row is. */
const KEEP_WHOLE = 16;

export function renderTable(head: string[], rows: string[][], opts: TableOptions = {}): string {
  const gap = opts.gap ?? 2;
  // A newline or tab inside a cell would break the row in two: show it escaped, as JSON would.
  const all = [head, ...rows].map((r) => r.map(oneLine));
  const natural = head.map((_, c) => all.reduce((w, r) => Math.max(w, displayWidth(r[c] ?? '')), 0));
  const widths = opts.maxWidth === undefined ? natural : fitWidths(natural, head, gap, opts.maxWidth);
  const spaces = ' '.repeat(gap);
  const lines = all.map((r) => {
    let line = '';
    for (let c = 0; c < head.length; c++) {
      let cell = r[c] ?? '';
      if (displayWidth(cell) > widths[c]!) cell = cut(cell, widths[c]!);
      line += c === head.length - 1 ? cell : cell + ' '.repeat(widths[c]! - displayWidth(cell)) + spaces;
    }
    return line.trimEnd();
  });
  return lines.join('\n');
}

function oneLine(cell: string): string {
  return /[\n\r\t]/.test(cell) ? cell.replace(/\r?\n|\r/g, '\\n').replace(/\t/g, '\\t') : cell;
}

/**
 * Column widths that fit `maxWidth`: take from the widest column first (free text such as a reason
 * or a message), one column at a time so the widest end up equally cut, never below MIN_CUT or its
 * header and never from a short column; then, if that is not enough, from short columns too.
 */
export function fitWidths(
  natural: readonly number[],
  head: readonly string[],
  gap: number,
  maxWidth: number,
): number[] {
  const widths = [...natural];
  const total = () => widths.reduce((a, b) => a + b, 0) + gap * (widths.length - 1);
  const header = (c: number) => displayWidth(head[c] ?? '');
  // First free text gives way; only if that is not enough, short columns too, down to their header.
  const passes: ((c: number) => number)[] = [
    (c) => (natural[c]! <= KEEP_WHOLE ? natural[c]! : Math.max(MIN_CUT, header(c))),
    (c) => Math.min(natural[c]!, Math.max(MIN_NARROW, header(c))),
  ];
  for (const floor of passes) {
    while (total() > maxWidth) {
      let widest = -1;
      for (let c = 0; c < widths.length; c++)
        if (widths[c]! > floor(c) && (widest === -1 || widths[c]! > widths[widest]!)) widest = c;
      if (widest === -1) break;
      widths[widest]!--; // one column at a time, so the widest ones end up equally cut
    }
  }
  return widths; // still too wide only when every column is at its minimum: the terminal wraps
}

/** A line of at most `width` display columns: cut with an ellipsis when longer. */
export function fitLine(line: string, width: number): string {
  return displayWidth(line) > width ? cut(line, width) : line;
}

/** A line wrapped at spaces into lines of at most `width` columns, continued with a two-space indent. */
export function wrapLine(line: string, width: number): string {
  if (displayWidth(line) <= width) return line;
  const out: string[] = [];
  let cur = '';
  for (const word of line.split(' ')) {
    const next = cur === '' ? word : `${cur} ${word}`;
    if (cur !== '' && displayWidth(next) > width) {
      out.push(cur);
      cur = `  ${word}`;
    } else cur = next;
  }
  out.push(cur);
  return out.map((l) => fitLine(l, width)).join('\n');
}

/** Cut a cell to `width` display columns, ending in an ellipsis (colour codes are dropped from a cut cell). */
function cut(cell: string, width: number): string {
  const bare = cell.includes('\x1b') ? cell.replace(ANSI, '') : cell;
  let out = '';
  let used = 0;
  for (const ch of bare) {
    const w = displayWidth(ch);
    if (used + w > width - 1) break;
    out += ch;
    used += w;
  }
  return out + '…';
}
