/**
 * The one way numbers are written for people (tables, messages, reports): integers as they are,
 * other values to a few significant digits, exponent notation only for the very small or large.
 * `full` (6 digits) for metric values; `short` (4 digits) for dense tables such as data checks.
 */
export function formatNumber(v: number, style: 'full' | 'short' = 'full'): string {
  if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  const [digits, small, large] = style === 'full' ? [6, 1e-4, 1e9] : [4, 1e-3, 1e7];
  return abs < small || abs >= large ? v.toExponential(digits - 2) : String(Number(v.toPrecision(digits)));
}
