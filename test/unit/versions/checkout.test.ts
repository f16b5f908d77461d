import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { addVersion } from '../../../src/core/versions/add.js';
import {
  checkout,
  prepareCheckout,
  readVersionInfo,
  switchAfterCommit,
  VERSION_INFO_FILE,
} from '../../../src/core/versions/checkout.js';
import { promote } from '../../../src/core/stages/promote.js';
import { resolveRef } from '../../../src/core/versions/refs.js';
import type { MlregError } from '../../../src/core/errors.js';
import { asPrinted, tempRegistry } from '../../helpers.js';
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

async function addVersionOf(reg: Registry, dir: string, version: string, body: string): Promise<void> {
  const f = join(dir, `m-${version}.bin`);
  writeFileSync(f, body);
  await addVersion(reg, { kind: 'model', name: 'm', path: f, version, actor: 'a' });
}

test('a switch after the commit writes the metadata file and points current at the version the stage holds', async () => {
  const t = tempRegistry();
  try {
    await addVersionOf(t.reg, t.dir, '1.0.0', 'one');
    const srv = join(t.dir, 'srv');
    const prepared = await prepareCheckout(t.reg, 'm@1.0.0', srv);
    const move = promote(t.reg, { ref: 'm@1.0.0', stage: 'production', actor: 'a' });
    assert.equal(readdirSync(srv).includes('current'), false, 'nothing switched before the commit');
    const done = switchAfterCommit(t.reg, prepared, srv, move);
    assert.equal(done.version, '1.0.0');
    const info = readVersionInfo(srv);
    assert.deepEqual(
      { ...info, switchedAt: typeof info?.switchedAt },
      {
        name: 'm',
        version: '1.0.0',
        digest: prepared.version.digest,
        kind: 'model',
        stage: 'production',
        switchedAt: 'string',
        previous: null,
      },
    );
    assert.equal(
      JSON.parse(readFileSync(join(srv, 'current', VERSION_INFO_FILE), 'utf8')).version,
      '1.0.0',
      'readable through DIR/current',
    );
  } finally {
    t.cleanup();
  }
});

test('a switch that fails after the commit leaves the move standing and says how to reconcile (E_CHECKOUT_BEHIND)', async () => {
  const t = tempRegistry();
  try {
    await addVersionOf(t.reg, t.dir, '1.0.0', 'one');
    await addVersionOf(t.reg, t.dir, '2.0.0', 'two');
    const srv = join(t.dir, 'srv');
    const prepared = await prepareCheckout(t.reg, 'm@1.0.0', srv);
    // The folder was fine when prepared; someone put a real folder there before the switch.
    mkdirSync(join(srv, 'current'));
    const move = promote(t.reg, { ref: 'm@1.0.0', stage: 'production', actor: 'a' });
    assert.throws(
      () => switchAfterCommit(t.reg, prepared, srv, move),
      (err: MlregError) =>
        err.code === 'E_CHECKOUT_BEHIND' &&
        err.exitCode === 4 &&
        /now holds 1\.0\.0/.test(err.message) &&
        asPrinted(err.hint).includes(`mlreg follow m@production ${srv} --once`),
    );
    assert.equal(t.reg.read(() => resolveRef(t.reg, 'm@production')).version, '1.0.0', 'the move stands');

    // A stage that moved on before the switch: current is not switched to the version it left.
    const srv2 = join(t.dir, 'srv2');
    const p2 = await prepareCheckout(t.reg, 'm@1.0.0', srv2);
    promote(t.reg, { ref: 'm@2.0.0', stage: 'production', actor: 'a' });
    assert.throws(
      () => switchAfterCommit(t.reg, p2, srv2, { name: 'm', stage: 'production', to: '1.0.0' }),
      (err: MlregError) => err.code === 'E_CHECKOUT_BEHIND' && /moved on to 2\.0\.0/.test(err.message),
    );
    assert.equal(readdirSync(srv2).includes('current'), false);
  } finally {
    t.cleanup();
  }
});
