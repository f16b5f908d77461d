import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { BIN, ROOT } from './helpers.js';

/**
 * Browser tests run in Debian's chromium driven by playwright-core (nothing is downloaded). Without
 * /usr/bin/chromium they are skipped with this message; .ci/run installs it so CI always runs them.
 */
export const CHROMIUM = '/usr/bin/chromium';
export const NO_CHROMIUM = existsSync(CHROMIUM)
  ? false
  : `browser tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run does it)`;

/**
 * With MLREG_UI_SCREENSHOTS=1, a screenshot of every page is kept here after the run, for people to
 * look at. Off by default: they assert nothing, and encoding them took ~20% of the browser tests' CPU.
 */
export const SHOTS = join(ROOT, 'dist', 'test-output', 'ui');
const SCREENSHOTS = process.env.MLREG_UI_SCREENSHOTS === '1';

/** Keep a full-page screenshot of `page` as SHOTS/`name`.png, when asked for (above). */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** What a page did that it must not: console errors, uncaught exceptions, dialogs (alert()). */
export interface PageWatch {
  errors: string[];
  dialogs: string[];
}

export function watch(page: Page, into: PageWatch = { errors: [], dialogs: [] }): PageWatch {
  page.on('console', (m) => {
    if (m.type() === 'error') into.errors.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => into.errors.push(`${page.url()}: uncaught ${e.message}`));
  page.on('dialog', (d) => {
    into.dialogs.push(`${page.url()}: ${d.type()} ${d.message()}`);
    void d.dismiss();
  });
  return into;
}

/** Has a canvas any drawn pixel? (uPlot draws its lines on a canvas.) */
export async function canvasDrawn(page: Page, selector: string): Promise<boolean> {
  // The callback runs in the page, where canvas types exist; the tests compile without the DOM library.
  return page.$eval(selector, (el) => {
    const c = el as any;
    if (!c.width || !c.height) return false;
    const data: Uint8ClampedArray = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) return true;
    return false;
  });
}

/** `mlreg ui --port 0 --json` on a registry; resolves once it printed its address. */
export function startUi(
  registry: string,
  extra: string[] = [],
): Promise<{ url: string; child: ChildProcess; stderr: () => string; stop: () => Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'ui', '--registry', registry, '--port', '0', '--json', ...extra], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        const doc = JSON.parse(line) as { ok: boolean; data?: { url: string } };
        if (!doc.ok || !doc.data) return reject(new Error(`mlreg ui failed: ${line}`));
        resolve({
          url: doc.data.url,
          child,
          stderr: () => err,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done(child.exitCode);
              child.once('exit', (code) => done(code));
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`mlreg ui exited ${code}: ${err}`)));
  });
}
