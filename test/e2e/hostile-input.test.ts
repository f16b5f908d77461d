import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync, openSync, writeSync, closeSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Header } from 'tar';
import { cliInProcess, tempDir } from '../helpers.js';
import { readTar } from '../../src/core/backup/tar.js';

/**
 * Hostile input gets a clear error, never exit 70. Each case: the attack, then the assertion.
 */

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function entry(path: string, data: Buffer): Buffer {
  const h = new Header({ path, type: 'File', size: data.length, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 });
  h.encode();
  return Buffer.concat([h.block!, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

function manifestBytes(edit: (m: Record<string, unknown>) => void): Buffer {
  const db = Buffer.from('SQLite format 3\0');
  const m: Record<string, unknown> = {
    format: 'mlreg-backup',
    formatVersion: 1,
    id: 'c0ffee00-0000-4000-8000-000000000000',
    tool: { name: 'mlreg', version: '0.1.0' },
    createdAt: '2026-11-24T00:00:00.000Z',
    registryFormat: 5,
    kind: 'full',
    base: null,
    requires: [],
    counts: { artifacts: 0, versions: 0, events: 0, objects: 0, objectBytes: 0, members: 1, memberBytes: db.length },
    members: [{ path: 'mlreg.db', size: db.length, sha256: sha(db) }],
    external: [],
  };
  edit(m);
  return Buffer.from(JSON.stringify(m));
}

async function expectBadArchive(cwd: string, archive: string, pattern: RegExp): Promise<void> {
  const into = join(cwd, 'restored');
  for (const args of [
    ['restore', archive, '--into', into, '--json'],
    ['backup', 'verify', archive, '--json'],
  ]) {
    const r = await cliInProcess(args, { cwd });
    assert.equal(r.code, 5, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.equal(r.json?.error?.code, 'E_BAD_BACKUP', r.stdout);
    assert.match(r.json!.error!.message, pattern);
  }
  assert.ok(!existsSync(into));
}

test('random bytes as .tar and .tgz: exit 5, "not a usable mlreg backup"', async () => {
  const t = tempDir();
  try {
    for (let i = 0; i < 8; i++) {
      const bytes = randomBytes(4096);
      // Half of them with a base256 size field the tar package cannot decode ("invalid base256 encoding").
      if (i % 2) bytes.fill(0xff, 124, 136);
      const tar = join(t.path, `random-${i}.tar`);
      writeFileSync(tar, bytes);
      await expectBadArchive(t.path, tar, /not a usable mlreg backup/);
      const tgz = join(t.path, `random-${i}.tgz`);
      writeFileSync(tgz, gzipSync(bytes));
      await expectBadArchive(t.path, tgz, /not a usable mlreg backup/);
    }
  } finally {
    t.cleanup();
  }
});

test("Go's neg-size.tar (a header whose size is negative): exit 5 naming the size", async () => {
  const t = tempDir();
  try {
    const block = entry('manifest.json', Buffer.alloc(0)).subarray(0, 512);
    block.fill(0xff, 124, 136); // base256: -1
    block.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of block) sum += b;
    block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    const file = join(t.path, 'neg-size.tar');
    writeFileSync(file, Buffer.concat([block, Buffer.alloc(1024)]));
    await expectBadArchive(t.path, file, /impossible size \(not a number\)/);
  } finally {
    t.cleanup();
  }
});

test('a manifest without counts, or with requires: [null]: exit 5, "incomplete"', async () => {
  const t = tempDir();
  try {
    const cases: [string, (m: Record<string, unknown>) => void, RegExp][] = [
      ['no-counts', (m) => delete m.counts, /incomplete: no counts/],
      ['requires-null', (m) => (m.requires = [null]), /incomplete: requires is not a list of backups/],
      ['members-null', (m) => (m.members = [null]), /incomplete: members/],
      ['counts-string', (m) => ((m.counts as Record<string, unknown>).versions = 'x'), /counts\.versions/],
    ];
    for (const [name, edit, pattern] of cases) {
      const file = join(t.path, `${name}.tar`);
      writeFileSync(file, Buffer.concat([entry('manifest.json', manifestBytes(edit)), Buffer.alloc(1024)]));
      await expectBadArchive(t.path, file, pattern);
    }
  } finally {
    t.cleanup();
  }
});

test('an archive that ends inside an entry: the open sink is aborted (its file handle closed at once)', async () => {
  const t = tempDir();
  try {
    const data = Buffer.alloc(4096, 1);
    const file = join(t.path, 'cut.tar');
    writeFileSync(file, entry('mlreg.db', data).subarray(0, 512 + 1000));
    let aborted = 0;
    let ended = 0;
    const limits = { maxRatio: 1000, ratioFloorBytes: 0, maxBytes: () => 1 << 20 };
    await assert.rejects(
      readTar(file, limits, () => ({ write: () => {}, end: () => void ended++, abort: () => void aborted++ })),
      /truncated/,
    );
    assert.equal(ended, 0);
    assert.equal(aborted, 1, 'abort called once for the entry cut short');
  } finally {
    t.cleanup();
  }
});

test('a CSV with one 100 MB field is refused as a line over the limit, not as "no rows"', async () => {
  const t = tempDir();
  try {
    const cwd = t.path;
    const csv = join(cwd, 'one.csv');
    const fd = openSync(csv, 'w');
    writeSync(fd, 'id,text\n1,');
    const mib = Buffer.alloc(1 << 20, 0x61);
    for (let i = 0; i < 100; i++) writeSync(fd, mib);
    writeSync(fd, '\n');
    closeSync(fd);
    assert.equal((await cliInProcess(['init', join(cwd, 'reg')], { cwd })).code, 0);
    const r = await cliInProcess(['--registry', join(cwd, 'reg'), 'add', 'dataset', 'one', csv, '--json'], { cwd });
    assert.equal(r.code, 2, r.stdout);
    assert.equal(r.json?.error?.code, 'E_CSV_LINE_TOO_LONG', r.stdout);
    assert.match(r.json!.error!.message, /line 2 is longer than 2 MiB/);
  } finally {
    t.cleanup();
  }
});
