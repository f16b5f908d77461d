import { InvalidInputError } from '../errors.js';
import { getArtifact } from '../versions/refs.js';
import type { Registry } from '../registry/registry.js';
import type { Target } from './observations.js';

/**
 * The time series of live metrics of one stage, one per metric × slice × source (a review import of
 * six rows is not averaged into the live traffic's numbers), split into segments by version (a
 * promotion or a rollback starts a new segment), with the stage moves in the same period.
 */

export interface Point {
  at: string;
  value: number;
  source: string;
}

export interface Segment {
  version: string;
  from: string;
  to: string;
  count: number;
  mean: number;
  last: number;
  points: Point[];
}

export interface Series {
  metric: string;
  slice: string;
  source: string;
  segments: Segment[];
}

export interface SeriesReport {
  name: string;
  stage: string;
  since: string | null;
  series: Series[];
  changes: { at: string; kind: string; from: string | null; to: string | null; actor: string; reason: string | null }[];
}

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** The start of a series: an ISO time, or a duration back from now such as 30m, 24h, 7d, 2w. */
export function parseSince(text: string, now: Date): string {
  const rel = /^(\d+)([mhdw])$/.exec(text.trim());
  if (rel) return new Date(now.getTime() - Number(rel[1]) * UNITS[rel[2]!]!).toISOString();
  const when = Date.parse(text);
  if (Number.isNaN(when))
    throw new InvalidInputError(`${JSON.stringify(text)} is neither a time nor a duration`, {
      code: 'E_BAD_TIME',
      hint: 'Use 7d, 24h, 30m, 2w, or an ISO time such as 2026-11-17T00:00:00Z.',
      details: { option: 'since' },
    });
  return new Date(when).toISOString();
}

export function series(
  reg: Registry,
  target: Target,
  opts: { since?: string | undefined; metric?: string | undefined; slice?: string | undefined } = {},
): SeriesReport {
  return reg.read(() => {
    const artifact = getArtifact(reg, target.name);
    const where = ['artifact_id = ?', 'stage = ?'];
    const args: (string | number)[] = [artifact.id, target.stage];
    if (opts.metric) {
      where.push('metric = ?');
      args.push(opts.metric);
    }
    if (opts.slice) {
      where.push('slice = ?');
      args.push(opts.slice);
    }
    if (opts.since) {
      where.push('at >= ?');
      args.push(opts.since);
    }
    const rows = reg.db
      .prepare(
        `SELECT metric, slice, version, value, at, source FROM observations WHERE ${where.join(' AND ')} ORDER BY metric, slice, source, at, id`,
      )
      .iterate(...args) as IterableIterator<{
      metric: string;
      slice: string;
      version: string;
      value: number;
      at: string;
      source: string;
    }>;
    const out: Series[] = [];
    let cur: Series | undefined;
    let seg: (Segment & { sum: number }) | undefined;
    const close = (): void => {
      if (seg && cur) {
        const { sum, ...rest } = seg;
        cur.segments.push({ ...rest, mean: sum / seg.count });
      }
      seg = undefined;
    };
    for (const r of rows) {
      if (!cur || cur.metric !== r.metric || cur.slice !== r.slice || cur.source !== r.source) {
        close();
        cur = { metric: r.metric, slice: r.slice, source: r.source, segments: [] };
        out.push(cur);
      }
      if (!seg || seg.version !== r.version) {
        close();
        seg = { version: r.version, from: r.at, to: r.at, count: 0, mean: 0, last: r.value, points: [], sum: 0 };
      }
      seg.to = r.at;
      seg.count++;
      seg.sum += r.value;
      seg.last = r.value;
      seg.points.push({ at: r.at, value: r.value, source: r.source });
    }
    close();
    const changes = (
      reg.db
        .prepare(
          `SELECT kind, from_version, version, actor, reason, at FROM events WHERE artifact_id = ? AND stage = ? AND kind IN ('promote', 'rollback') ${opts.since ? 'AND at >= ?' : ''} ORDER BY id`,
        )
        .all(...(opts.since ? [artifact.id, target.stage, opts.since] : [artifact.id, target.stage])) as {
        kind: string;
        from_version: string | null;
        version: string | null;
        actor: string;
        reason: string | null;
        at: string;
      }[]
    ).map((e) => ({
      at: e.at,
      kind: e.kind,
      from: e.from_version,
      to: e.version,
      actor: e.actor,
      reason: e.reason,
    }));
    return { name: artifact.name, stage: target.stage, since: opts.since ?? null, series: out, changes };
  });
}
