import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, readlinkSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addVersion } from '../../../src/core/versions/add.js';
import { checkout } from '../../../src/core/versions/checkout.js';
import { tempRegistry } from '../../helpers.js';
import type { Registry } from '../../../src/core/registry/registry.js';

async function addModel(reg: Registry, dir: string, name: string, body: string): Promise<void> {
  mkdirSync(join(dir, name));
  const f = join(dir, name, 'model.bin');
  writeFileSync(f, body);
  await addVersion(reg, { kind: 'model', name, path: f, version: '1.0.0', actor: 'a' });
}

test('checkout does not reuse a version folder whose bytes differ from the manifest, even at the same sizes', async () => {
  const t = tempRegistry();
  try {
    // Two models, same version number, same file name, same size, different weights.
    await addModel(t.reg, t.dir, 'fraud', 'fraud weights AAAA');
    await addModel(t.reg, t.dir, 'churn', 'churn weights BBBB');
    const srv = join(t.dir, 'srv');
    const first = await checkout(t.reg, 'fraud@1.0.0', srv);
    assert.equal(first.reused, false);
    const second = await checkout(t.reg, 'churn@1.0.0', srv);
    assert.equal(second.reused, false, 'the folder holds fraud, not churn');
    assert.equal(readFileSync(join(srv, 'current', 'model.bin'), 'utf8'), 'churn weights BBBB');

    // A folder changed in place (same size) is written again from the store, not served.
    const file = join(srv, 'versions', '1.0.0', 'model.bin');
    chmodSync(file, 0o644);
    writeFileSync(file, 'churn weights XXXX');
    const third = await checkout(t.reg, 'churn@1.0.0', srv);
    assert.equal(third.reused, false);
    assert.equal(readFileSync(join(srv, 'current', 'model.bin'), 'utf8'), 'churn weights BBBB');

    // An intact folder is reused.
    const fourth = await checkout(t.reg, 'churn@1.0.0', srv);
    assert.equal(fourth.reused, true);

    // Changed in place with its mtime put back: the ctime still tells.
    const before = statSync(file);
    chmodSync(file, 0o644);
    writeFileSync(file, 'churn weights YYYY');
    utimesSync(file, before.atime, before.mtime);
    const fifth = await checkout(t.reg, 'churn@1.0.0', srv);
    assert.equal(fifth.reused, false);
    assert.equal(readFileSync(join(srv, 'current', 'model.bin'), 'utf8'), 'churn weights BBBB');
    assert.equal(readlinkSync(join(srv, 'current')), 'versions/1.0.0');
  } finally {
    t.cleanup();
  }
});
