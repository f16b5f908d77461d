import * as semver from '../lib/semver.js';
import { IntegrityError } from '../errors.js';
import { KEY_RE } from '../lib/pairs.js';
import { NAME_RE, STAGE_RE } from '../versions/refs.js';
import { checkWebhookUrl, ENV_NAME_RE, WEBHOOK_EVENTS, type WebhookEventName } from '../webhooks/rules.js';

/**
 * Domain operations: what one write command changed, as plain data. Every write path of the index
 * builds these and hands them to `applyOperations` (core/remote/apply.ts), locally and when a
 * replica replays the remote log, so both produce the same rows. Each carries everything its rows
 * need (numbers already planned, names not ids), and the time it happened: replaying an entry
 * written by another machine gives the same timestamps.
 *
 * Operations read from a remote are untrusted: `parseOperation` checks every field with the rules
 * the local commands apply (names, versions, stages, digests, sizes) and refuses anything else.
 */

export const OPERATIONS_FORMAT = 1;

export interface VersionKey {
  name: string;
  version: string;
}

export interface VersionAddOp {
  op: 'version.add';
  at: string;
  name: string;
  kind: 'model' | 'dataset';
  version: string;
  digest: string;
  sourceType: 'file' | 'dir';
  size: number;
  fileCount: number;
  description: string | null;
  /** Every object the version needs: its manifest and each file blob. */
  objects: { digest: string; size: number }[];
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Record<string, string>;
  trainedOn: VersionKey[];
  /** A dataset's profile (JSON as stored in dataset_profiles), or null. */
  profile: { format: number; profile: unknown } | null;
  /** More details for the add event (a model's scan verdict), or null. */
  details?: Record<string, unknown> | null;
  /** A model's first scan (the report as `scan` makes it, and the --unsafe override) and its signature. */
  scan?: { report: unknown; override: string | null } | null;
  signature?: unknown;
}

export interface StageMoveOp {
  op: 'stage.move';
  at: string;
  name: string;
  stage: string;
  move: 'promote' | 'rollback';
  version: string;
  /** The holder before the move (checked when applied), null for an empty stage. */
  from: string | null;
  /** The event id of the assignment a later rollback returns to (the stage chain), or null. */
  below: number | null;
  reason: string | null;
  details: unknown;
}

export interface RetireOp {
  op: 'version.deprecate' | 'version.undeprecate' | 'version.delete';
  at: string;
  name: string;
  version: string;
  reason: string | null;
  details: unknown;
}

export interface EvaluationOp {
  op: 'evaluation.record';
  at: string;
  model: VersionKey;
  dataset: VersionKey | null;
  source: 'record' | 'run';
  results: Record<string, Record<string, number>>;
  details: unknown;
}

export interface ConfigOp {
  op: 'config.set' | 'config.unset';
  at: string;
  key: string;
  /** The new value (null to unset); the previous one is recorded in the event. */
  value: string | null;
}

/** Live observations of the holder of a stage: one operation per command, however many values. */
export interface ObserveOp {
  op: 'monitor.observe';
  at: string;
  name: string;
  stage: string;
  /** The version observed (its row may be gone: observations outlive deleted versions). */
  version: string;
  observedAt: string;
  source: string;
  values: { metric: string; slice: string; value: number }[];
  details: unknown;
}

export interface RuleOp {
  op: 'rule.add' | 'rule.remove';
  at: string;
  name: string;
  stage: string;
  /** The canonical rule text (checked by parsing it again when applied). */
  rule: string;
  window: number;
}

/** A monitoring rule fired (`monitor check`): an audit event next to the rollback it may cause. */
export interface AlertOp {
  op: 'monitor.alert';
  at: string;
  name: string;
  stage: string;
  version: string;
  reason: string | null;
  details: unknown;
}

/** The profile of a dataset version added without one, computed later from its stored bytes. */
export interface ProfileOp {
  op: 'profile.store';
  at: string;
  name: string;
  version: string;
  profile: { format: number; profile: unknown };
}

/** `review sample`: a reproducible sample of predictions was drawn for people to label. */
export interface ReviewSampleOp {
  op: 'review.sample';
  at: string;
  name: string;
  stage: string;
  /** The version that made the predictions (its row may be gone later). */
  version: string;
  idColumn: string;
  predictionColumn: string;
  stratify: string | null;
  seed: number;
  size: number;
  /** More event details (the file written, on the writer's machine). */
  details: Record<string, unknown> | null;
}

/** `review import`: the sample's labels were recorded (the observations are the `monitor.observe` before it). */
export interface ReviewImportOp {
  op: 'review.import';
  at: string;
  /** The sample's id (ids are the same on every replica: rows are made in log order). */
  sample: number;
}

/** `scan --all`: a new scan of a stored model version (the newest counts). */
export interface ScanOp {
  op: 'scan.record';
  at: string;
  name: string;
  version: string;
  scan: { report: unknown; override: string | null };
}

/** `gc --remote`: unreferenced objects older than the grace period were removed from the remote. */
export interface RemoteGcOp {
  op: 'gc.remote';
  at: string;
  objectsRemoved: number;
  bytesFreed: number;
  graceSeconds: number;
}

/** A webhook subscription made or removed (shared: every replica delivers the changes it makes). */
export interface WebhookOp {
  op: 'webhook.add' | 'webhook.remove';
  at: string;
  /** webhook.remove: the subscription's id (checked against url and artifact when applied); null for add. */
  id: number | null;
  url: string;
  events: WebhookEventName[];
  artifact: string | null;
  secretEnv: string;
}

export type Operation =
  | ReviewSampleOp
  | ReviewImportOp
  | ScanOp
  | RemoteGcOp
  | WebhookOp
  | ProfileOp
  | VersionAddOp
  | StageMoveOp
  | RetireOp
  | EvaluationOp
  | ConfigOp
  | ObserveOp
  | RuleOp
  | AlertOp;
export type OperationName = Operation['op'];

export const OPERATION_NAMES: readonly OperationName[] = [
  'version.add',
  'stage.move',
  'version.deprecate',
  'version.undeprecate',
  'version.delete',
  'evaluation.record',
  'config.set',
  'config.unset',
  'monitor.observe',
  'rule.add',
  'rule.remove',
  'monitor.alert',
  'profile.store',
  'review.sample',
  'review.import',
  'scan.record',
  'gc.remote',
  'webhook.add',
  'webhook.remove',
];

// ---------------------------------------------------------------------------------------------
// validation of untrusted operations

const DIGEST_RE = /^[0-9a-f]{64}$/;
const ISO_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$/;
const MAX_TEXT = 64 * 1024;
const MAX_ITEMS = 1_000_000;
/** Config keys and values are checked by the setting's own validator when applied; here only their shape. */
/** A CSV column name as `review sample` stores it: any printable text of reasonable length. */
const COLUMN_RE = /^[^\u0000-\u001f]{1,1024}$/;
const CONFIG_KEY_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,255}$/;

export class OperationShapeError extends IntegrityError {
  constructor(where: string, what: string) {
    super(`${where}: ${what}`, {
      code: 'E_REMOTE_ENTRY_INVALID',
      hint: 'The remote holds a log entry this mlreg cannot trust; nothing from it was applied. Check who writes to the remote, and `mlreg remote status`.',
    });
  }
}

type Obj = Record<string, unknown>;

function obj(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new OperationShapeError(where, 'not an object');
  return v as Obj;
}

function onlyKeys(o: Obj, keys: readonly string[], where: string): void {
  for (const k of Object.keys(o))
    if (!keys.includes(k)) throw new OperationShapeError(where, `unexpected field ${JSON.stringify(k)}`);
}

function str(o: Obj, key: string, where: string, re?: RegExp, max = MAX_TEXT): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length > max || (re && !re.test(v)))
    throw new OperationShapeError(where, `field ${key} is not valid (${JSON.stringify(v)?.slice(0, 80)})`);
  return v;
}

function optStr(o: Obj, key: string, where: string, re?: RegExp): string | null {
  return o[key] === null ? null : str(o, key, where, re);
}

function int(o: Obj, key: string, where: string, min = 0): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
    throw new OperationShapeError(where, `field ${key} is not an integer ≥ ${min}`);
  return v;
}

function oneOf<T extends string>(o: Obj, key: string, allowed: readonly T[], where: string): T {
  const v = o[key];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
    throw new OperationShapeError(where, `field ${key} must be one of ${allowed.join(', ')}`);
  return v as T;
}

function version(o: Obj, key: string, where: string): string {
  const v = str(o, key, where, undefined, 256);
  // The same rule as `add --version`: a clean semver, so no path separator or `..` can hide in it.
  if (semver.valid(v) === null || semver.clean(v) !== v)
    throw new OperationShapeError(where, `${key} is not a version`);
  return v;
}

function versionKey(v: unknown, where: string): VersionKey {
  const o = obj(v, where);
  onlyKeys(o, ['name', 'version'], where);
  return { name: str(o, 'name', where, NAME_RE), version: version(o, 'version', where) };
}

function record<T>(v: unknown, where: string, keyRe: RegExp, value: (x: unknown, w: string) => T): Record<string, T> {
  const o = obj(v, where);
  const keys = Object.keys(o);
  if (keys.length > MAX_ITEMS) throw new OperationShapeError(where, 'too many entries');
  const out: Record<string, T> = {};
  for (const k of keys) {
    if (!keyRe.test(k)) throw new OperationShapeError(where, `invalid key ${JSON.stringify(k.slice(0, 80))}`);
    out[k] = value(o[k], `${where}.${k}`);
  }
  return out;
}

const finite = (x: unknown, w: string): number => {
  if (typeof x !== 'number' || !Number.isFinite(x)) throw new OperationShapeError(w, 'not a finite number');
  return x;
};
const text = (x: unknown, w: string): string => {
  if (typeof x !== 'string' || x.length > MAX_TEXT) throw new OperationShapeError(w, 'not a string');
  return x;
};

function array<T>(v: unknown, where: string, item: (x: unknown, w: string) => T): T[] {
  if (!Array.isArray(v) || v.length > MAX_ITEMS) throw new OperationShapeError(where, 'not a list');
  return v.map((x, i) => item(x, `${where}[${i}]`));
}

/** A scan report as `insertScan` stores it: the fields it reads, checked; the rest is JSON kept as it is. */
function scanOf(v: unknown, where: string): { report: unknown; override: string | null } {
  const o = obj(v, where);
  onlyKeys(o, ['report', 'override'], where);
  const r = obj(o.report, `${where}.report`);
  str(r, 'scanner', `${where}.report`, undefined, 256);
  str(r, 'allowlistDigest', `${where}.report`, DIGEST_RE);
  oneOf(r, 'verdict', ['safe', 'unsafe'] as const, `${where}.report`);
  for (const k of ['allowExtra', 'files', 'findings'])
    if (!Array.isArray(r[k])) throw new OperationShapeError(`${where}.report`, `${k} is not a list`);
  return { report: r, override: optStr(o, 'override', where) };
}

function unsetValue(o: Obj, where: string): null {
  if (o.value !== null) throw new OperationShapeError(where, 'an unset has no value');
  return null;
}

function nullId(o: Obj, where: string): null {
  if (o.id !== null) throw new OperationShapeError(where, 'a new subscription has no id yet');
  return null;
}

function stageName(o: Obj, where: string): string {
  const stage = str(o, 'stage', where, STAGE_RE);
  if (stage === 'latest') throw new OperationShapeError(where, 'stage "latest" is reserved');
  return stage;
}

/** Check one operation read from a remote; returns it typed, or throws (exit 5). */
export function parseOperation(v: unknown, where: string): Operation {
  const o = obj(v, where);
  const name = o.op;
  if (typeof name !== 'string' || !(OPERATION_NAMES as readonly string[]).includes(name)) {
    throw new IntegrityError(
      `${where}: unknown operation ${JSON.stringify(typeof name === 'string' ? name.slice(0, 80) : name)}`,
      {
        code: 'E_REMOTE_UNKNOWN_OPERATION',
        hint: 'A newer mlreg (or something else) wrote it; nothing from it was applied. Upgrade mlreg if your team does, else check who writes to the remote.',
      },
    );
  }
  const w = `${where} (${name})`;
  const at = str(o, 'at', w, ISO_RE, 40);
  switch (name as OperationName) {
    case 'version.add': {
      onlyKeys(
        o,
        [
          'op',
          'at',
          'name',
          'kind',
          'version',
          'digest',
          'sourceType',
          'size',
          'fileCount',
          'description',
          'objects',
          'metrics',
          'params',
          'tags',
          'trainedOn',
          'profile',
          'details',
          'scan',
          'signature',
        ],
        w,
      );
      const profile = o.profile === null ? null : obj(o.profile, `${w}.profile`);
      if (profile) onlyKeys(profile, ['format', 'profile'], `${w}.profile`);
      const op: VersionAddOp = {
        op: 'version.add',
        at,
        name: str(o, 'name', w, NAME_RE),
        kind: oneOf(o, 'kind', ['model', 'dataset'] as const, w),
        version: version(o, 'version', w),
        digest: str(o, 'digest', w, DIGEST_RE),
        sourceType: oneOf(o, 'sourceType', ['file', 'dir'] as const, w),
        size: int(o, 'size', w),
        fileCount: int(o, 'fileCount', w),
        description: optStr(o, 'description', w),
        objects: array(o.objects, `${w}.objects`, (x, ww) => {
          const e = obj(x, ww);
          onlyKeys(e, ['digest', 'size'], ww);
          return { digest: str(e, 'digest', ww, DIGEST_RE), size: int(e, 'size', ww) };
        }),
        metrics: record(o.metrics, `${w}.metrics`, KEY_RE, finite),
        params: record(o.params, `${w}.params`, KEY_RE, text),
        tags: record(o.tags, `${w}.tags`, KEY_RE, text),
        trainedOn: array(o.trainedOn, `${w}.trainedOn`, versionKey),
        profile: profile ? { format: int(profile, 'format', `${w}.profile`, 1), profile: profile.profile } : null,
        details: o.details === undefined || o.details === null ? null : obj(o.details, `${w}.details`),
        scan: o.scan === undefined || o.scan === null ? null : scanOf(o.scan, `${w}.scan`),
        signature: o.signature === undefined || o.signature === null ? null : obj(o.signature, `${w}.signature`),
      };
      if (!op.objects.some((x) => x.digest === op.digest))
        throw new OperationShapeError(w, 'the manifest is not among its objects');
      if (op.kind !== 'model' && op.trainedOn.length) throw new OperationShapeError(w, 'a dataset has no lineage');
      if (
        op.profile &&
        (op.kind !== 'dataset' || typeof op.profile.profile !== 'object' || op.profile.profile === null)
      )
        throw new OperationShapeError(w, 'profile is not a dataset profile');
      return op;
    }
    case 'stage.move': {
      onlyKeys(o, ['op', 'at', 'name', 'stage', 'move', 'version', 'from', 'below', 'reason', 'details'], w);
      const stage = stageName(o, w);
      return {
        op: 'stage.move',
        at,
        name: str(o, 'name', w, NAME_RE),
        stage,
        move: oneOf(o, 'move', ['promote', 'rollback'] as const, w),
        version: version(o, 'version', w),
        from: o.from === null ? null : version(o, 'from', w),
        below: o.below === null ? null : int(o, 'below', w, 1),
        reason: optStr(o, 'reason', w),
        details: o.details ?? null,
      };
    }
    case 'version.deprecate':
    case 'version.undeprecate':
    case 'version.delete':
      onlyKeys(o, ['op', 'at', 'name', 'version', 'reason', 'details'], w);
      return {
        op: name as RetireOp['op'],
        at,
        name: str(o, 'name', w, NAME_RE),
        version: version(o, 'version', w),
        reason: optStr(o, 'reason', w),
        details: o.details ?? null,
      };
    case 'evaluation.record': {
      onlyKeys(o, ['op', 'at', 'model', 'dataset', 'source', 'results', 'details'], w);
      const results = record(o.results, `${w}.results`, KEY_RE, (x, ww) => record(x, ww, KEY_RE, finite));
      if (Object.values(results).every((m) => Object.keys(m).length === 0))
        throw new OperationShapeError(w, 'no metric values');
      return {
        op: 'evaluation.record',
        at,
        model: versionKey(o.model, `${w}.model`),
        dataset: o.dataset === null ? null : versionKey(o.dataset, `${w}.dataset`),
        source: oneOf(o, 'source', ['record', 'run'] as const, w),
        results,
        details: o.details ?? null,
      };
    }
    case 'config.set':
    case 'config.unset':
      onlyKeys(o, ['op', 'at', 'key', 'value'], w);
      return {
        op: name as ConfigOp['op'],
        at,
        key: str(o, 'key', w, CONFIG_KEY_RE),
        value: name === 'config.set' ? str(o, 'value', w, undefined, 4096) : unsetValue(o, w),
      };
    case 'monitor.observe':
      onlyKeys(o, ['op', 'at', 'name', 'stage', 'version', 'observedAt', 'source', 'values', 'details'], w);
      return {
        op: 'monitor.observe',
        at,
        name: str(o, 'name', w, NAME_RE),
        stage: stageName(o, w),
        version: version(o, 'version', w),
        observedAt: str(o, 'observedAt', w, ISO_RE, 40),
        source: str(o, 'source', w, /^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,63}$/),
        values: array(o.values, `${w}.values`, (x, ww) => {
          const e = obj(x, ww);
          onlyKeys(e, ['metric', 'slice', 'value'], ww);
          return {
            metric: str(e, 'metric', ww, KEY_RE),
            slice: str(e, 'slice', ww, /^[^\u0000-\u001f]{1,256}$/),
            value: finite(e.value, `${ww}.value`),
          };
        }),
        details: o.details ?? null,
      };
    case 'rule.add':
    case 'rule.remove':
      onlyKeys(o, ['op', 'at', 'name', 'stage', 'rule', 'window'], w);
      return {
        op: name as RuleOp['op'],
        at,
        name: str(o, 'name', w, NAME_RE),
        stage: stageName(o, w),
        rule: str(o, 'rule', w, /^[^\u0000-\u001f]{1,512}$/),
        window: int(o, 'window', w, 1),
      };
    case 'profile.store': {
      onlyKeys(o, ['op', 'at', 'name', 'version', 'profile'], w);
      const p = obj(o.profile, `${w}.profile`);
      onlyKeys(p, ['format', 'profile'], `${w}.profile`);
      if (typeof p.profile !== 'object' || p.profile === null) throw new OperationShapeError(w, 'no profile');
      return {
        op: 'profile.store',
        at,
        name: str(o, 'name', w, NAME_RE),
        version: version(o, 'version', w),
        profile: { format: int(p, 'format', `${w}.profile`, 1), profile: p.profile },
      };
    }
    case 'review.sample': {
      onlyKeys(
        o,
        ['op', 'at', 'name', 'stage', 'version', 'idColumn', 'predictionColumn', 'stratify', 'seed', 'size', 'details'],
        w,
      );
      return {
        op: 'review.sample',
        at,
        name: str(o, 'name', w, NAME_RE),
        stage: stageName(o, w),
        version: version(o, 'version', w),
        idColumn: str(o, 'idColumn', w, COLUMN_RE),
        predictionColumn: str(o, 'predictionColumn', w, COLUMN_RE),
        stratify: optStr(o, 'stratify', w, COLUMN_RE),
        seed: int(o, 'seed', w),
        size: int(o, 'size', w, 1),
        details: o.details === null ? null : obj(o.details, `${w}.details`),
      };
    }
    case 'review.import':
      onlyKeys(o, ['op', 'at', 'sample'], w);
      return { op: 'review.import', at, sample: int(o, 'sample', w, 1) };
    case 'scan.record':
      onlyKeys(o, ['op', 'at', 'name', 'version', 'scan'], w);
      return {
        op: 'scan.record',
        at,
        name: str(o, 'name', w, NAME_RE),
        version: version(o, 'version', w),
        scan: scanOf(o.scan, `${w}.scan`),
      };
    case 'gc.remote':
      onlyKeys(o, ['op', 'at', 'objectsRemoved', 'bytesFreed', 'graceSeconds'], w);
      return {
        op: 'gc.remote',
        at,
        objectsRemoved: int(o, 'objectsRemoved', w),
        bytesFreed: int(o, 'bytesFreed', w),
        graceSeconds: int(o, 'graceSeconds', w),
      };
    case 'webhook.add':
    case 'webhook.remove': {
      onlyKeys(o, ['op', 'at', 'id', 'url', 'events', 'artifact', 'secretEnv'], w);
      const url = str(o, 'url', w, undefined, 2048);
      if (checkWebhookUrl(url) !== null) throw new OperationShapeError(w, 'url is not an http(s) URL mlreg accepts');
      const events = array(o.events, `${w}.events`, (x, ww) => {
        if (typeof x !== 'string' || !(WEBHOOK_EVENTS as readonly string[]).includes(x))
          throw new OperationShapeError(ww, 'not a webhook event');
        return x as WebhookEventName;
      });
      if (events.length === 0 || new Set(events).size !== events.length)
        throw new OperationShapeError(w, 'events must be a non-empty list without repeats');
      return {
        op: name as WebhookOp['op'],
        at,
        id: name === 'webhook.add' ? nullId(o, w) : int(o, 'id', w, 1),
        url,
        events,
        artifact: optStr(o, 'artifact', w, NAME_RE),
        secretEnv: str(o, 'secretEnv', w, ENV_NAME_RE),
      };
    }
    case 'monitor.alert':
      onlyKeys(o, ['op', 'at', 'name', 'stage', 'version', 'reason', 'details'], w);
      return {
        op: 'monitor.alert',
        at,
        name: str(o, 'name', w, NAME_RE),
        stage: stageName(o, w),
        version: version(o, 'version', w),
        reason: optStr(o, 'reason', w),
        details: o.details ?? null,
      };
  }
  throw new OperationShapeError(w, 'unhandled operation');
}
