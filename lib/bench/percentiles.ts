/**
 * Exact percentiles of measured values, by linear interpolation between the closest ranks: numpy's default
 * (`numpy.percentile(x, p)`, method "linear", Hyndman & Fan type 7). For the n values sorted ascending,
 * x[0..n-1], the p-th percentile is at the fractional index h = (n - 1) * p / 100:
 *   x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)])
 * so p = 0 is the minimum, p = 100 the maximum, and the median of an even count is the mean of the middle two.
 * No values: null.
 */

/** The p-th percentile (0..100) of values already sorted ascending. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
  const h = ((n - 1) * p) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (h - lo) * (b - a);
}

/** The p-th percentile of unsorted values (copies and sorts them). */
export function percentile(values: ArrayLike<number>, p: number): number | null {
  return percentileSorted(sortedCopy(values), p);
}

/** A sorted Float64Array copy (numeric order). */
export function sortedCopy(values: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(values as ArrayLike<number>);
  out.sort();
  return out;
}

/** The percentiles every summary reports. */
export const SUMMARY_PERCENTILES = [50, 90, 99] as const;

/** Statistics of one metric. Same unit as the values; null fields when there were no values. */
export interface Summary {
  count: number;
  mean: number | null;
  /** Population standard deviation (numpy's default, ddof = 0). */
  std: number | null;
  min: number | null;
  max: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

/** Summarizes values (not modified). */
export function summarize(values: ArrayLike<number>): Summary {
  const sorted = sortedCopy(values);
  const n = sorted.length;
  if (n === 0) return { count: 0, mean: null, std: null, min: null, max: null, p50: null, p90: null, p99: null };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) {
    const d = sorted[i]! - mean;
    sq += d * d;
  }
  return {
    count: n,
    mean,
    std: Math.sqrt(sq / n),
    min: sorted[0]!,
    max: sorted[n - 1]!,
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p99: percentileSorted(sorted, 99),
  };
}
