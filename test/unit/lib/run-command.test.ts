import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAlertCommand } from '../../../src/core/monitor/alerts.js';
import { runCommand } from '../../../src/core/lib/run-command.js';

const signalGroup = (pgid: number, signal: NodeJS.Signals): void => {
  process.kill(-pgid, signal);
};

/** Running (a killed child nobody has reaped yet is a zombie: dead, though its pid still answers). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

test('an alert command past its timeout returns at the timeout even while an orphan holds its pipes', async () => {
  // Without a group signal only sh is killed: its `sleep 6` keeps stderr open for 6 s.
  const start = Date.now();
  const d = await runAlertCommand('sleep 6; echo done', { x: 1 }, { timeoutMs: 1000 });
  const ms = Date.now() - start;
  assert.equal(d.ok, false);
  assert.match(d.error ?? '', /timed out after 1000 ms/);
  assert.ok(ms < 2500, `returned after ${ms} ms`);
});

test("a 1000 ms timeout on sh -c 'sleep 6; echo done' returns in about a second and kills the whole group", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlreg-run-'));
  try {
    const pidFile = join(dir, 'sleep.pid');
    const start = Date.now();
    const outcome = await runCommand({
      argv: ['sh', '-c', `sleep 6 & echo $! > ${pidFile}; wait; echo done`],
      cwd: dir,
      timeoutMs: 1000,
      signalGroup,
    });
    const ms = Date.now() - start;
    assert.equal(outcome.kind, 'timeout');
    assert.ok(ms < 2500, `returned after ${ms} ms`);
    const sleepPid = Number(readFileSync(pidFile, 'utf8'));
    for (let i = 0; i < 50 && alive(sleepPid); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(alive(sleepPid), false, 'the sleep the shell started was killed with it');

    const exact = Date.now();
    const plain = await runCommand({
      argv: ['sh', '-c', 'sleep 6; echo done'],
      cwd: dir,
      timeoutMs: 1000,
      signalGroup,
    });
    assert.equal(plain.kind, 'timeout');
    assert.ok(Date.now() - exact < 2500, `returned after ${Date.now() - exact} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an alert command gets the alert on stdin and its exit status is reported', async () => {
  const ok = await runAlertCommand('grep -q \'"x":1\'', { x: 1 }, { timeoutMs: 5000 });
  assert.equal(ok.ok, true);
  const bad = await runAlertCommand('echo nope >&2; exit 3', { x: 1 }, { timeoutMs: 5000 });
  assert.deepEqual([bad.ok, bad.status, bad.error], [false, 3, 'exited with 3: nope']);
});
