/**
 * Per-iteration metrics (REFERENCE.md section 2) from the executor's IterationStats: gauges take the latest
 * value, counters add per-iteration counts or the positive deltas of cumulative fields.
 */
import { InvalidArgumentError } from '../errors.js';
import type { IterationStats } from '../types.js';
import type { CollectorHistogramName } from './buckets.js';
import { counterFamily, gaugeFamily, histogramFamily, type MetricsContext } from './context.js';
import type { CounterChild, FastGauge, GaugeChild, HistogramChild } from './fast-metrics.js';
import { combineRankStats } from './rank-stats.js';

/** Gauges: name without prefix, HELP. */
export const ITERATION_GAUGES = {
  numRequestsRunning: ['num_requests_running', 'Requests in the batch (IterationStats.numActiveRequests).'],
  numRequestsWaiting: ['num_requests_waiting', 'Requests waiting to be scheduled (IterationStats.numQueuedRequests).'],
  maxNumActiveRequests: ['max_num_active_requests', 'Most requests the batch can hold (maxNumActiveRequests).'],
  iterationLatency: ['iteration_latency_seconds', 'Duration of the latest executor iteration, in seconds.'],
  gpuMemory: ['gpu_memory_usage_bytes', 'GPU memory the executor reports in use, in bytes.'],
  cpuMemory: ['cpu_memory_usage_bytes', 'CPU memory the executor reports in use, in bytes.'],
  pinnedMemory: ['pinned_memory_usage_bytes', 'Pinned host memory the executor reports in use, in bytes.'],
  maxBatchSizeStatic: ['max_batch_size_static', 'Batch size limit the executor was configured with.'],
  maxBatchSizeRuntime: ['max_batch_size_runtime', 'Batch size limit in force at runtime.'],
  maxNumTokensRuntime: ['max_num_tokens_runtime', 'Per-iteration token limit in force at runtime.'],
  kvCacheHitRate: ['kv_cache_hit_rate', 'Share of looked-up KV blocks found in the cache (reused / (reused + missed)), 0..1.'],
  kvCacheUtilization: ['kv_cache_utilization', 'Share of KV blocks in use (used / max), 0..1.'],
  kvCacheMaxBlocks: ['kv_cache_max_blocks', 'KV blocks the cache holds in all.'],
  kvCacheFreeBlocks: ['kv_cache_free_blocks', 'KV blocks free for allocation (cached reusable blocks included).'],
  kvCacheUsedBlocks: ['kv_cache_used_blocks', 'KV blocks held by live requests.'],
  kvCacheTokensPerBlock: ['kv_cache_tokens_per_block', 'Tokens one KV block holds.'],
  numContextRequests: ['num_context_requests', 'Requests in their context (prefill) phase this iteration.'],
  numGenerationRequests: ['num_generation_requests', 'Requests in their generation (decode) phase this iteration.'],
  numPausedRequests: ['num_paused_requests', 'Requests paused for lack of KV cache this iteration.'],
  numScheduledRequests: ['num_scheduled_requests', 'Requests scheduled this iteration.'],
  totalContextTokens: ['total_context_tokens', 'Context tokens processed this iteration.'],
  avgDecodedTokensPerIter: ['avg_decoded_tokens_per_iter', 'Tokens decoded per request per iteration, on average (above 1 with speculative decoding).'],
  prefillBatchOccupancy: ['prefill_batch_occupancy', 'Fraction of max active slots occupied by context requests.'],
  specDecodeAcceptanceLength: ['spec_decode_acceptance_length', 'Tokens produced per step by requests with draft tokens, on average.'],
  specDecodeDraftOverhead: ['spec_decode_draft_overhead', 'Share of the iteration time spent drafting tokens.'],
} as const;

export const ITERATION_COUNTERS = {
  numRequestsCompleted: ['num_requests_completed_total', 'Requests the executor completed (sum of numCompletedRequests).'],
  kvCacheReusedBlocks: ['kv_cache_reused_blocks_total', 'KV blocks served from the cache (cache hits).'],
  kvCacheMissedBlocks: ['kv_cache_missed_blocks_total', 'KV blocks that had to be computed (cache misses).'],
  specDecodeNumDraftTokens: ['spec_decode_num_draft_tokens_total', 'Draft tokens proposed by speculative decoding.'],
  specDecodeNumAcceptedTokens: [
    'spec_decode_num_accepted_tokens_total',
    'Draft tokens accepted by speculative decoding.',
  ],
} as const;

export const PREFILL_BATCH_TOKENS = ['prefill_batch_tokens', 'Histogram of total context tokens per iteration.'] as const;

type GaugeKey = keyof typeof ITERATION_GAUGES;
type CounterKey = keyof typeof ITERATION_COUNTERS;

/** The previous cumulative values of one stream of cumulative counters. */
interface Cumulative {
  reused: number;
  missed: number;
}

/**
 * The previous cumulative values of one engine's stats stream. Each attached source has its own, so that
 * two engines do not read as counter resets of each other. With attention data parallelism each rank has its
 * own counters, and the gauges combine each rank's latest stats (lib/metrics/rank-stats.ts).
 */
export class CumulativeState implements Cumulative {
  reused = 0;
  missed = 0;
  readonly ranks = new Map<number, Cumulative>();
  readonly latestByRank = new Map<number, IterationStats>();
}

/** The increment of a cumulative counter: the positive delta, or (after a decrease: a reset) the new value. */
export function cumulativeDelta(prev: number, current: number): number {
  return current >= prev ? current - prev : current;
}

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

export class IterationMetrics {
  private readonly g: Record<GaugeKey, GaugeChild>;
  private readonly c: Record<CounterKey, CounterChild>;
  private readonly prefillBatchTokens: HistogramChild;
  readonly defaultState = new CumulativeState();

  constructor(ctx: MetricsContext, buckets: Readonly<Record<CollectorHistogramName, readonly number[]>>) {
    const g = {} as Record<GaugeKey, GaugeChild>;
    for (const key of Object.keys(ITERATION_GAUGES) as GaugeKey[]) {
      const [suffix, help] = ITERATION_GAUGES[key];
      const family = gaugeFamily(ctx, suffix, help);
      this.gaugeFamilies.push(family);
      g[key] = family.child(ctx.labels, ctx.owner);
    }
    const c = {} as Record<CounterKey, CounterChild>;
    for (const key of Object.keys(ITERATION_COUNTERS) as CounterKey[]) {
      const [suffix, help] = ITERATION_COUNTERS[key];
      c[key] = counterFamily(ctx, suffix, help).child(ctx.labels, ctx.owner);
    }
    this.g = g;
    this.c = c;
    this.prefillBatchTokens = histogramFamily(
      ctx,
      PREFILL_BATCH_TOKENS[0],
      PREFILL_BATCH_TOKENS[1],
      buckets.prefill_batch_tokens,
    ).child(ctx.labels, ctx.owner);
  }

  private lastMaxBlocks: number | undefined;
  /** The gauge families, so the collector can run its scrape-time sampling before they render. */
  readonly gaugeFamilies: FastGauge[] = [];

  /** The engine has no request in flight: zero the per-iteration activity gauges and the KV blocks in use. */
  markIdle(): void {
    for (const key of ['numRequestsRunning', 'numRequestsWaiting', 'numContextRequests', 'numGenerationRequests', 'numPausedRequests', 'numScheduledRequests', 'totalContextTokens', 'kvCacheUsedBlocks', 'kvCacheUtilization'] as const) {
      this.g[key].set(0);
    }
    if (this.lastMaxBlocks !== undefined) this.g.kvCacheFreeBlocks.set(this.lastMaxBlocks);
  }

  /** Records stats in order (so gauges end at the latest), with the given engine's cumulative state. */
  log(stats: IterationStats | readonly IterationStats[], state: CumulativeState = this.defaultState): void {
    if (Array.isArray(stats)) {
      for (let i = 0; i < stats.length; i++) this.logOne(stats[i] as IterationStats, state);
    } else {
      this.logOne(stats as IterationStats, state);
    }
  }

  private setGauge(key: GaugeKey, v: unknown): void {
    if (isNum(v)) this.g[key].set(v);
  }

  private logOne(s: IterationStats, state: CumulativeState): void {
    if (s === null || typeof s !== 'object') throw new InvalidArgumentError('iteration stats must be an object');
    const rank = s.attentionDpRank;
    if (typeof rank !== 'number') {
      this.logCounters(s, state);
      this.logGauges(s);
      return;
    }
    let cumulative = state.ranks.get(rank);
    if (cumulative === undefined) {
      cumulative = { reused: 0, missed: 0 };
      state.ranks.set(rank, cumulative);
    }
    this.logCounters(s, cumulative);
    state.latestByRank.set(rank, s);
    this.logGauges(combineRankStats([...state.latestByRank.values()]));
  }

  /** Per-iteration counts and the deltas of the cumulative counters of one stats stream (an engine or a rank). */
  private logCounters(s: IterationStats, state: Cumulative): void {
    if (isNum(s.numCompletedRequests) && s.numCompletedRequests > 0) {
      this.c.numRequestsCompleted.inc(s.numCompletedRequests);
    }
    const kv = s.kvCacheStats;
    if (kv !== null && typeof kv === 'object') {
      if (isNum(kv.reusedBlocks) && kv.reusedBlocks >= 0) {
        const d = cumulativeDelta(state.reused, kv.reusedBlocks);
        if (d > 0) this.c.kvCacheReusedBlocks.inc(d);
        state.reused = kv.reusedBlocks;
      }
      if (isNum(kv.missedBlocks) && kv.missedBlocks >= 0) {
        const d = cumulativeDelta(state.missed, kv.missedBlocks);
        if (d > 0) this.c.kvCacheMissedBlocks.inc(d);
        state.missed = kv.missedBlocks;
      }
    }
    const ifb = s.inflightBatchingStats;
    if (ifb !== null && typeof ifb === 'object' && isNum(ifb.numCtxTokens) && ifb.numCtxTokens > 0) {
      this.prefillBatchTokens.observe(ifb.numCtxTokens);
    }
    const spec = s.specDecodingStats;
    if (spec !== null && typeof spec === 'object') {
      if (isNum(spec.numDraftTokens) && spec.numDraftTokens > 0) this.c.specDecodeNumDraftTokens.inc(spec.numDraftTokens);
      if (isNum(spec.numAcceptedTokens) && spec.numAcceptedTokens > 0) {
        this.c.specDecodeNumAcceptedTokens.inc(spec.numAcceptedTokens);
      }
    }
  }

  /** The gauges: the latest stats (of the engine, or every rank's combined). */
  private logGauges(s: IterationStats): void {
    this.setGauge('numRequestsRunning', s.numActiveRequests);
    this.setGauge('numRequestsWaiting', s.numQueuedRequests);
    this.setGauge('maxNumActiveRequests', s.maxNumActiveRequests);
    if (isNum(s.iterLatencyMS)) this.g.iterationLatency.set(s.iterLatencyMS / 1000);
    this.setGauge('gpuMemory', s.gpuMemUsage);
    this.setGauge('cpuMemory', s.cpuMemUsage);
    this.setGauge('pinnedMemory', s.pinnedMemUsage);
    this.setGauge('maxBatchSizeStatic', s.maxBatchSizeStatic);
    this.setGauge('maxBatchSizeRuntime', s.maxBatchSizeRuntime);
    this.setGauge('maxNumTokensRuntime', s.maxNumTokensRuntime);

    const kv = s.kvCacheStats;
    if (kv !== null && typeof kv === 'object') {
      this.setGauge('kvCacheHitRate', kv.cacheHitRate);
      if (isNum(kv.usedNumBlocks) && isNum(kv.maxNumBlocks) && kv.maxNumBlocks > 0) {
        this.g.kvCacheUtilization.set(kv.usedNumBlocks / kv.maxNumBlocks);
      }
      this.setGauge('kvCacheMaxBlocks', kv.maxNumBlocks);
      if (isNum(kv.maxNumBlocks)) this.lastMaxBlocks = kv.maxNumBlocks;
      this.setGauge('kvCacheFreeBlocks', kv.freeNumBlocks);
      this.setGauge('kvCacheUsedBlocks', kv.usedNumBlocks);
      this.setGauge('kvCacheTokensPerBlock', kv.tokensPerBlock);
    }

    const ifb = s.inflightBatchingStats;
    if (ifb !== null && typeof ifb === 'object') {
      this.setGauge('numContextRequests', ifb.numContextRequests);
      this.setGauge('numGenerationRequests', ifb.numGenRequests);
      this.setGauge('numPausedRequests', ifb.numPausedRequests);
      this.setGauge('numScheduledRequests', ifb.numScheduledRequests);
      if (isNum(ifb.numCtxTokens)) this.g.totalContextTokens.set(ifb.numCtxTokens);
      this.setGauge('avgDecodedTokensPerIter', ifb.avgNumDecodedTokensPerIter);
      if (isNum(ifb.numContextRequests) && isNum(s.maxNumActiveRequests) && s.maxNumActiveRequests > 0) {
        this.g.prefillBatchOccupancy.set(ifb.numContextRequests / s.maxNumActiveRequests);
      }
    }

    const spec = s.specDecodingStats;
    if (spec !== null && typeof spec === 'object') {
      this.setGauge('specDecodeAcceptanceLength', spec.acceptanceLength);
      this.setGauge('specDecodeDraftOverhead', spec.draftOverhead);
    }
  }
}
