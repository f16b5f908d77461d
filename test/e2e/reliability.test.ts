import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, cli, cliInProcess, cliAsync, tempDir, writeBigFile } from '../helpers.js';

/** kill -9 in the middle of an add, and many writers at once: nothing half-done, nothing lost. */

/**
 * Start an add and SIGKILL it `extraMs` after its first temp object appears in tmp/ (so the kill
 * lands while bytes are being stored, whatever the speed of the disk); resolves when it is gone.
 */
function killDuringStore(args: string[], cwd: string, tmp: string, extraMs: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, MLREG_ACTOR: 'killer', NO_COLOR: '1' },
      stdio: 'ignore',
    });
    const poll = setInterval(() => {
      if (readdirSync(tmp).some((f) => f.endsWith('.obj'))) {
        clearInterval(poll);
        setTimeout(() => child.kill('SIGKILL'), extraMs);
      }
    }, 2);
    child.on('exit', async () => {
      clearInterval(poll);
      resolve();
    });
  });
}

test('kill -9 during add of a 300 MB model at random moments: no version appears, leftovers are cleaned, adding again works', {
  timeout: 240_000,
}, async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    await cliInProcess(['init'], { cwd });
    const tmp = join(cwd, '.mlreg', 'tmp');
    const big = join(cwd, 'big-model.bin');
    writeBigFile(big, 300);
    // Time one full add, to spread the later kills over its length.
    const startedAt = Date.now();
    const full = cli(['add', 'model', 'probe', big], { cwd });
    assert.equal(full.code, 0, full.stderr);
    const duration = Date.now() - startedAt;
    let killedBeforeCommit = 0;
    let visible = 0;
    // Three kills as soon as bytes are being stored, three at random moments after that.
    const delays = [0, 0, 0, ...[1, 2, 3].map(() => Math.floor(Math.random() * duration))];
    for (const [i, delay] of delays.entries()) {
      // New content every time, so each add really stores a new 300 MB object.
      const fd = openSync(big, 'r+');
      writeSync(fd, Buffer.from(`victim ${i}`), 0, undefined, 0);
      closeSync(fd);
      await killDuringStore(['add', 'model', 'victim', big], cwd, tmp, delay);
      const versions =
        (
          ((await cliInProcess(['list', '--json'], { cwd })).json?.data.artifacts ?? []) as {
            name: string;
            versions: number;
          }[]
        ).find((a) => a.name === 'victim')?.versions ?? 0;
      // A kill lands before the commit (nothing visible) or after it (one whole version, checked below).
      assert.ok(
        versions === visible || versions === visible + 1,
        `after a kill ${delay} ms into storing: ${versions} versions, had ${visible}`,
      );
      if (versions === visible) killedBeforeCommit++;
      visible = versions;
    }
    assert.ok(
      killedBeforeCommit >= 3,
      `the kills while storing left nothing visible (${killedBeforeCommit}/6 before the commit)`,
    );
    // Every version that became visible is whole: verify re-hashes each object of every version
    // against its digest (what a checkout of each would check, without writing 300 MB copies).
    const verified = await cliInProcess(['verify', '--json'], { cwd });
    assert.equal(verified.code, 0, verified.stdout);
    const objects = verified.json?.data?.objects;
    // Two objects a version (its file and its manifest), for the probe and each visible victim.
    assert.equal(objects?.referenced, 2 * (visible + 1));
    assert.ok(objects.bytes > (visible + 1) * 300 * 1024 * 1024);
    assert.equal(objects.hashedBytes, objects.bytes, 'every byte of them re-hashed');
    const again = await cliInProcess(['add', 'model', 'victim', big, '--json'], { cwd });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      readdirSync(join(cwd, '.mlreg', 'tmp')),
      [],
      'temp files of killed writers are cleaned by the next write',
    );
    const out = join(cwd, 'out');
    const co = await cliInProcess(['checkout', `victim@${again.json?.data.version.version}`, out, '--json'], { cwd });
    assert.equal(co.code, 0, co.stderr);
    assert.equal(co.json?.data.bytes, 300 * 1024 * 1024);
  } finally {
    t.cleanup();
  }
});

test('8 processes adding and promoting on one registry at once: all succeed, versions unique, history complete', {
  timeout: 120_000,
}, async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    await cliInProcess(['init'], { cwd });
    const files = Array.from({ length: 8 }, (_, i) => {
      const f = join(cwd, `model-${i}.bin`);
      writeBigFile(f, 2);
      return f;
    });
    const jobs = files.map(async (f, i) => {
      const add = await cliAsync(['add', 'model', 'shared', f, '--bump', 'patch', '--json', '--actor', `job-${i}`], {
        cwd,
      });
      assert.equal(add.code, 0, `job ${i} add: ${add.stdout} ${add.stderr}`);
      const version = add.json?.data.version.version as string;
      const promoted = await cliAsync(
        ['promote', `shared@${version}`, '--to', 'production', '--reason', `job ${i}`, '--json', '--actor', `job-${i}`],
        { cwd },
      );
      assert.equal(promoted.code, 0, `job ${i} promote: ${promoted.stdout} ${promoted.stderr}`);
      return version;
    });
    const versions = await Promise.all(jobs);
    assert.equal(new Set(versions).size, 8, `unique versions: ${versions.join(', ')}`);
    const listed = (await cliInProcess(['list', 'shared', '--json'], { cwd })).json?.data.versions as {
      version: string;
    }[];
    assert.equal(listed.length, 8);
    const events = (await cliInProcess(['history', 'shared', '--json'], { cwd })).json?.data.events as {
      kind: string;
      from: string | null;
      to: string;
    }[];
    assert.equal(events.length, 8);
    // The chain of moves is complete: each promote's "from" is the previous promote's "to".
    const chrono = [...events].reverse();
    assert.equal(chrono[0]!.from, null);
    for (let i = 1; i < chrono.length; i++) assert.equal(chrono[i]!.from, chrono[i - 1]!.to);
    assert.deepEqual([...versions].sort(), chrono.map((e) => e.to).sort());
  } finally {
    t.cleanup();
  }
});
