import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { dbSnapshot, EVAL_FIXTURES, holdoutRegistry, type HoldoutRegistry, SCORE } from '../eval-helpers.js';

/** hold@1.0.0; m@1.0.0 (threshold 0.6) in production; m@1.1.0 (0.5) and m@1.2.0 (0.42) not promoted. */
function setup(): Promise<HoldoutRegistry> {
  return holdoutRegistry({
    key: 'models-abc-production',
    build: async (run) => {
      for (const m of ['a', 'b', 'c'])
        assert.equal((await run(['add', 'model', 'm', join(EVAL_FIXTURES, `model-${m}`)])).code, 0);
      assert.equal((await run(['promote', 'm@1.0.0', '--to', 'production'])).code, 0);
    },
  });
}

const evalCmd = `"${process.execPath}" "${SCORE}"`;

test('promote --if-better with --eval-cmd: evaluates both sides, promotes the better one, logs the gate', async () => {
  const s = await setup();
  try {
    const r = await s.run([
      '--json',
      'promote',
      'm@1.1.0',
      '--to',
      'production',
      '--if-better',
      'accuracy',
      '--on',
      'hold@latest',
      '--eval-cmd',
      evalCmd,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json!.data.to, '1.1.0');
    assert.deepEqual(
      r.json!.data.evaluated.runs.map((x: any) => x.model.version),
      ['1.1.0', '1.0.0'],
    );
    assert.equal(r.json!.data.gate.passed, true);
    const hist = (await s.run(['--json', 'history', 'm'])).json!.data.events[0];
    assert.equal(hist.details.gate.champion.version, '1.0.0');
    assert.ok(hist.details.gate.rows[0].challenger > hist.details.gate.rows[0].champion);
  } finally {
    s.cleanup();
  }
});

test('not better: exit 1, the report with the numbers on stdout, the reason on stderr, nothing changed', async () => {
  const s = await setup();
  try {
    assert.equal(
      (await s.run(['eval', 'run', 'm@1.0.0', 'm@1.2.0', '--on', 'hold', '--', process.execPath, SCORE])).code,
      0,
    );
    assert.equal(
      (await s.run(['eval', 'record', 'm@1.2.0', '--on', 'hold', 'accuracy=0.5'])).code,
      0,
      'newest value counts',
    );
    const before = dbSnapshot(s.reg);
    const human = await s.run(['promote', 'm@1.2.0', '--to', 'production', '--if-better', 'accuracy', '--on', 'hold']);
    assert.equal(human.code, 1);
    assert.match(human.stdout, /SLICE\s+CHALLENGER 1\.2\.0\s+CHAMPION 1\.0\.0/);
    assert.match(human.stdout, /all\s+0\.5\s+0\.93\s+-0\.43\s+better\s+FAIL/);
    assert.match(
      human.stderr,
      /m@1\.2\.0 does not beat m@1\.0\.0 on accuracy on hold@1\.0\.0: slice all: 0\.5 vs 0\.93 is not better/,
    );
    const json = await s.run([
      '--json',
      'promote',
      'm@1.2.0',
      '--to',
      'production',
      '--if-better',
      'accuracy',
      '--on',
      'hold',
    ]);
    assert.equal(json.code, 1);
    assert.equal(json.json!.ok, false);
    assert.equal(json.json!.error!.code, 'E_NOT_BETTER');
    assert.equal(json.json!.error!.details.rows[0].champion, 0.93);
    assert.equal(dbSnapshot(s.reg), before);
  } finally {
    s.cleanup();
  }
});

test('bad input through the CLI: unknown slice, metric neither side has, champion not evaluated, option mistakes', async () => {
  const s = await setup();
  try {
    assert.equal((await s.run(['eval', 'run', 'm@1.1.0', '--on', 'hold', '--', process.execPath, SCORE])).code, 0);
    const before = dbSnapshot(s.reg);
    const cases: [string[], number, string, RegExp][] = [
      [['--if-better', 'accuracy', '--on', 'hold', '--slice', 'weekend'], 2, 'E_UNKNOWN_SLICE', /slice "weekend"/],
      [
        ['--if-better', 'auc', '--on', 'hold'],
        2,
        'E_UNKNOWN_METRIC',
        /neither m@1\.1\.0 nor m@1\.0\.0 has an evaluation of auc on hold@1\.0\.0/,
      ],
      [
        ['--if-better', 'accuracy', '--on', 'hold'],
        1,
        'E_CHAMPION_NOT_EVALUATED',
        /m@1\.0\.0 \(holding production\) was not evaluated on hold@1\.0\.0/,
      ],
      [['--if-better', 'accuracy'], 2, 'E_BAD_GATE', /--if-better needs --on/],
      [['--min-delta', '0.1'], 2, 'E_BAD_GATE', /--min-delta goes with --if-better/],
      [
        ['--if-better', 'accuracy', '--on', 'hold', '--min-delta', 'lots'],
        2,
        'E_BAD_GATE',
        /--min-delta takes a number/,
      ],
      [
        ['--if-better', 'accuracy', '--on', 'hold', '--max-slice-regression', '0.1'],
        2,
        'E_BAD_GATE',
        /^--max-slice-regression: a tolerated slice regression goes with gating on all slices/,
      ],
      [
        ['--if-better', 'accuracy', '--on', 'hold', '--eval-cmd', 'true', '--dry-run'],
        2,
        'E_BAD_GATE',
        /^--eval-cmd: .*cannot be combined with a dry run/,
      ],
      [['--if-better', 'accuracy', '--on', 'nosuch'], 3, 'E_ARTIFACT_NOT_FOUND', /nosuch/],
    ];
    for (const [args, code, err, message] of cases) {
      const r = await s.run(['--json', 'promote', 'm@1.1.0', '--to', 'production', ...args]);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stdout}`);
      assert.equal(r.json!.error!.code, err);
      assert.match(r.json!.error!.message, message);
      assert.ok(r.json!.error!.hint.length > 0);
    }
    const hint = (await s.run(['promote', 'm@1.1.0', '--to', 'production', '--if-better', 'accuracy', '--on', 'hold']))
      .stderr;
    assert.match(hint, /hint: Evaluate it first: mlreg eval run m@1\.0\.0 --on hold@1\.0\.0/);
    assert.equal(dbSnapshot(s.reg), before);
  } finally {
    s.cleanup();
  }
});

test('better, but by less than --min-delta: the report, the error and the --json document name the flag', async () => {
  const s = await setup();
  try {
    assert.equal((await s.run(['eval', 'record', 'm@1.0.0', '--on', 'hold', 'accuracy=0.9'])).code, 0);
    assert.equal((await s.run(['eval', 'record', 'm@1.1.0', '--on', 'hold', 'accuracy=0.91'])).code, 0);
    const gate = ['promote', 'm@1.1.0', '--to', 'production', '--if-better', 'accuracy', '--on', 'hold'];
    const reason = /slice all: 0\.91 vs 0\.9 improves by 0\.01, less than --min-delta 0\.05/;
    const human = await s.run([...gate, '--min-delta', '0.05']);
    assert.equal(human.code, 1);
    assert.match(human.stdout, reason, 'the report on stdout');
    assert.match(human.stderr, reason, 'the error on stderr');
    const json = await s.run(['--json', ...gate, '--min-delta', '0.05']);
    assert.equal(json.code, 1);
    assert.match(json.json!.error!.message, reason);
    assert.match(json.json!.error!.details.summary, reason);
  } finally {
    s.cleanup();
  }
});

test('gate on a stage whose holder is deprecated: the holder is no baseline, the challenger goes in, the report says why', async () => {
  const s = await setup();
  try {
    assert.equal((await s.run(['eval', 'record', 'm@1.0.0', '--on', 'hold', 'accuracy=0.99'])).code, 0);
    assert.equal((await s.run(['eval', 'record', 'm@1.1.0', '--on', 'hold', 'accuracy=0.90'])).code, 0);
    const db = new Database(join(s.reg, 'mlreg.db'));
    db.prepare(
      "UPDATE versions SET deprecated_at = '2026-11-24T10:00:00.000Z', deprecated_by = 'oncall', deprecated_reason = 'label leak' WHERE version = '1.0.0'",
    ).run();
    db.close();
    const r = await s.run(['promote', 'm@1.1.0', '--to', 'production', '--if-better', 'accuracy', '--on', 'hold']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /CHAMPION 1\.0\.0 \(deprecated\)/);
    assert.match(
      r.stdout,
      /production holds m@1\.0\.0, which is deprecated: it is not a baseline, so m@1\.1\.0 replaces it without a comparison/,
    );
    assert.match(r.stdout, /Promoted m@production: 1\.0\.0 → 1\.1\.0/);
  } finally {
    s.cleanup();
  }
});

test('stage order from config: refused without staging (exit 1), --force overrides and is logged', async () => {
  const s = await setup();
  try {
    assert.equal((await s.run(['config', 'set', 'stage.order', 'staging,production'])).code, 0);
    assert.equal((await s.run(['config', 'set', 'stage.order', 'staging'])).code, 2);
    const before = dbSnapshot(s.reg);
    const r = await s.run(['promote', 'm@1.1.0', '--to', 'production']);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /m@1\.1\.0 has never held staging; the stage order of this registry \(staging → production\)/,
    );
    assert.match(r.stderr, /--force/);
    assert.equal(dbSnapshot(s.reg), before);
    const forced = await s.run([
      '--json',
      'promote',
      'm@1.1.0',
      '--to',
      'production',
      '--force',
      '--reason',
      'hotfix INC-7',
    ]);
    assert.equal(forced.code, 0, forced.stderr);
    const ev = (await s.run(['--json', 'history', 'm'])).json!.data.events[0];
    assert.equal(ev.details.policy.forced, true);
    assert.equal(ev.reason, 'hotfix INC-7');
    assert.equal((await s.run(['promote', 'm@1.2.0', '--to', 'staging'])).code, 0);
    assert.equal((await s.run(['promote', 'm@1.2.0', '--to', 'production'])).code, 0);
  } finally {
    s.cleanup();
  }
});
