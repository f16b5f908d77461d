import type { DataCheckReport as CheckReport } from '../core/datasets/check-profiles.js';
import type { DatasetComparison } from '../core/datasets/compare.js';
import type { ColumnProfile, Profile } from '../core/datasets/profile/types.js';
import type { ModelComparison } from '../core/evaluations/compare-models.js';
import type { HistoryEntry } from '../core/registry/history.js';
import type { StoredRule } from '../core/monitor/rules-store.js';
import type { SeriesReport } from '../core/monitor/series.js';
import type { ArtifactKind } from '../core/versions/refs.js';
import type { ArtifactSummary, VersionSummary } from '../core/versions/queries.js';
import type { VersionDetails } from '../core/versions/show.js';
import type { ArtifactStatus as StatusDoc } from '../core/follow/reports.js';

/**
 * The documents the JSON API under /api/ answers with, shared by the server, the browser pages and
 * the HTML reports. Each is the data of the matching `--json` command, sometimes with a little more
 * the pictures need (e.g. the distributions behind a drift table).
 */

export type { ArtifactSummary, VersionSummary, VersionDetails, HistoryEntry, CheckReport, ModelComparison };
export type { DatasetComparison, Profile, ColumnProfile, SeriesReport, StoredRule };
/** `status NAME`: the stages and the followers serving each. */
export type { StatusDoc };

/** Every answer: the `--json` envelope. */
export type Envelope<T> = { ok: true; data: T } | { ok: false; error: { code: string; message: string; hint: string } };

export interface ArtifactsDoc {
  artifacts: ArtifactSummary[];
}

/** `list NAME` paged, plus what the artifact page draws: metrics across versions and stage moves. */
export interface ArtifactDoc {
  name: string;
  kind: ArtifactKind;
  total: number;
  offset: number;
  limit: number;
  /** The page of versions, newest first (as `list NAME`). */
  versions: VersionSummary[];
  /** Stage → version now. */
  stages: Record<string, string>;
  /** Every version, oldest first, with its metrics (null where a version lacks one). */
  chart: { versions: string[]; metrics: Record<string, (number | null)[]> };
  /** Promotions and rollbacks, oldest first (`history NAME`): the latest 500. */
  timeline: HistoryEntry[];
}

/** A column's distribution, trimmed to what a chart needs (a report stays small on wide data). */
export interface ColumnSketch {
  name: string;
  kind: ColumnProfile['kind'];
  type: string;
  count: number;
  missing: number;
  missingRate: number;
  distinct: number;
  numeric?: {
    mean: number;
    std: number;
    min: number;
    max: number;
    bins: { edges: number[]; counts: number[] };
    quantiles: { p: number[]; x: number[] };
  };
  categories?: { top: [string, number][]; other: number };
}

export interface ProfileSketch {
  label: string;
  rows: number;
  columns: ColumnSketch[];
}

/** A data check (or the drift part of a dataset comparison) with both sides' distributions. */
export interface DriftDoc {
  report: CheckReport;
  reference: ProfileSketch;
  current: ProfileSketch;
}

export type CompareDoc =
  | { kind: 'model'; comparison: ModelComparison }
  | { kind: 'dataset'; comparison: DatasetComparison; drift: DriftDoc | null };

export interface MonitorRule extends StoredRule {
  /** For `METRIC < NUMBER`-style rules: the line to draw. */
  threshold: { metric: string; slice: string; op: string; value: number } | null;
}

export interface MonitorDoc {
  report: SeriesReport;
  rules: MonitorRule[];
}

export interface HistoryDoc {
  name: string;
  events: HistoryEntry[];
}

/** What a static HTML report embeds. */
export type ReportDoc =
  | { kind: 'check'; drift: DriftDoc; generatedAt: string }
  | { kind: 'compare'; compare: CompareDoc; generatedAt: string };
