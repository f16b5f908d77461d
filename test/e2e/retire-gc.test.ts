import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliInProcess, cliAsync, FIXTURES, tempDir } from '../helpers.js';
import { registryState } from '../registry-state.js';

const MODELS = join(FIXTURES, 'models');

test('deprecate, delete and gc through the CLI: refusals exit with their codes and change nothing', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    const root = join(cwd, '.mlreg');
    assert.equal((await cliInProcess(['init'], { cwd })).code, 0);
    for (const f of ['cancer-v1.joblib', 'cancer-v2.joblib'])
      assert.equal((await cliInProcess(['add', 'model', 'cancer', join(MODELS, f), '--json'], { cwd })).code, 0);
    assert.equal((await cliInProcess(['promote', 'cancer@1.0.0', '--to', 'production', '--json'], { cwd })).code, 0);
    assert.equal((await cliInProcess(['promote', 'cancer@1.1.0', '--to', 'production', '--json'], { cwd })).code, 0);
    const before = registryState(root);

    const cases: [string[], number, string, RegExp][] = [
      [['delete', 'cancer@1.1.0'], 4, 'E_VERSION_IN_USE', /holds the production stage/],
      [['delete', 'cancer@1.0.0'], 4, 'E_ONLY_WAY_BACK', /only way back/],
      [['delete', 'cancer@3.0.0'], 3, 'E_VERSION_NOT_FOUND', /3\.0\.0/],
      [['deprecate', 'nosuch@1.0.0'], 3, 'E_ARTIFACT_NOT_FOUND', /nosuch/],
      [['gc', '--keep-last', '0'], 2, 'E_BAD_NUMBER', /--keep-last/],
      [['gc', '--grace', 'soon'], 2, 'E_BAD_NUMBER', /--grace/],
    ];
    for (const [args, code, errCode, message] of cases) {
      const r = await cliInProcess([...args, '--json'], { cwd });
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stdout}`);
      assert.equal(r.json?.error?.code, errCode, args.join(' '));
      assert.match(r.json!.error!.message, message);
      assert.ok(r.json!.error!.hint.length > 0);
      assert.deepEqual(registryState(root), before, `${args.join(' ')} changed nothing`);
    }

    const dep = await cliInProcess(['deprecate', 'cancer@1.0.0', '--reason', 'leaks the label'], { cwd });
    assert.equal(dep.code, 0);
    assert.match(dep.stdout, /Deprecated cancer@1\.0\.0/);
    assert.match((await cliInProcess(['list', 'cancer'], { cwd })).stdout, /1\.0\.0 \(deprecated\)/);
    assert.match((await cliInProcess(['show', 'cancer@1.0.0'], { cwd })).stdout, /DEPRECATED .*leaks the label/);
    const promote = await cliInProcess(['promote', 'cancer@1.0.0', '--to', 'staging', '--json'], { cwd });
    assert.equal(promote.code, 4);
    // Deprecated, it is no longer a way back: delete goes through without --force.
    const del = await cliInProcess(['delete', 'cancer@1.0.0', '--reason', 'cleanup', '--json'], { cwd });
    assert.equal(del.code, 0, del.stdout);
    assert.ok(del.json!.data.bytesForGc >= readFileSync(join(MODELS, 'cancer-v1.joblib')).length);
    // Within the grace period nothing goes, and gc says why and what to do.
    const young = await cliInProcess(['gc', '--dry-run'], { cwd });
    assert.match(young.stdout, /Would remove 0 objects/);
    assert.match(young.stdout, /Kept 2 unreferenced objects \(.+\) younger than the grace period of 600 s/);
    assert.match(young.stdout, /--grace 0/);
    const dry = await cliInProcess(['gc', '--dry-run', '--grace', '0', '--json'], { cwd });
    assert.equal(dry.json!.data.objectsRemoved, 2);
    const stateAfterDry = registryState(root);
    assert.equal(stateAfterDry.objects.length, before.objects.length, 'dry run removed nothing');
    const real = await cliInProcess(['gc', '--grace', '0'], { cwd });
    assert.equal(real.code, 0);
    assert.match(real.stdout, /Removed 2 objects/);
    assert.equal((await cliInProcess(['verify', '--json'], { cwd })).code, 0);
    const hist = (await cliInProcess(['history', 'cancer', '--all', '--json'], { cwd })).json!.data.events;
    assert.deepEqual(
      hist.slice(0, 2).map((e: { kind: string; to: string }) => [e.kind, e.to]),
      [
        ['delete', '1.0.0'],
        ['deprecate', '1.0.0'],
      ],
    );
  } finally {
    t.cleanup();
  }
});

test('gc racing add in other processes never takes a blob an add is about to index', { timeout: 240_000 }, async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    assert.equal((await cliInProcess(['init'], { cwd })).code, 0);
    // Content that is stored but unreferenced (its version deleted): exactly what gc sweeps and a
    // new add of the same bytes reuses.
    const files = Array.from({ length: 4 }, (_, i) => {
      const f = join(cwd, `model-${i}.bin`);
      writeFileSync(f, randomBytes(8 << 20));
      return f;
    });
    for (const f of files) {
      const a = await cliInProcess(['add', 'model', 'race', f, '--json'], { cwd });
      assert.equal(a.code, 0, a.stderr);
      assert.equal((await cliInProcess(['delete', `race@${a.json!.data.version.version}`, '--json'], { cwd })).code, 0);
    }
    let stop = false;
    let sweeps = 0;
    const collector = (async () => {
      while (!stop) {
        const g = await cliAsync(['gc', '--grace', '0', '--json'], { cwd });
        assert.equal(g.code, 0, g.stdout + g.stderr);
        sweeps++;
      }
    })();
    const added: string[] = [];
    for (let round = 0; round < 4; round++) {
      const results = await Promise.all(files.map((f) => cliAsync(['add', 'model', 'race', f, '--json'], { cwd })));
      for (const r of results) {
        assert.equal(r.code, 0, r.stdout + r.stderr);
        added.push(r.json!.data.version.version);
      }
      // Retire this round's versions again so the next round races gc on the same bytes.
      if (round < 3)
        for (const v of added.splice(0))
          assert.equal((await cliInProcess(['delete', `race@${v}`, '--json'], { cwd })).code, 0);
    }
    stop = true;
    await collector;
    assert.ok(sweeps > 0);
    const v = await cliInProcess(['verify', '--json'], { cwd });
    assert.equal(v.code, 0, v.stdout);
    // Every surviving version checks out byte for byte.
    for (const [i, ver] of added.entries()) {
      const co = await cliInProcess(['checkout', `race@${ver}`, join(cwd, `srv-${i}`), '--json'], { cwd });
      assert.equal(co.code, 0, co.stdout);
    }
  } finally {
    t.cleanup();
  }
});
