const BARS = '▁▂▃▄▅▆▇█';

/**
 * A sparkline of `values` at most `width` characters wide (values averaged into buckets), scaled
 * between `lo` and `hi` so that segments of one series share a scale.
 */
export function sparkline(values: readonly number[], lo: number, hi: number, width = 40): string {
  if (values.length === 0) return '';
  const buckets = Math.min(width, values.length);
  let out = '';
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor((b * values.length) / buckets);
    const end = Math.floor(((b + 1) * values.length) / buckets);
    let sum = 0;
    for (let i = start; i < end; i++) sum += values[i]!;
    const v = sum / (end - start);
    const level = hi > lo ? Math.round(((v - lo) / (hi - lo)) * (BARS.length - 1)) : Math.floor(BARS.length / 2);
    out += BARS[Math.min(BARS.length - 1, Math.max(0, level))];
  }
  return out;
}
