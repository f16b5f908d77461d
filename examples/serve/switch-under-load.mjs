#!/usr/bin/env node
/**
 * Stage moves under load: steady /predict load against every replica while `mlreg promote` and
 * `mlreg rollback` alternate K times, then the checks of the zero-downtime upgrade:
 *   - 0 failed or non-200 responses, and every answer names the version that answered (and gives
 *     exactly that version's prediction for the probe row);
 *   - switch latency per replica, from the completion of the stage-moving command to the first
 *     answer served by the new version: median ≤ interval/2 + 0.5 s, max ≤ interval + 2 s;
 *   - no answer from the old version to a request sent after a replica first answered with the new one.
 * Prints the figures, writes them as JSON with --json-out FILE, exits 1 when a target is missed.
 *
 * Usage (run.sh sets everything up and calls this):
 *   node switch-under-load.mjs --name NAME --promote VERSION --baseline VERSION --replica URL... \
 *     --body JSON --expected FILE [--stage production] [--interval 1] [--duration 60] \
 *     [--alternations 20] [--concurrency 4] [--rate 200] [--json-out FILE]
 * MLREG (default "node <repo>/bin/mlreg.js") is the command that moves the stage; MLREG_REGISTRY
 * names the registry.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { median, percentile, startLoad } from './loadgen.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function parseArgs(argv) {
  const o = {
    name: '',
    stage: 'production',
    promote: '',
    baseline: '',
    replicas: [],
    body: null,
    expected: '',
    interval: 1,
    duration: 60,
    alternations: 20,
    concurrency: 4,
    rate: 200,
    jsonOut: '',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--name') o.name = v();
    else if (a === '--stage') o.stage = v();
    else if (a === '--promote') o.promote = v();
    else if (a === '--baseline') o.baseline = v();
    else if (a === '--replica') o.replicas.push(v());
    else if (a === '--body') o.body = JSON.parse(v());
    else if (a === '--expected') o.expected = v();
    else if (a === '--interval') o.interval = Number(v());
    else if (a === '--duration') o.duration = Number(v());
    else if (a === '--alternations') o.alternations = Number(v());
    else if (a === '--concurrency') o.concurrency = Number(v());
    else if (a === '--rate') o.rate = Number(v());
    else if (a === '--json-out') o.jsonOut = v();
    else throw new Error(`unknown argument ${a}`);
  }
  for (const k of ['name', 'promote', 'baseline', 'expected'])
    if (!o[k]) throw new Error(`--${k} is required (see the usage at the top of this file)`);
  if (!o.replicas.length || !o.body) throw new Error('--replica URL (one per replica) and --body JSON are required');
  if (!(o.interval > 0 && o.duration > 0 && o.alternations > 0))
    throw new Error('interval, duration, alternations: > 0');
  return o;
}

/** Run the mlreg command; resolves with its parsed --json data and the time it completed. */
function mlreg(args) {
  const cmd = (process.env.MLREG ?? `node ${ROOT}bin/mlreg.js`).split(' ').filter(Boolean);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0], [...cmd.slice(1), ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const doneAt = performance.now();
      if (code !== 0) return reject(new Error(`mlreg ${args.join(' ')} exited ${code}: ${err.trim()}`));
      resolve({ data: JSON.parse(out).data, doneAt });
    });
  });
}

export async function main(argv) {
  const o = parseArgs(argv);
  const expected = JSON.parse(readFileSync(o.expected, 'utf8'));
  const n = o.replicas.length;
  const deadlineMs = (o.interval + 2) * 1000;
  // Wait this long at most for a switch to land before the next move (a miss is then recorded).
  const giveUpMs = deadlineMs + 5000;

  /** One stage move: which version it puts on the stage, when it ran, when each replica switched. */
  const moves = [];
  let move = null;
  let stale = 0;
  const staleExamples = [];
  // What each replica answered with last, to count answers after a switch from the old version.
  const onResponse = (r) => {
    if (!r.ok || !move) return;
    const landed = move.landedAt[r.target];
    if (landed === null) {
      if (r.version === move.to && r.receivedAt >= move.startedAt) move.landedAt[r.target] = r.receivedAt;
    } else if (r.version !== move.to && r.sentAt > landed) {
      // Sent after this replica answered with the new version, answered by another: the swap went back.
      stale++;
      if (staleExamples.length < 5)
        staleExamples.push(`replica ${r.target + 1}: ${r.version} after it served ${move.to} (move ${move.index})`);
    }
  };

  const load = startLoad({
    targets: o.replicas,
    concurrency: o.concurrency,
    rate: o.rate,
    body: o.body,
    expected,
    onResponse,
  });
  const t0 = performance.now();
  const warmupMs = Math.min(2000, (o.duration * 1000) / (o.alternations + 1));
  const period = (o.duration * 1000 - warmupMs) / o.alternations;
  let error = null;
  try {
    for (let i = 0; i < o.alternations; i++) {
      // A random offset within one poll interval: moves on a fixed period that is a multiple of the
      // interval (3 s against 1 s) land at the same phase of a follower's polls every time, so one
      // replica always waited almost a full interval. Real moves come at any phase; so do these.
      const at = t0 + warmupMs + i * period + Math.random() * Math.min(o.interval * 1000, period / 2);
      if (performance.now() < at) await sleep(at - performance.now());
      const to = i % 2 === 0 ? o.promote : o.baseline;
      move = {
        index: i + 1,
        kind: i % 2 === 0 ? 'promote' : 'rollback',
        to,
        startedAt: performance.now(),
        doneAt: null,
        landedAt: new Array(n).fill(null),
      };
      moves.push(move);
      const args =
        i % 2 === 0
          ? ['promote', `${o.name}@${o.promote}`, '--to', o.stage, '--reason', `switch-under-load ${i + 1}`]
          : ['rollback', o.name, '--stage', o.stage, '--reason', `switch-under-load ${i + 1}`];
      const { data, doneAt } = await mlreg(args);
      move.doneAt = doneAt;
      // The time the index recorded for the move, on this process's clock (same machine).
      move.recordedAt = Date.parse(data.at) - performance.timeOrigin;
      if (data.to !== to) throw new Error(`mlreg ${args[0]} moved ${o.stage} to ${data.to}, expected ${to}`);
      process.stderr.write(
        `move ${i + 1}/${o.alternations}: ${args[0]} → ${to} (${(doneAt - move.startedAt).toFixed(0)} ms)\n`,
      );
      // Let this switch land everywhere (or give up on it) before the next one.
      while (move.landedAt.some((x) => x === null) && performance.now() - doneAt < giveUpMs) await sleep(20);
    }
    // A little steady load after the last switch, so a late bounce back would still be seen.
    await sleep(Math.min(1000, period));
  } catch (err) {
    error = err;
  }
  const stats = await load.stop();
  const elapsedS = (performance.now() - t0) / 1000;
  if (error) throw error;

  const perReplica = o.replicas.map((url, r) => {
    const lat = moves.map((m) => (m.landedAt[r] === null ? Number.POSITIVE_INFINITY : m.landedAt[r] - m.doneAt));
    const landed = lat.filter(Number.isFinite);
    // Also from the time the move was recorded in the index: the stage-moving command spends some
    // time after its commit (closing the index, exiting), so a replica may switch before it returns.
    const fromRecorded = moves.map((m) =>
      m.landedAt[r] === null ? Number.POSITIVE_INFINITY : m.landedAt[r] - m.recordedAt,
    );
    return {
      url,
      requests: stats[r].requests,
      failed: stats[r].failed,
      failures: stats[r].failures,
      versions: stats[r].versions,
      requestP50Ms: percentile(stats[r].latenciesMs, 50),
      requestP99Ms: percentile(stats[r].latenciesMs, 99),
      switches: moves.length,
      missed: lat.length - landed.length,
      switchMedianMs: median(lat),
      switchMaxMs: Math.max(...lat),
      switchLatenciesMs: lat.map((x) => (Number.isFinite(x) ? Math.round(x) : null)),
      fromRecordedMedianMs: median(fromRecorded),
      fromRecordedMaxMs: Math.max(...fromRecorded),
    };
  });
  const targets = { medianMs: (o.interval / 2 + 0.5) * 1000, maxMs: deadlineMs };
  const failed = perReplica.reduce((s, r) => s + r.failed, 0);
  const requests = perReplica.reduce((s, r) => s + r.requests, 0);
  const checks = [
    { what: 'failed or non-200 responses', value: failed, target: '0', pass: failed === 0 },
    { what: 'answers from the old version after the new one answered', value: stale, target: '0', pass: stale === 0 },
    ...perReplica.flatMap((r, i) => [
      {
        what: `replica ${i + 1} switch latency, median of ${r.switches}`,
        value: r.switchMedianMs,
        target: `≤ ${targets.medianMs} ms`,
        pass: r.switchMedianMs <= targets.medianMs,
      },
      {
        what: `replica ${i + 1} switch latency, max`,
        value: r.switchMaxMs,
        target: `≤ ${targets.maxMs} ms`,
        pass: r.switchMaxMs <= targets.maxMs,
      },
    ]),
  ];
  const report = {
    interval: o.interval,
    durationS: elapsedS,
    alternations: o.alternations,
    requests,
    failed,
    stale,
    staleExamples,
    targets,
    replicas: perReplica,
    checks,
    pass: checks.every((c) => c.pass),
  };

  console.log(
    `${requests} requests in ${elapsedS.toFixed(1)} s to ${n} replicas, ${moves.length} stage moves (follow --interval ${o.interval}s)`,
  );
  for (const [i, r] of perReplica.entries()) {
    console.log(
      `replica ${i + 1} ${r.url}: ${r.requests} requests, ${r.failed} failed, answered by ${JSON.stringify(r.versions)}; ` +
        `request p50 ${r.requestP50Ms.toFixed(1)} ms, p99 ${r.requestP99Ms.toFixed(1)} ms`,
    );
    console.log(`  switch latency (ms): ${r.switchLatenciesMs.map((x) => x ?? 'never').join(' ')}`);
    console.log(
      `  from the move's recorded time: median ${r.fromRecordedMedianMs.toFixed(0)} ms, max ${r.fromRecordedMaxMs.toFixed(0)} ms`,
    );
    for (const f of r.failures) console.log(`  failed: ${f}`);
  }
  for (const s of staleExamples) console.log(`  stale: ${s}`);
  for (const c of checks) {
    const value = Number.isFinite(c.value)
      ? c.what.includes('latency')
        ? `${c.value.toFixed(0)} ms`
        : c.value
      : 'never';
    console.log(`${c.pass ? 'ok  ' : 'MISS'} ${c.what}: ${value} (target ${c.target})`);
  }
  if (o.jsonOut) writeFileSync(o.jsonOut, JSON.stringify(report, null, 2) + '\n');
  return report;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    const report = await main(process.argv.slice(2));
    process.exitCode = report.pass ? 0 : 1;
  } catch (err) {
    process.stderr.write(`switch-under-load: ${err.message}\n`);
    process.exitCode = 2;
  }
}
