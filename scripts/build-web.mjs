// Bundle the front end of `mlreg ui` and of the HTML reports into dist/web/ (shipped in the package).
// app.js is loaded by the app's pages; report.js and report.css are inlined into report files.
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const out = 'dist/web';
// Made anew every build (it takes well under a second): a renamed entry must not leave its old bundle to be packed.
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const common = {
  bundle: true,
  minify: true,
  platform: 'browser',
  target: ['es2022'],
  legalComments: 'eof',
  logLevel: 'warning',
};
await build({ ...common, entryPoints: { app: 'src/web/client/main.ts' }, format: 'esm', outdir: out });
await build({ ...common, entryPoints: { report: 'src/web/client/report.ts' }, format: 'iife', outdir: out });
copyFileSync('src/web/client/favicon.svg', `${out}/favicon.svg`);

// The report's script is inlined in a <script> element: it must not be able to close it.
for (const f of ['report.js', 'report.css']) {
  if (/<\/(script|style)/i.test(readFileSync(`${out}/${f}`, 'utf8')))
    throw new Error(`${out}/${f} contains a closing tag and cannot be inlined`);
}
