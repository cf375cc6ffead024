/**
 * The package's one reader of the Prometheus text exposition format (0.0.4; OpenMetrics text parses too:
 * `# EOF`, `# UNIT` and other comments are skipped), the inverse of lib/metrics/exposition.ts. The bench
 * reads --metrics-url scrapes and --metrics-out with it (the histogram_quantile comparison), the dashboard
 * reads `le` bounds with its value parser, and the tests read every exposition they check through it.
 *
 * Two modes:
 * - lenient (default; scrapes of other servers): a metric name runs to `{` or white space, label values
 *   are unescaped, the first token after the labels is the value and anything after it (a timestamp, an
 *   OpenMetrics exemplar) is ignored;
 * - strict (`{ strict: true }`; our own output in tests): a valid metric name, a well-formed label set
 *   (valid, distinct label names; only the `\\`, `\"` and `\n` escapes), white space, the value, at most
 *   an integer timestamp, nothing else, and valid names and types on `# TYPE` lines. Any other line
 *   is an `ExpositionParseError` naming the line.
 *
 * Also here: the extraction of one histogram's buckets, summed over its series the way `sum by (le) (...)`
 * would, the increase between two scrapes, and sums of samples.
 */
import { TrtllmMetricsError } from '../errors.js';
import type { Bucket } from './histogram-quantile.js';

export interface Sample {
  name: string;
  /** Label values unescaped. */
  labels: Record<string, string>;
  value: number;
}

/** A metric family: its `# HELP` / `# TYPE` lines and the samples that follow them. */
export interface MetricFamily {
  name: string;
  /** The `# TYPE` (`untyped` when the exposition gives none). */
  type: string;
  /** The `# HELP` text, unescaped (`''` when none). */
  help: string;
  samples: Sample[];
}

export interface ParsedExposition {
  /** Every sample, in order. */
  samples: Sample[];
  /**
   * The families in order of appearance. A sample belongs to the family of the latest `# HELP` / `# TYPE`
   * line when its name is that family's name or that name with a sample suffix (`_bucket`, `_sum`,
   * `_count`, `_total`, `_created`, ...); any other sample starts (or rejoins) an untyped family of its name.
   */
  families: MetricFamily[];
}

export interface ParseOptions {
  /** Reject every line that is not exactly a valid sample, comment, HELP or TYPE line (see the module doc). */
  strict?: boolean;
}

export class ExpositionParseError extends TrtllmMetricsError {
  constructor(message: string) {
    super('ERR_TRTLLM_EXPOSITION_PARSE', message);
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TIMESTAMP = /^-?[0-9]+$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped', 'unknown', 'info', 'stateset', 'gaugehistogram']);

/**
 * A sample value (or `le` bound) as Prometheus writes it: a float, `+Inf` / `Inf`, `-Inf`, `NaN` (or
 * prom-client's `Nan`). Throws ExpositionParseError otherwise.
 */
export function parseSampleValue(text: string, line = 0): number {
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

function unescapeHelp(text: string): string {
  return text.replace(/\\(\\|n)/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** Parses `{...}` starting at `i` (the `{`) into `labels`; returns the index after the `}`. */
function parseLabels(line: string, i: number, ln: number, strict: boolean, labels: Record<string, string>): number {
  i++;
  for (;;) {
    while (line[i] === ' ' || line[i] === '\t' || (!strict && line[i] === ',')) i++;
    if (line[i] === '}') return i + 1;
    const eq = line.indexOf('=', i);
    if (eq < 0 || line[eq + 1] !== '"') throw new ExpositionParseError(`line ${ln}: bad label set`);
    const key = strict ? line.slice(i, eq) : line.slice(i, eq).trim();
    if (strict && (!LABEL_NAME.test(key) || Object.prototype.hasOwnProperty.call(labels, key))) {
      throw new ExpositionParseError(`line ${ln}: bad or repeated label name ${JSON.stringify(key)}`);
    }
    let j = eq + 2;
    let value = '';
    while (j < line.length && line[j] !== '"') {
      if (line[j] === '\\') {
        const c = line[j + 1];
        if (strict && c !== '\\' && c !== '"' && c !== 'n') throw new ExpositionParseError(`line ${ln}: bad escape in a label value`);
        value += c === 'n' ? '\n' : c === undefined ? '' : c;
        j += 2;
      } else {
        value += line[j];
        j++;
      }
    }
    if (j >= line.length) throw new ExpositionParseError(`line ${ln}: unterminated label value`);
    labels[key] = value;
    i = j + 1;
    if (strict) {
      while (line[i] === ' ' || line[i] === '\t') i++;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new ExpositionParseError(`line ${ln}: expected , or } after a label`);
    }
  }
}

function parseSampleLine(line: string, ln: number, strict: boolean): Sample {
  let i = 0;
  while (i < line.length && line[i] !== '{' && line[i] !== ' ' && line[i] !== '\t') i++;
  const name = line.slice(0, i);
  if (strict && !METRIC_NAME.test(name)) throw new ExpositionParseError(`line ${ln}: bad metric name ${JSON.stringify(name)}`);
  const labels: Record<string, string> = {};
  if (line[i] === '{') i = parseLabels(line, i, ln, strict, labels);
  let value: number;
  if (strict) {
    const rest = line.slice(i);
    const m = /^[ \t]+(\S+)(?:[ \t]+(\S+))?$/.exec(rest);
    if (m === null || (m[2] !== undefined && !TIMESTAMP.test(m[2]))) throw new ExpositionParseError(`line ${ln}: expected a value and at most a timestamp after the labels`);
    value = parseSampleValue(m[1]!, ln);
  } else {
    value = parseSampleValue(line.slice(i).trim().split(/\s+/)[0] ?? '', ln);
  }
  return { name, labels, value };
}

const SAMPLE_SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created', '_info', '_gcount', '_gsum'];

/** A sample of family `family`: its name, or its name with a suffix the format gives samples. */
function belongsTo(sample: string, family: string): boolean {
  if (sample === family) return true;
  if (!sample.startsWith(family)) return false;
  const suffix = sample.slice(family.length);
  return SAMPLE_SUFFIXES.includes(suffix);
}

/** Every sample and family of the exposition (see the module doc for the two modes). */
export function parseExpositionText(text: string, options: ParseOptions = {}): ParsedExposition {
  const strict = options.strict === true;
  const samples: Sample[] = [];
  const families: MetricFamily[] = [];
  const byName = new Map<string, MetricFamily>();
  let current: MetricFamily | null = null;
  const family = (name: string): MetricFamily => {
    let f = byName.get(name);
    if (f === undefined) {
      f = { name, type: 'untyped', help: '', samples: [] };
      byName.set(name, f);
      families.push(f);
    }
    return f;
  };
  const lines = text.split('\n');
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln]!;
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (m === null) continue;
      const [, kind, name, rest = ''] = m;
      if (strict && !METRIC_NAME.test(name!)) throw new ExpositionParseError(`line ${ln + 1}: bad metric name ${JSON.stringify(name)}`);
      current = family(name!);
      if (kind === 'HELP') {
        current.help = unescapeHelp(rest);
      } else {
        if (strict && !TYPES.has(rest)) throw new ExpositionParseError(`line ${ln + 1}: bad type ${JSON.stringify(rest)}`);
        current.type = rest;
      }
      continue;
    }
    const s = parseSampleLine(line, ln + 1, strict);
    samples.push(s);
    if (current === null || !belongsTo(s.name, current.name)) current = family(s.name);
    current.samples.push(s);
  }
  return { samples, families };
}

/** Every sample of the exposition, in order (lenient). */
export function parseExposition(text: string): Sample[] {
  return parseExpositionText(text).samples;
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
      const bound = parseSampleValue(le);
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
