import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cliInProcess, tempDir } from '../helpers.js';
import { buildShim, runWithFault, spread } from './sweep.js';

/**
 * A read the disk fails while restore or `backup verify` reads an archive (or the index it extracted
 * from it) is a disk fault (exit 7, E_IO), never a damaged archive (exit 5): the archive is fine, and
 * "use another backup" would be the wrong advice.
 */

const shim = buildShim();

describe('restore and backup verify: EIO reading the archive or its extracted index', { skip: shim.skip }, () => {
  const t = tempDir('mlreg-archive-read-');
  const reg = join(t.path, 'reg');
  before(async () => {
    assert.equal((await cliInProcess(['init', reg])).code, 0);
    writeFileSync(join(t.path, 'm.bin'), randomBytes(2_500_000));
    assert.equal((await cliInProcess(['add', 'model', 'm', join(t.path, 'm.bin'), '--registry', reg])).code, 0);
    for (const ext of ['tar', 'tgz'])
      assert.equal((await cliInProcess(['backup', join(t.path, `b.${ext}`), '--registry', reg])).code, 0);
    mkdirSync(join(t.path, 'tmp'));
  });
  after(() => t.cleanup());

  const commands = (archive: string, into: string): [string, string[]][] => [
    ['restore', ['restore', archive, '--into', into, '--json']],
    ['backup verify', ['backup', 'verify', archive, '--json']],
  ];

  /** Fail each (spread) matching read; every outcome is success or E_IO naming `names`, never exit 5 or 70. */
  function sweep(label: string, args: string[], prefix: string, names: RegExp, into: string): number {
    // backup verify extracts the index under TMPDIR: keep it under the test's folder.
    const env = { TMPDIR: join(t.path, 'tmp') };
    const base = { args, cwd: t.path, prefix, ops: 'read', fault: 'EIO' as const, env };
    const count = runWithFault({ ...base, at: 0 }).count;
    rmSync(into, { recursive: true, force: true });
    assert.ok(count > 0, `${label}: no read matched ${prefix}`);
    let faults = 0;
    for (const at of spread(count, 8)) {
      const r = runWithFault({ ...base, at });
      rmSync(into, { recursive: true, force: true });
      if (r.code === 0) continue; // a read whose failure nobody waits for (read-ahead after the last entry)
      faults++;
      assert.equal(r.code, 7, `${label}, read ${at} of ${count} (${r.failed}): ${r.stdout}`);
      assert.equal(r.json?.error?.code, 'E_IO', r.stdout);
      assert.match(r.json!.error!.message, names, r.stdout);
      assert.doesNotMatch(r.json!.error!.hint, /another backup/, r.stdout);
    }
    return faults;
  }

  for (const ext of ['tar', 'tgz']) {
    it(`.${ext}: a read of the archive the disk fails`, () => {
      const archive = join(t.path, `b.${ext}`);
      const into = join(t.path, `out-${ext}`);
      for (const [label, args] of commands(archive, into))
        assert.ok(sweep(`${label} .${ext}`, args, archive, new RegExp(`b\\.${ext}`), into) > 0);
    });
    it(`.${ext}: a read of the index extracted from the archive the disk fails`, () => {
      const archive = join(t.path, `b.${ext}`);
      const into = join(t.path, `out-${ext}`);
      const [[, restore], [, verify]] = commands(archive, into) as [[string, string[]], [string, string[]]];
      const mlregDb = /mlreg\.db/;
      assert.ok(sweep(`restore .${ext}`, restore, join(t.path, '.mlreg-restore-'), mlregDb, into) > 0);
      assert.ok(sweep(`backup verify .${ext}`, verify, join(t.path, 'tmp', 'mlreg-backup-verify-'), mlregDb, into) > 0);
    });
  }
});
