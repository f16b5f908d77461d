import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import Database from 'better-sqlite3';
import { readTar, TarWriter } from '../../src/core/backup/tar.js';
import { cli, cliInProcess, copySeed, FIXTURES, tempDir, type CliResult } from '../helpers.js';

/**
 * A restored index is input, not truth. Each case: the attack (a registry whose mlreg.db was edited
 * by hand, then backed up or put in place), then the assertion: restore, backup verify and verify
 * refuse it with exit 5 naming table, row and value, nothing is restored, and nothing outside the
 * checkout folder is ever written.
 */

const MODEL = join(FIXTURES, 'models', 'cancer-v1.joblib');

/** A registry with cancer@1.0.0 in production at INTO (built once, copied per case); returns INTO. */
async function seed(into: string): Promise<string> {
  await copySeed('hostile-index', into, async (dir) => {
    const reg = join(dir, 'reg');
    const run = async (args: string[]): Promise<void> => {
      const r = await cliInProcess(['--registry', reg, ...args, '--json'], { cwd: dir });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    };
    await run(['init', reg]);
    await run(['add', 'model', 'cancer', MODEL, '--version', '1.0.0']);
    await run(['promote', 'cancer@1.0.0', '--to', 'production']);
    return reg;
  });
  return into;
}

function edit(reg: string, sql: string): void {
  const db = new Database(reg.endsWith('.db') ? reg : join(reg, 'mlreg.db'));
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

async function run(cwd: string, args: string[]): Promise<CliResult> {
  return cliInProcess([...args, '--json'], { cwd });
}

/** The path in REG's store of the first file of REF's manifest. */
async function objectOf(cwd: string, reg: string, ref: string): Promise<string> {
  const show = await run(cwd, ['--registry', reg, 'show', ref]);
  const sha = (show.json?.data?.manifest?.files ?? show.json?.data?.files)?.[0]?.sha256 as string;
  assert.match(sha ?? '', /^[0-9a-f]{64}$/, show.stdout);
  return join(reg, 'objects', 'sha256', sha.slice(0, 2), sha.slice(2));
}

/**
 * Store a manifest whose one file path climbs out of its folder (../../escape.joblib, the bytes of
 * cancer@1.0.0's file) and point version row 1 at it; returns the manifest's digest.
 */
async function pointAtEscapingManifest(cwd: string, reg: string): Promise<string> {
  const show = await run(cwd, ['--registry', reg, 'show', 'cancer@1.0.0']);
  const file = (show.json?.data?.manifest?.files ?? show.json?.data?.files)?.[0] as { sha256: string; size: number };
  const bytes = Buffer.from(
    `${JSON.stringify({ format: 1, type: 'file', files: [{ path: '../../escape.joblib', size: file.size, mode: 0o644, sha256: file.sha256 }] })}\n`,
  );
  const d = createHash('sha256').update(bytes).digest('hex');
  mkdirSync(join(reg, 'objects', 'sha256', d.slice(0, 2)), { recursive: true });
  writeFileSync(join(reg, 'objects', 'sha256', d.slice(0, 2), d.slice(2)), bytes);
  edit(
    reg,
    `UPDATE versions SET digest = '${d}'; INSERT INTO version_objects (version_id, digest, size) VALUES (1, '${d}', ${bytes.length});`,
  );
  return d;
}

/**
 * Each command on `reg` exits 5 within 10 s: a special file where an object should be is neither
 * waited on nor read without end.
 */
async function refusedAtOnce(cwd: string, reg: string, commands: string[][]): Promise<CliResult[]> {
  const out: CliResult[] = [];
  for (const args of commands) {
    const started = Date.now();
    const r = await run(cwd, ['--registry', reg, ...args]);
    assert.equal(r.code, 5, `${args[0]}: ${r.stdout}${r.stderr}`);
    assert.ok(Date.now() - started < 10_000, `${args[0]}: no hang`);
    out.push(r);
  }
  return out;
}

/** restore (into a new folder and with --force over a good registry) and backup verify all refuse with exit 5. */
async function expectBackupRefused(cwd: string, archive: string, pattern: RegExp): Promise<void> {
  const into = join(cwd, 'restored');
  const r = await run(cwd, ['restore', archive, '--into', into]);
  assert.equal(r.code, 5, `restore: ${r.stdout}${r.stderr}`);
  assert.equal(r.json?.error?.code, 'E_HOSTILE_INDEX', r.stdout);
  assert.match(r.json!.error!.message, pattern);
  assert.ok(!existsSync(into), 'nothing restored');
  assert.deepEqual(
    readdirSync(cwd).filter((n) => n.startsWith('.mlreg-')),
    [],
    'no temp folder left',
  );
  const v = await run(cwd, ['backup', 'verify', archive]);
  assert.equal(v.code, 5, `backup verify: ${v.stdout}${v.stderr}`);
  assert.equal(v.json?.error?.code, 'E_HOSTILE_INDEX', v.stdout);
  assert.match(v.json!.error!.message, pattern);
  // --force over a good registry: refused before the swap, the good one stays.
  const good = join(cwd, 'good');
  await seed(good);
  const before = readFileSync(join(good, 'mlreg.db'));
  const f = await run(cwd, ['restore', archive, '--into', good, '--force']);
  assert.equal(f.code, 5, `restore --force: ${f.stdout}${f.stderr}`);
  assert.deepEqual(readFileSync(join(good, 'mlreg.db')), before, 'the registry that was there is untouched');
  assert.equal((await run(cwd, ['--registry', good, 'verify'])).code, 0);
  rmSync(good, { recursive: true, force: true });
}

/**
 * A real backup of the seed whose mlreg.db is then replaced by a copy edited by `sql`, with the
 * manifest's size and digest updated to match (what an attacker with the archive can do), written
 * with the project's own tar writer. Also returns a registry holding the same edited index.
 */
async function hostileBackup(cwd: string, name: string, sql: string): Promise<{ reg: string; archive: string }> {
  const reg = join(cwd, `${name}-reg`);
  await seed(reg);
  const good = join(cwd, `${name}-good.tar`);
  const b = await run(cwd, ['--registry', reg, 'backup', good]);
  assert.equal(b.code, 0, `backup: ${b.stdout}${b.stderr}`);
  edit(reg, sql);
  const entries = await readEntries(good);
  const db = join(cwd, `${name}-edited.db`);
  writeFileSync(db, entries.get('mlreg.db')!);
  edit(db, sql);
  const dbBytes = readFileSync(db);
  const manifest = JSON.parse(entries.get('manifest.json')!.toString());
  const m = manifest.members.find((x: { path: string }) => x.path === 'mlreg.db');
  manifest.counts.memberBytes += dbBytes.length - m.size;
  m.size = dbBytes.length;
  m.sha256 = createHash('sha256').update(dbBytes).digest('hex');
  entries.set('manifest.json', Buffer.from(JSON.stringify(manifest)));
  entries.set('mlreg.db', dbBytes);
  const archive = join(cwd, `${name}.tar`);
  await writeEntries(archive, entries);
  return { reg, archive };
}

async function readEntries(file: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const limits = { maxRatio: 1e9, ratioFloorBytes: 0, maxBytes: () => Number.MAX_SAFE_INTEGER };
  await readTar(file, limits, (e) => {
    const parts: Buffer[] = [];
    return { write: (c) => void parts.push(Buffer.from(c)), end: () => void out.set(e.path, Buffer.concat(parts)) };
  });
  return out;
}

async function writeEntries(file: string, entries: Map<string, Buffer>): Promise<void> {
  const fh = await open(file, 'w');
  try {
    const w = await TarWriter.open(fh, false);
    for (const [path, data] of entries) {
      await w.header(path, data.length, 0o644, new Date(0));
      if (data.length) await w.write(data);
      await w.pad(data.length);
    }
    await w.finish();
  } finally {
    await fh.close();
  }
}

test('a version string that is a path: refused by restore, backup verify and verify; checkout never writes outside DIR', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    // The attack of the review: checkout DIR/versions/<version> with version ../../../../tmp/victim.
    const { reg, archive } = await hostileBackup(
      cwd,
      'victim',
      `UPDATE versions SET version = '../../../../tmp/victim'; UPDATE events SET version = '../../../../tmp/victim' WHERE version IS NOT NULL;`,
    );
    await expectBackupRefused(
      cwd,
      archive,
      /versions row 1: version "\.\.\/\.\.\/\.\.\/\.\.\/tmp\/victim" is not a semantic version/,
    );

    const v = await run(cwd, ['--registry', reg, 'verify']);
    assert.equal(v.code, 5, v.stdout);
    const step = ((v.json?.error?.details?.steps ?? []) as { id: string; ok: boolean }[]).find(
      (s) => s.id === 'index-values',
    );
    assert.equal(step?.ok, false, 'verify has a failing index-values step');

    // The same index put in place by hand: checkout refuses, nothing is written or deleted outside DIR.
    const dir = join(cwd, 'x', 'y', 'serve');
    mkdirSync(dir, { recursive: true });
    const victim = join(cwd, 'tmp', 'victim');
    mkdirSync(victim, { recursive: true });
    writeFileSync(join(victim, 'keep.txt'), 'mine');
    const c = await run(cwd, ['--registry', reg, 'checkout', 'cancer@production', dir]);
    assert.equal(c.code, 5, `checkout: ${c.stdout}${c.stderr}`);
    assert.deepEqual(readdirSync(victim), ['keep.txt'], 'the folder outside DIR is untouched');
    assert.ok(!existsSync(join(dir, 'current')), 'current not switched');
    for (const args of [['list'], ['list', 'cancer'], ['show', 'cancer@production'], ['history', 'cancer']]) {
      const r = await run(cwd, ['--registry', reg, ...args]);
      assert.notEqual(r.code, 70, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    }
  } finally {
    t.cleanup();
  }
});

test('a backup whose index carries a trigger is refused; so is one with an extra view', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    const { reg, archive } = await hostileBackup(
      cwd,
      'trigger',
      `CREATE TRIGGER wipe AFTER INSERT ON events BEGIN DELETE FROM stages; UPDATE events SET actor = 'mallory'; END;`,
    );
    await expectBackupRefused(cwd, archive, /trigger "wipe" \(on events\) that format \d+ does not have/);
    const v = await run(cwd, ['--registry', reg, 'verify']);
    assert.equal(v.code, 5, v.stdout);
    assert.match(v.stdout, /trigger \\"wipe\\"/);
    // The same index put in place by hand: the next write is refused before the trigger can run.
    const p = await run(cwd, ['--registry', reg, 'promote', 'cancer@1.0.0', '--to', 'staging']);
    assert.equal(p.code, 5, `promote: ${p.stdout}${p.stderr}`);
    assert.equal(p.json?.error?.code, 'E_HOSTILE_INDEX');
    const db = new Database(join(reg, 'mlreg.db'), { readonly: true });
    try {
      assert.equal(db.prepare('SELECT COUNT(*) FROM stages').pluck().get(), 1, 'stages untouched');
      assert.equal(db.prepare("SELECT COUNT(*) FROM events WHERE actor = 'mallory'").pluck().get(), 0);
    } finally {
      db.close();
    }
    assert.equal((await run(cwd, ['--registry', reg, 'history', 'cancer'])).code, 0, 'reading still works');

    const view = await hostileBackup(cwd, 'view', `CREATE VIEW spy AS SELECT * FROM events;`);
    await expectBackupRefused(cwd, view.archive, /view "spy"/);
  } finally {
    t.cleanup();
  }
});

test('a backup whose user_version disagrees with its tables is refused (restore and restore --force)', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    const { reg, archive } = await hostileBackup(cwd, 'uv', 'PRAGMA user_version = 3;');
    await expectBackupRefused(cwd, archive, /format 3 does not have|disagrees with its tables/);
    // The same index put in place by hand: commands refuse it (exit 5), none exits 70.
    const l = await run(cwd, ['--registry', reg, 'list']);
    assert.equal(l.code, 5, `list: ${l.stdout}${l.stderr}`);
    assert.equal(l.json?.error?.code, 'E_INDEX_SCHEMA');
    const zero = await hostileBackup(cwd, 'uv0', 'PRAGMA user_version = 0;');
    await expectBackupRefused(cwd, zero.archive, /user_version 0 is no registry format/);
  } finally {
    t.cleanup();
  }
});

test('bad names, stages and manifest paths in a backup are refused, naming table, row and value', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    const name = await hostileBackup(cwd, 'name', `UPDATE artifacts SET name = '../evil';`);
    await expectBackupRefused(cwd, name.archive, /artifacts row 1: name "\.\.\/evil" is not an artifact name/);
    const stage = await hostileBackup(cwd, 'stage', `UPDATE stages SET stage = 'prod/../x';`);
    await expectBackupRefused(cwd, stage.archive, /stages row \?: stage "prod\/\.\.\/x" is not a stage name/);
  } finally {
    t.cleanup();
  }
});

test('a backup whose webhooks table was altered or points deliveries elsewhere is refused', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    // A column to keep secrets in: not the format's table.
    const column = await hostileBackup(cwd, 'hook-column', `ALTER TABLE webhooks ADD COLUMN secret TEXT;`);
    await expectBackupRefused(cwd, column.archive, /defines table "webhooks" otherwise than format \d+/);
    const drop = await hostileBackup(cwd, 'hook-drop', `DROP TABLE webhook_deliveries;`);
    await expectBackupRefused(cwd, drop.archive, /lacks the table "webhook_deliveries"/);
    // Rows that `webhook add` would refuse: a file: URL, a password in the URL, a secret where its name belongs.
    const insert = (url: string, env: string) =>
      `INSERT INTO webhooks (url, events, artifact, secret_env, created_at, created_by) VALUES ('${url}', '["promote"]', NULL, '${env}', '2026-01-01T00:00:00.000Z', 'mallory');`;
    const file = await hostileBackup(cwd, 'hook-file', insert('file:///etc/passwd', 'MLREG_WEBHOOK_X'));
    await expectBackupRefused(
      cwd,
      file.archive,
      /webhooks row 1: url "file:\/\/\/etc\/passwd" is not an http\(s\) URL/,
    );
    const env = await hostileBackup(cwd, 'hook-env', insert('https://example.com/x', 'PGPASSWORD'));
    await expectBackupRefused(
      cwd,
      env.archive,
      /webhooks row 1: secret_env "PGPASSWORD" is not the name of an MLREG_WEBHOOK_ variable/,
    );
    const v = await run(cwd, ['--registry', file.reg, 'verify']);
    assert.equal(v.code, 5, v.stdout);
  } finally {
    t.cleanup();
  }
});

test('a stored object replaced by a FIFO or a link to /dev/zero: checkout refuses at once (exit 5)', {
  timeout: 60_000,
}, async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    const reg = await seed(join(cwd, 'reg'));
    const obj = await objectOf(cwd, reg, 'cancer@1.0.0');

    rmSync(obj, { force: true });
    assert.equal(spawnSync('mkfifo', [obj]).status, 0, 'mkfifo');
    const [fifo] = await refusedAtOnce(cwd, reg, [
      ['checkout', 'cancer@1.0.0', join(cwd, 'serve1')],
      ['backup', join(cwd, 'fifo.tar')],
      ['verify'],
    ]);
    assert.match(fifo!.json!.error!.message, /not a regular file/);

    rmSync(obj, { force: true });
    symlinkSync('/dev/zero', obj);
    const [zero] = await refusedAtOnce(cwd, reg, [
      ['checkout', 'cancer@1.0.0', join(cwd, 'serve2')],
      ['backup', join(cwd, 'zero.tar')],
      ['verify'],
    ]);
    assert.match(zero!.json!.error!.message, /not a regular file/);
    assert.ok(!existsSync(join(cwd, 'serve2', 'current')));
  } finally {
    t.cleanup();
  }
});

test('a manifest with a ../ path is an integrity error (exit 5) in checkout, and refused in a backup', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    const reg = await seed(join(cwd, 'reg'));
    await pointAtEscapingManifest(cwd, reg);
    const c = await run(cwd, ['--registry', reg, 'checkout', 'cancer@1.0.0', join(cwd, 'serve')]);
    assert.equal(c.code, 5, `${c.stdout}${c.stderr}`);
    assert.equal(c.json?.error?.code, 'E_MANIFEST_BAD');
    assert.ok(!existsSync(join(cwd, 'escape.joblib')));
    const archive = join(cwd, 'escape.tar');
    assert.equal((await run(cwd, ['--registry', reg, 'backup', archive])).code, 0);
    await expectBackupRefused(
      cwd,
      archive,
      /versions row 1 \(cancer@1\.0\.0\).*"\.\.\/\.\.\/escape\.joblib": a path that would leave its folder/,
    );
    cpSync(reg, join(cwd, 'copy'), { recursive: true });
  } finally {
    t.cleanup();
  }
});

test('an empty object replaced by a FIFO (its size still matches): checkout, backup and verify refuse at once', {
  timeout: 60_000,
}, async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    const reg = join(cwd, 'reg');
    const model = join(cwd, 'model');
    mkdirSync(model);
    writeFileSync(join(model, 'weights.bin'), 'w');
    writeFileSync(join(model, 'empty.txt'), '');
    assert.equal((await run(cwd, ['init', reg])).code, 0);
    assert.equal((await run(cwd, ['--registry', reg, 'add', 'model', 'm', model])).code, 0);
    const empty = createHash('sha256').update('').digest('hex');
    const obj = join(reg, 'objects', 'sha256', empty.slice(0, 2), empty.slice(2));
    rmSync(obj, { force: true });
    assert.equal(spawnSync('mkfifo', [obj]).status, 0, 'mkfifo');
    await refusedAtOnce(cwd, reg, [['checkout', 'm', join(cwd, 'serve')], ['backup', join(cwd, 'b.tar')], ['verify']]);
  } finally {
    t.cleanup();
  }
});

test('an incremental backup whose base holds a manifest with a ../ path: backup verify --base and restore refuse it (exit 5)', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    const reg = await seed(join(cwd, 'reg'));
    const d = await pointAtEscapingManifest(cwd, reg);
    // The base holds the crafted manifest; the incremental on it holds only what came after.
    const base = join(cwd, 'base.tar');
    assert.equal((await run(cwd, ['--registry', reg, 'backup', base])).code, 0);
    writeFileSync(join(cwd, 'next.bin'), 'next');
    assert.equal((await run(cwd, ['--registry', reg, 'add', 'model', 'other', join(cwd, 'next.bin')])).code, 0);
    const inc = join(cwd, 'inc.tar');
    const b = await run(cwd, ['--registry', reg, 'backup', inc, '--base', base]);
    assert.equal(b.code, 0, b.stdout);
    assert.equal(b.json!.data.kind, 'incremental');
    const pattern =
      /inc\.tar: its index versions row 1 \(cancer@1\.0\.0\).*base\.tar.*"\.\.\/\.\.\/escape\.joblib": a path that would leave its folder/;
    const v = await run(cwd, ['backup', 'verify', inc, '--base', base]);
    assert.equal(v.code, 5, `backup verify: ${v.stdout}`);
    assert.equal(v.json?.error?.code, 'E_HOSTILE_INDEX', v.stdout);
    assert.match(v.json!.error!.message, pattern);
    assert.deepEqual(v.json!.error!.details.problems[0], {
      table: 'versions',
      row: '1',
      column: 'digest',
      value: d,
      message: v.json!.error!.details.problems[0].message,
    });
    const into = join(cwd, 'restored');
    const r = await run(cwd, ['restore', inc, '--base', base, '--into', into]);
    assert.equal(r.code, 5, `restore: ${r.stdout}`);
    assert.equal(r.json?.error?.code, 'E_HOSTILE_INDEX', r.stdout);
    assert.ok(!existsSync(into), 'nothing restored');
  } finally {
    t.cleanup();
  }
});

test('a stored object replaced by a FIFO or a link to /dev/zero: profile and scan refuse at once (exit 5 with a hint)', {
  timeout: 120_000,
}, async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    const reg = await seed(join(cwd, 'reg'));
    const add = await run(cwd, [
      '--registry',
      reg,
      'add',
      'dataset',
      'd',
      join(FIXTURES, 'datasets', 'holdout.csv'),
      '--no-profile',
    ]);
    assert.equal(add.code, 0, add.stdout);
    const cases: [string[], string][] = [
      [['profile', 'd@latest'], await objectOf(cwd, reg, 'd@latest')],
      [['scan', 'cancer@1.0.0'], await objectOf(cwd, reg, 'cancer@1.0.0')],
    ];
    for (const [args, obj] of cases) {
      const kept = readFileSync(obj);
      for (const replace of ['fifo', '/dev/zero'] as const) {
        rmSync(obj, { force: true });
        if (replace === 'fifo') assert.equal(spawnSync('mkfifo', [obj]).status, 0, 'mkfifo');
        else symlinkSync('/dev/zero', obj);
        // Its own process with a deadline: a regression fails here instead of hanging the test run.
        const started = Date.now();
        const r = cli(['--registry', reg, ...args, '--json'], { cwd, timeoutMs: 20_000 });
        assert.equal(r.code, 5, `${args.join(' ')} (${replace}): ${r.stdout}${r.stderr}`);
        assert.equal(r.json?.error?.code, 'E_OBJECT_CORRUPT', r.stdout);
        assert.match(r.json!.error!.message, new RegExp(basename(obj).slice(0, 12)));
        assert.match(r.json!.error!.hint, /mlreg verify/);
        assert.ok(Date.now() - started < 10_000, `${args.join(' ')} (${replace}): no hang`);
      }
      rmSync(obj, { force: true });
      writeFileSync(obj, kept);
      const ok = await run(cwd, ['--registry', reg, ...args]);
      assert.equal(ok.code, 0, `${args.join(' ')} with the object back: ${ok.stdout}`);
    }
  } finally {
    t.cleanup();
  }
});
