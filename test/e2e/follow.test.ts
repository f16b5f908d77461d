import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, cliInProcess, copySeed, FIXTURES, tempDir } from '../helpers.js';

/**
 * `mlreg follow` through the CLI (in-process), `add --as`, and the two things only a real process
 * shows: SIGTERM stops it cleanly, and a hanging hook is killed at its timeout.
 */

async function seed(into: string): Promise<string> {
  await copySeed('follow', into, async (s) => {
    const run = async (args: string[]) => {
      const r = await cliInProcess([...args, '--registry', join(s, 'reg')], { cwd: s });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    };
    await run(['init', join(s, 'reg')]);
    for (const [file, version] of [
      ['cancer-v1.joblib', '1.0.0'],
      ['cancer-v2.joblib', '1.1.0'],
    ] as const)
      await run([
        'add',
        'model',
        'fraud',
        join(FIXTURES, 'models', file),
        '--as',
        'model.joblib',
        '--version',
        version,
      ]);
    return s;
  });
  return join(into, 'reg');
}

/** Promote fraud@VERSION to production in REG, asserting it succeeded. */
async function toProduction(reg: string, version: string): Promise<void> {
  assert.equal((await cliInProcess(['promote', `fraud@${version}`, '--to', 'production', '--registry', reg])).code, 0);
}

test('add --as stores a single file under a stable name; a bad name and a folder are refused', async () => {
  const t = tempDir();
  try {
    const reg = await seed(t.path);
    const show = await cliInProcess(['show', 'fraud@1.1.0', '--json', '--registry', reg]);
    assert.deepEqual(
      show.json?.data.manifest.files.map((f: { path: string }) => f.path),
      ['model.joblib'],
    );
    for (const bad of ['../x.joblib', '/etc/x', 'a//b', '.mlreg-version.json']) {
      const r = await cliInProcess([
        'add',
        'model',
        'fraud',
        join(FIXTURES, 'models', 'cancer-v1.joblib'),
        '--as',
        bad,
        '--json',
        '--registry',
        reg,
      ]);
      assert.equal(r.code, 2, `${bad}: ${r.stdout}`);
      assert.equal(r.json?.error?.code, 'E_BAD_STORE_AS');
    }
    const folder = await cliInProcess([
      'add',
      'model',
      'fraud',
      join(FIXTURES, 'models', 'cancer-folder'),
      '--as',
      'model.joblib',
      '--json',
      '--registry',
      reg,
    ]);
    assert.equal(folder.code, 2);
    assert.equal(folder.json?.error?.code, 'E_BAD_STORE_AS');
  } finally {
    t.cleanup();
  }
});

test('follow --once: a stage not set is exit 3; then it switches (one JSON document), is idempotent, and runs the hook', async () => {
  const t = tempDir();
  try {
    const reg = await seed(t.path);
    const srv = join(t.path, 'srv');
    const once = (...extra: string[]) =>
      cliInProcess(['follow', 'fraud@production', srv, '--once', '--json', '--registry', reg, ...extra], {
        cwd: t.path,
      });
    const none = await once();
    assert.equal(none.code, 3, none.stdout);
    assert.equal(none.json?.error?.code, 'E_STAGE_NOT_FOUND');

    await toProduction(reg, '1.0.0');
    const first = await once('--exec', 'echo "$MLREG_VERSION" > hook.out');
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.trim().split('\n').length, 1, 'exactly one document');
    assert.deepEqual(
      [first.json?.data.version, first.json?.data.changed, first.json?.data.hook.result],
      ['1.0.0', true, 'ok'],
    );
    assert.equal(readFileSync(join(t.path, 'hook.out'), 'utf8'), '1.0.0\n');
    assert.match(first.stderr, /fraud@production: switched to 1\.0\.0/);
    assert.equal(readlinkSync(join(srv, 'current')), 'versions/1.0.0');
    const info = JSON.parse(readFileSync(join(srv, 'current', '.mlreg-version.json'), 'utf8'));
    assert.deepEqual([info.name, info.version, info.stage], ['fraud', '1.0.0', 'production']);
    assert.ok(readFileSync(join(srv, 'current', 'model.joblib')).length > 0, 'servers load DIR/current/model.joblib');

    const again = await once();
    assert.equal(again.code, 0);
    assert.equal(again.json?.data.changed, false);
    // The report of the same switch without a hook keeps the hook result of the switch.
    const status = await cliInProcess(['status', 'fraud', '--json', '--registry', reg], { cwd: t.path });
    assert.equal(JSON.stringify(status.json?.data).match(/"result":"(\w+)"/)?.[1], 'ok', status.stdout);

    // A failing hook with --once: the switch stands, the exit code says the reload did not happen.
    await toProduction(reg, '1.1.0');
    const failing = await once('--exec', 'exit 3');
    assert.equal(failing.code, 1, failing.stdout);
    assert.deepEqual([failing.json?.data.version, failing.json?.data.hook.result], ['1.1.0', 'failed']);
    assert.equal(readlinkSync(join(srv, 'current')), 'versions/1.1.0');
  } finally {
    t.cleanup();
  }
});

test('follow --once kills a hanging hook at --hook-timeout, with everything it started', async () => {
  const t = tempDir();
  try {
    const reg = await seed(t.path);
    const srv = join(t.path, 'srv');
    await toProduction(reg, '1.0.0');
    const started = Date.now();
    const r = await cliInProcess(
      [
        'follow',
        'fraud',
        srv,
        '--once',
        '--json',
        '--hook-timeout',
        '300ms',
        '--exec',
        'sleep 30 & sleep 30',
        '--registry',
        reg,
      ],
      { cwd: t.path },
    );
    assert.ok(Date.now() - started < 10_000, 'did not wait for the hook');
    assert.equal(r.code, 1, r.stdout);
    assert.equal(r.json?.data.hook.result, 'timeout');
    assert.equal(readlinkSync(join(srv, 'current')), 'versions/1.0.0');
  } finally {
    t.cleanup();
  }
});

test('follow refuses a bad interval and DIR/current that is a real folder (exit 2, with a hint)', async () => {
  const t = tempDir();
  try {
    const reg = await seed(t.path);
    const bad = await cliInProcess([
      'follow',
      'fraud',
      join(t.path, 'srv'),
      '--interval',
      'soon',
      '--json',
      '--registry',
      reg,
    ]);
    assert.equal(bad.code, 2);
    assert.equal(bad.json?.error?.code, 'E_BAD_INTERVAL');
    const srv = join(t.path, 'srv2');
    mkdirSync(join(srv, 'current'), { recursive: true });
    const r = await cliInProcess(['follow', 'fraud', srv, '--once', '--json', '--registry', reg]);
    assert.equal(r.code, 2);
    assert.equal(r.json?.error?.code, 'E_CURRENT_NOT_LINK');
  } finally {
    t.cleanup();
  }
});

test('a running follower switches on a promote, prints NDJSON, and SIGTERM stops it with exit 0', async () => {
  const t = tempDir();
  try {
    const reg = await seed(t.path);
    const srv = join(t.path, 'srv');
    await toProduction(reg, '1.0.0');
    const child = spawn(
      process.execPath,
      [BIN, 'follow', 'fraud', srv, '--interval', '100ms', '--json', '--registry', reg],
      {
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    const waitFor = (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${re} in ${err}`)), 15_000);
        const check = () => {
          if (re.test(err)) {
            clearTimeout(timer);
            child.stderr.off('data', onData);
            resolve();
          }
        };
        const onData = (d: Buffer) => {
          err += d;
          check();
        };
        child.stderr.on('data', onData);
        check();
      });
    await waitFor(/switched to 1\.0\.0/);
    await toProduction(reg, '1.1.0');
    await waitFor(/switched to 1\.1\.0/);
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    assert.equal(code, 0, err);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => (l.event === 'switch' ? `switch ${l.version}` : l.event)),
      ['started', 'switch 1.0.0', 'switch 1.1.0', 'stopped'],
    );
    assert.equal(readlinkSync(join(srv, 'current')), 'versions/1.1.0');
  } finally {
    t.cleanup();
  }
});

test('status shows each stage and its followers (behind and stale marked); deployments are in history beside promotions', async () => {
  const t = tempDir();
  try {
    const reg = await seed(t.path);
    const run = (args: string[]) => cliInProcess([...args, '--registry', reg], { cwd: t.path });
    assert.equal((await run(['promote', 'fraud@1.0.0', '--to', 'production'])).code, 0);
    for (const id of ['web-1', 'web-2'])
      assert.equal((await run(['follow', 'fraud', join(t.path, id), '--once', '--id', id])).code, 0);
    assert.equal((await run(['promote', 'fraud@1.1.0', '--to', 'production'])).code, 0);
    assert.equal((await run(['follow', 'fraud', join(t.path, 'web-1'), '--once', '--id', 'web-1'])).code, 0);

    const status = await run(['status', 'fraud', '--json']);
    assert.equal(status.code, 0, status.stdout);
    const [prod] = status.json!.data.stages;
    assert.equal(prod.stage, 'production');
    assert.equal(prod.version, '1.1.0');
    assert.deepEqual(
      prod.followers.map((f: { follower: string; version: string; behind: boolean; stale: boolean }) => [
        f.follower,
        f.version,
        f.behind,
        f.stale,
      ]),
      [
        ['web-1', '1.1.0', false, false],
        ['web-2', '1.0.0', true, false],
      ],
    );
    await new Promise((r) => setTimeout(r, 5));
    const stale = await run(['status', 'fraud', '--json', '--stale-after', '1ms']);
    assert.ok(stale.json?.data.stages[0].followers.every((f: { stale: boolean }) => f.stale));
    const text = await run(['status', 'fraud', '--stale-after', '1ms']);
    assert.match(text.stdout, /web-2 .*1\.0\.0 \(behind\).*STALE/);

    const history = await run(['history', 'fraud', '--json']);
    assert.deepEqual(
      history.json?.data.events.map((e: { kind: string; to: string; details: { follower?: string } | null }) =>
        e.kind === 'deploy' ? `deploy ${e.to} on ${e.details?.follower}` : `${e.kind} ${e.to}`,
      ),
      ['deploy 1.1.0 on web-1', 'promote 1.1.0', 'deploy 1.0.0 on web-2', 'deploy 1.0.0 on web-1', 'promote 1.0.0'],
    );
    // A follow --once that finds nothing to switch reports a heartbeat, not another deployment.
    assert.equal((await run(['follow', 'fraud', join(t.path, 'web-1'), '--once', '--id', 'web-1'])).code, 0);
    assert.equal((await run(['history', 'fraud', '--json'])).json?.data.events.length, 5);
  } finally {
    t.cleanup();
  }
});

test('monitor check --auto-rollback --checkout DIR switches the serving folder after the rollback', async () => {
  const t = tempDir();
  try {
    const reg = await seed(t.path);
    const srv = join(t.path, 'srv');
    const run = (args: string[]) => cliInProcess([...args, '--registry', reg], { cwd: t.path });
    assert.equal((await run(['promote', 'fraud@1.0.0', '--to', 'production', '--checkout', srv])).code, 0);
    assert.equal((await run(['promote', 'fraud@1.1.0', '--to', 'production', '--checkout', srv])).code, 0);
    assert.equal(readlinkSync(join(srv, 'current')), 'versions/1.1.0');
    for (const v of ['0.80', '0.79', '0.81'])
      assert.equal((await run(['monitor', 'record', 'fraud', `auc=${v}`])).code, 0);
    const alone = await run(['monitor', 'check', 'fraud', '--rule', 'auc < 0.85', '--checkout', srv, '--json']);
    assert.equal(alone.code, 2, 'with --auto-rollback only');
    const fired = await run([
      'monitor',
      'check',
      'fraud',
      '--rule',
      'auc < 0.85',
      '--auto-rollback',
      '--checkout',
      srv,
      '--json',
    ]);
    assert.equal(fired.code, 1, fired.stdout);
    assert.equal(fired.json?.error?.details.rollback.to, '1.0.0');
    assert.equal(fired.json?.error?.details.checkout.version, '1.0.0');
    assert.equal(readlinkSync(join(srv, 'current')), 'versions/1.0.0');
    const info = JSON.parse(readFileSync(join(srv, 'current', '.mlreg-version.json'), 'utf8'));
    assert.deepEqual([info.version, info.previous], ['1.0.0', '1.1.0']);
  } finally {
    t.cleanup();
  }
});

test('follow into a folder on a read-only file system refuses at start with a hint (exit 2)', async (ctx) => {
  const t = tempDir();
  try {
    const reg = await seed(t.path);
    await toProduction(reg, '1.0.0');
    const ro = join(t.path, 'ro');
    mkdirSync(ro);
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro], { encoding: 'utf8' });
    if (m.status !== 0) return ctx.skip(`cannot mount a tmpfs here (${m.stderr.trim()})`);
    try {
      const r = await cliInProcess(['follow', 'fraud', ro, '--json', '--registry', reg]);
      assert.equal(r.code, 2, r.stdout);
      assert.equal(r.json?.error?.code, 'E_PERMISSION');
      assert.match(r.json!.error!.hint, /writable file system/);
    } finally {
      spawnSync('umount', [ro]);
    }
  } finally {
    t.cleanup();
  }
});

test('follow refuses a version the model scan flagged unsafe unless --allow-unsafe', async () => {
  const t = tempDir();
  try {
    const reg = await seed(t.path);
    const run = (args: string[]) => cliInProcess([...args, '--registry', reg], { cwd: t.path });
    const bad = join(FIXTURES, 'models', 'scan', 'malicious', 'os_system_global.pkl');
    assert.equal((await run(['add', 'model', 'fraud', bad, '--version', '2.0.0', '--unsafe'])).code, 0);
    assert.equal((await run(['promote', 'fraud@2.0.0', '--to', 'production'])).code, 0);
    const srv = join(t.path, 'srv');
    const refused = await run(['follow', 'fraud', srv, '--once', '--json']);
    assert.equal(refused.code, 2, refused.stdout);
    assert.equal(refused.json?.error?.code, 'E_UNSAFE_MODEL');
    assert.match(refused.json!.error!.hint, /--allow-unsafe/);
    const allowed = await run(['follow', 'fraud', srv, '--once', '--json', '--allow-unsafe']);
    assert.equal(allowed.code, 0, allowed.stdout);
    assert.equal(readlinkSync(join(srv, 'current')), 'versions/2.0.0');
  } finally {
    t.cleanup();
  }
});
