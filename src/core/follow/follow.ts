import { lstatSync, mkdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { ExitCode, fromSystemError, InvalidInputError, MlregError, UsageError } from '../errors.js';
import { isFlaggedUnsafe } from '../models/record.js';
import { translateSqliteError } from '../registry/sqlite-errors.js';
import type { Registry } from '../registry/registry.js';
import { prepareCheckout, readVersionInfo } from '../versions/checkout.js';
import { resolveRef, type VersionRecord } from '../versions/refs.js';
import { runHook, type HookResult, type HookSpec } from './hook.js';
import { pruneVersions } from './prune.js';
import { optionRef } from '../lib/option-ref.js';

/**
 * `mlreg follow`: keep DIR/current on the version a stage holds. Each round reads the index (a
 * replica is refreshed from its remote first), and on a change materialises the version
 * (hash-checked), switches DIR/current atomically, writes its metadata, prunes, runs the reload hook
 * and reports. An idle round costs one cheap query (SQLite's data_version: has any other connection
 * committed since?) and, on a replica, the one list request of a pull.
 *
 * Core owns no process: the caller hands in an AbortSignal (SIGTERM/SIGINT in the CLI), a sleep
 * (a fake clock in tests) and callbacks for what happens.
 */

export interface FollowOptions {
  name: string;
  stage: string;
  dir: string;
  /** Time between rounds (ms). */
  intervalMs: number;
  /** Reconcile once and return (cron, a host coming back). */
  once?: boolean;
  /** Keep at most this many version folders (never current nor the one before it). */
  keep?: number | undefined;
  /** Switch to a version the model scan flagged unsafe. */
  allowUnsafe?: boolean;
  hook?: HookSpec | undefined;
  signal?: AbortSignal | undefined;
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * A replica: bring the local index up to date from the remote. Returns true when it applied
   * something; throws an MlregError when the remote cannot be used (unreachable: exit 6, gone…).
   */
  refresh?: () => Promise<boolean>;
  onEvent?: (event: FollowEvent) => void;
  /** Record what this follower serves (follower reports); its failure is reported, never fatal. */
  report?: (served: Served) => Promise<void> | void;
}

/** What DIR/current serves after a round. */
export interface Served {
  name: string;
  stage: string;
  version: string;
  digest: string;
  previous: string | null;
  path: string;
  switchedAt: string;
  /** True when this round switched. */
  changed: boolean;
  reused: boolean;
  hook: HookResult | null;
}

export type FollowEvent =
  | ({ event: 'switch'; time: string } & Served)
  | { event: 'waiting'; time: string; name: string; stage: string; message: string }
  | { event: 'error'; time: string; name: string; stage: string; code: string; message: string; hint: string }
  | { event: 'unreachable'; time: string; message: string }
  | { event: 'reachable'; time: string }
  | { event: 'started'; time: string; name: string; stage: string; dir: string; serving: string | null }
  | { event: 'stopped'; time: string };

export interface FollowSummary {
  /** The last round's state: what is served (null when nothing is). */
  served: Served | null;
  rounds: number;
  switches: number;
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolveSleep) => {
    if (signal?.aborted) return resolveSleep();
    const onAbort = (): void => {
      clearTimeout(timer);
      resolveSleep();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolveSleep();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Check what can be checked before the first round, so a follower that can never work fails at
 * once with a hint rather than looping: DIR outside the registry, DIR/current not a real folder,
 * DIR writable.
 */
export function checkFollowDir(reg: Registry, dir: string): void {
  const abs = resolve(dir);
  const rel = relative(reg.root, abs);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel)))
    throw new UsageError(`${dir} is inside the registry folder ${reg.root}`, {
      code: 'E_FOLLOW_DIR_IN_REGISTRY',
      hint: 'Give a serving folder outside the registry, e.g. /srv/NAME.',
    });
  const current = join(abs, 'current');
  try {
    if (!lstatSync(current).isSymbolicLink())
      throw new InvalidInputError(`${current} exists and is not a symbolic link made by mlreg`, {
        code: 'E_CURRENT_NOT_LINK',
        hint: 'Move it away (mv DIR/current DIR/current.bak); mlreg keeps DIR/current as a link to DIR/versions/<version>.',
      });
  } catch (err) {
    if (err instanceof MlregError) throw err;
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(err, 'serving folder');
  }
  // A read-only file system or a folder this user cannot write: say so now.
  const probe = join(abs, `.mlreg-probe-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(abs, { recursive: true });
    // Not recursive: on a read-only file system a recursive mkdir says ENOENT rather than EROFS.
    try {
      mkdirSync(join(abs, 'versions'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (err) {
    rmSync(probe, { force: true });
    const e = fromSystemError(err, `serving folder ${dir}`);
    if (e instanceof MlregError)
      throw new MlregError(e.code, e.exitCode, e.message, {
        hint: `follow writes DIR/versions/ and DIR/current: give a folder on a writable file system that this user owns. ${e.hint}`,
        cause: err,
      });
    throw e;
  }
}

/** An SQLite error as the documented error it stands for, or undefined when it is not one. */
function sqliteFault(err: unknown): MlregError | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return undefined;
  const e = translateSqliteError(err, 'mlreg.db');
  return e instanceof MlregError ? e : undefined;
}

/** The version DIR/current points at (versions/<version>), or null. */
function servedVersion(dir: string): string | null {
  try {
    const target = readlinkSync(join(dir, 'current'));
    return target.startsWith('versions/') ? target.slice('versions/'.length) : null;
  } catch {
    return null;
  }
}

export async function follow(reg: Registry, opts: FollowOptions): Promise<FollowSummary> {
  const sleep = opts.sleep ?? defaultSleep;
  const now = (): string => reg.nowIso();
  const emit = (e: FollowEvent): void => opts.onEvent?.(e);
  const { name, stage, dir } = opts;
  checkFollowDir(reg, dir);

  let lastDataVersion: number | undefined;
  let pending = true; // a round must look at the index (first round, after a failure)
  let unreachable = false;
  let waitingSaid = false;
  /** The last error said, so the same failure every round is said once. */
  let lastErrorKey: string | undefined;
  let served = null as Served | null;
  let rounds = 0;
  let switches = 0;
  const dataVersion = (): number => reg.db.pragma('data_version', { simple: true }) as number;

  const fail = (err: unknown, version?: string): void => {
    if (opts.once) throw err;
    pending = true;
    say(err, version);
  };
  /** Say a failure once (the same one every round is not repeated). */
  const say = (err: unknown, version?: string): void => {
    const e =
      err instanceof MlregError
        ? err
        : new MlregError('E_FOLLOW', ExitCode.internal, err instanceof Error ? err.message : String(err));
    const key = `${version}:${e.code}:${e.message}`;
    if (key === lastErrorKey) return;
    lastErrorKey = key;
    emit({ event: 'error', time: now(), name, stage, code: e.code, message: e.message, hint: e.hint });
  };

  const round = async (): Promise<void> => {
    rounds++;
    let fresh = false;
    if (opts.refresh) {
      try {
        fresh = await opts.refresh();
        if (unreachable) emit({ event: 'reachable', time: now() });
        unreachable = false;
      } catch (err) {
        if (!(err instanceof MlregError)) throw err;
        // Unreachable, gone (an unmounted share), refusing: keep serving what is there and retry;
        // the local index may still hold something newer than DIR.
        if (!unreachable)
          emit({
            event: 'unreachable',
            time: now(),
            message: `${err.message}; serving what is there and retrying every ${Math.round(opts.intervalMs / 1000)}s`,
          });
        unreachable = true;
      }
    }
    const dv = dataVersion();
    if (!pending && !fresh && dv === lastDataVersion) {
      // Idle: nothing committed since the last look. The reporter sends a heartbeat when one is due.
      if (served) await reportServed(served);
      return;
    }
    lastDataVersion = dv;
    pending = false;

    let holder: VersionRecord;
    try {
      holder = reg.read(() => resolveRef(reg, `${name}@${stage}`));
    } catch (err) {
      const code = err instanceof MlregError ? err.code : '';
      if (code !== 'E_STAGE_NOT_FOUND' && code !== 'E_ARTIFACT_NOT_FOUND') throw err;
      if (opts.once) throw err;
      if (!waitingSaid)
        emit({
          event: 'waiting',
          time: now(),
          name,
          stage,
          message: `${(err as Error).message}; waiting for it (switching when it is set)`,
        });
      waitingSaid = true;
      return;
    }
    waitingSaid = false;
    const info = readVersionInfo(dir);
    const onDisk = servedVersion(dir);
    if (onDisk === holder.version && (info === null || info.digest === holder.digest)) {
      if (served?.version !== holder.version || served.digest !== holder.digest)
        served = {
          name,
          stage,
          version: holder.version,
          digest: holder.digest,
          previous: info?.previous ?? null,
          path: join(dir, 'versions', holder.version),
          switchedAt: info?.switchedAt ?? now(),
          changed: false,
          reused: true,
          hook: null,
        };
      lastErrorKey = undefined;
      await reportServed(served);
      return;
    }
    if (!opts.allowUnsafe && reg.read(() => isFlaggedUnsafe(reg, holder.id))) {
      fail(
        new InvalidInputError(
          `${name}@${holder.version} (held by ${stage}) was flagged unsafe by the model scan; not switching to it`,
          {
            code: 'E_UNSAFE_MODEL',
            hint: `Keep serving what is there and move the stage back (mlreg rollback ${name} ${optionRef('stage')} ${stage}), or pass ${optionRef('allow-unsafe')} if you trust this file.`,
          },
        ),
        holder.version,
      );
      return;
    }
    let switched: Served;
    try {
      const prepared = await prepareCheckout(reg, holder, dir);
      const done = prepared.switch({ stage });
      switched = {
        name,
        stage,
        version: done.version,
        digest: holder.digest,
        previous: done.previous,
        path: done.path,
        switchedAt: readVersionInfo(dir)?.switchedAt ?? now(),
        changed: true,
        reused: done.reused,
        hook: null,
      };
    } catch (err) {
      fail(err, holder.version);
      return;
    }
    lastErrorKey = undefined;
    switches++;
    if (opts.keep !== undefined) {
      try {
        pruneVersions(dir, opts.keep, [switched.version, switched.previous]);
      } catch (err) {
        say(err); // the switch itself is done; pruning is tried again at the next switch
      }
    }
    if (opts.hook) switched.hook = await runHook(opts.hook, switched);
    served = switched;
    emit({ event: 'switch', time: now(), ...switched });
    await reportServed(switched);
  };

  /** Tell the registry what is served: on a change, and as a heartbeat when the reporter says one is due. */
  const reportServed = async (what: Served): Promise<void> => {
    if (!opts.report) return;
    try {
      await opts.report(what);
    } catch (err) {
      // Serving is right; only the report failed. The reporter sends it again at the next round.
      say(err);
    }
  };

  if (!opts.once) emit({ event: 'started', time: now(), name, stage, dir, serving: servedVersion(dir) });
  for (;;) {
    if (opts.signal?.aborted) break;
    try {
      await round();
    } catch (err) {
      // A follower keeps serving through a registry it cannot read for a while (a disk fault, a
      // lost mount): it says so once and tries again next round. --once reports it as the exit code.
      if (opts.once) throw err;
      const known = err instanceof MlregError ? err : sqliteFault(err);
      if (!known) throw err;
      fail(known);
    }
    if (opts.once) break;
    if (served) served = { ...served, changed: false, hook: null };
    await sleep(opts.intervalMs, opts.signal);
  }
  if (!opts.once) emit({ event: 'stopped', time: now() });
  return { served, rounds, switches };
}
