/**
 * The numbers behind GET /dashboard: snapshots of one collector's series, read through prom-client's public
 * `get()` of the registry's families, and the chart points computed from consecutive snapshots (rates from
 * counter deltas, quantiles from the bucket deltas of a sliding window with Prometheus' interpolation).
 *
 * Snapshots are taken on demand, when the page polls (no timer): a poll takes one when the latest is older than
 * `minIntervalMs`, so several open pages share the samples.
 */
import type { Registry } from 'prom-client';
import type { MetricsCollector } from '../metrics/collector.js';
import { parseSampleValue } from '../metrics/exposition-parse.js';
import { histogramQuantile } from '../metrics/histogram-quantile.js';

/**
 * Prometheus' histogram_quantile (lib/metrics/histogram-quantile.ts, the package's one copy), re-exported
 * here where the dashboard's own copy used to be; it takes `Buckets` as they are.
 */
export { histogramQuantile };

/** Cumulative bucket counts of one histogram: `bounds` ascending, the last one +Inf. */
export interface Buckets {
  bounds: number[];
  counts: number[];
}

/** The histograms the page charts, by key; the collector's prefix goes in front of each name. */
export const HISTOGRAMS = {
  ttft: 'time_to_first_token_seconds',
  tpot: 'time_per_output_token_seconds',
  e2e: 'e2e_request_latency_seconds',
  queue: 'request_queue_time_seconds',
} as const;

/** Counters charted as rates (per second), summed over their extra labels. */
export const COUNTERS = {
  requests: 'request_success_total',
  promptTokens: 'prompt_tokens_total',
  generationTokens: 'generation_tokens_total',
  cachedTokens: 'prompt_cached_tokens_total',
  errors: 'request_error_total',
} as const;

/** Gauges charted and shown as they are (null when the series does not exist, e.g. the basic profile). */
export const GAUGES = {
  running: 'num_requests_running',
  waiting: 'num_requests_waiting',
  contextRequests: 'num_context_requests',
  generationRequests: 'num_generation_requests',
  kvUtilization: 'kv_cache_utilization',
  kvHitRate: 'kv_cache_hit_rate',
  kvUsedBlocks: 'kv_cache_used_blocks',
  kvMaxBlocks: 'kv_cache_max_blocks',
  iterationLatency: 'iteration_latency_seconds',
} as const;

export const QUANTILES = [0.5, 0.9, 0.99] as const;

type HistKey = keyof typeof HISTOGRAMS;
type CounterKey = keyof typeof COUNTERS;
type GaugeKey = keyof typeof GAUGES;

export interface Snapshot {
  /** Wall-clock time of the snapshot, ms since the epoch. */
  t: number;
  hist: Record<HistKey, Buckets | null>;
  counters: Record<CounterKey, number>;
  gauges: Record<GaugeKey, number | null>;
  /** dynamo_component_inflight_requests of this model, summed over endpoints (null without runtime metrics). */
  inflight: number | null;
}

/** Names of the chart series, in the order of `DashboardData.series`. */
export const SERIES = [
  'ttft_p50', 'ttft_p90', 'ttft_p99',
  'tpot_p50', 'tpot_p90', 'tpot_p99',
  'e2e_p50', 'e2e_p90', 'e2e_p99',
  'queue_p50', 'queue_p90', 'queue_p99',
  'requests_per_s', 'errors_per_s', 'prompt_tokens_per_s', 'generation_tokens_per_s', 'cached_tokens_per_s',
  'running', 'waiting', 'context_requests', 'generation_requests',
  'kv_utilization', 'kv_hit_rate', 'iteration_latency_s',
] as const;
export type SeriesName = (typeof SERIES)[number];

export interface DashboardData {
  model: string;
  profile: string;
  /** Server time of this answer, seconds since the epoch. */
  now: number;
  /** Width of the sliding window of the quantiles, seconds. */
  windowSeconds: number;
  /** Suggested poll period, ms. */
  pollMs: number;
  /** Point times (seconds since the epoch), ascending; only those after `since`. */
  t: number[];
  /** One array per series name, aligned with `t`; null where there is no value (no request in the window). */
  series: Record<SeriesName, Array<number | null>>;
  /** Lifetime totals and the latest gauges. */
  latest: {
    requests: number;
    promptTokens: number;
    generationTokens: number;
    errors: number;
    inflight: number | null;
  } & Record<GaugeKey, number | null>;
}

export interface SamplerOptions {
  collector: MetricsCollector;
  /** Where the runtime metrics live (default the collector's registry). */
  registry?: Registry;
  /** Snapshots kept (default 600). */
  maxSamples?: number;
  /** A poll takes a new snapshot when the latest is at least this old, ms (default 500). */
  minIntervalMs?: number;
  /** Sliding window of the quantiles, seconds (default 10). */
  windowSeconds?: number;
  /** Poll period the page uses, ms (default 1000). */
  pollMs?: number;
  /** Clock, ms since the epoch (tests). */
  now?: () => number;
}

interface SeriesValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

export class DashboardSampler {
  readonly collector: MetricsCollector;
  readonly registry: Registry;
  readonly maxSamples: number;
  readonly minIntervalMs: number;
  readonly windowSeconds: number;
  readonly pollMs: number;
  private readonly clock: () => number;
  private readonly samples: Snapshot[] = [];
  private pending: Promise<void> | null = null;

  constructor(options: SamplerOptions) {
    this.collector = options.collector;
    this.registry = options.registry ?? options.collector.registry;
    this.maxSamples = Math.max(2, Math.floor(options.maxSamples ?? 600));
    this.minIntervalMs = Math.max(0, options.minIntervalMs ?? 500);
    this.windowSeconds = Math.max(0.001, options.windowSeconds ?? 10);
    this.pollMs = Math.max(100, Math.floor(options.pollMs ?? 1000));
    this.clock = options.now ?? Date.now;
  }

  /** Snapshots held, oldest first. */
  get snapshots(): readonly Snapshot[] {
    return this.samples;
  }

  /** Takes a snapshot unless the latest is younger than minIntervalMs; concurrent calls share one. */
  async sample(): Promise<void> {
    if (this.pending !== null) return this.pending;
    const last = this.samples[this.samples.length - 1];
    if (last !== undefined && this.clock() - last.t < this.minIntervalMs) return;
    this.pending = this.read()
      .then((s) => {
        const prev = this.samples[this.samples.length - 1];
        if (prev !== undefined && s.t <= prev.t) s.t = prev.t + 1;
        this.samples.push(s);
        if (this.samples.length > this.maxSamples) this.samples.splice(0, this.samples.length - this.maxSamples);
      })
      .finally(() => {
        this.pending = null;
      });
    return this.pending;
  }

  /** Samples if due, then returns the points after `since` (seconds since the epoch; default all). */
  async data(since = -Infinity): Promise<DashboardData> {
    await this.sample();
    return this.build(since);
  }

  /** Builds the answer from the snapshots held. */
  build(since = -Infinity): DashboardData {
    const series = Object.fromEntries(SERIES.map((k) => [k, [] as Array<number | null>])) as DashboardData['series'];
    const t: number[] = [];
    const s = this.samples;
    const windowMs = this.windowSeconds * 1000;
    let base = 0;
    for (let i = 1; i < s.length; i++) {
      const cur = s[i];
      const tSec = cur.t / 1000;
      if (!(tSec > since)) continue;
      const prev = s[i - 1];
      // The window starts at the latest snapshot at least windowMs older (else the oldest one).
      while (base + 1 < i && s[base + 1].t <= cur.t - windowMs) base++;
      const from = s[Math.min(base, i - 1)];
      t.push(tSec);
      for (const key of Object.keys(HISTOGRAMS) as HistKey[]) {
        const d = bucketDelta(cur.hist[key], from.hist[key]);
        QUANTILES.forEach((q, qi) => {
          const v = d === null ? NaN : histogramQuantile(q, d);
          series[`${key}_p${['50', '90', '99'][qi]}` as SeriesName].push(Number.isFinite(v) ? v : null);
        });
      }
      const dt = (cur.t - prev.t) / 1000;
      series.requests_per_s.push(rate(cur.counters.requests, prev.counters.requests, dt));
      series.errors_per_s.push(rate(cur.counters.errors, prev.counters.errors, dt));
      series.prompt_tokens_per_s.push(rate(cur.counters.promptTokens, prev.counters.promptTokens, dt));
      series.generation_tokens_per_s.push(rate(cur.counters.generationTokens, prev.counters.generationTokens, dt));
      series.cached_tokens_per_s.push(rate(cur.counters.cachedTokens, prev.counters.cachedTokens, dt));
      series.running.push(cur.gauges.running);
      series.waiting.push(cur.gauges.waiting);
      series.context_requests.push(cur.gauges.contextRequests);
      series.generation_requests.push(cur.gauges.generationRequests);
      series.kv_utilization.push(cur.gauges.kvUtilization);
      series.kv_hit_rate.push(cur.gauges.kvHitRate);
      series.iteration_latency_s.push(cur.gauges.iterationLatency);
    }
    const last = s[s.length - 1];
    const gauges = last?.gauges ?? (Object.fromEntries(Object.keys(GAUGES).map((k) => [k, null])) as Snapshot['gauges']);
    return {
      model: this.collector.labels.model_name ?? 'unknown',
      profile: this.collector.profile,
      now: this.clock() / 1000,
      windowSeconds: this.windowSeconds,
      pollMs: this.pollMs,
      t,
      series,
      latest: {
        requests: last?.counters.requests ?? 0,
        promptTokens: last?.counters.promptTokens ?? 0,
        generationTokens: last?.counters.generationTokens ?? 0,
        errors: last?.counters.errors ?? 0,
        inflight: last?.inflight ?? null,
        ...gauges,
      },
    };
  }

  private async read(): Promise<Snapshot> {
    const prefix = this.collector.prefix;
    const own = this.collector.labels;
    const mine = (labels: Record<string, string | number>): boolean => {
      for (const k in own) if (String(labels[k]) !== own[k]) return false;
      return true;
    };
    const values = async (name: string): Promise<SeriesValue[] | null> => {
      const metric = this.registry.getSingleMetric(name);
      if (metric === undefined) return null;
      const got = (await metric.get()) as { values: SeriesValue[] };
      return got.values;
    };
    const hist = {} as Snapshot['hist'];
    for (const [key, name] of Object.entries(HISTOGRAMS) as Array<[HistKey, string]>) {
      const vals = await values(prefix + name);
      hist[key] = vals === null ? null : buckets(vals.filter((v) => v.metricName === `${prefix}${name}_bucket` && mine(v.labels)));
    }
    const counters = {} as Snapshot['counters'];
    for (const [key, name] of Object.entries(COUNTERS) as Array<[CounterKey, string]>) {
      const vals = await values(prefix + name);
      counters[key] = vals === null ? 0 : vals.filter((v) => mine(v.labels)).reduce((a, v) => a + v.value, 0);
    }
    const gauges = {} as Snapshot['gauges'];
    for (const [key, name] of Object.entries(GAUGES) as Array<[GaugeKey, string]>) {
      const vals = await values(prefix + name);
      const hit = vals?.find((v) => mine(v.labels));
      gauges[key] = hit !== undefined && Number.isFinite(hit.value) ? hit.value : null;
    }
    const inflightVals = await values('dynamo_component_inflight_requests');
    const model = own.model_name;
    const inflightHits = inflightVals?.filter((v) => String(v.labels.model) === model) ?? [];
    const inflight = inflightHits.length === 0 ? null : inflightHits.reduce((a, v) => a + v.value, 0);
    return { t: this.clock(), hist, counters, gauges, inflight };
  }
}

/** Cumulative buckets from prom-client `_bucket` values of one series (null when there are none). */
function buckets(vals: SeriesValue[]): Buckets | null {
  if (vals.length === 0) return null;
  const pairs = vals.map((v) => {
    const le = v.labels.le;
    const bound = typeof le === 'number' ? le : parseSampleValue(le);
    return [bound, v.value] as const;
  });
  pairs.sort((a, b) => a[0] - b[0]);
  return { bounds: pairs.map((p) => p[0]), counts: pairs.map((p) => p[1]) };
}

/** cur - prev per bucket; a decrease (the series was reset) counts the current values alone. */
function bucketDelta(cur: Buckets | null, prev: Buckets | null): Buckets | null {
  if (cur === null) return null;
  if (prev === null || prev.bounds.length !== cur.bounds.length) return cur;
  const counts = cur.counts.map((c, i) => c - prev.counts[i]);
  if (counts.some((c) => c < 0)) return cur;
  return { bounds: cur.bounds, counts };
}

function rate(cur: number, prev: number, dt: number): number | null {
  if (!(dt > 0)) return null;
  const d = cur >= prev ? cur - prev : cur;
  return d / dt;
}
