import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT, tempDir } from '../helpers.js';

/**
 * scripts/build.mjs on a small project with mlreg's own tsconfig files: the incremental build must
 * leave dist/ matching the sources whatever happened to dist/ in between, or a test silently stops
 * running (its compiled file gone) or a removed one keeps running (its compiled file left behind);
 * and it must check the sources against the types installed now.
 */

function project(): { dir: string; cleanup: () => void } {
  const t = tempDir('mlreg-build-');
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(t.path, path)), { recursive: true });
    writeFileSync(join(t.path, path), text);
  };
  for (const config of ['tsconfig.json', 'src/web/client/tsconfig.json']) {
    mkdirSync(dirname(join(t.path, config)), { recursive: true });
    copyFileSync(join(ROOT, config), join(t.path, config));
  }
  // Its own node_modules: mlreg's types, and one dependency of its own (`dep`) to install anew.
  mkdirSync(join(t.path, 'node_modules'));
  symlinkSync(join(ROOT, 'node_modules', '@types'), join(t.path, 'node_modules', '@types'));
  write('node_modules/dep/package.json', '{"name":"dep","version":"1.0.0","types":"index.d.ts"}\n');
  write('node_modules/dep/index.d.ts', 'export type Count = number;\n');
  write('src/cli/count.ts', "import type { Count } from 'dep';\nexport const count: Count = 1;\n");
  write('src/cli/main.ts', 'export const main = 1;\n');
  write('src/web/wire.ts', 'export type Wire = number;\n');
  write('src/web/client/main.ts', 'export const client = 1;\n');
  write('test/unit/a.test.ts', "import { main } from '../../src/cli/main.js';\nexport const a = main;\n");
  // The front end's bundling is not what is tested here: this project has none.
  write('scripts/build-web.mjs', '');
  return { dir: t.path, cleanup: t.cleanup };
}

function tryBuild(dir: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

function build(dir: string): void {
  const r = tryBuild(dir);
  assert.equal(r.status, 0, r.output);
}

test('the incremental build compiles a source copied in with an old mtime, brings back compiled files deleted from dist/ and drops those of removed sources', {
  timeout: 120_000,
}, () => {
  const p = project();
  try {
    const out = (path: string): boolean => existsSync(join(p.dir, 'dist', path));
    build(p.dir);
    assert.ok(out('src/cli/main.js') && out('test/unit/a.test.js'), 'built');

    // dist/ partly removed (by hand, by a tool clearing one folder): the next build makes it whole.
    rmSync(join(p.dir, 'dist', 'src', 'cli', 'main.js'));
    rmSync(join(p.dir, 'dist', 'test', 'unit'), { recursive: true });
    build(p.dir);
    assert.ok(out('src/cli/main.js'), 'a deleted compiled source file is compiled again');
    assert.ok(out('test/unit/a.test.js'), 'a deleted compiled test is compiled again (else it silently stops running)');

    // A source copied in with its old mtime kept (cp -a, rsync -a, tar): tsc -b compares mtimes and
    // would take it for built.
    const main = join(p.dir, 'src', 'cli', 'main.ts');
    writeFileSync(main, 'export const main = 2;\n');
    utimesSync(main, new Date('2020-01-01'), new Date('2020-01-01'));
    build(p.dir);
    assert.match(readFileSync(join(p.dir, 'dist', 'src', 'cli', 'main.js'), 'utf8'), /main = 2/, 'compiled again');

    // A renamed test: the old name's compiled file goes, or it would still run.
    renameSync(join(p.dir, 'test', 'unit', 'a.test.ts'), join(p.dir, 'test', 'unit', 'b.test.ts'));
    build(p.dir);
    assert.ok(out('test/unit/b.test.js'));
    assert.ok(!out('test/unit/a.test.js') && !out('test/unit/a.test.js.map'), 'the old name is gone');
  } finally {
    p.cleanup();
  }
});

test('a build after an install type-checks the sources against the types installed', { timeout: 120_000 }, () => {
  const p = project();
  try {
    build(p.dir);
    // A new release of dep whose type the source no longer fits, installed as npm does: the files keep
    // the package's old mtime, and npm writes node_modules/.package-lock.json.
    const types = join(p.dir, 'node_modules', 'dep', 'index.d.ts');
    writeFileSync(types, 'export type Count = string;\n');
    utimesSync(types, new Date('1985-10-26'), new Date('1985-10-26'));
    writeFileSync(join(p.dir, 'node_modules', '.package-lock.json'), '{}\n');
    const r = tryBuild(p.dir);
    assert.notEqual(r.status, 0, 'the build fails on the new types');
    assert.match(r.output, /src\/cli\/count\.ts.*error TS2322/);
  } finally {
    p.cleanup();
  }
});
