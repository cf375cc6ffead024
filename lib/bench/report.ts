/**
 * The report of a run (the object --json writes; its schema is documented in docs/bench.md): the
 * configuration, request counts, client-side and engine-side throughput and latency summaries, the
 * quantiles Prometheus' histogram_quantile would compute from the metrics layer's histograms next to the
 * exact values, and a throughput time series. Latencies are in seconds; summaries use percentiles.ts.
 */
import type { ClientResults } from './client-results.js';
import { RequestStatus } from './client-results.js';
import type { EngineValues, RecordStore } from './engine-records.js';
import { histogramDelta, histogramFromSamples, parseExposition, type HistogramData } from '../metrics/exposition-parse.js';
import { FloatList } from './float-list.js';
import { histogramQuantile } from '../metrics/histogram-quantile.js';
import { percentileSorted, sortedCopy, summarize, type Summary } from './percentiles.js';
import type { GoodputResult } from './goodput.js';
import type { ServerTimeline } from './server-timeline.js';
import type { TargetFinal } from './target.js';

export const REPORT_SCHEMA_VERSION = 1;

/** The request timings' histogram of each engine-side metric, by name without the prefix. */
export const PROMETHEUS_HISTOGRAMS = {
  ttft_s: 'time_to_first_token_seconds',
  tpot_s: 'time_per_output_token_seconds',
  e2e_s: 'e2e_request_latency_seconds',
  queue_s: 'request_queue_time_seconds',
  prefill_s: 'request_prefill_time_seconds',
  decode_s: 'request_decode_time_seconds',
} as const;
export type EngineMetricKey = keyof typeof PROMETHEUS_HISTOGRAMS;

export const QUANTILES = [0.5, 0.9, 0.99] as const;

export interface ReportConfig {
  target: 'in-process' | 'url';
  url: string | null;
  model: string;
  num_requests: number;
  concurrency: number | null;
  request_rate: number | null;
  seed: number;
  input_len: string | null;
  output_len: string | null;
  dataset: string | null;
  prefix_share: { fraction: number; tokens: number } | null;
  stream: boolean;
  virtual_clock: boolean;
  speedup_ratio: number | null;
  engine: { max_batch_size: number | null; max_num_tokens: number | null; kv_blocks: number | null; tokens_per_block: number | null } | null;
  metrics_url: string | null;
  metrics_prefix: string;
  /** The workload kind (vLLM's --dataset-name; `file`: a dataset file of a recognized format). */
  dataset_name?: string;
  /** The server API path (null in-process). */
  endpoint?: string | null;
  /** The load beyond rate and concurrency. */
  load?: {
    burstiness: number;
    ramp_up: { strategy: string; start_rps: number; end_rps: number } | null;
    warmup_requests: number;
    duration_s: number | null;
    cancel_rate: number;
    cancel_after_ms: number;
  };
}

export interface Throughput {
  duration_s: number;
  requests: number;
  request_throughput: number;
  /** Token fields are null where the source has no token counts (engine side from /perf_metrics). */
  input_tokens: number | null;
  output_tokens: number | null;
  output_token_throughput: number | null;
  total_token_throughput: number | null;
}

export interface ClientSection extends Throughput {
  clock: 'wall';
  /** Client times count from this instant of the steady clock (s; CLOCK_MONOTONIC, the clock of perf metrics and /perf_metrics). */
  t0_steady_s?: number;
  /** CPU seconds the harness process used during the run (close to duration_s: the client may be the bottleneck). */
  cpu_s?: number;
  cached_tokens: number | null;
  ttft_s: Summary;
  /** Time to second token (aiperf): second output - first output. */
  ttst_s?: Summary;
  tpot_s: Summary;
  itl_s: Summary;
  e2e_s: Summary;
}

export interface EngineSection extends Throughput {
  clock: 'simulated' | 'steady';
  source: 'records' | 'perf_metrics';
  errors: number;
  records_dropped: number;
  cached_tokens: number | null;
  kv_cache: { total_allocated_blocks: number; new_allocated_blocks: number; reused_blocks: number; missed_blocks: number; hit_rate: number | null };
  finish_reasons: Record<string, number>;
  ttft_s: Summary;
  tpot_s: Summary;
  e2e_s: Summary;
  queue_s: Summary;
  prefill_s: Summary;
  decode_s: Summary;
}

export interface QuantileComparison {
  q: number;
  prometheus: number | null;
  exact: number | null;
  /** (prometheus - exact) / exact; null when either is missing or exact is 0. */
  relative_error: number | null;
}

export interface PrometheusMetric {
  metric: string;
  count: number;
  sum: number;
  quantiles: QuantileComparison[];
}

export interface PrometheusSection {
  source: 'collector' | 'metrics_url';
  method: 'histogram_quantile';
  reference: 'engine' | 'client';
  metrics: Partial<Record<EngineMetricKey, PrometheusMetric>>;
}

export interface TimeSeries {
  clock: 'simulated' | 'steady' | 'wall';
  start_s: number;
  bin_s: number;
  output_tokens_per_s: number[];
  requests_per_s: number[];
}

export interface BenchReport {
  schema_version: number;
  tool: string;
  started_at: string;
  config: ReportConfig;
  requests: {
    sent: number;
    completed: number;
    failed: number;
    finish_reasons: Record<string, number>;
    errors: Array<{ message: string; count: number }>;
    /** Requests the harness cancelled (--request-cancel-rate); neither completed nor failed. */
    cancelled?: number;
    /** Failed and cancelled requests by kind (http_4xx, http_5xx, timeout, connection, stream_error, protocol, engine, cancelled). */
    errors_by_kind?: Record<string, number>;
  };
  client: ClientSection;
  engine: EngineSection | null;
  prometheus: PrometheusSection | null;
  timeseries: TimeSeries | null;
  /** --goodput: the requests meeting every SLO. */
  goodput?: GoodputResult | null;
  /** The server's gauges and counter rates during the run (--metrics-url; in-process on a real clock). */
  server_timeline?: ServerTimeline | null;
  notes: string[];
  harness_wall_s: number;
}

/** The sample arrays behind the summaries (for --plot; not serialized). */
export interface Distributions {
  client: Record<'ttft_s' | 'ttst_s' | 'tpot_s' | 'itl_s' | 'e2e_s', Float64Array>;
  engine: Record<EngineMetricKey, Float64Array> | null;
}

function throughput(durationS: number, requests: number, inputTokens: number, outputTokens: number): Throughput {
  const d = durationS > 0 ? durationS : Number.NaN;
  return {
    duration_s: durationS,
    requests,
    request_throughput: requests / d,
    input_tokens: inputTokens,
    output_tokens: outputTokens,
    output_token_throughput: outputTokens / d,
    total_token_throughput: (inputTokens + outputTokens) / d,
  };
}

export function clientSection(r: ClientResults, durationS: number): { section: ClientSection; values: Distributions['client'] } {
  const ttft = new FloatList(r.n);
  const ttst = new FloatList(r.n);
  const tpot = new FloatList(r.n);
  const e2e = new FloatList(r.n);
  let inTok = 0;
  let outTok = 0;
  let cached = 0;
  let cachedKnown = false;
  const add = (list: FloatList, v: number): void => {
    if (!Number.isNaN(v)) list.push(v);
  };
  for (let i = 0; i < r.n; i++) {
    if (r.status[i] !== RequestStatus.OK) continue;
    inTok += r.promptTokens[i]!;
    outTok += r.outputTokens[i]!;
    if (r.cachedTokens[i]! >= 0) {
      cached += r.cachedTokens[i]!;
      cachedKnown = true;
    }
    add(e2e, r.e2el(i));
    add(ttft, r.ttft(i));
    add(ttst, r.ttst(i));
    add(tpot, r.tpot(i));
  }
  const values = { ttft_s: ttft.view(), ttst_s: ttst.view(), tpot_s: tpot.view(), itl_s: r.pooledItl(), e2e_s: e2e.view() };
  return {
    section: {
      clock: 'wall',
      ...throughput(durationS, r.completed, inTok, outTok),
      cached_tokens: cachedKnown ? cached : null,
      ttft_s: summarize(values.ttft_s),
      ttst_s: summarize(values.ttst_s),
      tpot_s: summarize(values.tpot_s),
      itl_s: summarize(values.itl_s),
      e2e_s: summarize(values.e2e_s),
    },
    values,
  };
}

export function engineSection(
  v: EngineValues,
  clock: 'simulated' | 'steady',
  source: 'records' | 'perf_metrics',
  recordsDropped: number,
): { section: EngineSection; values: NonNullable<Distributions['engine']> } {
  const duration = Number.isNaN(v.firstArrival) || Number.isNaN(v.lastToken) ? 0 : v.lastToken - v.firstArrival;
  const lookups = v.kv.reusedBlocks + v.kv.missedBlocks;
  const values = { ttft_s: v.ttft, tpot_s: v.tpot, e2e_s: v.e2e, queue_s: v.queue, prefill_s: v.prefill, decode_s: v.decode };
  const tp = throughput(duration, v.requests, v.inputTokens, v.outputTokens);
  const hasTokens = source === 'records';
  if (!hasTokens) {
    tp.input_tokens = null;
    tp.output_tokens = null;
    tp.output_token_throughput = null;
    tp.total_token_throughput = null;
  }
  return {
    section: {
      clock,
      source,
      ...tp,
      errors: v.errors,
      records_dropped: recordsDropped,
      cached_tokens: hasTokens ? v.cachedTokens : null,
      kv_cache: {
        total_allocated_blocks: v.kv.totalAllocatedBlocks,
        new_allocated_blocks: v.kv.newAllocatedBlocks,
        reused_blocks: v.kv.reusedBlocks,
        missed_blocks: v.kv.missedBlocks,
        hit_rate: lookups > 0 ? v.kv.reusedBlocks / lookups : null,
      },
      finish_reasons: hasTokens ? v.finishReasons : {},
      ttft_s: summarize(v.ttft),
      tpot_s: summarize(v.tpot),
      e2e_s: summarize(v.e2e),
      queue_s: summarize(v.queue),
      prefill_s: summarize(v.prefill),
      decode_s: summarize(v.decode),
    },
    values,
  };
}

const finiteOrNull = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : x);

/**
 * histogram_quantile of each request histogram in the exposition (its increase since `before`, when
 * given), against the exact percentile of the reference values.
 */
export function prometheusSection(
  exposition: string,
  before: string | null,
  prefix: string,
  match: Record<string, string>,
  reference: Partial<Record<EngineMetricKey, Float64Array>>,
  referenceSource: 'engine' | 'client',
  source: PrometheusSection['source'],
): PrometheusSection | null {
  const after = parseExposition(exposition);
  const prior = before === null ? null : parseExposition(before);
  const metrics: PrometheusSection['metrics'] = {};
  let any = false;
  for (const [key, suffix] of Object.entries(PROMETHEUS_HISTOGRAMS) as Array<[EngineMetricKey, string]>) {
    const name = prefix + suffix;
    let m = match;
    let h = histogramFromSamples(after, name, m);
    if (h === null && Object.keys(match).length > 0) {
      m = {};
      h = histogramFromSamples(after, name);
    }
    if (h === null) continue;
    let data: HistogramData = h;
    if (prior !== null) data = histogramDelta(histogramFromSamples(prior, name, m), h);
    const ref = reference[key];
    const sorted = ref ? sortedCopy(ref) : null;
    metrics[key] = {
      metric: name,
      count: data.count,
      sum: data.sum,
      quantiles: QUANTILES.map((q) => {
        const prom = finiteOrNull(histogramQuantile(q, data.buckets));
        const exact = sorted ? percentileSorted(sorted, q * 100) : null;
        return { q, prometheus: prom, exact, relative_error: prom !== null && exact !== null && exact !== 0 ? (prom - exact) / exact : null };
      }),
    };
    any = true;
  }
  if (!any) return null;
  return { source, method: 'histogram_quantile', reference: referenceSource, metrics };
}

/**
 * Output tokens per second over time: each request's tokens are spread evenly over [first, last]; requests
 * per second count completions. `bins` bins over [start, end].
 */
export function timeSeries(
  spans: { first: Float64Array; last: Float64Array; tokens: Float64Array },
  clock: TimeSeries['clock'],
  bins = 100,
): TimeSeries | null {
  const n = spans.first.length;
  if (n === 0) return null;
  let start = Infinity;
  let end = -Infinity;
  for (let i = 0; i < n; i++) {
    if (spans.first[i]! < start) start = spans.first[i]!;
    if (spans.last[i]! > end) end = spans.last[i]!;
  }
  const span = end - start;
  const binS = span > 0 ? span / bins : 1;
  const count = span > 0 ? bins : 1;
  const tokens = new Float64Array(count);
  const reqs = new Float64Array(count);
  const binOf = (t: number): number => Math.min(count - 1, Math.max(0, Math.floor((t - start) / binS)));
  for (let i = 0; i < n; i++) {
    const f = spans.first[i]!;
    const l = spans.last[i]!;
    const tok = spans.tokens[i]!;
    const a = binOf(f);
    const b = binOf(l);
    reqs[b]! += 1;
    if (a === b || l <= f) {
      tokens[b]! += tok;
      continue;
    }
    const rate = tok / (l - f);
    for (let k = a; k <= b; k++) {
      const lo = Math.max(f, start + k * binS);
      const hi = k === b ? l : Math.min(l, start + (k + 1) * binS);
      if (hi > lo) tokens[k]! += rate * (hi - lo);
    }
  }
  return {
    clock,
    start_s: start,
    bin_s: binS,
    output_tokens_per_s: Array.from(tokens, (t) => t / binS),
    requests_per_s: Array.from(reqs, (t) => t / binS),
  };
}

/** Client spans for the time series when there are no engine records: [first token or send, end]. */
export function clientSpans(r: ClientResults): { first: Float64Array; last: Float64Array; tokens: Float64Array } {
  const first = new FloatList(r.n);
  const last = new FloatList(r.n);
  const tokens = new FloatList(r.n);
  for (let i = 0; i < r.n; i++) {
    if (r.status[i] !== RequestStatus.OK) continue;
    const f = r.firstTokenTime[i]!;
    first.push(Number.isNaN(f) ? r.sendTime[i]! : f);
    last.push(r.lastTokenTime[i]!);
    tokens.push(r.outputTokens[i]!);
  }
  return { first: first.view(), last: last.view(), tokens: tokens.view() };
}

export interface BuildInput {
  config: ReportConfig;
  startedAt: Date;
  results: ClientResults;
  runWallS: number;
  /** The run's start on the steady clock (s; CLOCK_MONOTONIC, as perf metrics), and the harness's CPU time during the run. */
  runT0SteadyS?: number;
  runCpuS?: number;
  final: TargetFinal;
  engineClock: 'simulated' | 'steady' | null;
  harnessWallS: number;
  notes: string[];
  goodput?: GoodputResult | null;
  serverTimeline?: ServerTimeline | null;
}

export function buildReport(b: BuildInput): { report: BenchReport; distributions: Distributions } {
  const r = b.results;
  const client = clientSection(r, b.runWallS);
  let engine: ReturnType<typeof engineSection> | null = null;
  const store: RecordStore | null = b.final.records;
  if (store !== null && b.engineClock !== null && b.final.recordsSource !== null) {
    engine = engineSection(store.values(), b.engineClock, b.final.recordsSource, b.final.recordsDropped);
  }
  let prometheus: PrometheusSection | null = null;
  if (b.final.exposition !== null) {
    const reference = engine ? engine.values : { ttft_s: client.values.ttft_s, tpot_s: client.values.tpot_s, e2e_s: client.values.e2e_s };
    prometheus = prometheusSection(
      b.final.exposition,
      b.final.expositionBefore,
      b.config.metrics_prefix,
      b.final.seriesMatch,
      reference,
      engine ? 'engine' : 'client',
      b.config.target === 'url' ? 'metrics_url' : 'collector',
    );
  }
  let ts: TimeSeries | null = null;
  if (store !== null && b.final.recordsSource === 'records' && b.engineClock !== null) ts = timeSeries(store.tokenSpans(), b.engineClock);
  else ts = timeSeries(clientSpans(r), 'wall');
  const finishReasons: Record<string, number> = {};
  for (const [k, v] of [...r.finishReasons.entries()].sort()) finishReasons[k] = v;
  const report: BenchReport = {
    schema_version: REPORT_SCHEMA_VERSION,
    tool: 'trtllm-metrics bench',
    started_at: b.startedAt.toISOString(),
    config: b.config,
    requests: {
      sent: r.sent,
      completed: r.completed,
      failed: r.failed,
      finish_reasons: finishReasons,
      errors: [...r.errors.entries()].map(([message, count]) => ({ message, count })),
      cancelled: r.cancelled,
      errors_by_kind: Object.fromEntries([...r.errorKinds.entries()].sort()),
    },
    client: { ...client.section, t0_steady_s: b.runT0SteadyS, cpu_s: b.runCpuS },
    engine: engine ? engine.section : null,
    prometheus,
    timeseries: ts,
    goodput: b.goodput ?? null,
    server_timeline: b.serverTimeline ?? null,
    notes: b.notes,
    harness_wall_s: b.harnessWallS,
  };
  return { report, distributions: { client: client.values, engine: engine ? engine.values : null } };
}

/** JSON text of the report: non-finite numbers become null (JSON has no NaN or Infinity). */
export function reportToJson(report: BenchReport): string {
  return JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n';
}
