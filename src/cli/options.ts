import { Option, type Command } from 'commander';
import { InvalidInputError, MlregError } from '../core/errors.js';
import { parseFiniteNumber, parseMetricPairs, parseTextPairs } from '../core/lib/pairs.js';

/**
 * The one place options are parsed: numbers, durations and key=value pairs, as commander argument
 * parsers (`Option.argParser`) bound to their flag, so every refusal names the flag actually given
 * (exit 2, with the error code the command documents) before the command runs.
 */

export interface NumberRule {
  integer?: boolean;
  min?: number;
  max?: number;
  /** The error code (default E_BAD_NUMBER). */
  code?: string;
  /** What the flag takes, in words, when the default ("a whole number ≥ 1") says it badly. */
  takes?: string;
  /** An example value for the hint. */
  example?: string;
}

function flagOf(option: Option): string {
  return option.long ?? option.short ?? option.flags;
}

function describe(rule: NumberRule): string {
  if (rule.takes) return rule.takes;
  const what = rule.integer ? 'a whole number' : 'a number';
  if (rule.min !== undefined && rule.max !== undefined) return `${what} from ${rule.min} to ${rule.max}`;
  if (rule.min !== undefined) return `${what} ≥ ${rule.min}`;
  if (rule.max !== undefined) return `${what} ≤ ${rule.max}`;
  return what;
}

/** A finite decimal number within the rule, or an InvalidInputError naming `flag`. */
export function parseNumber(text: string, flag: string, rule: NumberRule = {}): number {
  const n = parseFiniteNumber(text);
  if (
    n === undefined ||
    (rule.integer && !Number.isInteger(n)) ||
    (rule.min !== undefined && n < rule.min) ||
    (rule.max !== undefined && n > rule.max)
  ) {
    throw new InvalidInputError(`${flag} takes ${describe(rule)}, not ${JSON.stringify(text)}`, {
      code: rule.code ?? 'E_BAD_NUMBER',
      hint: `For example ${flag} ${rule.example ?? String(rule.min ?? 1)}.`,
    });
  }
  return n;
}

/** An option whose value is a number (see NumberRule); its default, if any, is a number too. */
export function numberOption(flags: string, description: string, rule: NumberRule, defaultValue?: number): Option {
  const option = new Option(flags, description);
  option.argParser((text: string) => parseNumber(text, flagOf(option), rule));
  if (defaultValue !== undefined) option.default(defaultValue);
  return option;
}

/** Timers in Node hold at most 2^31 − 1 ms (about 24.8 days); longer ones fire at once. */
export const MAX_DURATION_MS = 24 * 24 * 60 * 60 * 1000;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export interface DurationRule {
  /** Longest accepted (default and at most MAX_DURATION_MS). */
  maxMs?: number;
  /** Shortest accepted (default: anything > 0). */
  minMs?: number;
  code?: string;
}

function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms % size === 0 && ms >= size) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/**
 * A duration in milliseconds. One convention for every duration flag: a number with a unit
 * (`500ms`, `30s`, `5m`, `2h`, `1d`), a plain number being seconds; more than 0 and at most
 * 24 days, so no timer overflows.
 */
export function parseDuration(text: string, flag: string, rule: DurationRule = {}): number {
  const maxMs = Math.min(rule.maxMs ?? MAX_DURATION_MS, MAX_DURATION_MS);
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  const ms = m ? Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']!) : Number.NaN;
  const minMs = rule.minMs ?? 1;
  if (!Number.isFinite(ms) || ms < minMs || ms > maxMs) {
    const range = `${minMs > 0 ? 'more than 0 and ' : ''}at most ${formatDuration(maxMs)}`;
    throw new InvalidInputError(
      `${flag} takes a duration (30s, 5m, 2h, 1d, 500ms; a plain number is seconds) ${range}, not ${JSON.stringify(text)}`,
      {
        code: rule.code ?? 'E_BAD_DURATION',
        hint: `For example ${flag} 600 (ten minutes) or ${flag} 10m.`,
      },
    );
  }
  return ms;
}

/** An option whose value is a duration in milliseconds (see parseDuration). */
export function durationOption(flags: string, description: string, rule: DurationRule = {}): Option {
  const option = new Option(flags, description);
  option.argParser((text: string) => parseDuration(text, flagOf(option), rule));
  return option;
}

/** Add one option value's pairs to those given before; a key given twice is refused (keeping either loses the other). */
function addPairs<T>(
  previous: Record<string, T> | undefined,
  next: Record<string, T>,
  what: string,
): Record<string, T> {
  for (const key of Object.keys(next))
    if (previous && Object.hasOwn(previous, key))
      throw new InvalidInputError(`${what} ${key} is given more than once`, {
        code: 'E_DUPLICATE_KEY',
        hint: `Give each ${what} once.`,
      });
  return { ...previous, ...next };
}

/** A repeatable `--metric k=v` option: the pairs as a record of finite numbers, checked as they come. */
export function metricPairsOption(flags: string, description: string): Option {
  return new Option(flags, description).argParser(
    (text: string, previous: Record<string, number> | undefined): Record<string, number> =>
      addPairs(previous, parseMetricPairs([text]), 'metric'),
  );
}

/** A repeatable `--param k=v` / `--tag k=v` option: the pairs as a record of strings. */
export function textPairsOption(flags: string, description: string, what: 'param' | 'tag'): Option {
  return new Option(flags, description).argParser(
    (text: string, previous: Record<string, string> | undefined): Record<string, string> =>
      addPairs(previous, parseTextPairs([text], what), what),
  );
}

/** `--window <n>`: how many observations a monitoring rule averages. */
export function windowOption(description: string): Option {
  return numberOption('--window <n>', description, {
    integer: true,
    min: 1,
    max: 100_000,
    code: 'E_BAD_WINDOW',
    takes: 'a whole number of observations from 1 to 100000',
    example: '3',
  });
}

/** `--webhook-timeout <ms>`: each webhook attempt's timeout, in milliseconds as it always was. */
export function webhookTimeoutOption(): Option {
  return numberOption(
    '--webhook-timeout <ms>',
    'timeout of each webhook attempt in milliseconds',
    {
      integer: true,
      min: 1,
      max: 600_000,
      code: 'E_BAD_TIMEOUT',
      takes: 'milliseconds from 1 to 600000',
      example: '5000',
    },
    5000,
  );
}

/**
 * Core names no flag: an error about one option carries `details.option` (the option's own name,
 * e.g. `at` or `predictionColumn`). Put the flag of the command that ran in front of its message.
 */
export function nameTheFlag(err: unknown, cmd: Command): unknown {
  if (!(err instanceof MlregError)) return err;
  const option = (err.details as { option?: unknown } | null | undefined)?.option;
  if (typeof option !== 'string') return err;
  for (let c: Command | null = cmd; c; c = c.parent) {
    const found = c.options.find((o) => o.attributeName() === option);
    if (found) {
      err.message = `${flagOf(found)}: ${err.message}`;
      break;
    }
  }
  return err;
}

/** `--delimiter` and `--decimal`: how a CSV is written, when sniffing it is not enough. */
export function csvDialectOptions(): Option[] {
  return [
    new Option('--delimiter <char>', 'CSV field separator (default: sniffed from the header: , ; tab or |)'),
    new Option('--decimal <mark>', 'CSV decimal mark (default: sniffed; a comma with ; separators)').choices([
      '.',
      ',',
    ]),
  ];
}

/** The dialect a command was given, its delimiter checked. */
export async function csvDialectOf(opts: { delimiter?: string; decimal?: string }): Promise<{
  delimiter?: string;
  decimal?: '.' | ',';
}> {
  const { parseDelimiter } = await import('../core/datasets/formats.js');
  return {
    ...(opts.delimiter !== undefined ? { delimiter: parseDelimiter(opts.delimiter) } : {}),
    ...(opts.decimal !== undefined ? { decimal: opts.decimal as '.' | ',' } : {}),
  };
}
