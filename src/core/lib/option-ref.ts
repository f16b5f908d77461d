/**
 * Core names an option of the operation (a hint's "pass force to override") without spelling it as
 * a command-line flag: core also serves the web UI and tests, which have no command line, and only
 * the CLI knows how its options are written. `optionRef('min-delta')` marks the option by its long
 * name without dashes; whatever shows the text replaces every mark (`renderOptionRefs`): the CLI's
 * output as `--min-delta`, the web server likewise. The marks are Unicode private-use characters,
 * which no user text, file name or version carries, so a mark cannot be confused with a user's words.
 */

const OPEN = '\u{E000}';
const CLOSE = '\u{E001}';
const MARKED = /\u{E000}([a-z][a-z0-9-]*)\u{E001}/gu;

/** A mark naming the option `name` (its long name without dashes, e.g. 'min-delta'). */
export function optionRef(name: string): string {
  return `${OPEN}${name}${CLOSE}`;
}

/** `text` with every mark replaced by `render(name)`; text without marks comes back as it was. */
export function renderOptionRefs(text: string, render: (name: string) => string): string {
  return text.includes(OPEN) ? text.replace(MARKED, (_, name: string) => render(name)) : text;
}
