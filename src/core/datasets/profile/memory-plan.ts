import type { ColumnDesign, PassDesign } from './plan.js';

/**
 * How many columns one query may aggregate at once (pure). A query's memory grows with its columns, not
 * its rows: every aggregate keeps a state per column, and some states are large (an exact distinct count
 * starts with a 2 MiB hash table; a numeric column keeps its sampled values, up to ~131,072 of them). So a
 * wide table is profiled in groups of columns, each small enough for the memory limit, one query per
 * group. Each column's statistics are the same whichever group it is in (see passSql), so the profile
 * does not depend on the grouping; a table whose columns fit in one group is profiled in one query, as
 * before.
 *
 * The costs below were measured with DuckDB 1.5 on 2 threads (docs/datasets.md, "Wide tables"): the
 * largest group that ran within a memory limit, and the process's peak RSS for groups of measured columns.
 */

/**
 * An exact distinct count (count(DISTINCT x)): its hash table takes 2.5 MiB of DuckDB's limit (80 such
 * columns ran in 244 MiB, 100 did not), but over 2,000 columns the process's peak RSS rose to 583–654 MB
 * in groups of 55 such counts (the allocator keeps what the tables freed): planned at 6 MiB.
 */
export const DISTINCT_BYTES = 6 * 2 ** 20;
/** Any column's small states (counts, min/max, HyperLogLog, sums) and its share of the reader's vectors. */
export const COLUMN_BYTES = 256 * 2 ** 10;
/** A value histogram of a column with few distinct values (at most ~1,000 keys). */
export const HISTOGRAM_BYTES = 1 * 2 ** 20;
/**
 * A measured column's states besides its sampled values (HyperLogLog, integer sums, the list's own
 * structures): 150 such columns of 2,000 rows ran in 244 MiB, 250 did not.
 */
export const MEASURED_BYTES = 1.25 * 2 ** 20;
/**
 * One sampled value of a measured column, from the aggregate's list to the sorted Float64Array the
 * profile is computed from: the list state of each thread, their merge, the result vector, the copy, and
 * the allocator's slack. Measured on 2,000 float columns × 100,000 rows: peak RSS 588 MB at 20 bytes
 * (groups of 57 columns), 508 MB at 40 (groups of 30), hence 50 (groups of 24); on 200 columns 469 MB
 * at 40 bytes, 580–630 MB at 10–20. Since wide CSVs are read with 4 MiB buffers and DuckDB's allocator hands
 * freed memory back (profiler.ts), 2,000 × 100,000 peaked at 351–403 MB at 50 bytes and 416–427 MB at 35
 * (groups of 33: 61 reads of the file instead of 80, 3.4× SUMMARIZE's time instead of 6×): hence 35.
 */
export const SAMPLED_VALUE_BYTES = 35;

/** The share of DuckDB's memory limit the aggregates of one query may plan for; the rest is the reader's (its buffers grow with the row width). */
export const STATE_SHARE = 0.6;

/** The bytes one query's states may take, from DuckDB's memory limit. */
export function groupBudget(memoryLimitMb: number): number {
  return memoryLimitMb * 2 ** 20 * STATE_SHARE;
}

/** The planning sample's cost per column: an exact distinct count each. */
export function sampleColumnCost(): number {
  return COLUMN_BYTES + DISTINCT_BYTES;
}

/** The pass's cost of one column, given the table's estimated rows (how many values a measured column keeps). */
export function passColumnCost(c: ColumnDesign, design: PassDesign, estimatedRows: number): number {
  switch (c.strategy) {
    case 'measured':
      return MEASURED_BYTES + SAMPLED_VALUE_BYTES * Math.ceil(Math.max(1, estimatedRows) / design.sampleRate);
    case 'counted':
      return COLUMN_BYTES + HISTOGRAM_BYTES;
    case 'dates':
      // A table read whole counts its dates' distinct values exactly.
      return COLUMN_BYTES + (design.sampleRate > 1 ? 0 : DISTINCT_BYTES);
    default:
      return COLUMN_BYTES;
  }
}

/**
 * Consecutive columns (by index) in groups whose costs add up to at most `budget` (a column costing more
 * than the budget makes a group of its own); `maxColumns` caps a group's size (tests force small groups).
 */
export function columnGroups(costs: readonly number[], budget: number, maxColumns = Infinity): number[][] {
  const groups: number[][] = [];
  let cur: number[] = [];
  let used = 0;
  costs.forEach((cost, i) => {
    if (cur.length && (used + cost > budget || cur.length >= maxColumns)) {
      groups.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(i);
    used += cost;
  });
  if (cur.length) groups.push(cur);
  return groups;
}
