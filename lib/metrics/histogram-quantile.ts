/**
 * What Prometheus' `histogram_quantile(q, ...)` returns for a classic histogram (cumulative `_bucket`
 * series with `le` labels), so a benchmark can show the quantiles a dashboard would display next to the
 * exact values. The rules, as Prometheus applies them (promql/quantile.go, bucketQuantile):
 * - q NaN -> NaN; q < 0 -> -Inf; q > 1 -> +Inf;
 * - buckets are sorted by upper bound; buckets with the same bound are merged (their counts added);
 * - the highest bound must be +Inf, else NaN;
 * - counts that differ from the previous bucket's by a relative 1e-12 or less are set equal to it (float
 *   noise), then any decrease is raised to the running maximum (a monotonic envelope);
 * - fewer than 2 buckets, or 0 observations (the +Inf bucket's count), -> NaN;
 * - rank = q * observations; the chosen bucket is the first, among all but the +Inf bucket, whose cumulative
 *   count is >= rank; if there is none the quantile falls in the +Inf bucket and the result is the
 *   upper bound of the second-highest bucket;
 * - in the lowest bucket, if its upper bound is <= 0 that bound is the result; otherwise its lower bound is 0;
 * - otherwise: lower + (upper - lower) * (rank - count below) / (count in the bucket): linear interpolation
 *   inside the bucket (0 / 0 is NaN, e.g. q = 0 with an empty lowest bucket).
 */

export interface Bucket {
  /** The `le` bound (Infinity for `+Inf`). */
  upperBound: number;
  /** Cumulative count of observations <= upperBound. */
  count: number;
}

const PRECISION_TOLERANCE = 1e-12;

export function histogramQuantile(q: number, input: readonly Bucket[]): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (input.length === 0) return Number.NaN;
  const sorted = input.map((b) => ({ upperBound: b.upperBound, count: b.count })).sort((a, b) => a.upperBound - b.upperBound);
  if (sorted[sorted.length - 1]!.upperBound !== Infinity) return Number.NaN;

  // Merge equal bounds.
  const buckets: Bucket[] = [];
  for (const b of sorted) {
    const last = buckets[buckets.length - 1];
    if (last !== undefined && last.upperBound === b.upperBound) last.count += b.count;
    else buckets.push(b);
  }
  // Float noise first, then the monotonic envelope.
  let prev = buckets[0]!.count;
  for (let i = 1; i < buckets.length; i++) {
    const cur = buckets[i]!.count;
    const delta = Math.abs(cur - prev);
    if (delta === 0) continue;
    if (delta / cur <= PRECISION_TOLERANCE) buckets[i]!.count = prev;
    else prev = cur;
  }
  let max = buckets[0]!.count;
  for (let i = 1; i < buckets.length; i++) {
    if (buckets[i]!.count > max) max = buckets[i]!.count;
    else buckets[i]!.count = max;
  }

  if (buckets.length < 2) return Number.NaN;
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  let b = 0;
  const finite = buckets.length - 1;
  while (b < finite && !(buckets[b]!.count >= rank)) b++;
  if (b === finite) return buckets[finite - 1]!.upperBound;
  if (b === 0 && buckets[0]!.upperBound <= 0) return buckets[0]!.upperBound;
  let start = 0;
  const end = buckets[b]!.upperBound;
  let count = buckets[b]!.count;
  if (b > 0) {
    start = buckets[b - 1]!.upperBound;
    count -= buckets[b - 1]!.count;
    rank -= buckets[b - 1]!.count;
  }
  return start + (end - start) * (rank / count);
}

/** Cumulative buckets from bounds and per-bucket (non-cumulative) counts; `+Inf` is appended with `overflow`. */
export function cumulativeBuckets(bounds: readonly number[], counts: readonly number[], overflow = 0): Bucket[] {
  const out: Bucket[] = [];
  let total = 0;
  for (let i = 0; i < bounds.length; i++) {
    total += counts[i] ?? 0;
    out.push({ upperBound: bounds[i]!, count: total });
  }
  out.push({ upperBound: Infinity, count: total + overflow });
  return out;
}

/** Fills histogram buckets from raw values, the way a Prometheus client does (value <= bound). */
export function bucketize(values: ArrayLike<number>, bounds: readonly number[]): Bucket[] {
  const counts = new Array<number>(bounds.length).fill(0);
  let overflow = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    let j = 0;
    while (j < bounds.length && v > bounds[j]!) j++;
    if (j === bounds.length) overflow++;
    else counts[j]!++;
  }
  return cumulativeBuckets(bounds, counts, overflow);
}
