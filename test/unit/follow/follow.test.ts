import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, readlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { addVersion } from '../../../src/core/versions/add.js';
import { follow, type FollowEvent, type FollowOptions } from '../../../src/core/follow/follow.js';
import { pruneVersions } from '../../../src/core/follow/prune.js';
import { promote } from '../../../src/core/stages/promote.js';
import { rollback } from '../../../src/core/stages/rollback.js';
import { Registry } from '../../../src/core/registry/registry.js';
import { objectPath } from '../../../src/core/store/objects.js';
import { DiskError, UnavailableError } from '../../../src/core/errors.js';
import { tempRegistry, testRuntime } from '../../helpers.js';

/**
 * The follow loop in-process: a fake sleep runs the next scripted step (a promote by another
 * connection, as another process would) instead of waiting, and the last step aborts the loop.
 */

async function withVersions(versions: string[]) {
  const t = tempRegistry();
  for (const v of versions) {
    const f = join(t.dir, `m-${v}.bin`);
    writeFileSync(f, `weights ${v}`);
    await addVersion(t.reg, { kind: 'model', name: 'm', path: f, version: v, actor: 'a' });
  }
  // Another connection writes, like another process: the follower's idle check sees only other connections' commits.
  const other = Registry.open(t.root, testRuntime);
  return {
    ...t,
    other,
    srv: join(t.dir, 'srv'),
    cleanup: () => {
      other.close();
      t.cleanup();
    },
  };
}

function script(steps: (() => void)[]) {
  const controller = new AbortController();
  let slept = 0;
  return {
    signal: controller.signal,
    get slept() {
      return slept;
    },
    sleep: async (ms: number) => {
      assert.equal(ms, 1000, 'sleeps the interval');
      slept++;
      const step = steps.shift();
      if (step) step();
      else controller.abort();
    },
  };
}

const served = (srv: string): string => readlinkSync(join(srv, 'current'));

/** Another process promoting m@VERSION to production. */
const toProduction = (other: Registry, version: string) =>
  promote(other, { ref: `m@${version}`, stage: 'production', actor: 'x' });

/** follow m's production stage into T.srv, a round a second; OPTS adds to or overrides that. */
const followProduction = (t: { reg: Registry; srv: string }, opts: Partial<FollowOptions> = {}) =>
  follow(t.reg, { name: 'm', stage: 'production', dir: t.srv, intervalMs: 1000, ...opts });

test('follow waits for a stage that is not set (said once), switches when it appears, and follows promote and rollback', async () => {
  const t = await withVersions(['1.0.0', '2.0.0']);
  try {
    const events: FollowEvent[] = [];
    const seen: string[] = [];
    const s = script([
      () => {},
      () => toProduction(t.other, '1.0.0'),
      () => seen.push(served(t.srv)),
      () => toProduction(t.other, '2.0.0'),
      () => seen.push(served(t.srv)),
      () => rollback(t.other, { name: 'm', stage: 'production', actor: 'x' }),
      () => seen.push(served(t.srv)),
    ]);
    const summary = await followProduction(t, {
      signal: s.signal,
      sleep: s.sleep,
      onEvent: (e) => events.push(e),
    });
    assert.deepEqual(seen, ['versions/1.0.0', 'versions/2.0.0', 'versions/1.0.0']);
    assert.deepEqual(
      events.map((e) => (e.event === 'switch' ? `switch ${e.previous ?? '-'}→${e.version}` : e.event)),
      ['started', 'waiting', 'switch -→1.0.0', 'switch 1.0.0→2.0.0', 'switch 2.0.0→1.0.0', 'stopped'],
    );
    assert.equal(summary.switches, 3);
    const info = JSON.parse(readFileSync(join(t.srv, 'current', '.mlreg-version.json'), 'utf8'));
    assert.deepEqual([info.version, info.stage, info.previous], ['1.0.0', 'production', '2.0.0']);
  } finally {
    t.cleanup();
  }
});

test('an idle round reads nothing but the data_version pragma', async () => {
  const t = await withVersions(['1.0.0']);
  try {
    toProduction(t.other, '1.0.0');
    let reads = 0;
    const read = t.reg.read.bind(t.reg);
    t.reg.read = ((fn: () => unknown) => {
      reads++;
      return read(fn);
    }) as typeof t.reg.read;
    const perRound: number[] = [];
    const s = script([() => perRound.push(reads), () => perRound.push(reads), () => perRound.push(reads)]);
    await followProduction(t, s);
    assert.ok(perRound[0]! > 0, 'the first round looks at the stage');
    assert.equal(perRound[1], perRound[0], 'an idle round reads no table');
    assert.equal(perRound[2], perRound[0]);
  } finally {
    t.cleanup();
  }
});

test('a damaged object is not switched to: one error event, follow keeps serving and running; --once throws (exit 5)', async () => {
  const t = await withVersions(['1.0.0', '2.0.0']);
  try {
    toProduction(t.other, '1.0.0');
    const digest = createHash('sha256').update('weights 2.0.0').digest('hex');
    const obj = objectPath(t.reg, digest);
    chmodSync(obj, 0o644);
    writeFileSync(obj, 'weights 2.0.X');
    const events: FollowEvent[] = [];
    const s = script([() => toProduction(t.other, '2.0.0'), () => {}, () => {}]);
    await followProduction(t, {
      ...s,
      onEvent: (e) => events.push(e),
    });
    assert.equal(served(t.srv), 'versions/1.0.0', 'still serving what was there');
    const errors = events.filter((e) => e.event === 'error');
    assert.equal(errors.length, 1, 'said once, not every round');
    assert.equal(errors[0]!.event === 'error' && errors[0]!.code, 'E_OBJECT_CORRUPT');
    await assert.rejects(followProduction(t, { once: true }), (err: { exitCode?: number }) => err.exitCode === 5);
  } finally {
    t.cleanup();
  }
});

test('a hook that fails is recorded in the switch event and follow goes on; the hook sees MLREG_* variables', async () => {
  const t = await withVersions(['1.0.0', '2.0.0']);
  try {
    toProduction(t.other, '1.0.0');
    const log = join(t.dir, 'hook.log');
    const events: FollowEvent[] = [];
    const s = script([() => toProduction(t.other, '2.0.0')]);
    await followProduction(t, {
      ...s,
      hook: {
        command: `echo "$MLREG_NAME $MLREG_STAGE $MLREG_VERSION $MLREG_PREVIOUS_VERSION $MLREG_PATH" >> ${log}; [ "$MLREG_VERSION" = 1.0.0 ]`,
        timeoutMs: 10_000,
        cwd: t.dir,
        env: { PATH: process.env.PATH },
      },
      onEvent: (e) => events.push(e),
    });
    const switches = events.flatMap((e) => (e.event === 'switch' ? [e] : []));
    assert.deepEqual(
      switches.map((e) => [e.version, e.hook?.result, e.hook?.exitCode]),
      [
        ['1.0.0', 'ok', 0],
        ['2.0.0', 'failed', 1],
      ],
    );
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [
      `m production 1.0.0  ${join(t.srv, 'versions', '1.0.0')}`,
      `m production 2.0.0 1.0.0 ${join(t.srv, 'versions', '2.0.0')}`,
    ]);
    assert.equal(served(t.srv), 'versions/2.0.0', 'a failed hook never undoes the switch');
  } finally {
    t.cleanup();
  }
});

test('an unreachable remote is said once, what is there keeps being served, and its return is said', async () => {
  const t = await withVersions(['1.0.0']);
  try {
    toProduction(t.other, '1.0.0');
    const answers = [true, false, false, false, true];
    const events: FollowEvent[] = [];
    const s = script([() => {}, () => {}, () => {}, () => {}]);
    const opts: FollowOptions = {
      name: 'm',
      stage: 'production',
      dir: t.srv,
      intervalMs: 1000,
      ...s,
      refresh: async () => {
        if (!answers.shift()) throw new UnavailableError('the remote did not answer');
        return false;
      },
      onEvent: (e) => events.push(e),
    };
    await follow(t.reg, opts);
    assert.deepEqual(
      events.map((e) => e.event),
      ['started', 'switch', 'unreachable', 'reachable', 'stopped'],
    );
    assert.equal(served(t.srv), 'versions/1.0.0');
  } finally {
    t.cleanup();
  }
});

test('follow refuses DIR/current that is a real folder, and DIR inside the registry', async () => {
  const t = await withVersions(['1.0.0']);
  try {
    mkdirSync(join(t.srv, 'current'), { recursive: true });
    await assert.rejects(
      followProduction(t, { once: true }),
      (err: { code?: string; hint?: string }) => err.code === 'E_CURRENT_NOT_LINK' && /Move it away/.test(err.hint!),
    );
    await assert.rejects(
      followProduction(t, { dir: join(t.root, 'srv'), once: true }),
      (err: { code?: string }) => err.code === 'E_FOLLOW_DIR_IN_REGISTRY',
    );
  } finally {
    t.cleanup();
  }
});

test('--keep prunes the oldest version folders, never the served one nor the one before it', () => {
  const t = tempRegistry();
  try {
    const versions = join(t.dir, 'srv', 'versions');
    const names = ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0'];
    for (const [i, v] of names.entries()) {
      mkdirSync(join(versions, v), { recursive: true });
      writeFileSync(join(versions, `.${v}.mlreg-stamp`), '{}');
      const when = new Date(Date.UTC(2026, 0, 1 + i));
      utimesSync(join(versions, v), when, when); // the order they were materialised in
    }
    // Serving the oldest (a rollback far back), the one before it the newest.
    const removed = pruneVersions(join(t.dir, 'srv'), 3, ['1.0.0', '1.4.0']);
    assert.deepEqual(removed.sort(), ['1.1.0', '1.2.0']);
    assert.deepEqual(
      names.filter((n) => !removed.includes(n)),
      ['1.0.0', '1.3.0', '1.4.0'],
    );
  } finally {
    t.cleanup();
  }
});

test('with keep, each switch prunes the version folders beyond N, keeping the served one and the one before', async () => {
  const t = await withVersions(['1.0.0', '2.0.0', '3.0.0']);
  try {
    const s = script([() => toProduction(t.other, '2.0.0'), () => toProduction(t.other, '3.0.0')]);
    toProduction(t.other, '1.0.0');
    await followProduction(t, { keep: 1, ...s });
    const left = readdirSync(join(t.srv, 'versions')).sort();
    assert.deepEqual(left, ['.2.0.0.mlreg-stamp', '.3.0.0.mlreg-stamp', '2.0.0', '3.0.0']);
    assert.equal(served(t.srv), 'versions/3.0.0');
  } finally {
    t.cleanup();
  }
});

test('a registry that cannot be read for a while is said once; follow keeps serving and catches up', async () => {
  const t = await withVersions(['1.0.0', '2.0.0']);
  try {
    toProduction(t.other, '1.0.0');
    const read = t.reg.read.bind(t.reg);
    let broken = false;
    t.reg.read = ((fn: () => unknown) => {
      if (broken) throw new DiskError('the disk of mlreg.db failed a read (EIO)', { code: 'E_IO' });
      return read(fn);
    }) as typeof t.reg.read;
    const events: FollowEvent[] = [];
    const s = script([
      () => {
        broken = true;
        toProduction(t.other, '2.0.0');
      },
      () => {},
      () => {
        broken = false;
      },
    ]);
    await followProduction(t, {
      ...s,
      onEvent: (e) => events.push(e),
    });
    assert.deepEqual(
      events.map((e) =>
        e.event === 'switch' ? `switch ${e.version}` : e.event === 'error' ? `error ${e.code}` : e.event,
      ),
      ['started', 'switch 1.0.0', 'error E_IO', 'switch 2.0.0', 'stopped'],
    );
  } finally {
    t.cleanup();
  }
});
