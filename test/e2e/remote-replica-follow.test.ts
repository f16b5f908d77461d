import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { cliInProcess, tempDir, type CliResult } from '../helpers.js';

/**
 * follow on replicas of one file:// remote: a promote on replica A reaches the serving folder of
 * replica B through `follow --once`, B's report travels back through the remote log (A's status
 * shows it), and an unreachable remote keeps what is served.
 */

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

test('promote on replica A; follow --once on replica B switches, and A sees B as a follower', async () => {
  const t = tempDir('mlreg-replica-follow-');
  try {
    const remote = join(t.path, 'remote');
    mkdirSync(remote);
    const url = `file://${remote}`;
    const [a, b] = [join(t.path, 'a'), join(t.path, 'b')];
    const run = (rep: string, args: string[]) => cliInProcess(['--registry', rep, ...args], { cwd: t.path });
    ok(await cliInProcess(['init', a, '--remote', url]), 'init --remote');
    for (const v of ['1.0.0', '1.1.0']) {
      const f = join(t.path, `m-${v}.bin`);
      writeFileSync(f, randomBytes(1024));
      ok(await run(a, ['add', 'model', 'fraud', f, '--as', 'model.bin', '--version', v]), 'add');
    }
    ok(await run(a, ['promote', 'fraud@1.0.0', '--to', 'production']), 'promote');
    ok(await cliInProcess(['clone', url, b]), 'clone');
    const srv = join(t.path, 'srv-b');
    const follow = () => run(b, ['follow', 'fraud@production', srv, '--once', '--json', '--id', 'b-1']);
    assert.equal(ok(await follow(), 'follow').json?.data.version, '1.0.0');

    ok(await run(a, ['promote', 'fraud@1.1.0', '--to', 'production']), 'promote on A');
    const second = ok(await follow(), 'follow after the promote on A');
    assert.deepEqual([second.json?.data.version, second.json?.data.changed], ['1.1.0', true]);
    assert.equal(readlinkSync(join(srv, 'current')), 'versions/1.1.0');
    assert.equal(JSON.parse(readFileSync(join(srv, 'current', '.mlreg-version.json'), 'utf8')).version, '1.1.0');

    // B's reports went through the remote log: A sees them.
    const status = ok(await run(a, ['status', 'fraud', '--json']), 'status on A');
    const [f] = status.json!.data.stages[0].followers;
    assert.deepEqual([f.follower, f.version, f.behind], ['b-1', '1.1.0', false]);
    const deploys = ok(await run(a, ['history', 'fraud', '--json']), 'history').json?.data.events.filter(
      (e: { kind: string }) => e.kind === 'deploy',
    );
    assert.deepEqual(
      deploys.map((e: { to: string }) => e.to),
      ['1.1.0', '1.0.0'],
    );

    // The remote goes away: B keeps serving, says so, and does not fail.
    renameSync(remote, `${remote}-away`);
    const away = await follow();
    assert.equal(away.code, 0, away.stdout + away.stderr);
    assert.equal(away.json?.data.version, '1.1.0');
    assert.match(away.stderr, /unreachable/);
    assert.equal(readlinkSync(join(srv, 'current')), 'versions/1.1.0');
  } finally {
    t.cleanup();
  }
});
