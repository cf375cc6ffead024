/**
 * The whole native surface in one place: what the addon exports and the exact shapes that cross the boundary.
 * Nothing outside lib/ should touch the addon; lib/engine.ts wraps it.
 */
import type { SamplingOptions } from './request-options.js';
import { AddonLoadError } from './errors.js';
import type { IterationStats, BridgeCounters } from './types.js';

/**
 * Token chunks of one delivery: the first `count` rows of `meta`, CHUNK_STRIDE float64 slots per chunk (see
 * ChunkField). The arrays are reused by the next delivery (they may be longer than needed): read them during
 * the call only.
 */
export interface NativeChunks {
  count: number;
  meta: Float64Array;
  /** Tokens of all chunks back to back; a chunk's are tokens[offset .. offset + count). */
  tokens: Int32Array;
  /** Perf-metrics rows (REQUEST_RECORD_STRIDE each) of the chunks that carry them. */
  perf: Float64Array;
  /** Error messages of the chunks that carry one. */
  errors: string[];
  /** Present when a chunk carries log probabilities (CHUNK_FLAG_LOGPROBS): aligned with `tokens`. */
  logProbs?: Float32Array;
}

/** Mirrors ChunkField / ChunkFlag in native/bridge/response_chunk.h (test/native-layout.test.mjs compares them). */
export const CHUNK_STRIDE = 8;
export const ChunkField = {
  REQUEST_ID: 0,
  TOKEN_OFFSET: 1,
  TOKEN_COUNT: 2,
  /** bit 0 final, bit 1 error, bit 2 has perf metrics, bit 3 has log probabilities, bit 4 the error is the executor's own failure */
  FLAGS: 3,
  /** FinishReason of sequence 0 (final chunks). */
  FINISH_REASON: 4,
  /** Row in `perf`, or -1. */
  PERF_ROW: 5,
  /** Index in `errors`, or -1. */
  ERROR_INDEX: 6,
  SEQUENCE_INDEX: 7,
} as const;
export const CHUNK_FLAG_FINAL = 1;
export const CHUNK_FLAG_ERROR = 2;
export const CHUNK_FLAG_PERF = 4;
export const CHUNK_FLAG_LOGPROBS = 8;

/**
 * KV-cache events of one delivery, packed (native/bridge/kv_event_layout.h): `meta` has KV_EVENT_STRIDE float64
 * slots per event (KvEventField), `blocks` KV_BLOCK_STRIDE per stored block (KvBlockField); the fields index
 * `hashes` (every 64-bit value), `tokens` (stored blocks' token ids; `extraIds` beside them, empty when all
 * are 0) and `levels` (created events). lib/kv-event-batch.ts reads them.
 */
export interface NativeKvEvents {
  meta: Float64Array;
  blocks: Float64Array;
  hashes: BigUint64Array;
  tokens: Int32Array;
  extraIds: BigUint64Array;
  levels: Float64Array;
}

/** Mirrors KvEventField / KvEventType / KvBlockField (test/native-layout.test.mjs compares them). */
export const KV_EVENT_STRIDE = 11;
export const KvEventField = {
  EVENT_ID: 0,
  /** KvEventType */
  TYPE: 1,
  WINDOW_SIZE: 2,
  /** attention-DP rank, or -1 when the release reports none */
  DP_RANK: 3,
  /** stored: index in `hashes` of the parent hash, or -1 */
  PARENT_HASH: 4,
  /** stored: first row in `blocks`; removed: first index in `hashes`; updated: index in `hashes` of the block hash; created: first index in `levels` */
  FIRST: 5,
  /** stored: blocks; removed: hashes; created: levels; updated: 1 */
  COUNT: 6,
  /** updated: the diffs, NaN when absent */
  CACHE_LEVEL_OLD: 7,
  CACHE_LEVEL_NEW: 8,
  PRIORITY_OLD: 9,
  PRIORITY_NEW: 10,
} as const;
export const KvEventType = { created: 0, stored: 1, removed: 2, updated: 3 } as const;
export const KV_BLOCK_STRIDE = 6;
export const KvBlockField = {
  /** index in `hashes` */
  HASH: 0,
  TOKEN_OFFSET: 1,
  TOKEN_COUNT: 2,
  /** index in `hashes`, or -1 */
  LORA_ID: 3,
  CACHE_LEVEL: 4,
  PRIORITY: 5,
} as const;

/** The error chunk reports a failure of the executor itself (native/bridge/executor_fault.h), not of one request. */
export const CHUNK_FLAG_EXECUTOR_FAULT = 16;

/** One call from the bridge: every stream drained at once. Absent keys had nothing new. */
export interface NativeBatch {
  chunks?: NativeChunks;
  /**
   * Finished-request records, REQUEST_RECORD_STRIDE float64 each (lib/records.ts): the first `recordCount`
   * rows. The buffer is reused by the next batch: read it during the call only.
   */
  records?: Float64Array;
  recordCount?: number;
  stats?: IterationStats[];
  events?: NativeKvEvents;
  /** The last delivery after shutdown: nothing follows. */
  closed?: true;
}

/** Request fields as the addon reads them (validated in lib/request-options.ts first). */
export interface NativeRequest {
  inputTokenIds: Int32Array | number[];
  maxTokens: number;
  streaming?: boolean;
  returnPerfMetrics?: boolean;
  returnLogProbs?: boolean;
  endId?: number;
  padId?: number;
  stopWords?: (Int32Array | number[])[];
  clientId?: number;
  priority?: number;
  allottedTimeMs?: number;
  /** Simulator only: scheduled arrival, steady ns relative to epochNs. */
  simArrivalTimeNs?: number;
  /** The LoRA adapter (tensorrt_llm::executor::LoraConfig) by task id. */
  loraConfig?: { taskId: number };
  samplingConfig?: SamplingOptions;
}

export interface NativeEngineInfo {
  backend: string;
  tokensPerBlock: number;
  eventBufferCapacity: number;
  /** Absolute steady-clock ns that relative record timestamps count from. */
  epochNs: bigint;
  pending: number;
}

/** The simulator's clock and its hold (simulator-only pacing). Times: steady ns relative to epochNs. */
export interface NativeSimClockState {
  nowNs: number;
  /** No iteration starts at or after it; null when there is no hold. */
  holdNs: number | null;
  /** The hold was set with unlessBacklogged. */
  holdUnlessBacklogged: boolean;
  /** The executor has work but waits at the hold for the client. */
  paused: boolean;
  /** Real ms the current pause has lasted (0 when not paused). */
  pausedForMs: number;
  /** Times the executor started waiting at a hold; resumeSimClock() calls. */
  pauses: number;
  resumes: number;
  /** Requests with a simArrivalTimeNs that have not arrived yet. */
  scheduled: number;
}

/** What the simulator runs with (Executor::getEngineInfo); counts are per attention-DP rank. */
export interface NativeSimInfo {
  /** configured: REFERENCE.md section 5 latencies; perfModel: a model on a GPU (docs/simulator.md). */
  timingModel: 'configured' | 'perfModel';
  attentionDp: number;
  numKvBlocks: number;
  numHostKvBlocks: number;
  tokensPerBlock: number;
  maxBatchSize: number;
  maxNumTokens: number;
  /** GPU memory besides the KV cache, and of one KV block, on one GPU (bytes). */
  modelSizeBytes: number;
  kvBytesPerBlock: number;
  /** Performance model only. */
  gpu?: string;
  tp?: number;
  weightsPrecision?: string;
  kvCachePrecision?: string;
  /** LoRA adapters resident in each rank's device cache, most recently used first. */
  loraAdapters: Array<{ rank: number; taskId: number }>;
}

/** An engine instance of one backend (SimEngine, TrtllmEngine). */
export interface NativeEngine {
  /** Builds the executor off the JS thread and starts the pump threads. */
  start(): Promise<void>;
  /** Returns the executor's request id. Throws (code ERR_TRTLLM_EXECUTOR / ERR_TRTLLM_ENGINE_CLOSED). */
  enqueue(request: NativeRequest): number;
  cancel(requestId: number): void;
  /** Cancels in-flight requests, waits up to graceMs for them, stops everything, delivers the rest. */
  shutdown(graceMs: number): Promise<void>;
  /**
   * Makes the pumps poll the executor now; resolves once everything it had produced before the call has been
   * passed to onBatch. Resolves at once when closed; rejects (ERR_TRTLLM_ENGINE_CLOSED) before start().
   */
  flush(): Promise<void>;
  counters(): BridgeCounters;
  info(): NativeEngineInfo;
  /** Keep the process alive while requests are in flight. */
  ref(): void;
  unref(): void;
  /** The executor's clock (steady ns relative to epochNs). Throws ERR_TRTLLM_ENGINE_CLOSED when not running. */
  simClockNs(): number;
  /** Simulator only (ERR_TRTLLM_UNSUPPORTED elsewhere): holds the clock at atNs (default now); returns the hold. */
  holdSimClock(atNs?: number, unlessBacklogged?: boolean): number;
  /** Simulator only: clears the hold. A no-op once closed. */
  resumeSimClock(): void;
  /** Simulator only. */
  simClockState(): NativeSimClockState;
  /** Simulator only (ERR_TRTLLM_UNSUPPORTED elsewhere); throws ERR_TRTLLM_ENGINE_CLOSED when not running. */
  simInfo(): NativeSimInfo;
}

export type NativeEngineConstructor = new (options: object, onBatch: (batch: NativeBatch) => void) => NativeEngine;

export interface NativeAddon {
  SimEngine: NativeEngineConstructor;
  /** Present only when built with TensorRT-LLM (TRTLLM_ROOT). */
  TrtllmEngine?: NativeEngineConstructor;
  epochNs: bigint;
  /** Bytes the kernel send queue of TCP socket `fd` still holds (Linux SIOCOUTQ); -1 when unknown. */
  socketUnsentBytes(fd: number): number;
}

let cached: NativeAddon | undefined;

/**
 * Loads the addon once (build/Release/trtllm_metrics.node, found by `bindings`). TRTLLM_METRICS_ADDON, when
 * set, is the path of another build to load instead (scripts/asan-check.sh points it at build-asan/).
 */
export function loadAddon(): NativeAddon {
  cached ??= requireAddon('trtllm_metrics', process.env.TRTLLM_METRICS_ADDON, 'native addon') as NativeAddon;
  return cached;
}

/** @internal Loads `name`.node from the build (or the file at `override`); AddonLoadError naming `what` if that fails. */
export function requireAddon(name: string, override: string | undefined, what: string): unknown {
  try {
    if (override) return require(require('node:path').resolve(override));
    const bindings = require('bindings') as (name: string) => unknown;
    return bindings(name);
  } catch (cause) {
    throw new AddonLoadError(
      `could not load the trtllm-metrics ${what} (run \`npm run build:native\`): ${(cause as Error).message}`,
      { cause },
    );
  }
}
