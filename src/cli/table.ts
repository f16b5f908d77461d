/**
 * Aligned, borderless tables (like `gh` and `heroku releases` print). Not cli-table3: its layout
 * is quadratic in the number of rows (13.5 s for the 10,000 versions of `bench/core.ts`, against a
 * 300 ms target for the whole command), and easy-table and table took 0.3 s and 2 s. Widths
 * come from string-width (East Asian wide characters, emoji, ANSI colours), with a fast path for
 * cells of narrow characters (ASCII, Latin, arrows), which are nearly all of them.
 */

// SGR colour sequences only: the ones chalk writes.
const ANSI = /\x1b\[[0-9;]*m/g;
// One column per character: printable ASCII, Latin letters, punctuation, arrows (→) and box drawing.
const NARROW = /^[\x20-\x7e\u00c0-\u02ff\u2010-\u2027\u2030-\u205e\u2190-\u21ff\u2500-\u257f]*$/;

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
  if (NARROW.test(bare)) return bare.length;
  if (exactWidth) return exactWidth(bare);
  missedExactWidth = true;
  return [...bare].length;
}

export function renderTable(head: string[], rows: string[][], gap = 2): string {
  const all = [head, ...rows];
  const widths = head.map((_, c) => all.reduce((w, r) => Math.max(w, displayWidth(r[c] ?? '')), 0));
  const spaces = ' '.repeat(gap);
  const lines = all.map((r) => {
    let line = '';
    for (let c = 0; c < head.length; c++) {
      const cell = r[c] ?? '';
      line += c === head.length - 1 ? cell : cell + ' '.repeat(widths[c]! - displayWidth(cell)) + spaces;
    }
    return line.trimEnd();
  });
  return lines.join('\n');
}
