import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliInProcess, tempDir } from '../helpers.js';

/** A CSV as a European spreadsheet writes it: `;` between fields, a comma as the decimal mark. */
const EUROPEAN = 'city;temp;rain\nBerlin;3,5;12\nParis;7,25;8\n"Rom;a";14,0;3\n';

test('a ;-separated CSV with decimal commas is read as its columns and numbers, not one text column', async () => {
  const d = tempDir();
  try {
    const run = (...args: string[]) => cliInProcess(args, { cwd: d.path });
    await run('init');
    writeFileSync(join(d.path, 'eu.csv'), EUROPEAN);
    const added = await run('add', 'dataset', 'weather', 'eu.csv', '--json');
    assert.equal(added.code, 0, added.stdout);
    const profile = (await run('show', 'weather', '--json')).json!.data.profile;
    assert.deepEqual(
      profile.columns.map((c: { name: string; kind: string }) => [c.name, c.kind]),
      [
        ['city', 'categorical'],
        ['temp', 'numeric'],
        ['rain', 'numeric'],
      ],
    );
    assert.equal(profile.columns[1].numeric.mean, 8.25);
    // Told otherwise, mlreg reads it as told (and this file then does not parse).
    const forced = await run('check', 'eu.csv', '--against', 'weather', '--delimiter', ',', '--json');
    assert.equal(forced.code, 2);
    const bad = await run('add', 'dataset', 'weather', 'eu.csv', '--delimiter', ';;', '--json');
    assert.equal(bad.json!.error!.code, 'E_BAD_DELIMITER');
    writeFileSync(join(d.path, 'pipes.csv'), 'a|b\n1|2.5\n3|4.5\n');
    assert.equal((await run('add', 'dataset', 'piped', 'pipes.csv')).code, 0);
    const piped = (await run('show', 'piped', '--json')).json!.data.profile;
    assert.deepEqual(
      piped.columns.map((c: { name: string }) => c.name),
      ['a', 'b'],
    );
  } finally {
    d.cleanup();
  }
});
