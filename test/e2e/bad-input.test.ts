import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { cliInProcess, copySeed, FIXTURES, tempDir, type CliResult } from '../helpers.js';
import { registryState } from '../registry-state.js';

/**
 * Every bad input the core issue lists: a clear message with a hint, the documented exit code,
 * and a registry exactly as it was before.
 */

const MODEL = join(FIXTURES, 'models', 'cancer-v1.joblib');

/** cwd/.mlreg holding fraud@1.0.0 in production: built once, copied for each case. */
async function seeded(): Promise<{ cwd: string; reg: string; cleanup: () => void }> {
  const t = tempDir();
  const cwd = t.path;
  await copySeed('fraud-production', join(cwd, '.mlreg'), async (seedDir) => {
    await cliInProcess(['init'], { cwd: seedDir });
    await cliInProcess(['add', 'model', 'fraud', MODEL, '--version', '1.0.0'], { cwd: seedDir });
    await cliInProcess(['promote', 'fraud@1.0.0', '--to', 'production'], { cwd: seedDir });
    return join(seedDir, '.mlreg');
  });
  return { cwd, reg: join(cwd, '.mlreg'), cleanup: t.cleanup };
}

function expectRefused(r: CliResult, exit: number, code: string, message: RegExp): void {
  assert.equal(r.code, exit, `exit code (stderr: ${r.stderr}, stdout: ${r.stdout})`);
  assert.equal(r.json?.ok, false);
  assert.equal(r.json?.error?.code, code);
  assert.match(r.json?.error?.message ?? '', message);
  assert.ok((r.json?.error?.hint ?? '').length > 10, `a hint is given for ${code}`);
}

const cases: {
  name: string;
  args: (cwd: string) => string[];
  setup?: (cwd: string) => void;
  exit: number;
  code: string;
  message: RegExp;
}[] = [
  {
    name: 'missing path',
    args: (cwd) => ['add', 'model', 'fraud', join(cwd, 'nope.joblib')],
    exit: 3,
    code: 'E_PATH_NOT_FOUND',
    message: /no such file/,
  },
  {
    name: 'path that is a device',
    args: () => ['add', 'model', 'fraud', '/dev/zero'],
    exit: 2,
    code: 'E_SPECIAL_FILE',
    message: /is a device/,
  },
  {
    name: 'empty folder',
    setup: (cwd) => mkdirSync(join(cwd, 'empty')),
    args: (cwd) => ['add', 'model', 'fraud', join(cwd, 'empty')],
    exit: 2,
    code: 'E_EMPTY_FOLDER',
    message: /empty folder/,
  },
  {
    name: 'invalid artifact name',
    args: () => ['add', 'model', 'Fraud Model', MODEL],
    exit: 2,
    code: 'E_BAD_NAME',
    message: /invalid artifact name/,
  },
  {
    name: 'name too long',
    args: () => ['add', 'model', 'a'.repeat(129), MODEL],
    exit: 2,
    code: 'E_BAD_NAME',
    message: /invalid artifact name/,
  },
  {
    name: 'invalid semver',
    args: () => ['add', 'model', 'fraud', MODEL, '--version', '1.2'],
    exit: 2,
    code: 'E_BAD_VERSION',
    message: /not a semantic version/,
  },
  {
    name: 'invalid bump',
    args: () => ['add', 'model', 'fraud', MODEL, '--bump', 'huge'],
    exit: 2,
    code: 'E_BAD_BUMP',
    message: /--bump: the bump takes/,
  },
  {
    name: 'a version that exists',
    args: () => ['add', 'model', 'fraud', MODEL, '--version', '1.0.0'],
    exit: 4,
    code: 'E_VERSION_EXISTS',
    message: /already exists/,
  },
  // Other content than 1.0.0 holds: refused before its bytes reach objects/.
  {
    name: 'a version that exists, with new content',
    args: () => ['add', 'model', 'fraud', join(FIXTURES, 'models', 'cancer-v2.joblib'), '--version', '1.0.0'],
    exit: 4,
    code: 'E_VERSION_EXISTS',
    message: /already exists/,
  },
  {
    name: 'a metric that is not a number',
    args: () => ['add', 'model', 'fraud', MODEL, '--metric', 'auc=high'],
    exit: 2,
    code: 'E_BAD_METRIC',
    message: /not a finite number/,
  },
  {
    name: 'a metrics file that is not JSON',
    setup: (cwd) => writeFileSync(join(cwd, 'm.json'), '{auc: 1'),
    args: (cwd) => ['add', 'model', 'fraud', MODEL, '--metrics-file', join(cwd, 'm.json')],
    exit: 2,
    code: 'E_BAD_METRICS_FILE',
    message: /not valid JSON/,
  },
  {
    name: 'trained on a dataset that does not exist',
    args: () => ['add', 'model', 'fraud', MODEL, '--trained-on', 'transactions@1.0.0'],
    exit: 3,
    code: 'E_ARTIFACT_NOT_FOUND',
    message: /transactions/,
  },
  {
    name: 'unknown ref',
    args: () => ['show', 'fraud@2.0.0'],
    exit: 3,
    code: 'E_VERSION_NOT_FOUND',
    message: /no version 2\.0\.0/,
  },
  {
    name: 'unknown artifact',
    args: () => ['promote', 'churn@1.0.0', '--to', 'production'],
    exit: 3,
    code: 'E_ARTIFACT_NOT_FOUND',
    message: /churn/,
  },
  {
    name: 'unknown stage',
    args: () => ['show', 'fraud@staging'],
    exit: 3,
    code: 'E_STAGE_NOT_FOUND',
    message: /no stage "staging"/,
  },
  {
    name: 'rollback of a stage never set',
    args: () => ['rollback', 'fraud', '--stage', 'canary'],
    exit: 3,
    code: 'E_STAGE_NOT_FOUND',
    message: /no canary stage/,
  },
  {
    name: 'invalid stage name',
    args: () => ['promote', 'fraud@1.0.0', '--to', 'Prod'],
    exit: 2,
    code: 'E_BAD_STAGE',
    message: /invalid stage name/,
  },
  {
    name: 'the reserved stage latest',
    args: () => ['promote', 'fraud@1.0.0', '--to', 'latest'],
    exit: 2,
    code: 'E_BAD_STAGE',
    message: /invalid stage name/,
  },
  {
    name: 'rollback with nowhere to go',
    args: () => ['rollback', 'fraud'],
    exit: 4,
    code: 'E_NO_ROLLBACK_TARGET',
    message: /nowhere to roll back/,
  },
  {
    name: 'stage moved since --expect',
    args: () => ['promote', 'fraud@1.0.0', '--to', 'production', '--expect', '0.9.0'],
    exit: 4,
    code: 'E_STAGE_MOVED',
    message: /not 0\.9\.0/,
  },
  {
    name: 'init over an existing registry',
    args: () => ['init'],
    exit: 4,
    code: 'E_REGISTRY_EXISTS',
    message: /already holds/,
  },
  {
    name: 'bad --at time',
    args: () => ['show', 'fraud', '--at', 'yesterday-ish'],
    exit: 2,
    code: 'E_BAD_TIME',
    // Core says what is wrong; the CLI names the flag.
    message: /^--at: "yesterday-ish" is not a date/,
  },
  { name: 'an unknown option', args: () => ['list', '--colour'], exit: 2, code: 'E_USAGE', message: /unknown option/ },
  // Refusals that used to come without a hint.
  {
    name: 'a bad --limit',
    args: () => ['history', 'fraud', '--limit', 'abc'],
    exit: 2,
    code: 'E_BAD_LIMIT',
    message: /--limit takes/,
  },
  {
    name: 'a bad --eval-timeout names --eval-timeout, the flag given',
    args: () => [
      'promote',
      'fraud@1.0.0',
      '--to',
      'staging',
      '--if-better',
      'auc',
      '--on',
      'fraud@1.0.0',
      '--eval-cmd',
      'true',
      '--eval-timeout',
      'abc',
    ],
    exit: 2,
    code: 'E_BAD_TIMEOUT',
    message: /^--eval-timeout takes a duration/,
  },
  {
    name: 'a --timeout past what a timer holds is refused with the bound',
    args: () => ['eval', 'run', 'fraud@1.0.0', '--on', 'fraud@1.0.0', '--timeout', '1e12', '--', 'true'],
    exit: 2,
    code: 'E_BAD_TIMEOUT',
    message: /^--timeout takes a duration .*at most 24d, not "1e12"/,
  },
  {
    name: 'a bad --format',
    args: () => ['compare', 'fraud@1.0.0', 'fraud@1.0.0', '--format', 'pdf'],
    exit: 2,
    code: 'E_BAD_FORMAT',
    message: /--format takes/,
  },
  {
    name: '--preid without --bump prerelease',
    args: () => ['add', 'model', 'fraud', MODEL, '--preid', 'rc'],
    exit: 2,
    code: 'E_PREID_WITHOUT_PRERELEASE',
    message: /--preid: a prerelease identifier goes with a prerelease bump/,
  },
  {
    name: 'checkout into a DIR whose versions is a file',
    setup: (cwd) => (mkdirSync(join(cwd, 'srv')), writeFileSync(join(cwd, 'srv', 'versions'), 'a file')),
    args: (cwd) => ['checkout', 'fraud@1.0.0', join(cwd, 'srv')],
    exit: 2,
    code: 'E_PATH_EXISTS',
    message: /already at/,
  },
  {
    name: 'checkout into a file',
    setup: (cwd) => writeFileSync(join(cwd, 'srv'), 'a file'),
    args: (cwd) => ['checkout', 'fraud@1.0.0', join(cwd, 'srv')],
    exit: 2,
    code: 'E_BAD_PATH',
    message: /not a directory/,
  },
];

for (const c of cases) {
  test(`refused without change: ${c.name}`, async () => {
    const s = await seeded();
    try {
      c.setup?.(s.cwd);
      const before = registryState(s.reg);
      expectRefused(await cliInProcess([...c.args(s.cwd), '--json'], { cwd: s.cwd }), c.exit, c.code, c.message);
      assert.deepEqual(registryState(s.reg), before);
    } finally {
      s.cleanup();
    }
  });
}

test('refused without change: a path that is a socket', async () => {
  const s = await seeded();
  const sock = join(s.cwd, 'model.sock');
  const server = createServer().listen(sock);
  await new Promise((r) => server.once('listening', r));
  try {
    const before = registryState(s.reg);
    expectRefused(
      await cliInProcess(['add', 'model', 'fraud', sock, '--json'], { cwd: s.cwd }),
      2,
      'E_SPECIAL_FILE',
      /socket/,
    );
    assert.deepEqual(registryState(s.reg), before);
  } finally {
    server.close();
    s.cleanup();
  }
});

test('a registry written by a newer format is refused, untouched', async () => {
  const s = await seeded();
  try {
    const db = new Database(join(s.reg, 'mlreg.db'));
    db.pragma('user_version = 999');
    db.close();
    const before = registryState(s.reg);
    const r = await cliInProcess(['list', '--json'], { cwd: s.cwd });
    expectRefused(r, 2, 'E_FORMAT_TOO_NEW', /format 999, newer than this mlreg/);
    assert.match(r.json?.error?.hint ?? '', /Upgrade mlreg/);
    assert.deepEqual(registryState(s.reg), before);
  } finally {
    s.cleanup();
  }
});

test('a corrupt or non-SQLite mlreg.db is an integrity error (exit 5) pointing to restore', async () => {
  const s = await seeded();
  try {
    writeFileSync(
      join(s.reg, 'mlreg.db'),
      'this is not a database, it is a text file that got copied over it\n'.repeat(100),
    );
    for (const args of [['list'], ['add', 'model', 'fraud', MODEL]]) {
      const r = await cliInProcess([...args, '--json'], { cwd: s.cwd });
      expectRefused(r, 5, 'E_INDEX_CORRUPT', /not a readable SQLite database/);
      assert.match(r.json?.error?.hint ?? '', /restore/);
    }
  } finally {
    s.cleanup();
  }
});

test('permission denied on the registry folder: clear error, exit 2, nothing changed', async () => {
  const s = await seeded();
  try {
    // Tests may run as root, which ignores permissions; run the CLI as an unprivileged user then.
    const asUser = process.getuid?.() === 0;
    chmodSync(s.cwd, 0o755);
    chmodSync(join(s.reg, 'objects'), 0o555);
    chmodSync(join(s.reg, 'tmp'), 0o555);
    copyFileSync(MODEL, join(s.cwd, 'model.joblib'));
    chmodSync(join(s.cwd, 'model.joblib'), 0o644);
    const before = registryState(s.reg);
    const args = ['add', 'model', 'fraud', join(s.cwd, 'model.joblib'), '--json'];
    const r = asUser ? cliAs(args, s.cwd) : await cliInProcess(args, { cwd: s.cwd });
    assert.ok(r.code === 2, `exit 2, got ${r.code}: ${r.stdout} ${r.stderr}`);
    assert.equal(r.json?.error?.code, 'E_PERMISSION');
    assert.match(r.json?.error?.message ?? '', /permission denied/);
    assert.deepEqual(registryState(s.reg), before);
  } finally {
    chmodSync(join(s.reg, 'objects'), 0o755);
    chmodSync(join(s.reg, 'tmp'), 0o755);
    s.cleanup();
  }
});

import { spawnSync } from 'node:child_process';
import { BIN } from '../helpers.js';

function cliAs(args: string[], cwd: string): CliResult {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', MLREG_ACTOR: 'nobody', HOME: '/tmp' },
    encoding: 'utf8',
  });
  let json: CliResult['json'];
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

test('--metrics-file that is a device or too large is refused (exit 2) before it is read; a repeated option is refused', async () => {
  const t = tempDir();
  try {
    const run = (...args: string[]) => cliInProcess(args, { cwd: t.path });
    await run('init');
    writeFileSync(join(t.path, 'm.bin'), 'weights');
    const zero = await run('add', 'model', 'm', 'm.bin', '--metrics-file', '/dev/zero', '--json');
    assert.equal(zero.code, 2);
    assert.match(zero.json!.error!.message, /not a regular file/);
    writeFileSync(join(t.path, 'big.json'), `{"a": ${'1'.repeat(5 << 20)}}`);
    const big = await run('add', 'model', 'm', 'm.bin', '--metrics-file', 'big.json', '--json');
    assert.equal(big.code, 2);
    assert.match(big.json!.error!.message, /over the limit/);
    const twice = await run('add', 'model', 'm', 'm.bin', '--metric', 'auc=0.9', '--metric', 'auc=0.8', '--json');
    assert.equal(twice.json!.error!.code, 'E_DUPLICATE_KEY');
    await run('add', 'model', 'm', 'm.bin');
    const stages = await run('promote', 'm@1.0.0', '--to', 'staging', '--to', 'canary', '--json');
    assert.equal(stages.code, 2);
    assert.match(stages.json!.error!.message, /--to was given more than once/);
    assert.equal((await run('list', '--json')).json!.data.artifacts[0].versions, 1, 'nothing else was registered');
  } finally {
    t.cleanup();
  }
});
