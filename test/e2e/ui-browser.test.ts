import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser, Page, Request } from 'playwright-core';
import { canvasDrawn, launchChromium, NO_CHROMIUM, screenshot, startUi, watch, type PageWatch } from '../browser.js';
import { cliInProcess, tempDir } from '../helpers.js';
import { buildWebFixture, XSS } from '../web-fixture.js';

/**
 * `mlreg ui` and the HTML reports in a real browser: every page loads without a console error,
 * navigation works, every chart draws, and no XSS fixture runs (no dialog, no injected element).
 */
describe('mlreg ui in chromium', { skip: NO_CHROMIUM }, () => {
  const t = tempDir('mlreg-ui-');
  const root = join(t.path, 'reg');
  // Commands that need no server of their own run in-process.
  const mlreg = (...args: string[]) => cliInProcess([...args, '--registry', root]);
  let browser: Browser;
  // One tab for every test: a new tab costs chromium ~4× the CPU of a navigation, and each test starts
  // with a navigation (a fresh document) anyway.
  let page: Page;
  let ui: Awaited<ReturnType<typeof startUi>>;
  const seen: PageWatch = { errors: [], dialogs: [] };

  before(async () => {
    await buildWebFixture(root, t.path);
    ui = await startUi(root);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    watch(page, seen);
  });
  after(async () => {
    await browser?.close();
    await ui?.stop();
    t.cleanup();
  });

  /** Loads a page of the app in the one tab, waits until it rendered, and keeps a screenshot when asked for. */
  async function open(path: string, shot: string): Promise<void> {
    await page.goto(new URL(path, ui.url).href);
    await page.waitForSelector('#app[data-ready]');
    assert.equal(await page.getAttribute('#app', 'data-ready'), 'true', `${path} did not render`);
    await screenshot(page, shot);
  }

  /** No element the XSS fixtures would have made, and no alert. */
  async function assertNoInjection(): Promise<void> {
    const injected = await page.$$eval(
      'img, #app script, iframe, [onerror], [onload], [onmouseover]',
      (els) => els.length,
    );
    assert.equal(injected, 0, 'an element was injected from data');
  }

  test('artifacts → artifact → version → compare, with filter as you type', async () => {
    await open('/', 'artifacts');
    assert.equal(await page.locator('#artifacts tbody tr').count(), 3);
    await page.fill('#filter', 'canc');
    assert.equal(await page.locator('#artifacts tbody tr').count(), 1);
    await page.fill('#filter', 'production');
    assert.equal(await page.locator('#artifacts tbody tr').count(), 2);
    await page.fill('#filter', 'canc');
    await Promise.all([page.waitForURL('**/artifacts/cancer'), page.click('#artifacts a:text-is("cancer")')]);
    await page.waitForSelector('#app[data-ready=true]');
    assert.ok(await canvasDrawn(page, '#metric-chart canvas'), 'metric chart drawn');
    assert.ok((await page.locator('#timeline svg rect').count()) > 0, 'stage timeline drawn');
    assert.equal(await page.locator('#timeline svg circle.rollback').count(), 1, 'one rollback marked');
    assert.equal(await page.locator('#versions tbody tr').count(), 3);
    await screenshot(page, 'artifact');

    await Promise.all([page.waitForURL('**/versions/1.1.0'), page.click('#versions a:text-is("1.1.0")')]);
    await page.waitForSelector('#app[data-ready=true]');
    assert.ok((await page.locator('#lineage svg rect').count()) >= 2, 'lineage graph drawn');
    await screenshot(page, 'version');

    await Promise.all([page.waitForURL('**/compare?**'), page.click('nav.sub a:has-text("production")')]);
    await page.waitForSelector('#app[data-ready=true]');
    const text = await page.textContent('#app');
    assert.match(text ?? '', /Compare cancer@1\.0\.0 ↔ cancer@1\.1\.0/);
    assert.ok((await page.locator('table.metrics').count()) >= 2, 'metrics and evaluations compared');
    await screenshot(page, 'compare');
  });

  test('two ticked versions open their comparison', async () => {
    await open('/artifacts/cancer', 'artifact-select');
    await page.check('input[aria-label="select 1.2.0"]');
    await page.check('input[aria-label="select 1.0.0"]');
    await Promise.all([page.waitForURL('**/compare?**'), page.click('#compare')]);
    await page.waitForSelector('#app[data-ready=true]');
    assert.match((await page.textContent('h1')) ?? '', /cancer@1\.2\.0 ↔ cancer@1\.0\.0/);
  });

  test('version page of a model shows the hostile description, tag and reason as text', async () => {
    await open('/artifacts/cancer/versions/1.0.0', 'version-model');
    assert.equal(await page.textContent('#description'), XSS.description);
    assert.ok((await page.textContent('#tags'))?.includes(XSS.tag));
    await assertNoInjection();
  });

  test('version page: where it is deployed (follower reports), hostile follower names shown as text', async () => {
    await open('/artifacts/cancer/versions/1.0.0', 'version-deployed');
    const section = page.locator('section', { has: page.locator('h2:text-is("Where deployed")') });
    assert.equal(await section.locator('tbody tr').count(), 1);
    const row = (await section.locator('tbody tr').textContent()) ?? '';
    assert.ok(row.includes(XSS.follower) && row.includes('production'), row);
    await assertNoInjection();
    await open('/artifacts/cancer/versions/1.2.0', 'version-not-deployed');
    assert.equal(await page.textContent('#not-deployed'), 'No follower serves this version.');
  });

  test('dataset version: profile with a histogram and category bars per column', async () => {
    await open('/artifacts/hostile/versions/1.0.0', 'dataset-profile');
    assert.equal(await page.locator('#profile .card').count(), 32);
    assert.ok((await page.locator('#profile svg.hist rect').count()) > 30 * 20 * 0.5, 'histograms drawn');
    assert.ok((await page.locator('#profile svg.cats rect').count()) >= 3, 'category bars drawn');
    const text = (await page.textContent('#profile')) ?? '';
    assert.ok(text.includes(XSS.column), 'hostile column name shown as text');
    assert.equal(await page.textContent('#description'), XSS.description);
    await assertNoInjection();
  });

  test('drift between two dataset versions: drifted first, sortable, expandable overlays', async () => {
    await open('/compare?a=train@1.0.0&b=train@1.1.0', 'drift');
    const rows = page.locator('#drift tbody tr');
    const first = await rows.first().getAttribute('class');
    assert.equal(first, 'drifted', 'a drifted column comes first');
    const n = await rows.count();
    assert.equal(n, 32);
    await rows.first().locator('button.expand').click();
    assert.ok((await page.locator('#drift tr.detail svg.hist rect').count()) > 20, 'overlay drawn');
    await screenshot(page, 'drift-expanded');
    await page.click('#drift th[data-key=column]');
    const names = await page.locator('#drift tbody tr[data-column] td.colname').allTextContents();
    assert.deepEqual(
      names,
      [...names].sort((a, b) => a.localeCompare(b)),
    );
    await page.click('#drift th[data-key=column]');
    const reversed = await page.locator('#drift tbody tr[data-column] td.colname').allTextContents();
    assert.deepEqual(reversed, [...names].reverse());
  });

  test('drift with a hostile column name and category: shown as text, nothing runs', async () => {
    await open('/check?current=hostile@1.1.0&against=hostile@1.0.0', 'check-hostile');
    const row = page.locator(`#drift tr[data-column="${XSS.column.replace(/"/g, '\\"')}"]`);
    assert.equal(await row.count(), 1);
    await row.locator('button.expand').click();
    await page.locator('#drift tr[data-column="size_class"] button.expand').click();
    const detail = page.locator('#drift tr.detail');
    assert.equal(await detail.count(), 2);
    assert.ok((await detail.locator('svg.cats rect').count()) > 0, 'category overlay drawn');
    const labels = await detail.locator('svg.cats text title').allTextContents();
    assert.ok(labels.includes(XSS.category), 'hostile category shown as text');
    await assertNoInjection();
  });

  test('monitoring: live metric over time with stage moves and the rule threshold', async () => {
    await open('/artifacts/cancer/monitor', 'monitor');
    assert.ok(await canvasDrawn(page, '.monitor-chart canvas'), 'monitoring chart drawn');
    const moves = (await page.textContent('#app')) ?? '';
    assert.match(moves, /rollback/);
    assert.match(moves, /auc < 0\.9/);
  });

  test('history: filter by kind, stage and actor; reasons are text', async () => {
    await open('/artifacts/cancer/history', 'history');
    const all = await page.locator('#history tbody tr').count();
    assert.ok(all >= 8);
    await page.selectOption('#kind', 'rollback');
    assert.equal(await page.locator('#history tbody tr').count(), 1);
    await page.selectOption('#kind', '');
    await page.selectOption('#actor', 'bob');
    assert.equal(await page.locator('#history tbody tr').count(), 3);
    await page.selectOption('#actor', '');
    await page.selectOption('#stage', 'staging');
    assert.equal(await page.locator('#history tbody tr').count(), 2);
    await page.selectOption('#stage', '');
    assert.ok((await page.locator('#history td.reason').allTextContents()).includes(XSS.reason));
    assert.ok((await page.locator('#history td.reason').allTextContents()).includes(XSS.deprecation));
    await assertNoInjection();
  });

  test('an unknown artifact shows a readable error page', async () => {
    const logged = seen.errors.length;
    await page.goto(new URL('/artifacts/nope', ui.url).href);
    await page.waitForSelector('#app[data-ready=error]');
    assert.match((await page.textContent('#app')) ?? '', /no artifact named "nope"/);
    // The page is answered with status 404, which chromium logs as a console error: that one is expected.
    const errors = seen.errors.splice(logged);
    assert.ok(
      errors.every((e) => /\/artifacts\/nope: .*status of 404/.test(e)),
      errors.join('\n'),
    );
  });

  test('HTML reports open from a file, draw, and run nothing from the data', async () => {
    const check = join(t.path, 'check.html');
    const r = await mlreg('check', 'hostile@1.1.0', '--against', 'hostile@1.0.0', '--format', 'html', '-o', check);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    const cmp = join(t.path, 'compare.html');
    assert.equal((await mlreg('compare', 'cancer@1.0.0', 'cancer@1.1.0', '--format', 'html', '-o', cmp)).code, 0);
    const drift = join(t.path, 'drift.html');
    assert.equal((await mlreg('compare', 'train@1.0.0', 'train@1.1.0', '--format', 'html', '-o', drift)).code, 0);
    for (const [file, shot] of [
      [check, 'report-check'],
      [cmp, 'report-compare'],
      [drift, 'report-drift'],
    ] as const) {
      const requests: string[] = [];
      const fetched = (q: Request) => {
        if (!q.url().startsWith('file:') && !q.url().startsWith('data:')) requests.push(q.url());
      };
      // On the one tab every later page would still be counted here: the listener goes with this report.
      page.on('request', fetched);
      try {
        await page.goto(pathToFileURL(file).href);
        await page.waitForSelector('#app[data-ready=true]');
        if (file !== cmp) {
          await page.locator('#drift tbody tr').first().locator('button.expand').click();
          assert.ok((await page.locator('#drift tr.detail svg rect').count()) > 0, `${shot}: overlay drawn`);
        } else {
          assert.ok((await page.locator('table.metrics').count()) > 0);
          assert.equal(await page.locator('#app a').count(), 0, 'no links to a server in a report');
        }
        await assertNoInjection();
        assert.deepEqual(requests, [], 'a report fetches nothing');
        await screenshot(page, shot);
      } finally {
        page.off('request', fetched);
      }
    }
  });

  test('no page logged a console error or opened a dialog', () => {
    assert.deepEqual(seen.dialogs, []);
    assert.deepEqual(seen.errors, []);
  });
});
