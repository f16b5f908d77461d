import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BIN, cliInProcess, FIXTURES, tempDir } from '../helpers.js';
import { buildShim, registryWith, runWithFault, spread } from '../faults/sweep.js';

/** Disk faults are ordinary: every one ends in a documented exit code with the right thing named. */

const shim = buildShim();

describe('I/O errors map to exit 7 and name the right file', { skip: shim.skip }, () => {
  it('ENOSPC writing the registry temp file names the registry disk, not the source', async () => {
    const t = tempDir();
    try {
      const reg = await registryWith(t.path);
      writeFileSync(join(t.path, 'new.bin'), Buffer.alloc(100_000, 9));
      const r = runWithFault({
        args: ['add', 'model', 'm', join(t.path, 'new.bin'), '--registry', reg, '--json'],
        cwd: t.path,
        prefix: `${reg}/tmp/`,
        ops: 'write',
        at: 1,
        fault: 'ENOSPC',
      });
      assert.equal(r.code, 7, r.stdout + r.stderr);
      assert.equal(r.json?.error?.code, 'E_NO_SPACE');
      assert.match(
        r.json!.error!.message,
        /no space left on the device holding the registry's temp file .*\/reg\/tmp\//,
      );
      assert.doesNotMatch(r.json!.error!.message, /holding .*new\.bin/);
    } finally {
      t.cleanup();
    }
  });

  it('EIO and EINVAL from open, read, write and fsync of the index are never exit 70 nor "corrupt"/"readonly"', async () => {
    const t = tempDir();
    try {
      const reg = await registryWith(t.path);
      const seen: string[] = [];
      for (const ops of ['open', 'read', 'write', 'fsync']) {
        for (const fault of ['EIO', 'EINVAL'] as const) {
          const r = runWithFault({
            args: ['promote', 'm@1.0.0', '--to', 'staging', '--registry', reg, '--json'],
            cwd: t.path,
            prefix: `${reg}/mlreg.db`,
            ops,
            at: 1,
            fault,
          });
          seen.push(`${ops}/${fault}: ${r.code} ${r.json?.error?.code ?? ''}`);
          assert.notEqual(r.code, 70, `${ops} ${fault}: ${r.stdout}`);
          if (r.code !== 0) {
            assert.equal(r.code, 7, `${ops} ${fault}: ${r.stdout}`);
            assert.doesNotMatch(r.json!.error!.message, /readonly|malformed/, r.stdout);
            assert.doesNotMatch(r.json!.error!.hint, /restore/i, r.stdout);
          }
          const retry = await cliInProcess(['verify', '--json', '--registry', reg]);
          assert.equal(retry.code, 0, retry.stdout);
        }
      }
    } finally {
      t.cleanup();
    }
  });
});

describe('restore cannot remove its temp folder once the target is in place', { skip: shim.skip }, () => {
  it('at every failed unlink or rmdir: success once the target is in place, else exit 7 and a retry that works', async () => {
    const t = tempDir();
    try {
      const reg = await registryWith(t.path);
      const archive = join(t.path, 'b.tar');
      assert.equal((await cliInProcess(['backup', archive, '--registry', reg])).code, 0);
      for (const force of [false, true]) {
        const into = join(t.path, force ? 'reg' : 'fresh');
        const args = ['restore', archive, '--into', into, '--json', ...(force ? ['--force'] : [])];
        const count = (() => {
          const r = runWithFault({ args, cwd: t.path, prefix: `${t.path}/`, ops: 'unlink', at: 0, fault: 'EIO' });
          assert.equal(r.code, 0, r.stdout);
          return r.count;
        })();
        assert.ok(count > 0, 'restore removed nothing');
        for (const at of spread(count, 6)) {
          if (!force) spawnSync('rm', ['-rf', into]);
          const r = runWithFault({ args, cwd: t.path, prefix: `${t.path}/`, ops: 'unlink', at, fault: 'EIO' });
          if (r.code === 0) assert.equal(r.json?.data?.into, into);
          else {
            // Failed before the target was in place (SQLite's own journal, say): a disk fault, and the retry works.
            assert.equal(r.code, 7, `unlink ${at} of ${count} (${r.failed}): ${r.stdout}`);
            if (!force) spawnSync('rm', ['-rf', into]);
            const retry = await cliInProcess(args);
            assert.equal(retry.code, 0, `retry after unlink ${at}: ${retry.stdout}`);
          }
          const v = await cliInProcess(['verify', '--json', '--registry', into]);
          assert.equal(v.code, 0, v.stdout);
        }
      }
      // The next restores clean what could not be removed: temp folders next to DIR, copies aside of DIR.
      spawnSync('rm', ['-rf', join(t.path, 'fresh')]);
      assert.equal((await cliInProcess(['restore', archive, '--into', join(t.path, 'fresh')])).code, 0);
      assert.equal((await cliInProcess(['restore', archive, '--into', join(t.path, 'reg'), '--force'])).code, 0);
      assert.deepEqual(
        readdirSync(t.path).filter((n) => n.startsWith('.mlreg-')),
        [],
      );
    } finally {
      t.cleanup();
    }
  });
});

describe('restore --force killed between its two renames', { skip: shim.skip }, () => {
  it('the old registry is put back (or the new one is whole), and the next restore cleans the leftovers', async () => {
    const t = tempDir();
    try {
      const reg = await registryWith(t.path);
      const archive = join(t.path, 'b.tar');
      assert.equal((await cliInProcess(['backup', archive, '--registry', reg])).code, 0);
      const args = ['restore', archive, '--into', reg, '--force', '--json'];
      const renames = runWithFault({ args, cwd: t.path, prefix: `${t.path}/`, ops: 'rename', at: 0, fault: 'CRASH' });
      assert.equal(renames.code, 0, renames.stdout);
      assert.ok(renames.count >= 2, `restore made ${renames.count} renames`);
      for (let at = 1; at <= renames.count; at++) {
        const r = runWithFault({ args, cwd: t.path, prefix: `${t.path}/`, ops: 'rename', at, fault: 'CRASH' });
        assert.ok(r.killed, `rename ${at} of ${renames.count}: not killed (${r.failed})`);
        const list = await cliInProcess(['list', 'm', '--json', '--registry', reg]);
        assert.equal(list.code, 0, `after a crash at rename ${at} (${r.failed}): ${list.stdout}`);
        assert.equal(list.json!.data.versions.length, 1);
        const again = await cliInProcess(args);
        assert.equal(again.code, 0, again.stdout);
        const left = readdirSync(t.path).filter((n) => n.startsWith('.mlreg-'));
        assert.deepEqual(left, [], `leftovers after the next restore: ${left.join(', ')}`);
      }
    } finally {
      t.cleanup();
    }
  });
});

/** A 40 MB tmpfs; undefined (skip) where mounting is not permitted. */
function tmpfs(): { path: string; cleanup: () => void } | string {
  const t = tempDir('mlreg-tmpfs-');
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', t.path], { encoding: 'utf8' });
  if (m.status !== 0) {
    t.cleanup();
    return `cannot mount a tmpfs here (${m.error?.message ?? m.stderr.trim()})`;
  }
  chmodSync(t.path, 0o777);
  return {
    path: t.path,
    cleanup: () => {
      spawnSync('umount', [t.path]);
      t.cleanup();
    },
  };
}

function fill(dir: string, leaveKiB: number): void {
  // dd stops at the end of the device: fill all of it, then give back what should stay free.
  spawnSync('dd', ['if=/dev/zero', `of=${join(dir, 'fill')}`, 'bs=64k'], { encoding: 'utf8' });
  if (leaveKiB) spawnSync('truncate', ['-s', `-${leaveKiB}K`, join(dir, 'fill')]);
}

describe('a real full disk (40 MB tmpfs)', () => {
  const disk = tmpfs();
  const skip = typeof disk === 'string' ? disk : undefined;
  if (skip) it('skipped', { skip }, () => {});
  else {
    const d = disk as { path: string; cleanup: () => void };
    // Unmounted whatever the tests do (a failed assertion included).
    after(() => d.cleanup());
    it('backup .tgz fails like .tar: exit 7 E_NO_SPACE, one JSON document, no .partial left', async () => {
      const reg = await registryWith(d.path, 12_000_000);
      fill(d.path, 6_000);
      for (const name of ['x.tgz', 'x.tar', 'y.tgz']) {
        const r = await cliInProcess(['backup', join(d.path, name), '--registry', reg, '--json'], { cwd: d.path });
        assert.equal(r.code, 7, `${name}: ${r.stdout} ${r.stderr}`);
        assert.equal(r.json?.error?.code, 'E_NO_SPACE', r.stdout);
        assert.equal(r.stdout.trim().split('\n').length, 1);
        assert.doesNotMatch(r.json!.error!.hint, /nothing was registered/);
        assert.equal(existsSync(join(d.path, `${name}.partial`)), false, `${name}.partial left behind`);
      }
      const plain = await cliInProcess(['backup', join(d.path, 'z.tgz'), '--registry', reg], { cwd: d.path });
      assert.equal(plain.code, 7, plain.stderr);
      assert.equal(plain.stdout, '');
      assert.doesNotMatch(plain.stderr, /destroyed|internal/);
    });
    it('reading commands work on a 100%-full disk', async () => {
      const reg = join(d.path, 'reg');
      writeFileSync(join(d.path, 'small.bin'), 'v2');
      for (const args of [
        ['add', 'model', 'm', join(d.path, 'small.bin'), '--version', '1.0.1'],
        ['add', 'dataset', 'd', join(FIXTURES, 'datasets', 'train.csv')],
      ])
        assert.equal((await cliInProcess([...args, '--registry', reg])).code, 0, args.join(' '));
      rmSync(join(d.path, 'small.bin'));
      fill(d.path, 0);
      const elsewhere = tempDir();
      try {
        for (const args of [
          ['list'],
          ['list', 'm'],
          ['history', 'm'],
          ['show', 'm@production'],
          ['verify'],
          ['compare', 'm@1.0.0', 'm@1.0.1'],
          ['check', join(FIXTURES, 'datasets', 'batch_drifted.csv'), '--against', 'd@latest'],
          ['backup', join(elsewhere.path, 'b.tar')],
        ]) {
          const r = await cliInProcess([...args, '--registry', reg, '--json'], { cwd: d.path });
          // check exits 1 when the batch drifted: it ran all the same.
          assert.ok(
            r.code === 0 || (args[0] === 'check' && r.code === 1),
            `${args.join(' ')}: ${r.stdout} ${r.stderr}`,
          );
        }
      } finally {
        elsewhere.cleanup();
      }
      const write = await cliInProcess(['promote', 'm@1.0.0', '--to', 'staging', '--registry', reg, '--json'], {
        cwd: d.path,
      });
      assert.ok([0, 7].includes(write.code), write.stdout);
    });
  }
});

describe('a read-only registry (another user)', () => {
  const setpriv = spawnSync('setpriv', ['--version']).status === 0 && process.getuid?.() === 0;
  it('list, history, show and verify work as a user who may not write it', {
    skip: setpriv ? undefined : 'needs root and setpriv',
  }, async () => {
    const t = tempDir();
    try {
      chmodSync(t.path, 0o755);
      const reg = await registryWith(t.path);
      spawnSync('chmod', ['-R', 'a+rX,a-w', reg]);
      for (const args of [['list'], ['history', 'm'], ['show', 'm@production'], ['verify']]) {
        const r = spawnSync(
          'setpriv',
          [
            '--reuid=65534',
            '--regid=65534',
            '--clear-groups',
            process.execPath,
            BIN,
            ...args,
            '--registry',
            reg,
            '--json',
          ],
          { encoding: 'utf8', cwd: '/', env: { ...process.env, MLREG_ACTOR: 'nobody' } },
        );
        assert.equal(r.status, 0, `${args.join(' ')}: ${r.stdout} ${r.stderr}`);
        assert.equal(JSON.parse(r.stdout).ok, true);
      }
      // Nothing was written: no -wal or -shm appeared.
      spawnSync('chmod', ['-R', 'u+w', reg]);
    } finally {
      spawnSync('chmod', ['-R', 'u+w', t.path]);
      t.cleanup();
    }
  });
});
