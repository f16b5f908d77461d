import { InvalidInputError, NotFoundError } from '../errors.js';
import { applyOperations } from '../remote/apply.js';
import type { Registry } from './registry.js';
import {
  bandProblem,
  DEFAULT_THRESHOLDS,
  parseThreshold,
  THRESHOLD_KEYS,
  THRESHOLD_NAMES,
  thresholdRange,
} from '../datasets/thresholds.js';
import { STAGE_RE } from '../versions/refs.js';
import { isAllowEntry } from '../models/allowlist.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * Registry-wide settings (`mlreg config set KEY VALUE`), stored in the index so that every user and
 * CI job of one registry shares them. Each known key has a validator, so a typo is refused at `set`
 * rather than silently ignored later. Features add their keys to CONFIG_KEYS.
 */
export interface ConfigKey {
  /** Matched against the whole key, e.g. /^metric\.[A-Za-z0-9_.:/-]+\.direction$/. */
  pattern: RegExp;
  example: string;
  describe: string;
  /** Returns the normalised value, or throws InvalidInputError. */
  validate(value: string, key: string): string;
  /** The value that applies while the key is not set, for keys that have one. */
  default?: string;
  /** Checks of the value against the other settings (e.g. bands that must nest), with the would-be config. */
  validateAll?(config: (key: string) => string | undefined, key: string): void;
}

export function oneOf(...allowed: string[]): (value: string, key: string) => string {
  return (value, key) => {
    if (!allowed.includes(value))
      throw new InvalidInputError(`${key} takes ${allowed.join(' or ')}, not ${JSON.stringify(value)}`, {
        code: 'E_BAD_CONFIG_VALUE',
        hint: `e.g. mlreg config set ${key} ${allowed[0]}`,
      });
    return value;
  };
}

/** `stage.order`: stage names separated by commas, at least two, each once (e.g. staging,production). */
export function stageOrder(value: string, key: string): string {
  const stages = value.split(',').map((s) => s.trim());
  const bad = stages.find((s) => !STAGE_RE.test(s) || s === 'latest');
  if (stages.length < 2 || bad !== undefined || new Set(stages).size !== stages.length) {
    throw new InvalidInputError(
      `${key} takes two or more distinct stage names separated by commas, not ${JSON.stringify(value)}`,
      {
        code: 'E_BAD_CONFIG_VALUE',
        hint: 'For example: mlreg config set stage.order staging,production',
      },
    );
  }
  return stages.join(',');
}

/** `scan.allow`: module.Name or module.* entries separated by commas. */
export function allowEntries(value: string, key: string): string {
  const entries = value.split(',').map((s) => s.trim());
  const bad = entries.find((e) => !isAllowEntry(e));
  if (bad !== undefined)
    throw new InvalidInputError(
      `${key} takes module.Name entries separated by commas; ${JSON.stringify(bad)} is not one`,
      {
        code: 'E_BAD_CONFIG_VALUE',
        hint: 'For example: mlreg config set scan.allow mypackage.features.Encoder,mypackage.text.*',
      },
    );
  return [...new Set(entries)].join(',');
}

export const CONFIG_KEYS: ConfigKey[] = [
  // Thresholds of `mlreg check` / `compare` for datasets (src/core/datasets/thresholds.ts).
  ...THRESHOLD_KEYS.map(
    (k): ConfigKey => ({
      pattern: new RegExp(`^check\\.${THRESHOLD_NAMES[k]}$`),
      example: `check.${THRESHOLD_NAMES[k]}`,
      describe: `data check threshold, ${thresholdRange(k)} (default ${DEFAULT_THRESHOLDS[k]})`,
      default: String(DEFAULT_THRESHOLDS[k]),
      validate: (value, key) => String(parseThreshold(value, key, k)),
      validateAll: (config, key) => {
        const problem = bandProblem(resolveThresholdsQuietly(config));
        if (problem)
          throw new InvalidInputError(`${key} would make the std ratio bands cross: ${problem}`, {
            code: 'E_BAD_CONFIG_VALUE',
            hint: 'They must hold std_ratio_fail_min ≤ std_ratio_warn_min ≤ 1 ≤ std_ratio_warn_max ≤ std_ratio_fail_max.',
          });
      },
    }),
  ),
  {
    pattern: /^metric\.[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}\.direction$/,
    example: 'metric.<name>.direction',
    describe: `whether a higher or a lower value of the metric is better (compare verdicts, promote ${optionRef('if-better')})`,
    validate: oneOf('higher', 'lower'),
  },
  {
    pattern: /^scan\.allow$/,
    example: 'scan.allow',
    describe: 'imports the model scan allows besides its own list: module.Name or module.*, comma-separated',
    validate: allowEntries,
  },
  {
    pattern: /^stage\.order$/,
    example: 'stage.order',
    describe: `stages a model version must pass through in order: it must have held the previous one (promote ${optionRef('force')} overrides)`,
    validate: stageOrder,
  },
];

/** Thresholds from defaults and the given settings, without the band check (the caller reports it). */
function resolveThresholdsQuietly(config: (key: string) => string | undefined) {
  const out = { ...DEFAULT_THRESHOLDS };
  for (const k of THRESHOLD_KEYS) {
    const v = config(`check.${THRESHOLD_NAMES[k]}`);
    if (v !== undefined) out[k] = Number(v);
  }
  return out;
}

function keySpec(key: string): ConfigKey {
  const spec = CONFIG_KEYS.find((k) => k.pattern.test(key));
  if (!spec) {
    throw new InvalidInputError(`unknown setting ${JSON.stringify(key)}`, {
      code: 'E_UNKNOWN_CONFIG_KEY',
      hint: CONFIG_KEYS.length
        ? `Known settings: ${CONFIG_KEYS.map((k) => k.example).join(', ')}.`
        : 'This mlreg has no settings yet.',
    });
  }
  return spec;
}

export interface EffectiveSetting {
  key: string;
  value: string;
  /** `set` in this registry, or the built-in `default` that applies while it is not. */
  source: 'set' | 'default';
}

/** Every setting in effect: what is set, and the built-in defaults of the keys that are not. */
export function configList(reg: Registry): EffectiveSetting[] {
  const rows = reg.db.prepare('SELECT key, value FROM config ORDER BY key').all() as { key: string; value: string }[];
  const set = new Map(rows.map((r) => [r.key, r.value]));
  const out: EffectiveSetting[] = rows.map((r) => ({ key: r.key, value: r.value, source: 'set' }));
  for (const spec of CONFIG_KEYS)
    if (spec.default !== undefined && !set.has(spec.example))
      out.push({ key: spec.example, value: spec.default, source: 'default' });
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function configGet(reg: Registry, key: string): string {
  const value = reg.getConfig(key);
  if (value === undefined)
    throw new NotFoundError(`setting ${key} is not set`, {
      code: 'E_CONFIG_NOT_SET',
      hint: 'See what is set with `mlreg config list`.',
    });
  return value;
}

/** The normalised value of a setting, or InvalidInputError: the rule `config set` and a replica's replay share. */
export function validateConfigValue(key: string, value: string): string {
  return keySpec(key).validate(value, key);
}

export function configSet(
  reg: Registry,
  key: string,
  value: string,
  actor: string,
): { key: string; value: string; previous: string | null } {
  const spec = keySpec(key);
  const normalised = spec.validate(value, key);
  return reg.write(() => {
    const previous = reg.getConfig(key) ?? null;
    spec.validateAll?.((k) => (k === key ? normalised : reg.getConfig(k)), key);
    applyOperations(reg, [{ op: 'config.set', at: reg.nowIso(), key, value: normalised }], actor);
    return { key, value: normalised, previous };
  });
}

/** Config changes are audited like everything else, as registry-wide events (no artifact): see core/remote/apply.ts. */
export function configUnset(reg: Registry, key: string, actor: string): { key: string; previous: string | null } {
  return reg.write(() => {
    const previous = reg.getConfig(key) ?? null;
    if (previous === null) return { key, previous };
    applyOperations(reg, [{ op: 'config.unset', at: reg.nowIso(), key, value: null }], actor);
    return { key, previous };
  });
}
