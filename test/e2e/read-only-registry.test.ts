import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliInProcess, copySeed, FIXTURES, tempDir } from '../helpers.js';

/**
 * compare, check and backup only read the registry: like list/show/history/verify they work on a
 * registry mounted read-only (root ignores chmod, so a read-only bind mount stands for "another
 * user's registry" too), and write nothing into it. Full-disk runs are in disk-faults.test.ts.
 */

const DATA = join(FIXTURES, 'datasets');

async function seed(dir: string): Promise<void> {
  await copySeed('read-only-registry', dir, async (s) => {
    const reg = join(s, 'reg');
    const ok = async (args: string[]) => {
      const r = await cliInProcess([...args, '--registry', reg], { cwd: s });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    };
    await ok(['init', reg]);
    writeFileSync(join(s, 'a.bin'), Buffer.alloc(10_000, 1));
    writeFileSync(join(s, 'b.bin'), Buffer.alloc(10_000, 2));
    await ok(['add', 'model', 'm', join(s, 'a.bin'), '--version', '1.0.0', '--metric', 'auc=0.8']);
    await ok(['add', 'model', 'm', join(s, 'b.bin'), '--version', '1.0.1', '--metric', 'auc=0.85']);
    await ok(['add', 'dataset', 'd', join(DATA, 'train.csv'), '--version', '1.0.0']);
    await ok(['add', 'dataset', 'd', join(DATA, 'batch_drifted.csv'), '--version', '1.0.1']);
    await ok(['backup', join(s, 'base.tar')]);
    return s;
  });
}

describe('reading commands on a read-only registry', () => {
  const t = tempDir('mlreg-ro-');
  const ro = join(t.path, 'ro');
  let skip: string | undefined;
  let mounted = false;
  before(async () => {
    await seed(join(t.path, 'w'));
    mkdirSync(ro);
    const bind = spawnSync('mount', ['--bind', join(t.path, 'w', 'reg'), ro], { encoding: 'utf8' });
    if (bind.status !== 0) {
      skip = `cannot bind-mount here (${bind.error?.message ?? bind.stderr.trim()})`;
      return;
    }
    mounted = true;
    const remount = spawnSync('mount', ['-o', 'remount,bind,ro', ro], { encoding: 'utf8' });
    if (remount.status !== 0) skip = `cannot remount read-only (${remount.stderr.trim()})`;
  });
  after(() => {
    if (mounted) spawnSync('umount', [ro]);
    t.cleanup();
  });

  const run = (args: string[]) => cliInProcess([...args, '--registry', ro, '--json'], { cwd: t.path });
  const unchanged = (): void => assert.deepEqual(readdirSync(join(ro, 'tmp')), []);

  it('compare: models and datasets', async (c) => {
    if (skip) return c.skip(skip);
    for (const args of [
      ['compare', 'm@1.0.0', 'm@1.0.1'],
      ['compare', 'd@1.0.0', 'd@1.0.1'],
    ]) {
      const r = await run(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout} ${r.stderr}`);
      assert.equal(r.json?.ok, true);
    }
    const html = await run(['compare', 'd@1.0.0', 'd@1.0.1', '--format', 'html', '-o', join(t.path, 'cmp.html')]);
    assert.equal(html.code, 0, html.stdout + html.stderr);
    unchanged();
  });

  it('check: a stored version, and a file profiled on the way (its temp files go elsewhere)', async (c) => {
    if (skip) return c.skip(skip);
    for (const args of [
      ['check', 'd@1.0.1', '--against', 'd@1.0.0'],
      ['check', join(DATA, 'batch_drifted.csv'), '--against', 'd@1.0.0'],
      ['check', 'd@1.0.1', '--against', 'd@1.0.0', '--format', 'html', '-o', join(t.path, 'check.html')],
    ]) {
      const r = await run(args);
      // Drift over a threshold is exit 1 with a report: either way the check ran.
      assert.ok([0, 1].includes(r.code), `${args.join(' ')}: ${r.stdout} ${r.stderr}`);
      assert.ok(r.json?.data?.status ?? r.json?.error?.details, r.stdout);
    }
    unchanged();
  });

  it('backup (full and incremental): the archive is written elsewhere and restores whole', async (c) => {
    if (skip) return c.skip(skip);
    const full = await run(['backup', join(t.path, 'full.tar')]);
    assert.equal(full.code, 0, full.stdout + full.stderr);
    const inc = await run(['backup', join(t.path, 'inc.tgz'), '--base', join(t.path, 'w', 'base.tar')]);
    assert.equal(inc.code, 0, inc.stdout + inc.stderr);
    assert.equal(inc.json!.data.kind, 'incremental');
    unchanged();
    const into = join(t.path, 'restored');
    const r = await cliInProcess(['restore', join(t.path, 'full.tar'), '--into', into, '--json']);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.json!.data.counts.versions, 4);
    assert.equal((await cliInProcess(['verify', '--registry', into])).code, 0);
    assert.deepEqual(
      readdirSync(t.path).filter((n) => n.includes('.partial')),
      [],
    );
  });
});
