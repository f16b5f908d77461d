import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InvalidInputError } from '../core/errors.js';
import { writeFileAtomic } from '../core/lib/fs.js';
import { ASSET_DIR } from './assets.js';
import type { ReportDoc } from './wire.js';

/**
 * A static HTML report: one file with its styles, script and data inline and no external URL, to
 * open from a mail or a CI artifact. The data sits in a <script type="application/json"> element
 * with every `<` escaped, so no value can close it; the page's own CSP allows only the exact inline
 * script and style it ships (by hash) and no network at all.
 */
export function reportHtml(doc: ReportDoc, title: string): string {
  const script = readAsset('report.js');
  const style = readAsset('report.css');
  const csp = [
    "default-src 'none'",
    `script-src '${sha256(script)}'`,
    `style-src '${sha256(style)}'`,
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<title>${escapeHtml(title)}</title>
<style>${style}</style>
</head>
<body>
<header class="top"><span class="brand">mlreg</span><span class="where">${escapeHtml(title)}</span></header>
<main id="app"><p class="loading">This report needs JavaScript to draw its tables and charts.</p></main>
<script type="application/json" id="mlreg-data">${embedJson(doc)}</script>
<script>${script}</script>
</body>
</html>
`;
}

/** JSON that can sit inside a <script> element: `<`, U+2028 and U+2029 escaped (JSON.parse reads them back). */
export function embedJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function sha256(text: string): string {
  return `sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}`;
}

function readAsset(name: string): string {
  try {
    return readFileSync(new URL(name, ASSET_DIR), 'utf8');
  } catch {
    throw new InvalidInputError(`the HTML report's ${name} is missing from ${ASSET_DIR.pathname}`, {
      code: 'E_UI_ASSETS_MISSING',
      hint: 'This mlreg was installed without its built front end; run `npm run build` in its folder.',
    });
  }
}

/** Write a report where the user asked, atomically (a temp file beside it, then rename). */
export function writeReport(path: string, html: string, pid: number): string {
  const target = resolve(path);
  try {
    writeFileAtomic(target, html, join(dirname(target), `.${basename(target)}.${pid}.tmp`));
  } catch (err) {
    throw new InvalidInputError(`cannot write the report to ${target}: ${(err as Error).message}`, {
      code: 'E_CANNOT_WRITE',
      hint: 'Check that the folder exists and is writable, or choose another path with -o.',
    });
  }
  return target;
}
