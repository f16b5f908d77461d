import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers.js';

test('the npm pack tarball installs into a fresh folder and runs', { timeout: 600_000 }, () => {
  const t = tempDir('mlreg-pack-');
  try {
    execFileSync('npm', ['pack', '--pack-destination', t.path, '--ignore-scripts'], { cwd: ROOT, stdio: 'pipe' });
    const tarball = readdirSync(t.path).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack made a tarball');
    const listing = execFileSync('tar', ['-tzf', join(t.path, tarball)], { encoding: 'utf8' });
    for (const must of [
      'package/bin/mlreg.js',
      'package/dist/src/cli/main.js',
      'package/dist/web/app.js',
      'package/dist/web/report.js',
      'package/registry/migrations/0001_core.sql',
      'package/README.md',
    ])
      assert.ok(listing.includes(must), `${must} is packed`);
    assert.ok(!listing.includes('package/test/'), 'tests are not packed');
    const app = join(t.path, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}\n');
    // Prefer the local npm cache: the same packages `npm ci` just fetched.
    execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(t.path, tarball)], {
      cwd: app,
      stdio: 'pipe',
    });
    const bin = join(app, 'node_modules', '.bin', 'mlreg');
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
    // It is a working registry, not just a banner: the native SQLite binding loads.
    const init = spawnSync(bin, ['init', join(app, 'reg'), '--json'], { encoding: 'utf8' });
    assert.equal(init.status, 0, init.stderr);
    assert.equal(JSON.parse(init.stdout).ok, true);
  } finally {
    t.cleanup();
  }
});
