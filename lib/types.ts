/**
 * Public data shapes that cross from the executor into JS. Names follow TensorRT-LLM: iteration stats use the
 * camelCase keys of the executor's JSON (what trtllm-serve's /metrics and Python get_stats() return);
 * KV-cache events use the snake_case shape of Python's get_kv_cache_events(), with 64-bit hashes as BigInt.
 */
import type { RequestRecordBatch } from './records.js';

export interface KvCacheStats {
  maxNumBlocks: number;
  freeNumBlocks: number;
  usedNumBlocks: number;
  tokensPerBlock: number;
  /** Cumulative since the executor started. */
  allocTotalBlocks: number;
  /** Cumulative since the executor started. */
  allocNewBlocks: number;
  /** Cumulative since the executor started. */
  reusedBlocks: number;
  /** Cumulative since the executor started. */
  missedBlocks: number;
  /** reusedBlocks / (reusedBlocks + missedBlocks), 0..1. */
  cacheHitRate: number;
}

export interface InflightBatchingStats {
  numScheduledRequests: number;
  numContextRequests: number;
  numGenRequests: number;
  numPausedRequests: number;
  numCtxTokens: number;
  microBatchId: number;
  avgNumDecodedTokensPerIter: number;
}

export interface StaticBatchingStats {
  numScheduledRequests: number;
  numContextRequests: number;
  numCtxTokens: number;
  numGenTokens: number;
  emptyGenSlots: number;
}

export interface SpecDecodingStats {
  numDraftTokens: number;
  numAcceptedTokens: number;
  numRequestsWithDraftTokens: number;
  acceptanceLength: number;
  /** Milliseconds. */
  iterLatencyMS: number;
  draftOverhead: number;
}

/**
 * One window size's KV cache pools and what the iteration moved (TensorRT-LLM's kvCacheIterationStats; the
 * simulator's has one window size). Primary = GPU, secondary = the host tier; iter* are this iteration's counts.
 */
export interface KvCacheIterationStats {
  primaryMaxNumBlocks: number;
  primaryFreeNumBlocks: number;
  primaryUsedNumBlocks: number;
  secondaryMaxNumBlocks: number;
  secondaryFreeNumBlocks: number;
  /** Host blocks holding an offloaded block. */
  secondaryUsedNumBlocks: number;
  iterAllocTotalBlocks: number;
  iterAllocNewBlocks: number;
  iterReusedBlocks: number;
  iterFullReusedBlocks: number;
  iterPartialReusedBlocks: number;
  iterMissedBlocks: number;
  /** iterReusedBlocks / (iterReusedBlocks + iterMissedBlocks), 0..1. */
  iterCacheHitRate: number;
  iterGenAllocBlocks: number;
  /** Host -> GPU, blocks and bytes (per GPU). */
  iterOnboardBlocks: number;
  iterOnboardBytes: number;
  /** GPU -> host, blocks and bytes (per GPU). */
  iterOffloadBlocks: number;
  iterOffloadBytes: number;
  iterIntraDeviceCopyBlocks: number;
  iterIntraDeviceCopyBytes: number;
}

/** One executor iteration (Executor::getLatestIterationStats). Memory in bytes, latencies in milliseconds. */
export interface IterationStats {
  /** Iteration end, "MM-DD-YYYY HH:MM:SS" as the executor writes it. */
  timestamp: string;
  iter: number;
  iterLatencyMS: number;
  newActiveRequestsQueueLatencyMS: number;
  numNewActiveRequests: number;
  numActiveRequests: number;
  numQueuedRequests: number;
  numCompletedRequests: number;
  maxNumActiveRequests: number;
  maxBatchSizeStatic: number;
  maxBatchSizeTunerRecommended: number;
  maxBatchSizeRuntime: number;
  maxNumTokensStatic: number;
  maxNumTokensTunerRecommended: number;
  maxNumTokensRuntime: number;
  gpuMemUsage: number;
  cpuMemUsage: number;
  pinnedMemUsage: number;
  kvCacheStats?: KvCacheStats | null;
  crossKvCacheStats?: KvCacheStats | null;
  staticBatchingStats?: StaticBatchingStats | null;
  inflightBatchingStats?: InflightBatchingStats | null;
  specDecodingStats?: SpecDecodingStats | null;
  /** With attention data parallelism: the rank of these stats (one IterationStats per rank and iteration). */
  attentionDpRank?: number;
  /** By window size (as a decimal string), where the executor reports it. */
  kvCacheIterationStats?: Record<string, KvCacheIterationStats>;
}

export interface UniqueToken {
  type: 'unique_token';
  token_id: number;
  token_extra_id: bigint;
}

export interface KvCacheStoredBlock {
  type: 'stored_block';
  block_hash: bigint;
  tokens: UniqueToken[];
  lora_id: bigint | null;
  /** 0 = GPU, 1 = host. */
  cache_level: number;
  /** Retention priority 0..100 (35 by default). */
  priority: number;
}

export interface KvCacheEventDiff {
  type: 'event_diff';
  old_value: number;
  new_value: number;
}

export type KvCacheEventData =
  | { type: 'created'; num_blocks_per_cache_level: number[] }
  | { type: 'stored'; parent_hash: bigint | null; blocks: KvCacheStoredBlock[] }
  | { type: 'removed'; block_hashes: bigint[] }
  | { type: 'updated'; block_hash: bigint; cache_level: KvCacheEventDiff | null; priority: KvCacheEventDiff | null };

export interface KvCacheEvent {
  event_id: number;
  data: KvCacheEventData;
  window_size: number;
  attention_dp_rank?: number;
}

/** Counters of one bridge stream. produced == delivered + dropped + queued at every instant. */
export interface StreamCounters {
  produced: number;
  delivered: number;
  dropped: number;
  queued: number;
  capacity: number;
}

export interface BridgeCounters {
  /** Token chunks of generate() calls. Never dropped: a full queue pauses the response pump instead. */
  responses: StreamCounters;
  /** Finished-request records (the metrics stream). */
  requestRecords: StreamCounters;
  iterationStats: StreamCounters;
  kvEvents: StreamCounters;
  /** Events the executor itself dropped from its own buffer before we read them (when it reports it). */
  kvEventsDroppedByExecutor: number;
}

/**
 * What the metrics layer needs from an engine: implemented by Engine; a test can implement it with
 * synthetic data. Each on*() returns a function that unsubscribes.
 */
export interface MetricsSource {
  readonly modelName: string;
  onRequestFinished(listener: (batch: RequestRecordBatch) => void): () => void;
  onIterationStats(listener: (stats: readonly IterationStats[]) => void): () => void;
  onKvCacheEvents(listener: (events: readonly KvCacheEvent[]) => void): () => void;
  /** Bridge stream counters, read at scrape time. */
  counters(): BridgeCounters;
  /** KV event buffer capacity of the executor (eventBufferMaxSize), 0 when KV events are off. */
  readonly kvEventBufferCapacity: number;
  /** True once the engine serves requests; false after shutdown. Drives /health. */
  readonly ready: boolean;
  /**
   * Requests enqueued and not finished. When every attached source reports 0, the collector shows the
   * engine as idle at scrape (no running/waiting requests, no KV blocks in use): an idle executor runs no
   * iterations, so its last iteration stats would otherwise stay on the gauges.
   */
  readonly inflight?: number;
}
