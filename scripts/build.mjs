// `npm run build`: compile to dist/. The three independent steps run at once: the server, tests and
// benchmarks with tsc, the web client's type check with tsc, its bundles with esbuild.
//
// tsc builds incrementally (`tsc -b`; tsconfig.json sets its build info in dist/, so a removed dist/
// means a full build: tsc does not check that its outputs still exist). Nothing changed: ~0.5 s; a few
// files: ~3 s; from scratch: ~9 s. A source removed since the last build must not leave its compiled
// copy behind (an old test would still run), so compiled files without a source are deleted afterwards.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** Runs node with these arguments, output passed through; resolves to its exit status. */
function node(args) {
  return new Promise((resolve) => {
    spawn(process.execPath, args, { stdio: 'inherit' }).on('close', (code, signal) => resolve(signal ? 1 : (code ?? 1)));
  });
}

const steps = [
  ['tsc -b tsconfig.json', [tsc, '-b', 'tsconfig.json']],
  ['tsc -b src/web/client', [tsc, '-b', 'src/web/client']],
  ['scripts/build-web.mjs', ['scripts/build-web.mjs']],
];
const codes = await Promise.all(steps.map(([, args]) => node(args)));
const failed = steps.filter((_, i) => codes[i] !== 0).map(([name]) => name);
if (failed.length > 0) {
  console.error(`build failed: ${failed.join(', ')}`);
  process.exit(1);
}

// dist/<dir>/x.js and x.js.map come from <dir>/x.ts (tsconfig's rootDir is the project).
for (const dir of ['src', 'test', 'bench']) {
  const out = join('dist', dir);
  if (!existsSync(out)) continue;
  for (const file of readdirSync(out, { recursive: true, encoding: 'utf8' })) {
    const compiled = /^(.*)\.js(\.map)?$/.exec(file);
    if (compiled && !existsSync(join(dir, `${compiled[1]}.ts`))) rmSync(join(out, file));
  }
}
