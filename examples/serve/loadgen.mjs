#!/usr/bin/env node
/**
 * A small HTTP load generator for the example model server: for each target URL, N concurrent loops
 * POST the same /predict body over keep-alive connections at a steady rate, and every answer is
 * checked (status 200, a JSON body naming the version that answered and, when expected answers are
 * given, the prediction that version must give). Standard library only.
 *
 * As a module: `startLoad({ targets, concurrency, rate, body, expected, onResponse })` → `stop()`.
 * As a command: node loadgen.mjs URL... [--duration 10] [--concurrency 4] [--rate 200] [--body JSON]
 *   prints a summary per target and exits 1 if any request failed.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/**
 * @typedef {{ target: number, status: number, version: string | null, sentAt: number, receivedAt: number, ok: boolean, error?: string }} Response
 * `sentAt`/`receivedAt` are `performance.now()` milliseconds of this process.
 */

/**
 * @param {{
 *   targets: string[],            // base URLs, e.g. http://127.0.0.1:8001
 *   concurrency?: number,         // loops (and keep-alive connections) per target
 *   rate?: number,                // requests per second per target, spread over its loops (0: as fast as answered)
 *   body: unknown,                // the /predict request body
 *   expected?: Record<string, unknown>, // version → the exact `probabilities` that version must answer
 *   timeoutMs?: number,
 *   onResponse?: (r: Response) => void,
 * }} opts
 */
export function startLoad(opts) {
  const concurrency = opts.concurrency ?? 4;
  const rate = opts.rate ?? 200;
  const timeoutMs = opts.timeoutMs ?? 5000;
  const payload = Buffer.from(JSON.stringify(opts.body));
  let running = true;
  const stats = opts.targets.map((url) => ({
    url,
    requests: 0,
    ok: 0,
    failed: 0,
    /** version → responses */
    versions: /** @type {Record<string, number>} */ ({}),
    /** the first few failures, for the report */
    failures: /** @type {string[]} */ ([]),
    latenciesMs: /** @type {number[]} */ ([]),
  }));

  const loops = [];
  const agents = [];
  for (let t = 0; t < opts.targets.length; t++) {
    const url = new URL('/predict', opts.targets[t]);
    const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
    agents.push(agent);
    for (let l = 0; l < concurrency; l++) loops.push(loop(t, url, agent, l));
  }

  async function loop(t, url, agent, l) {
    const period = rate > 0 ? (1000 * concurrency) / rate : 0;
    // Stagger the loops so the requests of a target are spread evenly over each period.
    let next = performance.now() + (period * l) / concurrency;
    while (running) {
      if (period) {
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        next = Math.max(next + period, performance.now() - period);
        if (!running) break;
      }
      const r = await request(t, url, agent);
      const s = stats[t];
      s.requests++;
      if (r.ok) {
        s.ok++;
        s.versions[r.version] = (s.versions[r.version] ?? 0) + 1;
        s.latenciesMs.push(r.receivedAt - r.sentAt);
      } else {
        s.failed++;
        if (s.failures.length < 10) s.failures.push(r.error ?? `status ${r.status}`);
      }
      opts.onResponse?.(r);
    }
  }

  /** @returns {Promise<Response>} */
  function request(t, url, agent) {
    const sentAt = performance.now();
    return new Promise((resolve) => {
      const done = (status, version, error) =>
        resolve({ target: t, status, version, sentAt, receivedAt: performance.now(), ok: !error, error });
      const req = http.request(
        url,
        {
          method: 'POST',
          agent,
          timeout: timeoutMs,
          headers: { 'content-type': 'application/json', 'content-length': payload.length },
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('error', (err) => done(res.statusCode ?? 0, null, `response: ${err.message}`));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            let doc;
            try {
              doc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              return done(status, null, `status ${status}, body is not JSON`);
            }
            const version = typeof doc?.version === 'string' ? doc.version : null;
            if (status !== 200) return done(status, version, `status ${status}: ${doc?.error ?? ''}`);
            if (!version) return done(status, null, 'the answer names no version');
            if (res.headers['x-model-version'] !== version)
              return done(status, version, `X-Model-Version ${res.headers['x-model-version']} but body ${version}`);
            if (opts.expected) {
              if (!(version in opts.expected)) return done(status, version, `unknown version ${version}`);
              const want = JSON.stringify(opts.expected[version]);
              const got = JSON.stringify(doc.probabilities);
              if (want !== got) return done(status, version, `${version} answered ${got}, its model gives ${want}`);
            }
            done(status, version);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => done(0, null, `request: ${err.message}`));
      req.end(payload);
    });
  }

  return {
    stats,
    /** Stop every loop after its request in flight and return the counts per target. */
    async stop() {
      running = false;
      await Promise.all(loops);
      for (const agent of agents) agent.destroy();
      return stats;
    },
  };
}

export function percentile(xs, p) {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function median(xs) {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(argv) {
  const urls = [];
  const o = { duration: 10, concurrency: 4, rate: 200, body: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--duration') o.duration = Number(argv[++i]);
    else if (a === '--concurrency') o.concurrency = Number(argv[++i]);
    else if (a === '--rate') o.rate = Number(argv[++i]);
    else if (a === '--body') o.body = JSON.parse(argv[++i]);
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else urls.push(a);
  }
  if (!urls.length || !o.body) {
    process.stderr.write('usage: node loadgen.mjs URL... --body JSON [--duration S] [--concurrency N] [--rate R]\n');
    process.exit(2);
  }
  const load = startLoad({ targets: urls, concurrency: o.concurrency, rate: o.rate, body: o.body });
  await sleep(o.duration * 1000);
  const stats = await load.stop();
  for (const s of stats) {
    const p50 = percentile(s.latenciesMs, 50).toFixed(1);
    const p99 = percentile(s.latenciesMs, 99).toFixed(1);
    console.log(
      `${s.url}: ${s.requests} requests (${(s.requests / o.duration).toFixed(0)}/s), ${s.failed} failed, ` +
        `p50 ${p50} ms, p99 ${p99} ms, versions ${JSON.stringify(s.versions)}`,
    );
    for (const f of s.failures) console.log(`  failed: ${f}`);
  }
  if (stats.some((s) => s.failed)) process.exitCode = 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
