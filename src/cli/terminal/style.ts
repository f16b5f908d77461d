import type { ChalkInstance } from 'chalk';

/**
 * Human output helpers, loaded only when a command prints for a person (not with --json), so the
 * colour and table libraries stay off the start-up path of scripts.
 */
export interface Ui {
  c: ChalkInstance;
  color: boolean;
  /** The terminal's width when output goes to one (tables and long lines are fitted to it). */
  width: number | undefined;
  /** Cut a line of prose to the terminal's width, with an ellipsis (unchanged when piped). */
  fit(line: string): string;
  /** Wrap a line of prose at spaces to the terminal's width, continuing indented (unchanged when piped). */
  wrap(line: string): string;
  /** An aligned table without borders, like `gh` and `heroku releases` print. */
  table(head: string[], rows: (string | number | null | undefined)[][]): string;
}

export function colorWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return !!stream.isTTY && env.TERM !== 'dumb';
}

/** `width`: the terminal's columns, which tables are fitted to; undefined when output is piped (full text). */
export async function loadUi(color: boolean, width?: number): Promise<Ui> {
  const [{ Chalk }, { renderTable, fitLine, wrapLine }] = await Promise.all([import('chalk'), import('./table.js')]);
  const c = new Chalk({ level: color ? 1 : 0 });
  return {
    c,
    color,
    width,
    fit: (line) => (width === undefined ? line : fitLine(line, width)),
    wrap: (line) => (width === undefined ? line : wrapLine(line, width)),
    table: (head, rows) =>
      renderTable(
        head.map((h) => c.bold(h)),
        rows.map((r) => r.map((cell) => (cell === null || cell === undefined ? '' : String(cell)))),
        { maxWidth: width },
      ),
  };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** "2026-11-24T09:30:12.345Z" → "2026-11-24 09:30:12Z": readable, still unambiguous. */
export function formatTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export { formatNumber } from '../../core/lib/format.js';
