import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openRemote, type RemoteStore } from '../../src/core/remote/transport.js';
import Database from 'better-sqlite3';
import { SHARED_TABLES } from '../../src/core/remote/checkpoint.js';
import { logKey, objectKey } from '../../src/core/remote/layout.js';
import { BIN, cliAsync, cliInProcess, tempDir } from '../helpers.js';
import { ok, remoteKinds } from './remote-kinds.js';

/**
 * Replicas of one remote, through the CLI: the file:// remote always, and the same suite on the real
 * S3 server (radosgw, test/s3/start-s3.sh) when MLREG_TEST_S3_ENDPOINT is set.
 */

const kinds = remoteKinds('replica');

/** Run a writer that stops at a protocol step, and kill -9 it there. */
function killAtStep(args: string[], env: Record<string, string | undefined>, step: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, NO_COLOR: '1', MLREG_ACTOR: 'killed', ...env, MLREG_TEST_STOP_AT: step },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the writer never reached ${step}: ${err}`));
    }, 30_000);
    child.stderr.on('data', (d) => {
      err += d;
      if (err.includes(`stopped at ${step}`)) child.kill('SIGKILL');
    });
    child.on('exit', (_code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL' && err.includes(`stopped at ${step}`)) resolve(err);
      else reject(new Error(`the writer ended without stopping at ${step}: ${err}`));
    });
  });
}

for (const k of kinds) {
  describe(`replicas of one ${k.kind}:// remote`, () => {
    let tmp: { path: string; cleanup: () => void };
    let url: string;
    let store: RemoteStore;
    const reps: string[] = [];
    // One process each would cost a Node start; only the concurrent and kill -9 runs need real processes.
    const run = (rep: string, args: string[]) => cliInProcess(['--registry', rep, ...args], { env: k.env });
    const runAsync = (rep: string, args: string[]) => cliAsync(['--registry', rep, ...args], { env: k.env });
    const json = async (rep: string, args: string[]) =>
      ok(await run(rep, [...args, '--json']), args.join(' ')).json!.data;
    const model = (name: string): string => {
      const p = join(tmp.path, `${name}-${randomBytes(4).toString('hex')}.bin`);
      writeFileSync(p, randomBytes(2048));
      return p;
    };
    const sameEverywhere = async (args: string[]) => {
      const first = JSON.stringify(await json(reps[0]!, args));
      for (const r of reps.slice(1))
        assert.equal(JSON.stringify(await json(r, args)), first, `${args.join(' ')} on ${r}`);
    };
    const head = async (): Promise<number> => {
      let n = 0;
      for await (const e of store.list('log/')) if (/^log\/\d{20}\.json$/.test(e.key)) n++;
      return n;
    };

    before(async () => {
      tmp = tempDir('mlreg-replica-');
      url = k.make(tmp.path);
      for (const name of ['a', 'b', 'c']) reps.push(join(tmp.path, name));
      ok(await cliInProcess(['init', reps[0]!, '--remote', url], { env: k.env }), 'init --remote');
      ok(await run(reps[0]!, ['add', 'model', 'fraud', model('v1'), '--metric', 'auc=0.9']), 'add');
      ok(await run(reps[0]!, ['promote', 'fraud@1.0.0', '--to', 'production']), 'promote');
      ok(await cliInProcess(['clone', url, reps[1]!], { env: k.env }), 'clone b');
      ok(await cliInProcess(['clone', url, reps[2]!], { env: k.env }), 'clone c');
      store = await openRemote(url, { endpoint: k.env.AWS_ENDPOINT_URL_S3 });
    });
    after(() => {
      store?.close();
      tmp.cleanup();
    });

    test('init --remote refuses a remote that holds a registry, with a hint to clone', async () => {
      const r = await cliInProcess(['init', join(tmp.path, 'other'), '--remote', url, '--json'], { env: k.env });
      assert.equal(r.code, 4);
      assert.equal(r.json?.error?.code, 'E_REMOTE_EXISTS');
      assert.match(r.json!.error!.hint, /mlreg clone/);
    });

    test('8 processes across 3 replicas promote with the same --expect: exactly one wins, 7 exit 4', async () => {
      for (let i = 0; i < 8; i++) ok(await run(reps[i % 3]!, ['add', 'model', 'fraud', model(`p${i}`)]), 'add');
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          runAsync(reps[i % 3]!, ['promote', `fraud@1.${i + 1}.0`, '--to', 'production', '--expect', '1.0.0']),
        ),
      );
      const codes = results.map((r) => r.code).sort();
      assert.deepEqual(codes, [0, 4, 4, 4, 4, 4, 4, 4], results.map((r) => r.stderr).join('\n'));
      for (const r of results.filter((x) => x.code === 4)) assert.match(r.stderr, /not 1\.0\.0 as expected/);
      const winner = results.findIndex((r) => r.code === 0);
      for (const rep of reps) {
        ok(await run(rep, ['pull']), 'pull');
        assert.equal(
          (await json(rep, ['list', 'fraud'])).versions.find((v: any) => v.stages.includes('production')).version,
          `1.${winner + 1}.0`,
        );
      }
    });

    test('8 concurrent add --bump patch across 3 replicas: 8 distinct versions', async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          runAsync(reps[i % 3]!, ['add', 'model', 'bumped', model(`b${i}`), '--bump', 'patch', '--json']),
        ),
      );
      for (const r of results) ok(r, 'add --bump patch');
      const versions = results.map((r) => JSON.parse(r.stdout).data.version.version as string);
      assert.equal(new Set(versions).size, 8, versions.join(' '));
      for (const rep of reps) ok(await run(rep, ['pull']), 'pull');
      assert.equal((await json(reps[2]!, ['list', 'bumped'])).versions.length, 8);
    });

    test('every shared change replicates: deprecate, delete, eval record, config, rollback; list/history/show equal', async () => {
      const [a, b, c] = reps as [string, string, string];
      ok(await run(b, ['config', 'set', 'metric.auc.direction', 'higher']), 'config set');
      ok(await run(c, ['add', 'dataset', 'holdout', model('holdout'), '--no-profile']), 'add dataset');
      ok(await run(a, ['eval', 'record', 'fraud@1.0.0', '--on', 'holdout@1.0.0', 'auc=0.91']), 'eval record');
      ok(await run(b, ['deprecate', 'fraud@1.8.0', '--reason', 'bad']), 'deprecate');
      ok(await run(c, ['add', 'model', 'scratch', model('s')]), 'add scratch');
      ok(await run(a, ['delete', 'scratch@1.0.0']), 'delete');
      ok(await run(b, ['rollback', 'fraud', '--reason', 'incident']), 'rollback');
      // Monitoring: observations (one entry per command), stored rules, a fired alert.
      ok(await run(c, ['monitor', 'record', 'fraud', 'auc=0.80', 'accuracy=0.9']), 'monitor record');
      ok(await run(a, ['monitor', 'rule', 'add', 'fraud', 'auc < 0.85', '--window', '1']), 'monitor rule add');
      ok(await run(a, ['monitor', 'rule', 'add', 'fraud', 'accuracy < 0.5']), 'monitor rule add');
      ok(await run(b, ['monitor', 'rule', 'remove', 'fraud', 'accuracy < 0.5']), 'monitor rule remove');
      assert.equal((await run(b, ['monitor', 'check', 'fraud'])).code, 1, 'the rule fires');
      for (const rep of reps) ok(await run(rep, ['pull']), 'pull');
      await sameEverywhere(['monitor', 'show', 'fraud']);
      await sameEverywhere(['monitor', 'rule', 'list', 'fraud']);
      await sameEverywhere(['list']);
      await sameEverywhere(['list', 'fraud']);
      await sameEverywhere(['history', 'fraud', '--all']);
      await sameEverywhere(['show', 'fraud@1.0.0']);
      await sameEverywhere(['config', 'list']);
      assert.equal(
        (await json(c, ['list', 'fraud'])).versions.find((v: any) => v.version === '1.0.0').stages[0],
        'production',
      );
    });

    test('a reading command refreshes first: a change made elsewhere is seen without pull', async () => {
      ok(await run(reps[0]!, ['add', 'model', 'fresh', model('f')]), 'add');
      assert.equal((await json(reps[2]!, ['list', 'fresh'])).versions.length, 1);
      assert.equal((await json(reps[1]!, ['list', 'fresh'])).versions.length, 1);
      // --offline answers from the replica as it is.
      ok(await run(reps[0]!, ['add', 'model', 'fresh', model('f2')]), 'add');
      assert.equal((await json(reps[1]!, ['list', 'fresh', '--offline'])).versions.length, 1);
      const w = await run(reps[1]!, ['promote', 'fresh@1.0.0', '--to', 'staging', '--offline', '--json']);
      assert.equal(w.code, 2);
      assert.equal(w.json?.error?.code, 'E_OFFLINE_WRITE');
    });

    test('kill -9 after the objects are uploaded, before the log PUT: nothing visible anywhere; the next command works', async () => {
      const [a, b] = reps as [string, string];
      ok(await run(a, ['pull']), 'pull');
      const before = await head();
      const historyBefore = JSON.stringify(await json(b, ['history', 'fraud', '--all']));
      await killAtStep(['--registry', a, 'add', 'model', 'fraud', model('killed')], k.env, 'objects-uploaded');
      assert.equal(await head(), before, 'no log entry was created');
      assert.equal(JSON.stringify(await json(b, ['history', 'fraud', '--all'])), historyBefore);
      assert.equal(JSON.stringify(await json(a, ['history', 'fraud', '--all'])), historyBefore);
      ok(await run(a, ['add', 'model', 'fraud', model('after-kill')]), 'the next add');
      assert.equal(await head(), before + 1);
    });

    test('kill -9 after the log PUT, before the local commit: the change is in the log and every replica converges', async () => {
      const [a, b] = reps as [string, string];
      const before = await head();
      await killAtStep(['--registry', a, 'deprecate', 'fraud@1.7.0'], k.env, 'entry-created');
      assert.equal(await head(), before + 1, 'the entry is on the remote');
      // The killed writer's folder never committed it locally; its next command applies it from the log.
      assert.ok((await json(a, ['list', 'fraud'])).versions.find((v: any) => v.version === '1.7.0').deprecated);
      assert.ok((await json(b, ['list', 'fraud'])).versions.find((v: any) => v.version === '1.7.0').deprecated);
      for (const rep of reps) ok(await run(rep, ['pull']), 'pull');
      await sameEverywhere(['history', 'fraud', '--all']);
    });

    test('promote --checkout on a replica switches the folder only once the remote took the move', async () => {
      const [a] = reps as [string];
      const serve = join(tmp.path, `serve-${randomBytes(3).toString('hex')}`);
      await killAtStep(
        ['--registry', a, 'promote', 'fresh@1.0.0', '--to', 'canary', '--checkout', serve],
        k.env,
        'objects-uploaded',
      );
      assert.ok(!existsSync(join(serve, 'current')), 'the folder did not run ahead of the stage');
      const r = await json(a, ['promote', 'fresh@1.0.0', '--to', 'canary', '--checkout', serve]);
      assert.equal(r.checkout.version, '1.0.0');
      assert.equal(readlinkSync(join(serve, 'current')), 'versions/1.0.0');
      const back = await json(a, ['rollback', 'fresh', '--stage', 'canary', '--to', '1.1.0', '--checkout', serve]);
      assert.equal(back.checkout.version, '1.1.0');
      assert.equal(readlinkSync(join(serve, 'current')), 'versions/1.1.0');
    });

    test('hostile log entries are refused (exit 5) and the replica stays usable', async () => {
      const [a, b] = reps as [string, string];
      for (const rep of reps) ok(await run(rep, ['pull']), 'pull');
      const n = (await head()) + 1;
      const entry = (ops: unknown[], extra: Record<string, unknown> = {}) =>
        Buffer.from(
          JSON.stringify({
            format: 'mlreg-log',
            formatVersion: 1,
            n,
            id: '00000000-0000-4000-8000-000000000000',
            writer: '00000000-0000-4000-8000-000000000001',
            actor: 'mallory',
            time: '2026-11-30T10:00:00.000Z',
            command: 'add',
            ops,
            ...extra,
          }),
        );
      const addOp = (version: string) => ({
        op: 'version.add',
        at: '2026-11-30T10:00:00.000Z',
        name: 'evil',
        kind: 'model',
        version,
        digest: 'a'.repeat(64),
        sourceType: 'file',
        size: 1,
        fileCount: 1,
        description: null,
        objects: [{ digest: 'a'.repeat(64), size: 1 }],
        metrics: {},
        params: {},
        tags: {},
        trainedOn: [],
        profile: null,
      });
      const big = join(tmp.path, 'big.json');
      writeFileSync(big, Buffer.alloc(100 << 20, 0x20));
      const cases: [string, () => Promise<void>, RegExp][] = [
        [
          'unknown op',
          () => put(entry([{ op: 'registry.drop', at: '2026-11-30T10:00:00.000Z' }])),
          /unknown operation/,
        ],
        ['../ in a version', () => put(entry([addOp('../../../etc/passwd')])), /version is not a version|is not valid/],
        ['a newer format', () => put(entry([addOp('9.9.9')], { formatVersion: 99 })), /newer than this mlreg/],
        ['a 100 MB entry', () => store.upload(logKey(n), big, 100 << 20), /larger than/],
      ];
      async function put(bytes: Buffer): Promise<void> {
        assert.equal(await store.putIfAbsent(logKey(n), bytes), 'created');
      }
      for (const [what, make, message] of cases) {
        await make();
        const r = await run(b, ['pull', '--json']);
        assert.equal(r.code, 5, `${what}: ${r.stdout}${r.stderr}`);
        assert.match(r.json!.error!.message, message, what);
        // Reading still works, from the replica, with a warning.
        const l = await run(b, ['list', '--json']);
        assert.equal(l.code, 0, `${what}: list`);
        assert.match(l.stderr, /warning: could not refresh/);
        assert.ok(!JSON.stringify(l.json).includes('evil'));
        await store.delete(logKey(n));
      }
      // Once the remote is clean again, writing works.
      ok(await run(b, ['add', 'model', 'fraud', model('after-hostile')]), 'add after the hostile entries');
      ok(await run(a, ['pull']), 'pull');
    });

    test('a flipped byte in a remote object is refused at checkout (exit 5), nothing materialised', async () => {
      const [a] = reps as [string];
      const fresh = join(tmp.path, `d-${randomBytes(3).toString('hex')}`);
      const file = model('corrupt');
      const added = await json(a, ['add', 'model', 'corruptible', file]);
      const blob = added.manifest.files[0].sha256 as string;
      const bytes = readFileSync(file);
      bytes[10] = bytes[10]! ^ 0xff;
      const flipped = join(tmp.path, 'flipped.bin');
      writeFileSync(flipped, bytes);
      await store.upload(objectKey(blob), flipped, bytes.length);
      ok(await cliInProcess(['clone', url, fresh], { env: k.env }), 'clone');
      const out = join(tmp.path, 'serve');
      const r = await cliInProcess(['--registry', fresh, 'checkout', 'corruptible@1.0.0', out, '--json'], {
        env: k.env,
      });
      assert.equal(r.code, 5, r.stdout + r.stderr);
      assert.equal(r.json?.error?.code, 'E_OBJECT_CORRUPT');
      assert.ok(!existsSync(join(out, 'versions', '1.0.0')), 'nothing materialised');
      assert.ok(!existsSync(join(out, 'current')));
    });

    test('a clone from scratch replays to the same state', async () => {
      for (const rep of reps) ok(await run(rep, ['pull']), 'pull');
      const fresh = join(tmp.path, `e-${randomBytes(3).toString('hex')}`);
      ok(await cliInProcess(['clone', url, fresh], { env: k.env }), 'clone');
      reps.push(fresh);
      await sameEverywhere(['list']);
      await sameEverywhere(['list', 'fraud']);
      await sameEverywhere(['history', 'fraud', '--all']);
      await sameEverywhere(['history', 'bumped', '--all']);
      await sameEverywhere(['show', 'fraud@1.0.0']);
      // Row for row, ids, times and actors included: every shared table of every replica.
      const rows = (rep: string): string => {
        const db = new Database(join(rep, 'mlreg.db'), { readonly: true });
        try {
          return JSON.stringify(SHARED_TABLES.map((t) => db.prepare(`SELECT * FROM "${t}" ORDER BY 1, 2`).raw().all()));
        } finally {
          db.close();
        }
      };
      const first = rows(reps[0]!);
      for (const rep of reps.slice(1)) assert.equal(rows(rep), first, `shared rows of ${rep}`);
      reps.pop();
    });

    test('remote attach uploads a local registry; a clone of it equals it', async () => {
      const local = join(tmp.path, `local-${randomBytes(3).toString('hex')}`);
      ok(await cliInProcess(['init', local]), 'init');
      ok(await cliInProcess(['--registry', local, 'add', 'model', 'churn', model('c1'), '--metric', 'auc=0.8']), 'add');
      ok(await cliInProcess(['--registry', local, 'add', 'model', 'churn', model('c2')]), 'add');
      ok(await cliInProcess(['--registry', local, 'promote', 'churn@1.1.0', '--to', 'production']), 'promote');
      const url2 = k.make(tmp.path);
      ok(await cliInProcess(['--registry', local, 'remote', 'attach', url2], { env: k.env }), 'attach');
      const again = await cliInProcess(['--registry', local, 'remote', 'attach', url2, '--json'], { env: k.env });
      assert.equal(again.code, 4);
      const copy = join(tmp.path, `copy-${randomBytes(3).toString('hex')}`);
      ok(await cliInProcess(['clone', url2, copy], { env: k.env }), 'clone');
      for (const args of [
        ['list', 'churn'],
        ['history', 'churn', '--all'],
        ['show', 'churn@1.0.0'],
      ]) {
        const x = ok(await cliInProcess(['--registry', local, ...args, '--json'], { env: k.env }), 'local').stdout;
        const y = ok(await cliInProcess(['--registry', copy, ...args, '--json'], { env: k.env }), 'copy').stdout;
        assert.equal(y, x, args.join(' '));
      }
      // Both are replicas now: a rollback on the copy reaches the attached folder.
      ok(
        await cliInProcess(['--registry', copy, 'rollback', 'churn', '--to', '1.0.0'], { env: k.env }),
        'rollback --to',
      );
      const st = ok(await cliInProcess(['--registry', local, 'remote', 'status', '--json'], { env: k.env }), 'status')
        .json!.data;
      assert.equal(st.behind, 1);
      assert.deepEqual(
        ok(
          await cliInProcess(['--registry', local, 'list', '--json'], { env: k.env }),
          'list',
        ).json!.data.artifacts.find((x: any) => x.name === 'churn').stages,
        { production: '1.0.0' },
      );
    });
  });
}
