import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startUi } from '../browser.js';
import { cliInProcess, FIXTURES, tempDir } from '../helpers.js';
import { addWideDataset, buildWebFixture, writeWideCsv, XSS } from '../web-fixture.js';

describe('mlreg ui (command line)', () => {
  const t = tempDir('mlreg-ui-cli-');
  const root = join(t.path, 'reg');
  // Commands that need no server of their own run in-process.
  const mlreg = (...args: string[]) => cliInProcess([...args, '--registry', root]);
  before(async () => buildWebFixture(root, t.path));
  after(() => t.cleanup());

  test('serves on loopback, answers, and stops on SIGTERM with exit 0', async () => {
    const ui = await startUi(root);
    assert.match(ui.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const res = await fetch(new URL('/api/artifacts', ui.url));
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { data: { artifacts: unknown[] } }).data.artifacts.length, 3);
    assert.equal(ui.stderr(), '', 'no warning on loopback');
    assert.equal(await ui.stop(), 0);
  });

  test('--host other than loopback warns on stderr', async () => {
    const ui = await startUi(root, ['--host', '0.0.0.0']);
    await new Promise((r) => setTimeout(r, 100));
    assert.match(ui.stderr(), /warning: listening on 0\.0\.0\.0, not loopback/);
    await ui.stop();
  });

  test('bad port, busy port, no registry: documented exit codes and hints', async () => {
    const bad = await mlreg('ui', '--port', 'http', '--json');
    assert.equal(bad.code, 2);
    assert.equal(bad.json?.error?.code, 'E_BAD_PORT');
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    const taken = await mlreg('ui', '--port', String(port), '--json');
    busy.close();
    assert.equal(taken.code, 2);
    assert.equal(taken.json?.error?.code, 'E_CANNOT_LISTEN');
    assert.match(taken.json?.error?.hint ?? '', /--port/);
    const none = await cliInProcess(['ui', '--port', '0', '--registry', join(t.path, 'nothing'), '--json']);
    assert.equal(none.code, 3);
  });

  test('HTML reports are one self-contained file with the data embedded safely', async () => {
    const out = join(t.path, 'check.html');
    const r = await mlreg('check', 'hostile@1.1.0', '--against', 'hostile@1.0.0', '--format', 'html', '-o', out);
    assert.equal(r.code, 1, 'the gate still decides the exit code');
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /wrote .*check\.html/);
    const html = readFileSync(out, 'utf8');
    assert.doesNotMatch(html, /\b(src|href)\s*=\s*["']?(https?:)?\/\//i, 'no external URL');
    assert.doesNotMatch(html, /<link\b|<script[^>]*\bsrc=/i);
    assert.equal((html.match(/<script/g) ?? []).length, 2, 'one data block, one script');
    const data = /<script type="application\/json" id="mlreg-data">([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    assert.ok(!data.includes('<'), 'no < inside the embedded JSON');
    const doc = JSON.parse(data);
    assert.equal(doc.kind, 'check');
    assert.ok(doc.drift.reference.columns.some((c: { name: string }) => c.name === XSS.column));
    assert.match(html, /http-equiv="Content-Security-Policy"/);

    const printed = await mlreg('compare', 'cancer@1.0.0', 'cancer@1.1.0', '--format', 'html');
    assert.equal(printed.code, 0);
    assert.match(printed.stdout, /^<!doctype html>/);
    const markdownTo = await mlreg('compare', 'cancer@1.0.0', 'cancer@1.1.0', '-o', join(t.path, 'x'));
    assert.equal(markdownTo.code, 2);
    assert.equal((await mlreg('check', 'train@1.1.0', '--against', 'train@1.0.0', '--format', 'pdf')).code, 2);
  });

  test('a 100-column drift report stays under 1 MB', async () => {
    writeWideCsv(join(FIXTURES, 'datasets', 'train.csv'), join(t.path, 'wide-a.csv'));
    writeWideCsv(join(FIXTURES, 'datasets', 'batch_drifted.csv'), join(t.path, 'wide-b.csv'));
    await addWideDataset(root, 'wide', '1.0.0', join(t.path, 'wide-a.csv'));
    await addWideDataset(root, 'wide', '1.1.0', join(t.path, 'wide-b.csv'));
    const out = join(t.path, 'wide.html');
    await mlreg('check', 'wide@latest', '--against', 'wide@1.0.0', '--format', 'html', '-o', out);
    const size = statSync(out).size;
    assert.ok(size <= 1_000_000, `${size} bytes`);
    process.stderr.write(`100-column drift report: ${size} bytes\n`);
    const cmp = join(t.path, 'wide-compare.html');
    assert.equal((await mlreg('compare', 'wide@1.0.0', 'wide@latest', '--format', 'html', '-o', cmp)).code, 0);
    assert.ok(statSync(cmp).size <= 1_000_000, `${statSync(cmp).size} bytes`);
    const cols = spawnSync('head', ['-1', join(t.path, 'wide-a.csv')], { encoding: 'utf8' }).stdout.split(',').length;
    assert.equal(cols, 100);
  });
});
