import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  type CliResult,
  cliInProcess,
  cliAsync,
  copySeed,
  FIXTURES,
  killAfter,
  tempDir,
  writeBigFile,
} from '../helpers.js';
import { registryState } from '../registry-state.js';

/** Backup and restore through the CLI: exact round trips, online consistency, kill -9, corruption. */

const MODELS = join(FIXTURES, 'models');

function ok(r: CliResult): NonNullable<CliResult['json']>['data'] {
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  return r.json?.data;
}

/**
 * A registry (cwd/.mlreg) with real models, a dataset, lineage, stages, a rollback and a deprecation:
 * built once by buildSeed, copied for each test.
 */
function buildRegistry(cwd: string): Promise<void> {
  return copySeed('backup', join(cwd, '.mlreg'), async (seedDir) => {
    await buildSeed(seedDir);
    return join(seedDir, '.mlreg');
  });
}

async function buildSeed(cwd: string): Promise<void> {
  ok(await cliInProcess(['init'], { cwd }));
  const csv = join(cwd, 'train.csv');
  writeFileSync(
    csv,
    'amount,country,label\n' +
      Array.from({ length: 500 }, (_, i) => `${(i * 7.31) % 1000},${['DE', 'FR', 'US'][i % 3]},${i % 2}`).join('\n') +
      '\n',
  );
  ok(await cliInProcess(['add', 'dataset', 'train', csv, '--json'], { cwd }));
  ok(
    await cliInProcess(
      [
        'add',
        'model',
        'cancer',
        join(MODELS, 'cancer-v1.joblib'),
        '--metrics-file',
        join(MODELS, 'cancer-v1.metrics.json'),
        '--trained-on',
        'train@1.0.0',
        '--param',
        'C=0.05',
        '--json',
      ],
      { cwd },
    ),
  );
  ok(
    await cliInProcess(
      [
        'add',
        'model',
        'cancer',
        join(MODELS, 'cancer-v2.joblib'),
        '--metrics-file',
        join(MODELS, 'cancer-v2.metrics.json'),
        '--json',
      ],
      { cwd },
    ),
  );
  ok(
    await cliInProcess(['add', 'model', 'cancer', join(MODELS, 'cancer-folder'), '--bump', 'major', '--json'], { cwd }),
  );
  for (const v of ['1.0.0', '1.1.0', '2.0.0'])
    ok(await cliInProcess(['promote', `cancer@${v}`, '--to', 'production', '--json'], { cwd }));
  ok(await cliInProcess(['promote', 'cancer@2.0.0', '--to', 'staging', '--json'], { cwd }));
  ok(await cliInProcess(['rollback', 'cancer', '--reason', 'INC-7', '--json'], { cwd }));
  ok(await cliInProcess(['deprecate', 'cancer@2.0.0', '--reason', 'bad recall', '--json'], { cwd }));
}

/** Everything a person sees of a registry through the CLI. */
async function views(cwd: string, registry?: string): Promise<unknown[]> {
  const r = registry ? ['--registry', registry] : [];
  const cmds = [
    ['list'],
    ['list', 'cancer'],
    ['list', 'train'],
    ['history', 'cancer', '--all'],
    ['history', 'train', '--all'],
    ['show', 'cancer@1.0.0'],
    ['show', 'cancer@2.0.0'],
    ['show', 'train@1.0.0'],
  ];
  const out: unknown[] = [];
  for (const c of cmds) out.push(ok(await cliInProcess([...r, ...c, '--json'], { cwd })));
  return out;
}

function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith('.mlreg-'));
}

test('round trip: full and incremental backups restore to identical registries (tar and tar.gz)', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    await buildRegistry(cwd);
    const full = ok(await cliInProcess(['backup', join(cwd, 'full.tar'), '--json'], { cwd }));
    assert.equal(full.kind, 'full');
    assert.equal(full.counts.versions, 4);
    assert.ok(!existsSync(join(cwd, 'full.tar.partial')));
    assert.deepEqual(
      ok(await cliInProcess(['backup', 'verify', join(cwd, 'full.tar'), '--json'], { cwd })).unchecked,
      0,
    );

    // More work after the full backup, then an incremental one.
    ok(
      await cliInProcess(
        [
          'add',
          'model',
          'cancer',
          join(MODELS, 'cancer-v2.joblib'),
          '--version',
          '2.1.0',
          '--param',
          'retrain=1',
          '--json',
        ],
        { cwd },
      ),
    );
    ok(await cliInProcess(['promote', 'cancer@2.1.0', '--to', 'canary', '--json'], { cwd }));
    const inc = ok(
      await cliInProcess(['backup', join(cwd, 'inc.tgz'), '--base', join(cwd, 'full.tar'), '--json'], { cwd }),
    );
    assert.equal(inc.kind, 'incremental');
    assert.ok(inc.objectsInBases > 0, 'objects the base holds are not stored again');
    assert.ok(inc.bytes < full.bytes / 2, `incremental ${inc.bytes} bytes vs full ${full.bytes}`);
    assert.equal(readFileSync(join(cwd, 'inc.tgz'))[0], 0x1f, 'a .tgz is gzip-compressed');

    const original = await views(cwd);
    // Without its base: refused, naming the base, nothing written.
    const noBase = await cliInProcess(['restore', join(cwd, 'inc.tgz'), '--into', join(cwd, 'r0'), '--json'], { cwd });
    assert.equal(noBase.code, 3);
    assert.equal(noBase.json?.error?.code, 'E_BASE_MISSING');
    assert.match(noBase.json!.error!.message, /full\.tar/);
    assert.ok(!existsSync(join(cwd, 'r0')));
    assert.deepEqual(leftovers(cwd), []);

    ok(
      await cliInProcess(
        ['restore', join(cwd, 'inc.tgz'), '--base', join(cwd, 'full.tar'), '--into', join(cwd, 'r1'), '--json'],
        {
          cwd,
        },
      ),
    );
    assert.deepEqual(await views(cwd, join(cwd, 'r1')), original);
    assert.equal(ok(await cliInProcess(['--registry', join(cwd, 'r1'), 'verify', '--json'], { cwd })).ok, true);
    // The restored registry works: rollback walks the same chain, checkout gives the same bytes.
    ok(
      await cliInProcess(['--registry', join(cwd, 'r1'), 'checkout', 'cancer@production', join(cwd, 'srv'), '--json'], {
        cwd,
      }),
    );
    assert.deepEqual(
      readFileSync(join(cwd, 'srv', 'current', 'cancer-v2.joblib')),
      readFileSync(join(MODELS, 'cancer-v2.joblib')),
    );
    const rb = ok(await cliInProcess(['--registry', join(cwd, 'r1'), 'rollback', 'cancer', '--json'], { cwd }));
    assert.deepEqual([rb.from, rb.to], ['1.1.0', '1.0.0']);
    // A version number deleted before the backup stays taken after the restore.
    ok(
      await cliInProcess(['add', 'model', 'cancer', join(MODELS, 'cancer-v1.joblib'), '--version', '2.2.0', '--json'], {
        cwd,
      }),
    );
    ok(await cliInProcess(['delete', 'cancer@2.2.0', '--json'], { cwd }));
    ok(await cliInProcess(['backup', join(cwd, 'after-delete.tar'), '--json'], { cwd }));
    ok(await cliInProcess(['restore', join(cwd, 'after-delete.tar'), '--into', join(cwd, 'r2'), '--json'], { cwd }));
    const re = await cliInProcess(
      [
        '--registry',
        join(cwd, 'r2'),
        'add',
        'model',
        'cancer',
        join(MODELS, 'cancer-v1.joblib'),
        '--version',
        '2.2.0',
        '--json',
      ],
      { cwd },
    );
    assert.equal(re.code, 4, `a deleted number is never reused: ${re.stdout}`);
    assert.equal(re.json?.error?.code, 'E_VERSION_EXISTS');

    // The full backup alone restores the state it was taken at.
    ok(await cliInProcess(['restore', join(cwd, 'full.tar'), '--into', join(cwd, 'r3'), '--json'], { cwd }));
    assert.equal(
      ok(await cliInProcess(['--registry', join(cwd, 'r3'), 'list', 'cancer', '--json'], { cwd })).versions.length,
      3,
    );
    assert.deepEqual(leftovers(cwd), []);
  } finally {
    t.cleanup();
  }
});

test('restore refuses a folder in use, and --force replaces a registry only once the new one verifies', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    await buildRegistry(cwd);
    ok(await cliInProcess(['backup', join(cwd, 'b.tar'), '--json'], { cwd }));
    const other = join(cwd, 'other');
    ok(await cliInProcess(['init', other], { cwd }));
    ok(
      await cliInProcess(['--registry', other, 'add', 'model', 'solo', join(MODELS, 'cancer-v1.joblib'), '--json'], {
        cwd,
      }),
    );
    const before = registryState(other);
    const refused = await cliInProcess(['restore', join(cwd, 'b.tar'), '--into', other, '--json'], { cwd });
    assert.equal(refused.code, 4);
    assert.equal(refused.json?.error?.code, 'E_RESTORE_TARGET');
    assert.match(refused.json!.error!.hint, /--force/);
    assert.deepEqual(registryState(other), before);
    // A folder that is not a registry is never replaced, --force or not; nor is a file.
    const docs = join(cwd, 'docs');
    mkdirSync(docs);
    writeFileSync(join(docs, 'notes.txt'), 'mine');
    const notReg = await cliInProcess(['restore', join(cwd, 'b.tar'), '--into', docs, '--force', '--json'], { cwd });
    assert.equal(notReg.code, 4);
    assert.match(notReg.json!.error!.message, /holds no registry/);
    assert.deepEqual(readdirSync(docs), ['notes.txt']);
    writeFileSync(join(cwd, 'x'), 'a file');
    const onFile = await cliInProcess(['restore', join(cwd, 'b.tar'), '--into', join(cwd, 'x'), '--force', '--json'], {
      cwd,
    });
    assert.equal(onFile.code, 2, 'a file is not a folder to restore into');
    assert.equal(readFileSync(join(cwd, 'x'), 'utf8'), 'a file');

    // A corrupt backup with --force: refused before the old registry is touched.
    const bad = join(cwd, 'bad.tar');
    writeFileSync(bad, readFileSync(join(cwd, 'b.tar')));
    flipLastObjectByte(bad);
    const corrupt = await cliInProcess(['restore', bad, '--into', other, '--force', '--json'], { cwd });
    assert.equal(corrupt.code, 5, corrupt.stdout);
    assert.deepEqual(registryState(other), before);

    ok(await cliInProcess(['restore', join(cwd, 'b.tar'), '--into', other, '--force', '--json'], { cwd }));
    assert.deepEqual(await views(cwd, other), await views(cwd));
    assert.deepEqual(leftovers(cwd), []);
  } finally {
    t.cleanup();
  }
});

/** Flip one byte inside the data of the last object member of an (uncompressed) backup. */
function flipLastObjectByte(file: string): void {
  const buf = readFileSync(file);
  // The last member ends before the two zero blocks; its data is the last non-zero region.
  let end = buf.length - 1024;
  while (end > 0 && buf[end - 1] === 0) end--;
  buf[end - 1] = buf[end - 1]! ^ 0xff;
  writeFileSync(file, buf);
}

test('a flipped byte in an object: verify finds it (exit 5, naming the versions), checkout and backup refuse it', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    await buildRegistry(cwd);
    assert.equal(ok(await cliInProcess(['verify', '--json'], { cwd })).ok, true);
    const v1 = ok(await cliInProcess(['show', 'cancer@1.0.0', '--json'], { cwd }));
    const digest = v1.manifest.files[0].sha256 as string;
    const obj = join(cwd, '.mlreg', 'objects', 'sha256', digest.slice(0, 2), digest.slice(2));
    chmodSync(obj, 0o644);
    const fd = openSync(obj, 'r+');
    const b = Buffer.alloc(1);
    const pos = Math.floor(statSync(obj).size / 2);
    readSync(fd, b, 0, 1, pos);
    writeSync(fd, Buffer.from([b[0]! ^ 0x01]), 0, 1, pos);
    closeSync(fd);

    const quick = await cliInProcess(['verify', '--quick', '--json'], { cwd });
    assert.equal(quick.code, 0, 'same size: --quick does not re-hash');
    const v = await cliInProcess(['verify', '--json'], { cwd });
    assert.equal(v.code, 5);
    assert.equal(v.json?.error?.code, 'E_VERIFY_FAILED');
    const problems = v.json!.error!.details.problems as {
      kind: string;
      digest: string;
      affects: { name: string; version: string }[];
    }[];
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.kind, 'object-corrupt');
    assert.equal(problems[0]!.digest, digest);
    assert.deepEqual(problems[0]!.affects, [{ name: 'cancer', version: '1.0.0' }]);
    const human = await cliInProcess(['verify'], { cwd });
    assert.equal(human.code, 5);
    assert.match(human.stdout, /affects cancer@1\.0\.0/);

    const srv = join(cwd, 'srv');
    ok(await cliInProcess(['checkout', 'cancer@1.1.0', srv, '--json'], { cwd }));
    const co = await cliInProcess(['checkout', 'cancer@1.0.0', srv, '--json'], { cwd });
    assert.equal(co.code, 5);
    assert.equal(co.json?.error?.code, 'E_OBJECT_CORRUPT');
    assert.equal(readlinkSync(join(srv, 'current')), 'versions/1.1.0', 'the serving folder did not switch');
    assert.ok(!existsSync(join(srv, 'versions', '1.0.0')));

    const bk = await cliInProcess(['backup', join(cwd, 'b.tar'), '--json'], { cwd });
    assert.equal(bk.code, 5);
    assert.ok(!existsSync(join(cwd, 'b.tar')) && !existsSync(join(cwd, 'b.tar.partial')));

    // Truncated (missing bytes) is found by --quick too.
    truncateSync(obj, 10);
    const q2 = await cliInProcess(['verify', '--quick', '--json'], { cwd });
    assert.equal(q2.code, 5);
    assert.equal(q2.json!.error!.details.problems[0].kind, 'object-size');
  } finally {
    t.cleanup();
  }
});

test('kill -9 during backup and during restore: never a file or registry that looks whole; the next run succeeds', {
  timeout: 240_000,
}, async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    ok(await cliInProcess(['init'], { cwd }));
    writeBigFile(join(cwd, 'big.bin'), 200);
    ok(await cliInProcess(['add', 'model', 'big', join(cwd, 'big.bin'), '--json'], { cwd }));
    ok(await cliInProcess(['promote', 'big@1.0.0', '--to', 'production', '--json'], { cwd }));
    const file = join(cwd, 'b.tar');
    for (const ms of [150, 300, 600]) {
      const code = await killAfter(['backup', file], cwd, ms);
      if (code === 0) break; // finished before the kill: nothing to check this round
      // Killed after its final rename (the file is whole), or before it (no file under the final name).
      if (existsSync(file)) break;
    }
    if (existsSync(file)) ok(await cliInProcess(['backup', 'verify', file, '--json'], { cwd }));
    else ok(await cliInProcess(['backup', file, '--json'], { cwd }));
    assert.ok(!existsSync(`${file}.partial`));

    const into = join(cwd, 'restored');
    let killedOnce = false;
    for (const ms of [200, 400, 800]) {
      const code = await killAfter(['restore', file, '--into', into], cwd, ms);
      if (code === 0) break;
      killedOnce = true;
      // Killed after its final rename (the registry at the target must be whole: verified and compared
      // below), or before it (no registry at the target). Under load the kill can land in either.
      if (existsSync(join(into, 'mlreg.db'))) break;
    }
    if (existsSync(join(into, 'mlreg.db'))) ok(await cliInProcess(['--registry', into, 'verify', '--json'], { cwd }));
    else {
      ok(await cliInProcess(['restore', file, '--into', into, '--json'], { cwd }));
      assert.deepEqual(leftovers(cwd), [], 'the next restore removed the temp folders of killed ones');
    }
    assert.ok(killedOnce || existsSync(into));
    assert.deepEqual(await views2(cwd, into), await views2(cwd));
  } finally {
    t.cleanup();
  }
});

async function views2(cwd: string, registry?: string): Promise<unknown[]> {
  const r = registry ? ['--registry', registry] : [];
  const out: unknown[] = [];
  for (const c of [['list'], ['list', 'big'], ['history', 'big', '--all']])
    out.push(ok(await cliInProcess([...r, ...c, '--json'], { cwd })));
  return out;
}

test('a backup taken while another process adds and promotes is consistent and restores exactly what it captured', {
  timeout: 180_000,
}, async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    ok(await cliInProcess(['init'], { cwd }));
    writeBigFile(join(cwd, 'base.bin'), 64);
    ok(await cliInProcess(['add', 'model', 'busy', join(cwd, 'base.bin'), '--json'], { cwd }));
    ok(await cliInProcess(['promote', 'busy@1.0.0', '--to', 'production', '--json'], { cwd }));
    let stop = false;
    const writer = (async () => {
      let i = 0;
      while (!stop) {
        const f = join(cwd, `m${i}.bin`);
        writeFileSync(f, randomBytes(1 << 20));
        const a = await cliAsync(['add', 'model', 'busy', f, '--json'], { cwd });
        assert.equal(a.code, 0, a.stderr);
        const p = await cliAsync(['promote', `busy@${a.json!.data.version.version}`, '--to', 'production', '--json'], {
          cwd,
        });
        assert.equal(p.code, 0, p.stderr);
        i++;
      }
      return i;
    })();
    const backups: string[] = [];
    for (let i = 0; i < 3; i++) {
      const f = join(cwd, `online-${i}.tar`);
      const r = await cliAsync(['backup', f, '--json'], { cwd });
      assert.equal(r.code, 0, r.stderr);
      backups.push(f);
    }
    stop = true;
    const rounds = await writer;
    assert.ok(rounds > 0, 'the writer made progress during the backups');
    for (const [i, f] of backups.entries()) {
      const into = join(cwd, `restored-${i}`);
      ok(await cliInProcess(['restore', f, '--into', into, '--json'], { cwd }));
      assert.equal(ok(await cliInProcess(['--registry', into, 'verify', '--json'], { cwd })).ok, true);
      // Consistent: production points at a version the snapshot holds, its history ends at that version.
      const list = ok(await cliInProcess(['--registry', into, 'list', 'busy', '--json'], { cwd }));
      const hist = ok(await cliInProcess(['--registry', into, 'history', 'busy', '--json'], { cwd }));
      const prod = list.versions.find((v: { stages: string[] }) => v.stages.includes('production'));
      assert.equal(hist.events[0].to, prod.version);
      // And it is a prefix of the live registry's history.
      const live = ok(await cliInProcess(['history', 'busy', '--json'], { cwd })).events;
      assert.deepEqual(hist.events, live.slice(live.length - hist.events.length));
    }
  } finally {
    t.cleanup();
  }
});

test('backup refuses to overwrite a file and to write into a missing folder; the registry is unchanged', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    ok(await cliInProcess(['init'], { cwd }));
    ok(await cliInProcess(['add', 'model', 'cancer', join(MODELS, 'cancer-v1.joblib'), '--json'], { cwd }));
    const before = registryState(join(cwd, '.mlreg'));
    writeFileSync(join(cwd, 'taken.tar'), 'an older backup');
    const exists = await cliInProcess(['backup', join(cwd, 'taken.tar'), '--json'], { cwd });
    assert.equal(exists.code, 4);
    assert.equal(exists.json?.error?.code, 'E_BACKUP_EXISTS');
    assert.equal(readFileSync(join(cwd, 'taken.tar'), 'utf8'), 'an older backup');
    const missing = await cliInProcess(['backup', join(cwd, 'no', 'such', 'dir', 'b.tar'), '--json'], { cwd });
    assert.equal(missing.code, 3);
    assert.match(missing.json!.error!.message, /no such file or folder/);
    const badBase = await cliInProcess(['backup', join(cwd, 'inc.tar'), '--base', join(cwd, 'taken.tar'), '--json'], {
      cwd,
    });
    assert.equal(badBase.code, 5, badBase.stdout);
    assert.equal(badBase.json?.error?.code, 'E_BAD_BACKUP');
    assert.ok(!existsSync(join(cwd, 'inc.tar')) && !existsSync(join(cwd, 'inc.tar.partial')));
    assert.deepEqual(registryState(join(cwd, '.mlreg')), before);
    assert.deepEqual(readdirSync(join(cwd, '.mlreg', 'tmp')), [], 'no snapshot left in tmp/');
  } finally {
    t.cleanup();
  }
});

test("a .tgz of highly compressible content (64 MiB of zeros) restores: the bomb cap never hits mlreg's own archives", async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    ok(await cliInProcess(['init'], { cwd }));
    writeFileSync(join(cwd, 'sparse-weights.bin'), Buffer.alloc(64 << 20));
    ok(await cliInProcess(['add', 'model', 'sparse', join(cwd, 'sparse-weights.bin'), '--json'], { cwd }));
    const b = ok(await cliInProcess(['backup', join(cwd, 'z.tgz'), '--json'], { cwd }));
    assert.ok(b.bytes < 1 << 20, `compressed to ${b.bytes} bytes`);
    ok(await cliInProcess(['backup', 'verify', join(cwd, 'z.tgz'), '--json'], { cwd }));
    ok(await cliInProcess(['restore', join(cwd, 'z.tgz'), '--into', join(cwd, 'r'), '--json'], { cwd }));
    assert.equal(ok(await cliInProcess(['--registry', join(cwd, 'r'), 'verify', '--json'], { cwd })).ok, true);
  } finally {
    t.cleanup();
  }
});
