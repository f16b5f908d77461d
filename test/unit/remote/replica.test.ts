import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'node:test';
import { IntegrityError } from '../../../src/core/errors.js';
import { Registry } from '../../../src/core/registry/registry.js';
import { history } from '../../../src/core/registry/history.js';
import { checkpointKey, logKey } from '../../../src/core/remote/layout.js';
import { parseOperation } from '../../../src/core/remote/ops.js';
import { pull } from '../../../src/core/remote/pull.js';
import { replicaInfo } from '../../../src/core/remote/replica-state.js';
import { runReplicated, WriteSession, writeCheckpoint } from '../../../src/core/remote/session.js';
import { cloneRemote, initRemote } from '../../../src/core/remote/setup.js';
import { openRemote, type PutIfAbsentOutcome, type RemoteStore } from '../../../src/core/remote/transport.js';
import { promote } from '../../../src/core/stages/promote.js';
import { addVersion } from '../../../src/core/versions/add.js';
import { listVersions } from '../../../src/core/versions/queries.js';
import { tempDir, testRuntime } from '../../helpers.js';

/** A real file:// store whose put-if-absent answers are made ambiguous, as a timeout or a 5xx would. */
class AmbiguousStore {
  constructor(
    private readonly inner: RemoteStore,
    /** 'landed': the PUT happened but the answer was lost; 'lost': it never reached the server. */
    private mode: 'landed' | 'lost' | 'off',
  ) {}
  get url() {
    return this.inner.url;
  }
  async putIfAbsent(key: string, body: Uint8Array): Promise<PutIfAbsentOutcome> {
    if (this.mode === 'off' || !key.startsWith('log/')) return this.inner.putIfAbsent(key, body);
    const mode = this.mode;
    this.mode = 'off';
    if (mode === 'landed') await this.inner.putIfAbsent(key, body);
    return 'unknown';
  }
  get = (k: string, m: number) => this.inner.get(k, m);
  head = (k: string) => this.inner.head(k);
  list = (p: string, s?: string) => this.inner.list(p, s);
  upload = (k: string, f: string, s: number) => this.inner.upload(k, f, s);
  download = (k: string, d: string, m: number) => this.inner.download(k, d, m);
  delete = (k: string) => this.inner.delete(k);
  close = () => this.inner.close();
}

async function setup() {
  const t = tempDir('mlreg-replica-unit-');
  const remoteDir = join(t.path, 'remote');
  mkdirSync(remoteDir);
  const url = `file://${remoteDir}`;
  const store = await openRemote(url);
  const target = { url, endpoint: null, region: null };
  await initRemote(join(t.path, 'a'), store, target, testRuntime);
  const open = (name: string) => {
    const reg = Registry.open(join(t.path, name), testRuntime);
    const info = replicaInfo(reg)!;
    reg.journal = new WriteSession(reg, info.writerId, 'test', false);
    return { reg, info };
  };
  let files = 0;
  const file = () => {
    const p = join(t.path, `f${files++}.bin`);
    writeFileSync(p, `weights ${files} ${Math.random()}`);
    return p;
  };
  return { t, url, store, target, open, file };
}

test('an ambiguous answer to the log PUT is settled by reading the entry back: once, never twice', async () => {
  const s = await setup();
  const { reg, info } = s.open('a');
  try {
    for (const mode of ['landed', 'lost'] as const) {
      const store = new AmbiguousStore(s.store, mode) as unknown as RemoteStore;
      const name = `m-${mode}`;
      const path = s.file();
      await runReplicated(reg, store, { command: 'add', writerId: info.writerId }, () =>
        addVersion(reg, { kind: 'model', name, path, actor: 'alice' }),
      );
      assert.equal(listVersions(reg, name).versions.length, 1, mode);
    }
    // Exactly two entries on the remote, and the replica is at the head.
    let n = 0;
    for await (const _ of s.store.list('log/')) n++;
    assert.equal(n, 2);
    assert.equal(replicaInfo(reg)!.position, 2);
  } finally {
    reg.close();
    s.store.close();
    s.t.cleanup();
  }
});

test('a write session that loses the race re-plans from the new head; --expect then fails as locally', async () => {
  const s = await setup();
  const a = s.open('a');
  try {
    const v1 = s.file();
    await runReplicated(a.reg, s.store, { command: 'add', writerId: a.info.writerId }, () =>
      addVersion(a.reg, { kind: 'model', name: 'fraud', path: v1, actor: 'alice' }),
    );
    await cloneRemote(join(s.t.path, 'b'), s.store, s.target, testRuntime);
    const b = s.open('b');
    // b plans at its position while a moves the stage: b's entry loses the race, b pulls and runs
    // again, and its --expect no longer holds (exit 4), exactly as on one folder.
    let attempts = 0;
    await assert.rejects(
      runReplicated(b.reg, s.store, { command: 'promote', writerId: b.info.writerId }, async () => {
        attempts++;
        if (attempts === 1)
          await runReplicated(a.reg, s.store, { command: 'promote', writerId: a.info.writerId }, async () =>
            promote(a.reg, { ref: 'fraud@1.0.0', stage: 'production', actor: 'alice' }),
          );
        return promote(b.reg, { ref: 'fraud@1.0.0', stage: 'production', expect: 'none', actor: 'bob' });
      }),
      (err: Error & { exitCode?: number }) => err.exitCode === 4 && /not none as expected/.test(err.message),
    );
    assert.equal(attempts, 2);
    assert.deepEqual(history(b.reg, 'fraud', { all: true }), history(a.reg, 'fraud', { all: true }));
    b.reg.close();
  } finally {
    a.reg.close();
    s.store.close();
    s.t.cleanup();
  }
});

test('a checkpoint lets a clone replay only the tail, to the same state', async () => {
  const s = await setup();
  const a = s.open('a');
  try {
    for (let i = 0; i < 3; i++) {
      const p = s.file();
      await runReplicated(a.reg, s.store, { command: 'add', writerId: a.info.writerId }, () =>
        addVersion(a.reg, { kind: 'model', name: 'fraud', path: p, actor: 'alice' }),
      );
    }
    await writeCheckpoint(a.reg, s.store, 3);
    await runReplicated(a.reg, s.store, { command: 'promote', writerId: a.info.writerId }, async () =>
      promote(a.reg, { ref: 'fraud@1.1.0', stage: 'production', actor: 'alice' }),
    );
    const made = await cloneRemote(join(s.t.path, 'c'), s.store, s.target, testRuntime);
    assert.equal(made.checkpoint, 3);
    assert.equal(made.applied, 1);
    const c = s.open('c');
    assert.deepEqual(listVersions(c.reg, 'fraud'), listVersions(a.reg, 'fraud'));
    assert.deepEqual(history(c.reg, 'fraud', { all: true }), history(a.reg, 'fraud', { all: true }));
    c.reg.close();
  } finally {
    a.reg.close();
    s.store.close();
    s.t.cleanup();
  }
});

test('a hostile checkpoint is refused and the half-made clone folder removed', async () => {
  const s = await setup();
  try {
    const doc = {
      format: 'mlreg-checkpoint',
      formatVersion: 1,
      position: 7,
      registryFormat: 6,
      tables: {
        artifacts: { columns: ['id', 'name', 'kind', 'created_at', 'created_by'], rows: [[1, 'x', 'model', 't', 'm']] },
        versions: {
          columns: [
            'id',
            'artifact_id',
            'version',
            'digest',
            'source_type',
            'size',
            'file_count',
            'created_at',
            'created_by',
          ],
          rows: [[1, 1, '../../escape', 'a'.repeat(64), 'file', 1, 1, 't', 'm']],
        },
      },
    };
    const tmp = join(s.t.path, 'ck.gz');
    writeFileSync(tmp, gzipSync(JSON.stringify(doc)));
    await s.store.upload(checkpointKey(7), tmp, (await import('node:fs')).statSync(tmp).size);
    const dest = join(s.t.path, 'hostile');
    await assert.rejects(
      cloneRemote(dest, s.store, s.target, testRuntime),
      (err: Error) => err instanceof IntegrityError && /versions\.version/.test(err.message),
    );
    assert.equal((await import('node:fs')).existsSync(dest), false);
  } finally {
    s.store.close();
    s.t.cleanup();
  }
});

test('operations from a remote: every field checked', () => {
  const good = {
    op: 'stage.move',
    at: '2026-11-30T10:00:00.000Z',
    name: 'fraud',
    stage: 'production',
    move: 'promote',
    version: '1.0.0',
    from: null,
    below: null,
    reason: null,
    details: null,
  };
  assert.equal(parseOperation(good, 'e').op, 'stage.move');
  const bad: Record<string, unknown>[] = [
    { ...good, stage: 'latest' },
    { ...good, stage: '../x' },
    { ...good, name: 'Fraud/..' },
    { ...good, version: 'v1.0.0' },
    { ...good, version: '1.0.0/../../x' },
    { ...good, below: -1 },
    { ...good, at: 'yesterday' },
    { ...good, extra: 1 },
    { ...good, move: 'teleport' },
    { op: 'config.set', at: good.at, key: '../x', value: '1' },
    {
      op: 'evaluation.record',
      at: good.at,
      model: { name: 'm', version: '1.0.0' },
      dataset: null,
      source: 'record',
      results: { all: { auc: 'NaN' } },
      details: null,
    },
  ];
  for (const b of bad) assert.throws(() => parseOperation(b, 'e'), IntegrityError, JSON.stringify(b));
});

test('a pull stops at a refused entry, keeps the entries before it, and says which', async () => {
  const s = await setup();
  const a = s.open('a');
  try {
    const p = s.file();
    await runReplicated(a.reg, s.store, { command: 'add', writerId: a.info.writerId }, () =>
      addVersion(a.reg, { kind: 'model', name: 'fraud', path: p, actor: 'alice' }),
    );
    await cloneRemote(join(s.t.path, 'b'), s.store, s.target, testRuntime);
    const b = s.open('b');
    await runReplicated(a.reg, s.store, { command: 'promote', writerId: a.info.writerId }, async () =>
      promote(a.reg, { ref: 'fraud@1.0.0', stage: 'production', actor: 'alice' }),
    );
    await s.store.putIfAbsent(logKey(3), Buffer.from('{"format":"mlreg-log","formatVersion":1,"n":3}'));
    await assert.rejects(
      pull(b.reg, s.store),
      (err: Error) => err instanceof IntegrityError && /entry 3/.test(err.message),
    );
    assert.equal(replicaInfo(b.reg)!.position, 2);
    assert.equal(listVersions(b.reg, 'fraud').versions[0]!.stages[0], 'production');
    b.reg.close();
  } finally {
    a.reg.close();
    s.store.close();
    s.t.cleanup();
  }
});
