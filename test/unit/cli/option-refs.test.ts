import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { Command } from 'commander';
import type { CliIo } from '../../../src/cli/context.js';
import { spellingOptionsAsFlags } from '../../../src/cli/output.js';
import { optionRef } from '../../../src/core/lib/option-ref.js';
import { cliInProcess, ROOT, tempDir } from '../../helpers.js';

/** Core names options by mark; the CLI prints them as flags, in human output and in --json. */

test('a core hint naming an option prints it as its flag, on stderr and in the --json document', async () => {
  const t = tempDir();
  try {
    // No registry here: core's hint names the --registry option.
    const human = await cliInProcess(['list'], { cwd: t.path });
    assert.equal(human.code, 3);
    assert.match(human.stderr, /^hint: .*point to one with --registry DIR or MLREG_REGISTRY\./m);
    const json = await cliInProcess(['list', '--json'], { cwd: t.path });
    assert.equal(json.code, 3);
    assert.match(json.json!.error!.hint, /point to one with --registry DIR or MLREG_REGISTRY\./);
    assert.equal(json.stderr, '');
  } finally {
    t.cleanup();
  }
});

test("the run's streams spell marks in text, pass bytes and the stream's own properties through", () => {
  const written: unknown[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _enc, done) {
        written.push(chunk);
        done();
      },
      decodeStrings: false,
    }),
    { isTTY: true, columns: 99 },
  );
  let stdinRead = 0;
  const io: CliIo = {
    stdout: stream,
    stderr: stream,
    get stdin() {
      stdinRead++;
      return undefined;
    },
    env: {},
    cwd: '/',
    isTTY: { stdout: true, stderr: true },
  };
  const spelled = spellingOptionsAsFlags(io);
  assert.equal(stdinRead, 0, 'stdin is not touched (the process adapter opens fd 0 only when it is read)');
  spelled.stdout.write(`pass ${optionRef('force')}\n`);
  const bytes = Buffer.from(`raw ${optionRef('force')}`);
  spelled.stderr.write(bytes);
  assert.deepEqual(written, ['pass --force\n', bytes]);
  assert.equal(spelled.stdout.isTTY, true);
  assert.equal((spelled.stdout as unknown as { columns: number }).columns, 99);
  assert.equal(spelled.env, io.env);
});

test('every option core names with optionRef is an option of some mlreg command', async () => {
  const { buildProgram } = await import('../../../src/cli/main.js');
  const flags = new Set<string>();
  const walk = (cmd: Command): void => {
    for (const o of cmd.options) if (o.long) flags.add(o.long);
    cmd.commands.forEach(walk);
  };
  walk(await buildProgram());
  const named = new Set<string>();
  const scan = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) scan(path);
      else if (e.name.endsWith('.ts'))
        for (const m of readFileSync(path, 'utf8').matchAll(/optionRef\('([^']*)'\)/g)) named.add(m[1]!);
    }
  };
  scan(join(ROOT, 'src', 'core'));
  assert.ok(named.size > 30, `only ${named.size} options named`);
  assert.deepEqual(
    [...named].filter((n) => !flags.has(`--${n}`)),
    [],
    'core names options no command has',
  );
});
