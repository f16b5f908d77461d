import { renderOptionRefs } from '../core/lib/option-ref.js';

/**
 * Core's text as the command line spells it: every option mark (core/lib/option-ref.ts) as its flag,
 * `--name`. The one spelling for whatever shows core's text: the CLI's output, its HTML reports and the
 * web server (whose hints tell what to run).
 */
export function spelledAsFlags(text: string): string {
  return renderOptionRefs(text, (name) => `--${name}`);
}
