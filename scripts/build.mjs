// `npm run build`: compile to dist/. The three independent steps run at once: the server, tests and
// benchmarks with tsc, the web client's type check with tsc, its bundles with esbuild.
//
// tsc builds incrementally (`tsc -b`; tsconfig.json sets its build info in dist/). Nothing changed:
// ~0.5 s; a few files: ~3 s; from scratch: ~9 s. tsc trusts its build info and does not check that its
// outputs still exist, so when a compiled file is missing (dist/ partly removed) the build info is
// dropped first and tsc builds everything: else that file would never come back, and a test missing
// from dist/ silently stops running. A source removed since the last build must not leave its compiled
// copy behind (an old test would still run), so compiled files without a source are deleted afterwards.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/** Runs node with these arguments, output passed through; resolves to its exit status. */
function node(args) {
  return new Promise((resolve) => {
    spawn(process.execPath, args, { stdio: 'inherit' }).on('close', (code, signal) => resolve(signal ? 1 : (code ?? 1)));
  });
}

// What tsconfig.json compiles: the .ts files of these folders (not the web client's, bundled by esbuild),
// each to dist/<folder>/<same path>.js. Listed once: the checks below all read this list.
const COMPILED = ['src', 'test', 'bench'];
const SOURCES = COMPILED.flatMap((dir) =>
  existsSync(dir)
    ? readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => join(dir, f))
    : [],
);
const CLIENT = join('src', 'web', 'client', sep);
const BUILD_INFO = join('dist', 'main.tsbuildinfo');
const CLIENT_BUILD_INFO = join('dist', 'client.tsbuildinfo');

// tsc -b looks only at the projects' own files, not at the types they use from node_modules: after an
// install (a new @types/node, a dependency's new release) the sources would not be checked against the
// new types until one of them changed. npm writes node_modules/.package-lock.json on every install and
// `npm ci`: the first build after one compiles everything (npm ci's own build, via prepare).
const INSTALLED = join('node_modules', '.package-lock.json');
if (existsSync(INSTALLED)) {
  const installedAt = statSync(INSTALLED).mtimeMs;
  for (const f of [BUILD_INFO, CLIENT_BUILD_INFO]) if (existsSync(f) && statSync(f).mtimeMs < installedAt) rmSync(f);
}

// tsc -b takes a project for built when no input is newer than its build info, by mtime: a source
// changed with its old mtime kept (cp -a, rsync -a, tar) would never be compiled. Its ctime cannot be
// kept, so such a file gets the current mtime and tsc -b looks at it (and compares contents: a file
// only chmod-ed is not compiled again). The web client's sources are in src/ too.
const builtAt = [BUILD_INFO, CLIENT_BUILD_INFO].map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0));
if (builtAt.every((t) => t > 0)) {
  const since = Math.min(...builtAt);
  const now = new Date();
  for (const path of SOURCES) {
    const st = statSync(path);
    if (st.ctimeMs > since && st.mtimeMs <= since) utimesSync(path, st.atime, now);
  }
}

// A compiled file missing from dist/ (see the top): drop the build info, so that tsc builds everything.
const compiledOf = (path) => join('dist', path.replace(/\.ts$/, '.js'));
if (
  existsSync(BUILD_INFO) &&
  SOURCES.some((path) => !path.endsWith('.d.ts') && !path.startsWith(CLIENT) && !existsSync(compiledOf(path)))
)
  rmSync(BUILD_INFO);

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
const sources = new Set(SOURCES);
for (const dir of COMPILED) {
  const out = join('dist', dir);
  if (!existsSync(out)) continue;
  for (const file of readdirSync(out, { recursive: true, encoding: 'utf8' })) {
    const compiled = /^(.*)\.js(\.map)?$/.exec(file);
    if (compiled && !sources.has(join(dir, `${compiled[1]}.ts`))) rmSync(join(out, file));
  }
}
