import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { checkIndex } from '../../../src/core/backup/extract.js';
import type { BackupManifest } from '../../../src/core/backup/format.js';
import { DiskError, IntegrityError } from '../../../src/core/errors.js';
import { cliInProcess, tempDir } from '../../helpers.js';

/**
 * The index extracted from an archive is read back from a disk that may fail a read: a failure that
 * does not repeat on a second look is a disk fault (exit 7), one that does is damage (exit 5).
 */

async function extracted(dir: string): Promise<{ db: string; manifest: BackupManifest; sizes: Map<string, number> }> {
  const reg = join(dir, 'reg');
  assert.equal((await cliInProcess(['init', reg])).code, 0);
  writeFileSync(join(dir, 'm.bin'), 'model');
  assert.equal((await cliInProcess(['add', 'model', 'm', join(dir, 'm.bin'), '--registry', reg])).code, 0);
  const db = new Database(join(reg, 'mlreg.db'), { readonly: true });
  try {
    const count = (t: string) => db.prepare(`SELECT COUNT(*) FROM ${t}`).pluck().get() as number;
    const sizes = new Map(
      (db.prepare('SELECT digest, size FROM version_objects').all() as { digest: string; size: number }[]).map((o) => [
        o.digest,
        o.size,
      ]),
    );
    const manifest = {
      counts: { artifacts: count('artifacts'), versions: count('versions'), events: count('events') },
    } as BackupManifest;
    return { db: join(reg, 'mlreg.db'), manifest, sizes };
  } finally {
    db.close();
  }
}

test('checkIndex: a failure that does not repeat is a disk fault; one that does is damage; an EIO is a disk fault', async () => {
  const t = tempDir();
  try {
    const { db, manifest, sizes } = await extracted(t.path);
    assert.doesNotThrow(() => checkIndex('b.tar', db, manifest, (d) => sizes.get(d)));

    let first = true;
    const flaky = (d: string): number | undefined => {
      const size = sizes.get(d);
      if (first && size !== undefined) {
        first = false;
        return size + 1;
      }
      return size;
    };
    assert.throws(
      () => checkIndex('b.tar', db, manifest, flaky),
      (e: unknown) =>
        e instanceof DiskError &&
        e.code === 'E_IO' &&
        /b\.tar: the disk failed a read of the index extracted/.test(e.message),
    );

    assert.throws(
      () => checkIndex('b.tar', db, manifest, (d) => (sizes.get(d) ?? 0) + 1),
      (e: unknown) => e instanceof IntegrityError && e.code === 'E_BACKUP_CORRUPT',
    );

    const eio = (): Buffer => {
      throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', syscall: 'read' });
    };
    assert.throws(
      () => checkIndex('b.tar', db, manifest, (d) => sizes.get(d), eio),
      (e: unknown) => e instanceof DiskError && e.code === 'E_IO',
    );
  } finally {
    t.cleanup();
  }
});
