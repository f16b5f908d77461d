import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { InvalidInputError } from '../../../src/core/errors.js';
import {
  durationOption,
  metricPairsOption,
  numberOption,
  parseDuration,
  parseNumber,
  windowOption,
} from '../../../src/cli/options.js';

function refused(fn: () => unknown, code: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof InvalidInputError && e.code === code && message.test(e.message));
}

test('numbers: finite decimals within the rule, refused naming the flag', () => {
  assert.equal(parseNumber('12', '--n', { integer: true, min: 1 }), 12);
  assert.equal(parseNumber('0.25', '--p', { min: 0, max: 1 }), 0.25);
  for (const bad of ['0', '-1', '2.5', 'x', '', '0x10', 'NaN', '1e400'])
    refused(() => parseNumber(bad, '--n', { integer: true, min: 1 }), 'E_BAD_NUMBER', /^--n takes a whole number ≥ 1/);
  refused(() => parseNumber('1.5', '--p', { min: 0, max: 1, code: 'E_P' }), 'E_P', /--p takes a number from 0 to 1/);
});

test('--window takes a whole number of observations', () => {
  const cmd = new Command().exitOverride().addOption(windowOption('w'));
  assert.equal(cmd.parse(['--window', '12'], { from: 'user' }).opts().window, 12);
  for (const bad of ['0', '-1', '2.5', 'x', ''])
    refused(
      () => new Command().exitOverride().addOption(windowOption('w')).parse(['--window', bad], { from: 'user' }),
      'E_BAD_WINDOW',
      /--window takes a whole number/,
    );
});

test('durations: one convention, plain numbers are seconds, bounded so no timer overflows', () => {
  assert.equal(parseDuration('30', '--t'), 30_000);
  assert.equal(parseDuration('30s', '--t'), 30_000);
  assert.equal(parseDuration('5m', '--t'), 300_000);
  assert.equal(parseDuration('2h', '--t'), 7_200_000);
  assert.equal(parseDuration('1d', '--t'), 86_400_000);
  assert.equal(parseDuration('500ms', '--t'), 500);
  assert.equal(parseDuration('0.5', '--t'), 500);
  assert.equal(parseDuration('24d', '--t'), 24 * 86_400_000);
  for (const bad of ['0', '-1', 'soon', '', '5 minutes', '25d', '1e12', 'Infinity'])
    refused(() => parseDuration(bad, '--t'), 'E_BAD_DURATION', /^--t takes a duration .* at most 24d/);
  assert.equal(parseDuration('0', '--grace', { minMs: 0 }), 0);
});

test('the error names the flag actually given, whatever the option is called inside', () => {
  const cmd = new Command()
    .exitOverride()
    .addOption(durationOption('--eval-timeout <duration>', 'e', { code: 'E_BAD_TIMEOUT' }))
    .addOption(numberOption('--min-delta <d>', 'm', { min: 0 }));
  refused(() => cmd.parse(['--eval-timeout', 'abc'], { from: 'user' }), 'E_BAD_TIMEOUT', /^--eval-timeout takes/);
  refused(() => cmd.parse(['--min-delta', '-1'], { from: 'user' }), 'E_BAD_NUMBER', /^--min-delta takes/);
});

test('repeated key=value options collect into one record, each pair checked', () => {
  const cmd = new Command().exitOverride().addOption(metricPairsOption('--metric <k=v>', 'm'));
  assert.deepEqual(cmd.parse(['--metric', 'auc=0.9', '--metric', 'f1=0.5'], { from: 'user' }).opts().metric, {
    auc: 0.9,
    f1: 0.5,
  });
  refused(
    () =>
      new Command().addOption(metricPairsOption('--metric <k=v>', 'm')).parse(['--metric', 'auc=x'], { from: 'user' }),
    'E_BAD_METRIC',
    /auc/,
  );
});

test("core names no flag: an error's details.option gets the flag of the command that ran", async () => {
  const { nameTheFlag } = await import('../../../src/cli/options.js');
  const program = new Command().option('--json');
  const score = program.command('score').option('--prediction-column <c>').option('--id <c>');
  const err = new InvalidInputError('preds.csv has no column "p"', { details: { option: 'predictionColumn' } });
  assert.equal(nameTheFlag(err, score), err);
  assert.equal(err.message, '--prediction-column: preds.csv has no column "p"');
  const other = new InvalidInputError('x', { details: { option: 'nothing' } });
  nameTheFlag(other, score);
  assert.equal(other.message, 'x', 'an option the command lacks leaves the message alone');
});

test('a key given twice in repeated key=value options is refused, not silently overwritten', () => {
  refused(
    () =>
      new Command()
        .addOption(metricPairsOption('--metric <k=v>', 'm'))
        .parse(['--metric', 'auc=0.9', '--metric', 'auc=0.8'], { from: 'user' }),
    'E_DUPLICATE_KEY',
    /metric auc is given more than once/,
  );
});
