import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { IntegrityError } from '../../../src/core/errors.js';
import { Registry } from '../../../src/core/registry/registry.js';
import { parseOperation } from '../../../src/core/remote/ops.js';
import { remoteGc } from '../../../src/core/remote/gc.js';
import { logKey, objectKey } from '../../../src/core/remote/layout.js';
import { payloadKey } from '../../../src/core/remote/entry.js';
import { pull } from '../../../src/core/remote/pull.js';
import { replicaInfo } from '../../../src/core/remote/replica-state.js';
import { runReplicated, WriteSession } from '../../../src/core/remote/session.js';
import { cloneRemote, initRemote } from '../../../src/core/remote/setup.js';
import { recordObservations } from '../../../src/core/monitor/observations.js';
import { promote } from '../../../src/core/stages/promote.js';
import { addVersion } from '../../../src/core/versions/add.js';
import { deleteVersion } from '../../../src/core/versions/retire.js';
import { testRuntime } from '../../helpers.js';
import { STORE_KINDS, type TestRemote } from './stores.js';

/**
 * Remote gc against writers on other replicas, and changes too large for one log entry. Both store
 * kinds: file:// always, the real S3 server (radosgw) when one was started.
 */

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

async function replicas(r: TestRemote) {
  const target = { url: r.url, endpoint: r.endpoint ?? null, region: null };
  const open = (dir: string) => {
    const reg = Registry.open(dir, testRuntime);
    const info = replicaInfo(reg)!;
    reg.journal = new WriteSession(reg, info.writerId, 'test', false);
    const write = <T>(run: () => Promise<T>, extra: Partial<Parameters<typeof runReplicated>[2]> = {}) =>
      runReplicated(reg, r.store, { command: 'add', writerId: info.writerId, ...extra }, run);
    return { reg, write };
  };
  await initRemote(join(r.scratch, 'a'), r.store, target, testRuntime);
  const a = open(join(r.scratch, 'a'));
  const clone = async (name: string) => {
    await cloneRemote(join(r.scratch, name), r.store, target, testRuntime);
    return open(join(r.scratch, name));
  };
  let n = 0;
  const file = (content = `weights ${n} ${Math.random()}`) => {
    const p = join(r.scratch, `f${n++}.bin`);
    writeFileSync(p, content);
    return p;
  };
  return { a, clone, file };
}

/** Make remote objects look `ms` older (file:// only: the store's files are the objects). */
function age(r: TestRemote, digests: string[], ms: number): void {
  const t = new Date(Date.now() - ms);
  for (const d of digests) utimesSync(join(fileURLToPath(r.url), objectKey(d)), t, t);
}

for (const kind of STORE_KINDS) {
  test(`${kind.name}: gc --remote removes only unreferenced objects past the grace period, never a concurrent writer's`, {
    skip: kind.skip,
  }, async () => {
    const r = await kind.make('gc');
    const { a, clone, file } = await replicas(r);
    const b = await clone('b');
    try {
      const kept = await a.write(() => addVersion(a.reg, { kind: 'model', name: 'm', path: file(), actor: 'alice' }));
      // An object no entry references (a writer killed before its log PUT leaves such).
      const orphan = file('orphaned bytes');
      await r.store.upload(objectKey(sha('orphaned bytes')), orphan, 'orphaned bytes'.length);
      const old = [sha('orphaned bytes'), kept.version.digest];
      const grace = 1500;
      if (kind.name === 'file') age(r, old, 60_000);
      else await new Promise((res) => setTimeout(res, 1700)); // S3 times have one-second resolution

      // A writer on B stops between uploading its objects and creating its entry; gc runs on A then.
      const fresh = 'new weights uploaded during gc';
      let during: Awaited<ReturnType<typeof remoteGc>> | undefined;
      await b.write(() => addVersion(b.reg, { kind: 'model', name: 'm', path: file(fresh), actor: 'bob' }), {
        onStep: async (step) => {
          if (step === 'objects-uploaded' && !during) during = await remoteGc(a.reg, r.store, { graceMs: grace });
        },
      });
      assert.ok(during);
      assert.equal(during.objectsRemoved, 1, JSON.stringify(during));
      assert.ok(during.objectsInGrace >= 2, 'the writer’s blob and manifest are within the grace period');
      assert.equal(await r.store.head(objectKey(sha('orphaned bytes'))), undefined, 'the orphan is gone');
      assert.ok(await r.store.head(objectKey(kept.version.digest)), 'a referenced object stays');
      assert.ok(await r.store.head(objectKey(sha(fresh))), 'the concurrent writer’s object stays');
      // And a fresh replica can materialise the writer's version from the remote.
      const c = await clone('c');
      await pull(c.reg, r.store);
      const n = c.reg.db.prepare("SELECT COUNT(*) FROM versions WHERE version = '1.1.0'").pluck().get();
      assert.equal(n, 1);
      c.reg.close();
    } finally {
      a.reg.close();
      b.reg.close();
      r.cleanup();
    }
  });

  test(`${kind.name}: a change larger than one log entry travels as a payload and replays identically`, {
    skip: kind.skip,
  }, async () => {
    const r = await kind.make('payload');
    const { a, clone, file } = await replicas(r);
    try {
      await a.write(() => addVersion(a.reg, { kind: 'model', name: 'm', path: file(), actor: 'alice' }));
      await a.write(async () => promote(a.reg, { ref: 'm@1.0.0', stage: 'production', actor: 'alice' }));
      // On file://, 12,000 values with long metric and slice names: about 4.4 MB of operations, past the
      // 4 MiB an entry holds inline (the conditional PUT takes at most 5 MiB). On S3 the same path with a
      // lowered limit, to keep it quick.
      const many = kind.name === 'file' ? 12_000 : 2_000;
      const metric = 'a_rather_long_metric_name_'.padEnd(100, 'x');
      const slice = 'segment='.padEnd(240, 'y');
      const values = Array.from({ length: many }, (_, i) => ({ metric: `${metric}${i}`, slice, value: i / 7 }));
      await a.write(
        async () =>
          recordObservations(a.reg, {
            target: { name: 'm', stage: 'production' },
            values,
            source: 'batch',
            actor: 'alice',
          }),
        kind.name === 'file' ? {} : { limits: { inlineBytes: 4096 } },
      );
      const entry = JSON.parse(Buffer.from((await r.store.get(logKey(3), 1 << 20))!).toString());
      assert.equal(entry.formatVersion, 2);
      assert.deepEqual(entry.ops, undefined);
      assert.equal(entry.payload.count, 1);
      const b = await clone('b');
      try {
        const count = (reg: Registry) => reg.db.prepare('SELECT COUNT(*) FROM observations').pluck().get();
        assert.equal(count(b.reg), many);
        // The same rows, ids and times included (compared as one digest of every row).
        const rows = (reg: Registry) =>
          sha(
            JSON.stringify(
              reg.db
                .prepare('SELECT id, metric, value, at, recorded_at, recorded_by FROM observations ORDER BY id')
                .raw()
                .all(),
            ),
          );
        assert.equal(rows(b.reg), rows(a.reg));
      } finally {
        b.reg.close();
      }
      // Small changes stay inline (format 1, readable by an older mlreg); a lowered limit moves an add too.
      await a.write(() => addVersion(a.reg, { kind: 'model', name: 'm', path: file(), actor: 'alice' }), {
        limits: { inlineBytes: 256 },
      });
      const add = JSON.parse(Buffer.from((await r.store.get(logKey(4), 1 << 20))!).toString());
      assert.equal(add.formatVersion, 2);
      if (kind.name === 'file') {
        // A payload whose bytes changed is refused (exit 5); nothing from its entry is applied.
        const p = join(fileURLToPath(r.url), payloadKey(add.payload.digest));
        const bytes = readFileSync(p);
        bytes[bytes.length - 5]! ^= 0xff;
        chmodSync(p, 0o644);
        writeFileSync(p, bytes);
        const c = await clone('c').then(
          () => undefined,
          (err: Error & { exitCode?: number }) => err,
        );
        const d = await cloneRemote(
          join(r.scratch, 'd'),
          r.store,
          { url: r.url, endpoint: null, region: null },
          testRuntime,
        )
          .then(() => undefined)
          .catch((err: Error & { code?: string }) => err);
        const refused = c ?? d;
        assert.ok(refused, 'a corrupt payload is refused');
        assert.match(refused.message, /payload/);
      } else {
        const c = await clone('c');
        assert.equal(c.reg.db.prepare('SELECT COUNT(*) FROM versions').pluck().get(), 2);
        c.reg.close();
      }
    } finally {
      a.reg.close();
      r.cleanup();
    }
  });
}

test('file: a writer reusing an old unreferenced object uploads it again, so a gc that judged it before keeps it', async () => {
  const kind = STORE_KINDS.find((k) => k.name === 'file')!;
  const r = await kind.make('gc-reuse');
  const { a, clone, file } = await replicas(r);
  const b = await clone('b');
  try {
    const content = 'weights deleted then added again';
    await a.write(() => addVersion(a.reg, { kind: 'model', name: 'm', path: file(content), actor: 'alice' }));
    await a.write(async () => deleteVersion(a.reg, 'm@1.0.0', { actor: 'alice' }));
    const blob = sha(content);
    age(r, [blob], 2 * 3_600_000);
    const dry = await remoteGc(b.reg, r.store, { graceMs: 3_600_000, dryRun: true });
    assert.equal(dry.objectsRemoved, 1, 'unreferenced and old: the blob would go');

    // gc lists and pulls; then a writer adds the same bytes again before gc removes anything.
    const report = await remoteGc(b.reg, r.store, {
      graceMs: 3_600_000,
      onStep: async (step) => {
        if (step === 'pulled')
          await a.write(() => addVersion(a.reg, { kind: 'model', name: 'm', path: file(content), actor: 'alice' }));
      },
    });
    assert.equal(report.objectsRemoved, 0, JSON.stringify(report));
    assert.ok(report.objectsInGrace >= 1);
    const there = await r.store.head(objectKey(blob));
    assert.ok(there, 'the reused object is still on the remote');
    assert.ok(Date.now() - there.modified.getTime() < 60_000, 'the writer uploaded it again');
    await pull(b.reg, r.store);
    assert.equal(b.reg.db.prepare('SELECT COUNT(*) FROM version_objects WHERE digest = ?').pluck().get(blob), 1);
  } finally {
    a.reg.close();
    b.reg.close();
    r.cleanup();
  }
});

test('the operations of review, scan and remote gc from a remote: every field checked', () => {
  const at = '2026-11-30T10:00:00.000Z';
  const sample = {
    op: 'review.sample',
    at,
    name: 'fraud',
    stage: 'production',
    version: '1.0.0',
    idColumn: 'case_id',
    predictionColumn: 'p',
    stratify: null,
    seed: 7,
    size: 20,
    details: { file: '/tmp/review.csv' },
  };
  const report = {
    scanner: 'mlreg-scan/1',
    allowlistDigest: 'a'.repeat(64),
    verdict: 'safe',
    allowExtra: [],
    files: [],
    findings: [],
  };
  const scan = { op: 'scan.record', at, name: 'fraud', version: '1.0.0', scan: { report, override: null } };
  const gc = { op: 'gc.remote', at, objectsRemoved: 2, bytesFreed: 10, graceSeconds: 86_400 };
  for (const good of [sample, scan, gc, { op: 'review.import', at, sample: 1 }])
    assert.equal(parseOperation(good, 'e').op, good.op);
  const bad: Record<string, unknown>[] = [
    { ...sample, version: '../1.0.0' },
    { ...sample, stage: 'latest' },
    { ...sample, idColumn: 'a\nb' },
    { ...sample, seed: -1 },
    { ...sample, size: 0 },
    { ...sample, extra: true },
    { op: 'review.import', at, sample: 0 },
    { op: 'review.import', at, sample: '1' },
    { ...scan, scan: { report: { ...report, verdict: 'fine' }, override: null } },
    { ...scan, scan: { report: { ...report, allowlistDigest: '../x' }, override: null } },
    { ...scan, name: 'A/B' },
    { ...gc, objectsRemoved: -1 },
    { ...gc, bytesFreed: 1.5 },
  ];
  for (const b of bad) assert.throws(() => parseOperation(b, 'e'), IntegrityError, JSON.stringify(b));
});
