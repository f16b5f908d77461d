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
