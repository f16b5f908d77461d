#!/usr/bin/env node
// Runs the compiled tests under the given folders: only files named *.test.js (helpers are not tests).
// Node 20's `--test` takes folders or files but no globs, so the files are listed here.
//
// Two files run at a time, longest first, so that the two workers finish together instead of one
// starting a long file near the end (`node --test` would sort them by name). How long a file takes
// comes from the last run on this machine (node_modules/.cache/mlreg/test-durations.json, written at
// the end of every run), else from test/durations.json (committed: copy the cache there when files
// grew or shrank a lot), else a new file counts as an average one.
//
// Usage: node test/run.mjs [--node-test-flag…] DIR…
// With node --test flags (e.g. --test-name-pattern=…), the files run through `node --test` itself, by name.
import { spawnSync } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const COMPILED = join(ROOT, 'dist', 'test');
const CACHE = join(ROOT, 'node_modules', '.cache', 'mlreg', 'test-durations.json');
const DEFAULTS = join(ROOT, 'test', 'durations.json');
// Two files per core: many files spend part of their time waiting (on child processes, servers,
// timeouts, fsync), and one per core left a 2-core machine ~11% idle (measured on 2 cores, the whole
// suite: 76 s at 2 files, 70 s at 3, 65 s at 4, the same CPU). At most 8: the concurrency tests start
// 8 processes each. MLREG_TEST_CONCURRENCY overrides it.
const CONCURRENCY = Number(process.env.MLREG_TEST_CONCURRENCY ?? Math.min(8, 2 * availableParallelism()));
if (!Number.isInteger(CONCURRENCY) || CONCURRENCY < 1) {
  const given = JSON.stringify(process.env.MLREG_TEST_CONCURRENCY);
  console.error(`MLREG_TEST_CONCURRENCY must be a whole number of files at a time, 1 or more; got ${given}`);
  process.exit(2);
}

const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const dirs = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const files = dirs.flatMap((dir) =>
  statSync(dir).isFile()
    ? [resolve(dir)]
    : readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.test.js'))
        .sort()
        .map((f) => resolve(dir, f)),
);
if (files.length === 0) {
  console.error(`no *.test.js under ${dirs.join(', ')} (run npm run build first)`);
  process.exit(1);
}

if (flags.length > 0) {
  const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${CONCURRENCY}`, ...flags, ...files], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}

/** Milliseconds per file (by its path under dist/test), from a durations file; {} if there is none. */
function readDurations(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return {};
  }
}

const key = (file) => relative(COMPILED, file);
const known = { ...readDurations(DEFAULTS), ...readDurations(CACHE) };
const values = Object.values(known).sort((a, b) => a - b);
const average = values[Math.floor(values.length / 2)] ?? 1000;
const expected = (file) => known[key(file)] ?? average;
const ordered = [...files].sort((a, b) => expected(b) - expected(a) || a.localeCompare(b));

const abort = new AbortController();
// run() adds a listener to the signal per file.
setMaxListeners(0, abort.signal);
process.once('SIGINT', () => abort.abort());
const taken = new Map();
let failed = false;
const stream = run({ files: ordered, concurrency: CONCURRENCY, signal: abort.signal });
stream.on('test:pass', (e) => {
  if (e.nesting === 0 && e.file) taken.set(e.file, (taken.get(e.file) ?? 0) + (e.details?.duration_ms ?? 0));
});
stream.on('test:fail', (e) => {
  if (!e.todo) failed = true;
  if (e.nesting === 0 && e.file) taken.set(e.file, (taken.get(e.file) ?? 0) + (e.details?.duration_ms ?? 0));
});
// The reporter node --test would pick: spec on a terminal, TAP otherwise.
const reporter = process.stdout.isTTY ? stream.compose(new spec()) : stream.compose(tap);
reporter.pipe(process.stdout);
reporter.on('end', () => {
  if (!abort.signal.aborted && taken.size > 0) {
    const cache = readDurations(CACHE);
    for (const [file, ms] of taken) cache[key(file)] = Math.round(ms);
    try {
      mkdirSync(dirname(CACHE), { recursive: true });
      writeFileSync(CACHE, `${JSON.stringify(cache, Object.keys(cache).sort(), 1)}\n`);
    } catch {
      // Only the order of the next run depends on it.
    }
  }
  process.exitCode = failed || abort.signal.aborted ? 1 : 0;
});
