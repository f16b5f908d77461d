import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { Header } from 'tar';
import { cliInProcess, FIXTURES, tempDir } from '../helpers.js';

/**
 * Archives built to attack restore: each must be refused, naming the offending entry, with exit 5 (a hostile archive is an integrity error),
 * and leave nothing anywhere: no target folder, no temp folder, nothing outside the target.
 */

interface RawEntry {
  path: string;
  type?: 'File' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'Directory';
  data?: Buffer;
  linkpath?: string;
}

function block(e: RawEntry): Buffer {
  const h = new Header({
    path: e.path,
    type: e.type ?? 'File',
    size: e.data?.length ?? 0,
    mode: 0o644,
    mtime: new Date(0),
    uid: 0,
    gid: 0,
    linkpath: e.linkpath ?? '',
    devmaj: 0,
    devmin: 0,
  });
  h.encode();
  return h.block!;
}

function tarOf(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(block(e));
    if (e.data?.length) parts.push(e.data, Buffer.alloc((512 - (e.data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A manifest that passes every check of its own, listing `members`. */
function manifest(members: { path: string; data: Buffer }[]): RawEntry {
  const m = {
    format: 'mlreg-backup',
    formatVersion: 1,
    id: 'c0ffee00-0000-4000-8000-000000000000',
    tool: { name: 'mlreg', version: '0.1.0' },
    createdAt: '2026-11-24T00:00:00.000Z',
    registryFormat: 1,
    kind: 'full',
    base: null,
    requires: [],
    counts: {
      artifacts: 0,
      versions: 0,
      events: 0,
      objects: 0,
      objectBytes: 0,
      members: members.length,
      memberBytes: members.reduce((s, x) => s + x.data.length, 0),
    },
    members: members.map((x) => ({ path: x.path, size: x.data.length, sha256: sha(x.data) })),
    external: [],
  };
  return { path: 'manifest.json', data: Buffer.from(JSON.stringify(m)) };
}

const DB = Buffer.from('SQLite format 3\0 pretend');
const OBJ = Buffer.from('model bytes');
const OBJ_PATH = `objects/sha256/${sha(OBJ).slice(0, 2)}/${sha(OBJ).slice(2)}`;

async function expectRefused(cwd: string, archive: string, pattern: RegExp, outside: string[] = []): Promise<void> {
  const into = join(cwd, 'target', 'restored');
  for (const args of [
    ['restore', archive, '--into', into, '--json'],
    ['backup', 'verify', archive, '--json'],
  ]) {
    const r = await cliInProcess(args, { cwd });
    assert.equal(r.code, 5, `${args[0]}: ${r.stdout}${r.stderr}`);
    assert.equal(r.json?.error?.code, 'E_BAD_BACKUP', r.stdout);
    assert.match(r.json!.error!.message, pattern);
  }
  assert.ok(!existsSync(into), 'no target folder');
  assert.deepEqual(
    existsSync(join(cwd, 'target')) ? readdirSync(join(cwd, 'target')) : [],
    [],
    'no temp folder left next to the target',
  );
  for (const p of outside) assert.ok(!existsSync(p), `nothing written at ${p}`);
}

test('hostile archives are refused, naming the entry, and nothing is written anywhere', async (t) => {
  const dir = tempDir();
  const cwd = dir.path;
  mkdirSync(join(cwd, 'target'));
  const outsideDir = join(cwd, 'outside');
  mkdirSync(outsideDir);
  const write = (name: string, buf: Buffer): string => {
    const p = join(cwd, name);
    writeFileSync(p, buf);
    return p;
  };
  try {
    await t.test('path traversal with ..', async () => {
      const a = write(
        'traversal.tar',
        tarOf([manifest([{ path: 'mlreg.db', data: DB }]), { path: '../../escape.txt', data: OBJ }]),
      );
      await expectRefused(cwd, a, /"\.\.\/\.\.\/escape\.txt".*climbs out/, [
        join(cwd, 'escape.txt'),
        join(cwd, '..', 'escape.txt'),
      ]);
    });
    await t.test('a manifest that lists a path with ..', async () => {
      const m = manifest([
        { path: 'mlreg.db', data: DB },
        { path: 'objects/../../evil', data: OBJ },
      ]);
      const a = write('manifest-traversal.tar', tarOf([m, { path: 'mlreg.db', data: DB }]));
      await expectRefused(cwd, a, /objects\/\.\.\/\.\.\/evil.*climbs out/, [join(cwd, 'evil')]);
    });
    await t.test('absolute path', async () => {
      const abs = join(outsideDir, 'abs.txt');
      const a = write('absolute.tar', tarOf([manifest([{ path: 'mlreg.db', data: DB }]), { path: abs, data: OBJ }]));
      await expectRefused(cwd, a, /absolute path/, [abs]);
    });
    await t.test('symlink, then a file through it', async () => {
      const a = write(
        'symlink.tar',
        tarOf([
          manifest([
            { path: 'mlreg.db', data: DB },
            { path: OBJ_PATH, data: OBJ },
          ]),
          { path: 'objects', type: 'SymbolicLink', linkpath: outsideDir },
          { path: OBJ_PATH, data: OBJ },
        ]),
      );
      await expectRefused(cwd, a, /"objects" is a symbolic link/);
      assert.deepEqual(readdirSync(outsideDir), []);
    });
    await t.test('hard link to a system file', async () => {
      const a = write(
        'hardlink.tar',
        tarOf([
          manifest([{ path: 'mlreg.db', data: DB }]),
          { path: 'mlreg.db', type: 'Link', linkpath: '/etc/passwd' },
        ]),
      );
      await expectRefused(cwd, a, /"mlreg\.db" is a hard link \(to "\/etc\/passwd"\)/);
    });
    await t.test('a device', async () => {
      const a = write(
        'device.tar',
        tarOf([manifest([{ path: 'mlreg.db', data: DB }]), { path: 'mlreg.db', type: 'CharacterDevice' }]),
      );
      await expectRefused(cwd, a, /"mlreg\.db" is a device/);
    });
    await t.test('an over-deep path', async () => {
      const deep = 'objects/sha256/aa/b/c/d/e/f/g';
      const a = write('deep.tar', tarOf([manifest([{ path: 'mlreg.db', data: DB }]), { path: deep, data: OBJ }]));
      await expectRefused(cwd, a, /deeper than 4 levels/);
    });
    await t.test('an entry not in the manifest', async () => {
      const a = write(
        'extra.tar',
        tarOf([
          manifest([{ path: 'mlreg.db', data: DB }]),
          { path: 'mlreg.db', data: DB },
          { path: OBJ_PATH, data: OBJ },
        ]),
      );
      await expectRefused(cwd, a, new RegExp(`"${OBJ_PATH}" is not listed in its manifest`));
    });
    await t.test('an entry whose size differs from the manifest', async () => {
      const a = write(
        'size.tar',
        tarOf([manifest([{ path: 'mlreg.db', data: DB }]), { path: 'mlreg.db', data: Buffer.concat([DB, DB]) }]),
      );
      await expectRefused(cwd, a, /"mlreg\.db" has \d+ bytes; the manifest says \d+/);
    });
    await t.test('no manifest first', async () => {
      const a = write('nomanifest.tar', tarOf([{ path: 'mlreg.db', data: DB }]));
      await expectRefused(cwd, a, /first entry is "mlreg\.db", not manifest\.json/);
    });
    await t.test('not a tar at all', async () => {
      const a = write('garbage.tar', Buffer.alloc(4096, 0x41));
      await expectRefused(cwd, a, /bad checksum/);
    });
    await t.test('a truncated archive (a real backup cut short)', async () => {
      await cliInProcess(['init', join(cwd, 'reg')], { cwd });
      const add = await cliInProcess(
        [
          '--registry',
          join(cwd, 'reg'),
          'add',
          'model',
          'cancer',
          join(FIXTURES, 'models', 'cancer-v1.joblib'),
          '--json',
        ],
        { cwd },
      );
      assert.equal(add.code, 0, add.stderr);
      const full = join(cwd, 'real.tar');
      assert.equal((await cliInProcess(['--registry', join(cwd, 'reg'), 'backup', full, '--json'], { cwd })).code, 0);
      const bytes = readFileSync(full);
      const cut = write('truncated.tar', bytes.subarray(0, Math.floor(bytes.length * 0.6)));
      await expectRefused(cwd, cut, /truncated/);
    });
    await t.test('a decompression bomb', async () => {
      // 256 MiB of zeros inflate from ~256 KiB: refused on the ratio before it fills any disk.
      const size = 256 << 20;
      const hash = createHash('sha256');
      const zeros = Buffer.alloc(1 << 20);
      for (let i = 0; i < size / zeros.length; i++) hash.update(zeros);
      const m = manifest([{ path: 'mlreg.db', data: DB }]);
      const mj = JSON.parse(m.data!.toString());
      mj.members[0] = { path: 'mlreg.db', size, sha256: hash.digest('hex') };
      m.data = Buffer.from(JSON.stringify(mj));
      const bomb = join(cwd, 'bomb.tar.gz');
      const fd = openSync(bomb, 'w');
      const gz = createGzip({ level: 9 });
      gz.on('data', (c: Buffer) => writeSync(fd, c));
      const done = new Promise((resolve) => gz.on('end', resolve));
      gz.write(tarOf([m]).subarray(0, 512 + Math.ceil(m.data.length / 512) * 512));
      const h = new Header({ path: 'mlreg.db', type: 'File', size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 });
      h.encode();
      gz.write(h.block!);
      for (let i = 0; i < size / zeros.length; i++) gz.write(zeros);
      gz.end(Buffer.alloc(1024));
      await done;
      closeSync(fd);
      await expectRefused(cwd, bomb, /inflates more than \d+:1/);
    });
  } finally {
    dir.cleanup();
  }
});
