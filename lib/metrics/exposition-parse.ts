/**
 * A reader of the Prometheus text exposition format (0.0.4; OpenMetrics text parses too, `# EOF` and
 * comments are skipped) into samples, and the extraction of one histogram's buckets, summed over its
 * series the way `sum by (le) (...)` would. Used for the histogram_quantile comparison, for --url targets'
 * --metrics-url scrapes, and by the tests that check --metrics-out against --dump-records.
 */
import type { Bucket } from './histogram-quantile.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export class ExpositionParseError extends Error {}

function parseValue(text: string, line: number): number {
  switch (text) {
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    case 'NaN':
    case 'Nan':
      return Number.NaN;
  }
  const v = Number(text);
  if (text === '' || Number.isNaN(v)) throw new ExpositionParseError(`line ${line}: bad sample value ${JSON.stringify(text)}`);
  return v;
}

/** Every sample of the exposition, in order. */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  const lines = text.split('\n');
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln]!;
    if (line === '' || line.startsWith('#')) continue;
    let i = 0;
    while (i < line.length && line[i] !== '{' && line[i] !== ' ' && line[i] !== '\t') i++;
    const name = line.slice(0, i);
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      while (true) {
        while (line[i] === ' ' || line[i] === ',') i++;
        if (line[i] === '}') {
          i++;
          break;
        }
        const eq = line.indexOf('=', i);
        if (eq < 0 || line[eq + 1] !== '"') throw new ExpositionParseError(`line ${ln + 1}: bad label set`);
        const key = line.slice(i, eq).trim();
        let j = eq + 2;
        let value = '';
        while (j < line.length && line[j] !== '"') {
          if (line[j] === '\\') {
            const c = line[j + 1];
            value += c === 'n' ? '\n' : c === undefined ? '' : c;
            j += 2;
          } else {
            value += line[j];
            j++;
          }
        }
        if (j >= line.length) throw new ExpositionParseError(`line ${ln + 1}: unterminated label value`);
        labels[key] = value;
        i = j + 1;
      }
    }
    const rest = line.slice(i).trim().split(/\s+/);
    out.push({ name, labels, value: parseValue(rest[0] ?? '', ln + 1) });
  }
  return out;
}

export interface HistogramData {
  buckets: Bucket[];
  sum: number;
  count: number;
  /** Series (label sets other than le) that were summed. */
  series: number;
}

/**
 * The buckets, _sum and _count of histogram `name`, summed over the series whose labels include `match`.
 * null when the exposition has no `_bucket` sample of it.
 */
export function histogramFromSamples(samples: readonly Sample[], name: string, match: Record<string, string> = {}): HistogramData | null {
  const byLe = new Map<number, number>();
  const seriesKeys = new Set<string>();
  let sum = 0;
  let count = 0;
  const matches = (labels: Record<string, string>): boolean => {
    for (const [k, v] of Object.entries(match)) if (labels[k] !== v) return false;
    return true;
  };
  for (const s of samples) {
    if (!s.name.startsWith(name) || !matches(s.labels)) continue;
    const suffix = s.name.slice(name.length);
    if (suffix === '_bucket') {
      const le = s.labels.le;
      if (le === undefined) continue;
      const bound = parseValue(le, 0);
      byLe.set(bound, (byLe.get(bound) ?? 0) + s.value);
      const { le: _le, ...rest } = s.labels;
      seriesKeys.add(JSON.stringify(rest));
    } else if (suffix === '_sum') sum += s.value;
    else if (suffix === '_count') count += s.value;
  }
  if (byLe.size === 0) return null;
  const buckets = [...byLe.entries()].map(([upperBound, c]) => ({ upperBound, count: c })).sort((a, b) => a.upperBound - b.upperBound);
  return { buckets, sum, count, series: seriesKeys.size };
}

/** The increase of a histogram between two scrapes (per-bucket differences; a counter reset keeps `after`). */
export function histogramDelta(before: HistogramData | null, after: HistogramData): HistogramData {
  if (before === null || after.count < before.count) return after;
  const prev = new Map(before.buckets.map((b) => [b.upperBound, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ upperBound: b.upperBound, count: b.count - (prev.get(b.upperBound) ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
    series: after.series,
  };
}

/** The sum of the samples named exactly `name` whose labels include `match`. */
export function sumSamples(samples: readonly Sample[], name: string, match: Record<string, string> = {}): number {
  let total = 0;
  outer: for (const s of samples) {
    if (s.name !== name) continue;
    for (const [k, v] of Object.entries(match)) if (s.labels[k] !== v) continue outer;
    total += s.value;
  }
  return total;
}
