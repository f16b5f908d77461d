import { MlregError, UsageError } from '../core/errors.js';
import type { Registry } from '../core/registry/registry.js';
import type { VersionList } from '../core/versions/queries.js';
import type { ArtifactDoc, ArtifactsDoc, CompareDoc, HistoryDoc, MonitorDoc, MonitorRule } from './wire.js';

/**
 * The JSON API under /api/: every answer is built by the same core functions as the `--json`
 * output of `list`, `show`, `history`, `compare`, `check` and `monitor show`, and wrapped in the
 * same envelope. Read-only: nothing here writes to the registry.
 */

export interface ApiAnswer {
  status: number;
  body: unknown;
}

const PAGE_DEFAULT = 50;
const PAGE_MAX = 500;
/** Stage moves drawn on the timeline: the latest ones (a picture of more would be unreadable). */
const TIMELINE_MAX = 500;

type Handler = (reg: Registry, params: string[], query: URLSearchParams) => Promise<unknown> | unknown;

const ROUTES: [RegExp, Handler][] = [
  [/^\/artifacts$/, artifacts],
  [/^\/artifacts\/([^/]+)$/, artifact],
  [/^\/artifacts\/([^/]+)\/history$/, historyOf],
  [/^\/artifacts\/([^/]+)\/monitor$/, monitorOf],
  [/^\/artifacts\/([^/]+)\/versions\/([^/]+)$/, version],
  [/^\/artifacts\/([^/]+)\/status$/, followersOf],
  [/^\/compare$/, compare],
  [/^\/check$/, check],
];

/** Answer GET /api/<path>; `path` starts with "/". */
export async function answerApi(reg: Registry, path: string, query: URLSearchParams): Promise<ApiAnswer> {
  for (const [re, handler] of ROUTES) {
    const m = re.exec(path);
    if (!m) continue;
    let params: string[];
    try {
      params = m.slice(1).map((p) => decodeURIComponent(p));
    } catch {
      return failure(400, 'E_BAD_PATH', 'the path is not valid percent-encoding', 'Check the address.');
    }
    try {
      return { status: 200, body: { ok: true, data: await handler(reg, params, query) } };
    } catch (err) {
      if (err instanceof MlregError) return failure(statusOf(err.exitCode), err.code, err.message, err.hint);
      throw err;
    }
  }
  return failure(404, 'E_NO_ROUTE', `no API at /api${path}`, 'See docs/ui.md for the API paths.');
}

function failure(status: number, code: string, message: string, hint: string): ApiAnswer {
  return { status, body: { ok: false, error: { code, message, hint } } };
}

/** Exit codes to HTTP: not found 404, bad input 400, a conflict 409, anything else 500. */
function statusOf(exitCode: number): number {
  if (exitCode === 3) return 404;
  if (exitCode === 2) return 400;
  if (exitCode === 4) return 409;
  return 500;
}

function required(query: URLSearchParams, key: string): string {
  const v = query.get(key);
  if (!v) {
    throw new UsageError(`the query parameter ${key} is missing`, {
      code: 'E_MISSING_PARAMETER',
      hint: `Add ?${key}=NAME@VERSION.`,
    });
  }
  return v;
}

function whole(query: URLSearchParams, key: string, fallback: number, max: number): number {
  const text = query.get(key);
  const n = text === null ? fallback : Number(text);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, max) : fallback;
}

async function artifacts(reg: Registry): Promise<ArtifactsDoc> {
  const { listArtifacts } = await import('../core/versions/queries.js');
  return { artifacts: listArtifacts(reg) };
}

/**
 * `list NAME` of the last artifacts asked for, kept until the registry changes: paging through
 * 10,000 versions then costs a slice, not a new query. SQLite's data_version moves whenever another
 * connection commits (this server never writes).
 */
const listCache = new Map<string, { dataVersion: number; list: VersionList }>();
const LIST_CACHE_SIZE = 8;

async function listOf(reg: Registry, name: string): Promise<VersionList> {
  const { listVersions } = await import('../core/versions/queries.js');
  const dataVersion = reg.db.pragma('data_version', { simple: true }) as number;
  const key = `${reg.root}\0${name}`;
  const hit = listCache.get(key);
  if (hit && hit.dataVersion === dataVersion) return hit.list;
  const list = listVersions(reg, name);
  listCache.delete(key);
  listCache.set(key, { dataVersion, list });
  if (listCache.size > LIST_CACHE_SIZE) listCache.delete(listCache.keys().next().value!);
  return list;
}

async function artifact(reg: Registry, [name]: string[], query: URLSearchParams): Promise<ArtifactDoc> {
  const { history } = await import('../core/registry/history.js');
  const list = await listOf(reg, name!);
  const offset = whole(query, 'offset', 0, Math.max(0, list.versions.length - 1));
  const limit = whole(query, 'limit', PAGE_DEFAULT, PAGE_MAX) || PAGE_DEFAULT;
  const oldestFirst = [...list.versions].reverse();
  const names = [...new Set(oldestFirst.flatMap((v) => Object.keys(v.metrics)))].sort();
  const metrics: Record<string, (number | null)[]> = {};
  for (const m of names) metrics[m] = oldestFirst.map((v) => v.metrics[m] ?? null);
  const stages: Record<string, string> = {};
  for (const v of list.versions) for (const s of v.stages) stages[s] = v.version;
  return {
    name: list.name,
    kind: list.kind,
    total: list.versions.length,
    offset,
    limit,
    versions: list.versions.slice(offset, offset + limit),
    stages,
    chart: { versions: oldestFirst.map((v) => v.version), metrics },
    timeline: history(reg, name!, { limit: TIMELINE_MAX }).events.reverse(),
  };
}

async function historyOf(reg: Registry, [name]: string[]): Promise<HistoryDoc> {
  const { history } = await import('../core/registry/history.js');
  return history(reg, name!, { all: true });
}

/** `status NAME`: where each stage's version is served (follower reports). */
async function followersOf(reg: Registry, [name]: string[]) {
  const { artifactStatus } = await import('../core/follow/reports.js');
  return artifactStatus(reg, name!, { now: reg.runtime.now() });
}

async function version(reg: Registry, [name, ver]: string[]) {
  const { showVersion } = await import('../core/versions/show.js');
  return showVersion(reg, `${name}@${ver}`);
}

async function compare(reg: Registry, _params: string[], query: URLSearchParams): Promise<CompareDoc> {
  const a = required(query, 'a');
  const b = required(query, 'b');
  const { compareDoc } = await import('./sketch.js');
  return compareDoc(reg, a, b);
}

/** `check CURRENT --against REFERENCE` on two registered dataset versions (never a path on this host). */
async function check(reg: Registry, _params: string[], query: URLSearchParams) {
  const current = required(query, 'current');
  const against = required(query, 'against');
  const { checkDatasetWithProfiles } = await import('../core/datasets/check.js');
  const { driftDoc } = await import('./sketch.js');
  const r = await checkDatasetWithProfiles(reg, { current: { ref: current }, reference: against });
  return driftDoc(r.report, r.reference, r.current);
}

async function monitorOf(reg: Registry, [name]: string[], query: URLSearchParams): Promise<MonitorDoc> {
  const { series } = await import('../core/monitor/series.js');
  const { listRules } = await import('../core/monitor/rules-store.js');
  const { parseRule } = await import('../core/monitor/rules.js');
  const stage = query.get('stage') || 'production';
  const report = series(reg, { name: name!, stage });
  const rules: MonitorRule[] = listRules(reg, name!, stage).map((r) => {
    const rule = parseRule(r.rule);
    return {
      ...r,
      threshold:
        rule.kind === 'threshold' ? { metric: rule.metric, slice: rule.slice, op: rule.op, value: rule.value } : null,
    };
  });
  return { report, rules };
}
