import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { objectKey } from '../../src/core/remote/layout.js';
import { openRemote } from '../../src/core/remote/transport.js';
import { cliInProcess, FIXTURES, tempDir } from '../helpers.js';
import { ok, remoteKinds } from './remote-kinds.js';
import { REVIEW_SAMPLE } from './review-sample.js';

/**
 * The commands a replica used to refuse (review sample/import, profile, scan --all, gc) and verify of
 * objects not fetched yet, through the CLI in-process: on a file:// remote always, on the real S3
 * server (radosgw) when one was started (test/s3/with-s3.sh).
 */

const HOLDOUT = join(FIXTURES, 'datasets', 'holdout.csv');
const MODEL = join(FIXTURES, 'models', 'cancer-v1.joblib');

const kinds = remoteKinds('replica-rest');

for (const k of kinds) {
  test(`${k.kind}: review, profile, scan --all and gc are shared through the log; verify knows objects not local`, async () => {
    const t = tempDir('mlreg-replica-rest-');
    const url = k.make(t.path);
    const env = { ...k.env, MLREG_ACTOR: 'alice' };
    const on =
      (dir: string) =>
      (...args: string[]) =>
        cliInProcess(['--registry', join(t.path, dir), ...args], { cwd: t.path, env });
    const a = on('a');
    const b = on('b');
    const c = on('c');
    try {
      ok(await cliInProcess(['init', join(t.path, 'a'), '--remote', url], { cwd: t.path, env }), 'init');
      ok(await a('add', 'model', 'cancer', MODEL), 'add model');
      ok(await a('promote', 'cancer@1.0.0', '--to', 'production'), 'promote');
      ok(await a('add', 'dataset', 'holdout', HOLDOUT, '--no-profile'), 'add dataset');
      ok(await cliInProcess(['clone', url, join(t.path, 'b')], { cwd: t.path, env }), 'clone b');

      // review sample on B, import on A: the sample and its labels are shared.
      const f = join(t.path, 'review.csv');
      const sampled = ok(
        await b('--json', ...REVIEW_SAMPLE, '--n', '6', '--seed', '7', '-o', f),
        'review sample on a replica',
      );
      assert.equal(sampled.json!.data.sample, 1);
      const lines = readFileSync(f, 'utf8').trim().split('\n');
      writeFileSync(
        f,
        `${lines.map((l, i) => (i === 0 ? l : l + (Number(l.split(',').at(-3)) >= 0.5 ? 1 : 0))).join('\n')}\n`,
      );
      const imported = ok(await a('--json', 'review', 'import', f), 'review import on another replica');
      assert.equal(imported.json!.data.agreement, 1);
      const again = await b('review', 'import', f);
      assert.equal(again.code, 4, `imported once, everywhere: ${again.stderr}`);
      assert.match(again.stderr, /already imported/);

      // profile on B (its objects are fetched from the remote first), seen on A.
      const profiled = ok(await b('--json', 'profile', 'holdout@1.0.0'), 'profile on a replica');
      assert.equal(profiled.json!.data.computed, true);
      ok(await a('check', 'holdout@1.0.0', '--against', 'holdout@1.0.0'), 'the profile is on A too');

      // scan --all on a fresh clone that holds no model bytes: fetched, scanned, recorded for all.
      ok(await cliInProcess(['clone', url, join(t.path, 'c')], { cwd: t.path, env }), 'clone c');
      const scanned = ok(await c('--json', 'scan', '--all'), 'scan --all on a replica');
      assert.equal(scanned.json!.data.scanned, 1);
      const scanOf = async (dir: string) => ok(await on(dir)('--json', 'show', 'cancer@1.0.0'), 'show').json!.data.scan;
      const scanA = await scanOf('a');
      assert.equal(scanA.scannedBy, 'alice');
      assert.ok(scanA.scannedAt >= imported.json!.data.recorded.at, 'the newest scan is the one scan --all made');
      assert.deepEqual(scanA, await scanOf('c'));

      // verify on a replica: objects not fetched are not missing; --remote checks them there.
      ok(await cliInProcess(['clone', url, join(t.path, 'd')], { cwd: t.path, env }), 'clone d');
      const d = on('d');
      const v = ok(await d('--json', 'verify', '--offline'), 'verify a replica that holds no object');
      assert.ok(v.json!.data.objects.notLocal >= 3, JSON.stringify(v.json!.data.objects));
      assert.equal(v.json!.data.objects.remoteChecked, 0);
      const vr = ok(await d('--json', 'verify', '--remote'), 'verify --remote');
      assert.equal(vr.json!.data.objects.remoteChecked, vr.json!.data.objects.notLocal);
      assert.match(
        (await d('verify', '--remote', '--quick')).stdout,
        /not local \(remote\): \d+ checked on the remote/,
      );

      // gc --keep-last on a replica: the deletion is shared, objects/ is only a cache (no gc event).
      writeFileSync(join(t.path, 'm2.bin'), 'other weights');
      ok(await a('add', 'model', 'cancer', join(t.path, 'm2.bin')), 'add 1.1.0');
      writeFileSync(join(t.path, 'm3.bin'), 'more weights');
      ok(await b('add', 'model', 'cancer', join(t.path, 'm3.bin')), 'add 1.2.0');
      // A dry run on a replica that is behind judges the head, and sends nothing.
      const dry = ok(await c('--json', 'gc', '--keep-last', '1', '--dry-run'), 'gc --dry-run on a replica').json!.data;
      assert.deepEqual(dry.versionsDeleted, [{ name: 'cancer', version: '1.1.0' }]);
      const gc = ok(await b('--json', 'gc', '--keep-last', '1', '--grace', '0'), 'gc on a replica');
      assert.deepEqual(gc.json!.data.versionsDeleted, [{ name: 'cancer', version: '1.1.0' }]);
      assert.equal(gc.json!.data.remote, null);
      const listA = ok(await a('--json', 'list', 'cancer'), 'list on a').json!.data;
      assert.deepEqual(
        listA.versions.map((x: { version: string }) => x.version),
        ['1.2.0', '1.0.0'],
      );
      // gc --remote: the deleted version's objects are unreferenced but young (a writer may still need them).
      const remoteGc = ok(await b('--json', 'gc', '--remote', '--remote-grace', '1h'), 'gc --remote').json!.data;
      assert.equal(remoteGc.remote.objectsRemoved, 0);
      assert.ok(remoteGc.remote.objectsInGrace >= 1, JSON.stringify(remoteGc.remote));
      assert.equal((await b('gc', '--remote', '--remote-grace', '10m')).code, 2, 'a grace under 1 h is refused');
      assert.equal((await b('gc', '--offline')).code, 2, 'gc needs the remote');
      const plain = join(t.path, 'plain');
      ok(await cliInProcess(['init', plain], { cwd: t.path, env }), 'init a local registry');
      const notReplica = await cliInProcess(['--registry', plain, 'gc', '--remote'], { cwd: t.path, env });
      assert.equal(notReplica.code, 2);
      assert.match(notReplica.stderr, /E_NOT_A_REPLICA|only local/);
      const historyOf = async (run: typeof a) =>
        ok(await run('--json', 'history', 'cancer', '--all'), 'history').json!.data;
      assert.deepEqual(await historyOf(a), await historyOf(b));
      assert.deepEqual(await historyOf(a), await historyOf(c));

      // verify --remote: an object lost from the remote is damage (exit 5); without --remote it is only not local.
      const store = await openRemote(url, k.endpoint ? { endpoint: k.endpoint } : {});
      try {
        const shown = ok(await a('--json', 'show', 'cancer@1.2.0'), 'show').json!.data;
        await store.delete(objectKey(shown.manifest.files[0].sha256));
      } finally {
        store.close();
      }
      rmSync(join(t.path, 'd'), { recursive: true, force: true });
      ok(await cliInProcess(['clone', url, join(t.path, 'd')], { cwd: t.path, env }), 'clone d again');
      ok(await d('verify', '--quick'), 'not local is not damage');
      const lost = await d('--json', 'verify', '--remote', '--quick');
      assert.equal(lost.code, 5, lost.stderr);
      assert.ok(
        lost.json!.error!.details.problems.some(
          (p: { kind: string; message: string }) =>
            p.kind === 'object-missing' && /missing from the remote/.test(p.message),
        ),
      );
    } finally {
      t.cleanup();
    }
  });
}
