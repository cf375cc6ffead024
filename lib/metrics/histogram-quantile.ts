/**
 * The one `histogram_quantile` of the package: what Prometheus' `histogram_quantile(q, ...)` returns for a
 * classic histogram (cumulative `_bucket` series with `le` labels). The bench compares it with exact
 * percentiles, the dashboard charts it, and the tests check it against Prometheus and promtool.
 *
 * The rules are those of Prometheus' promql/quantile.go (`BucketQuantile` and its helpers, current
 * releases), in this order:
 *
 * 1. q is NaN -> NaN; q < 0 -> -Inf; q > 1 -> +Inf (whatever the buckets).
 * 2. No buckets -> NaN. Buckets are sorted by upper bound; the highest must be +Inf, else NaN.
 * 3. Buckets with the same upper bound are merged, their counts added.
 * 4. Monotonicity fix, one pass from the lowest bucket, against the last count accepted (`prev`):
 *    a count equal to it is kept; a count within a relative 1e-12 of it (`|a - b| / (|a| + |b|) < 1e-12`,
 *    Prometheus' `almost.Equal`; against 0 only a difference below 1e-12 of the smallest normal float)
 *    is float noise and is set to it, in either direction; a lower count is raised to it; a higher count
 *    is accepted. Prometheus releases before the small-delta rule (2.42, which Debian ships and the
 *    tests run) differ only for counts within that 1e-12.
 * 5. Fewer than 2 buckets -> NaN; 0 observations (the +Inf bucket's count) -> NaN.
 * 6. rank = q * observations; the bucket is the first of all but the +Inf bucket whose count is >= rank
 *    (Go's sort.Search, a binary search, as Prometheus does).
 * 7. The rank is in the +Inf bucket -> the upper bound of the highest finite bucket.
 * 8. The rank is in the lowest bucket and its upper bound is <= 0 -> that bound.
 * 9. Otherwise linear interpolation inside the bucket: lower + (upper - lower) * (rank - count below) /
 *    (count in the bucket), where the lowest bucket's lower bound is 0. A bucket holding nothing gives
 *    0 / 0 = NaN (q = 0 with an empty lowest bucket).
 *
 * Buckets may be given as `{ upperBound, count }` objects (any order) or as two columns `{ bounds, counts }`
 * (what the dashboard keeps). The input is not modified.
 */

export interface Bucket {
  /** The `le` bound (Infinity for `+Inf`). */
  upperBound: number;
  /** Cumulative count of observations <= upperBound. */
  count: number;
}

/** Cumulative buckets as two aligned columns: `bounds[i]` and its cumulative count `counts[i]`. */
export interface BucketColumns {
  readonly bounds: readonly number[];
  readonly counts: readonly number[];
}

/** Relative difference below which two successive bucket counts are the same count (Prometheus' smallDeltaTolerance). */
export const SMALL_DELTA_TOLERANCE = 1e-12;

/** The smallest positive normal float64. */
const MIN_NORMAL = 2.2250738585072014e-308;

/** Prometheus' almost.Equal: a and b differ by less than epsilon times their magnitude. */
function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

export function histogramQuantile(q: number, input: readonly Bucket[] | BucketColumns): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  let sorted: Bucket[];
  if (Array.isArray(input)) {
    sorted = (input as readonly Bucket[]).map((b) => ({ upperBound: b.upperBound, count: b.count }));
  } else {
    const { bounds, counts } = input as BucketColumns;
    sorted = bounds.map((upperBound, i) => ({ upperBound, count: counts[i]! }));
  }
  if (sorted.length === 0) return Number.NaN;
  sorted.sort((a, b) => (a.upperBound < b.upperBound ? -1 : a.upperBound > b.upperBound ? 1 : 0));
  if (sorted[sorted.length - 1]!.upperBound !== Infinity) return Number.NaN;

  // Merge equal bounds.
  const buckets: Bucket[] = [];
  for (const b of sorted) {
    const last = buckets[buckets.length - 1];
    if (last !== undefined && last.upperBound === b.upperBound) last.count += b.count;
    else buckets.push(b);
  }
  // Monotonic, ignoring float noise (prev: the last count accepted).
  let prev = buckets[0]!.count;
  for (let i = 1; i < buckets.length; i++) {
    const cur = buckets[i]!.count;
    if (cur === prev) continue;
    if (almostEqual(prev, cur, SMALL_DELTA_TOLERANCE) || cur < prev) buckets[i]!.count = prev;
    else prev = cur;
  }

  if (buckets.length < 2) return Number.NaN;
  const observations = buckets[buckets.length - 1]!.count;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  // sort.Search(len - 1, count >= rank): the smallest index for which the predicate holds (binary search).
  let lo = 0;
  let hi = buckets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (!(buckets[mid]!.count >= rank)) lo = mid + 1;
    else hi = mid;
  }
  const b = lo;
  if (b === buckets.length - 1) return buckets[b - 1]!.upperBound;
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
