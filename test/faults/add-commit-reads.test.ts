import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cliInProcess, tempDir } from '../helpers.js';
import { buildShim, registryWith, runWithFault } from './sweep.js';

/**
 * An exhaustive fault loop (npm run test:faults, run by .ci/run): EIO at every single read of the
 * index during an add, each followed by a check that the answer matches what the index holds.
 */

const shim = buildShim();

describe("a read failing around add's commit", { skip: shim.skip }, () => {
  it('reports a version exactly when one was registered (EIO at each read of the index)', async () => {
    const t = tempDir();
    try {
      const reg = await registryWith(t.path);
      writeFileSync(join(t.path, 'next.bin'), randomBytes(1000));
      const args = ['add', 'model', 'm', join(t.path, 'next.bin'), '--registry', reg, '--json'];
      const prefix = `${reg}/mlreg.db`;
      const reads = runWithFault({
        args: ['list', '--registry', reg, '--json'],
        cwd: t.path,
        prefix,
        ops: 'read',
        at: 0,
        fault: 'EIO',
      });
      assert.ok(reads.count > 0);
      let n = 1;
      const total = runWithFault({ args, cwd: t.path, prefix, ops: 'read', at: 0, fault: 'EIO' }).count;
      for (let at = 1; at <= total; at++) {
        const before = (await cliInProcess(['list', 'm', '--json', '--registry', reg])).json!.data.versions.length;
        const r = runWithFault({ args, cwd: t.path, prefix, ops: 'read', at, fault: 'EIO' });
        const after = (await cliInProcess(['list', 'm', '--json', '--registry', reg])).json!.data.versions.length;
        assert.notEqual(r.code, 70, r.stdout);
        if (r.code === 0) assert.equal(after, before + 1, `read ${at}: success without a new version`);
        else assert.equal(after, before, `read ${at}: exit ${r.code} ${r.stdout} although a version was registered`);
        n++;
      }
      assert.ok(n > 2);
    } finally {
      t.cleanup();
    }
  });
});
