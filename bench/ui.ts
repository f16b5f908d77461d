import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from '../src/core/registry/registry.js';
import { promote } from '../src/core/stages/promote.js';
import { addVersion } from '../src/core/versions/add.js';
import { addWideDataset, writeWideCsv } from '../test/web-fixture.js';
import { fmtMs, median, timeShell, type BenchRow } from './lib.js';

/**
 * `mlreg ui` benchmarks: the server ready to answer after start (≤ 300 ms, against Node's own
 * start-up); the JSON of the artifact page of an artifact with 10,000 versions (≤ 150 ms); in
 * chromium, the artifact page to its chart drawn (≤ 1 s) and a 100-column drift report to drawn
 * (≤ 1 s). The browser rows are skipped without /usr/bin/chromium.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'mlreg.js');
const FIXTURES = join(ROOT, 'test', 'fixtures');
const RUNS = Number(process.env.MLREG_BENCH_RUNS ?? 5);
const CHROMIUM = '/usr/bin/chromium';
const runtime = { pid: process.pid, isProcessAlive: () => true, now: () => new Date(), busyTimeoutMs: 60_000 };

interface Running {
  url: string;
  readyMs: number;
  stop: () => Promise<void>;
}

/** Start `mlreg ui`; ready = the first API answer received, timed from the spawn. */
function startUi(registry: string): Promise<Running> {
  const start = process.hrtime.bigint();
  const child = spawn(process.execPath, [BIN, 'ui', '--registry', registry, '--port', '0', '--json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', async (d) => {
      out += d;
      if (!out.includes('\n')) return;
      const url = (JSON.parse(out.split('\n')[0]!) as { data: { url: string } }).data.url;
      const res = await fetch(new URL('/api/artifacts', url));
      await res.arrayBuffer();
      const readyMs = Number(process.hrtime.bigint() - start) / 1e6;
      resolve({
        url,
        readyMs,
        stop: () =>
          new Promise((done) => {
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
    child.once('error', reject);
  });
}

async function timeGet(url: string): Promise<number> {
  const start = process.hrtime.bigint();
  const res = await fetch(url);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const work = mkdtempSync(join(tmpdir(), 'mlreg-bench-ui-'));
  try {
    // --- 10,000 versions, each added and promoted through the core API -----------------------
    const n = Number(process.env.MLREG_BENCH_VERSIONS ?? 10_000);
    const regDir = join(work, 'reg');
    Registry.init(regDir, runtime);
    const reg = Registry.open(regDir, runtime);
    const small = join(work, 'small.bin');
    for (let i = 0; i < n; i++) {
      writeFileSync(small, `weights ${i}`);
      const v = await addVersion(reg, {
        kind: 'model',
        name: 'fraud',
        path: small,
        bump: 'patch',
        metrics: { auc: 0.8 + (i % 100) / 1000, accuracy: 0.7 + (i % 37) / 200 },
        actor: 'bench',
      });
      promote(reg, {
        ref: `fraud@${v.version.version}`,
        stage: i % 2 ? 'production' : 'staging',
        actor: 'bench',
        reason: `build ${i}`,
      });
    }
    reg.close();
    // A 100-column drift report, from the cancer fixtures widened.
    writeWideCsv(join(FIXTURES, 'datasets', 'train.csv'), join(work, 'wide-a.csv'));
    writeWideCsv(join(FIXTURES, 'datasets', 'batch_drifted.csv'), join(work, 'wide-b.csv'));
    await addWideDataset(regDir, 'wide', '1.0.0', join(work, 'wide-a.csv'));
    await addWideDataset(regDir, 'wide', '1.1.0', join(work, 'wide-b.csv'));

    // --- ready after start --------------------------------------------------------------------
    const nodeFloor = median(Array.from({ length: RUNS }, () => timeShell(`${process.execPath} -e ""`)));
    const ready: number[] = [];
    const cold: number[] = [];
    const cached: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const ui = await startUi(regDir);
      ready.push(ui.readyMs);
      // The artifact page's data: first asked (list NAME computed), then again (kept until the registry changes).
      const api = new URL('/api/artifacts/fraud', ui.url).href;
      cold.push(await timeGet(api));
      cached.push(await timeGet(api));
      await ui.stop();
    }
    const readyMs = median(ready);
    rows.push({
      name: 'mlreg ui ready (start → first answer)',
      measured: fmtMs(readyMs),
      floor: `node start ${fmtMs(nodeFloor)}`,
      ratio: readyMs,
      target: '≤ 300 ms',
      pass: readyMs <= 300,
    });
    const coldMs = median(cold);
    rows.push({
      name: `artifact page JSON (${n} versions)`,
      measured: `${fmtMs(coldMs)} (again: ${fmtMs(median(cached))})`,
      floor: `node start ${fmtMs(nodeFloor)}`,
      ratio: coldMs,
      target: '≤ 150 ms',
      pass: coldMs <= 150,
    });

    const ui = await startUi(regDir);
    try {
      // --- in the browser -----------------------------------------------------------------------
      if (!existsSync(CHROMIUM)) {
        for (const name of ['artifact page to chart drawn', '100-column drift report drawn'])
          rows.push({ name, measured: `skipped: no ${CHROMIUM}`, floor: '-', ratio: 0, target: '≤ 1 s', pass: true });
      } else {
        const { chromium } = await import('playwright-core');
        const browser = await chromium.launch({
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
        try {
          const pageTimes = await sequence(RUNS, async () => {
            const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
            const start = process.hrtime.bigint();
            await page.goto(new URL('/artifacts/fraud', ui.url).href);
            await page.waitForSelector('#app[data-ready=true] #metric-chart canvas');
            const ms = Number(process.hrtime.bigint() - start) / 1e6;
            await page.close();
            return ms;
          });
          const pageMs = median(pageTimes);
          rows.push({
            name: `artifact page to chart drawn (${n} versions)`,
            measured: fmtMs(pageMs),
            floor: '-',
            ratio: pageMs,
            target: '≤ 1 s',
            pass: pageMs <= 1000,
          });
          const report = join(work, 'wide.html');
          const { spawnSync } = await import('node:child_process');
          spawnSync(process.execPath, [
            BIN,
            'check',
            'wide@1.1.0',
            '--against',
            'wide@1.0.0',
            '--registry',
            regDir,
            '--format',
            'html',
            '-o',
            report,
          ]);
          const { statSync } = await import('node:fs');
          const size = statSync(report).size;
          const reportTimes = await sequence(RUNS, async () => {
            const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
            const start = process.hrtime.bigint();
            await page.goto(`file://${report}`);
            await page.waitForSelector('#app[data-ready=true] #drift tbody tr');
            const ms = Number(process.hrtime.bigint() - start) / 1e6;
            await page.close();
            return ms;
          });
          const reportMs = median(reportTimes);
          rows.push({
            name: `100-column drift report drawn (${Math.round(size / 1024)} KB file)`,
            measured: fmtMs(reportMs),
            floor: '-',
            ratio: reportMs,
            target: '≤ 1 s, ≤ 1 MB',
            pass: reportMs <= 1000 && size <= 1_000_000,
          });
        } finally {
          await browser.close();
        }
      }
    } finally {
      await ui.stop();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return rows;
}

async function sequence<T>(n: number, f: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await f());
  return out;
}
