/**
 * The one copy of the per-request formulas (REFERENCE.md section 1) and of the conversion of a raw
 * finished-request row (lib/records.ts) into RequestPerfMetrics. The metrics collector
 * (lib/metrics/request-metrics.ts), the bench's engine side (lib/bench/engine-records.ts), the engine's
 * perf metrics on final chunks (lib/engine.ts) and GET /perf_metrics (lib/openai/perf-store.ts) all read
 * a request through this module, so the Prometheus histograms, the bench's exact percentiles and the
 * --dump-records lines describe the same values.
 *
 * Hot path: `requestTimings` computes the values of one request into a caller-owned Float64Array of
 * `TIMING_COUNT` slots, NaN for "skip" (no allocation, no object per request); the caller reuses it.
 */
import { effectiveArrival, ERROR_FINISH_CODE, RECORD_FLAG_ERROR, RecordField as F } from './records.js';

/**
 * A finished-request row that records nothing: the request ended in an error (RECORD_FLAG_ERROR in its
 * flags, or FINISH_REASON = ERROR_FINISH_CODE). It is not a success and its timings are not latencies.
 */
export function isErrorRecord(flags: number, finishReason: number): boolean {
  return (flags & RECORD_FLAG_ERROR) !== 0 || finishReason === ERROR_FINISH_CODE;
}

/** Slots of a timings array filled by `requestTimings` / `recordTimings`. */
export const Timing = {
  /** firstTokenTime - arrival. */
  TTFT: 0,
  /** lastTokenTime - arrival. */
  E2E: 1,
  /** firstScheduledTime - arrival. */
  QUEUE: 2,
  /** (lastTokenTime - firstTokenTime) / (outputTokens - 1), when outputTokens > 1 and one sequence. */
  TPOT: 3,
  /** firstTokenTime - firstScheduledTime. */
  PREFILL: 4,
  /** lastTokenTime - firstTokenTime. */
  DECODE: 5,
  /** lastTokenTime - firstScheduledTime. */
  INFERENCE: 6,
} as const;

/** Number of slots in a timings array. */
export const TIMING_COUNT = 7;

/** A timings array for `requestTimings` (reuse it: one per consumer). */
export function newTimings(): Float64Array {
  return new Float64Array(TIMING_COUNT);
}

/**
 * Computes the timing values of one request into `out` (slots: `Timing`), each `(t1 - t0) / div`: div 1e9
 * for record rows (nanoseconds), 1 for timestamps in seconds. A slot is NaN when the value is skipped:
 *
 * - arrival = the earlier of `enqueue` and `arrival` among those that are set (`effectiveArrival`);
 * - a timestamp of 0 is unset, and every value that needs one is skipped;
 * - every value <= 0 (or NaN) is skipped, except a queue time of exactly 0 when `keepZeroQueue` is true
 *   (the full profile and the bench keep it; TensorRT-LLM 1.1.0rc5, the basic profile, does not);
 * - TPOT needs `outputTokens > 1` and `numSequences === 1`;
 * - PREFILL and INFERENCE are computed only when `extended` is true (NaN otherwise): the basic profile
 *   records the first four slots only, and skips their cost.
 */
export function requestTimings(
  out: Float64Array,
  enqueue: number,
  arrivalTime: number,
  scheduled: number,
  first: number,
  last: number,
  outputTokens: number,
  numSequences: number,
  div: number,
  keepZeroQueue: boolean,
  extended: boolean,
): void {
  const arrival = effectiveArrival(enqueue, arrivalTime);
  let ttft = NaN;
  let e2e = NaN;
  let queue = NaN;
  let tpot = NaN;
  let prefill = NaN;
  let decode = NaN;
  let inference = NaN;
  if (arrival !== 0) {
    if (first !== 0) {
      const v = (first - arrival) / div;
      if (v > 0) ttft = v;
    }
    if (last !== 0) {
      const v = (last - arrival) / div;
      if (v > 0) e2e = v;
    }
    if (scheduled !== 0) {
      const v = (scheduled - arrival) / div;
      if (v > 0 || (v === 0 && keepZeroQueue)) queue = v;
    }
  }
  if (first !== 0 && last !== 0) {
    const v = (last - first) / div;
    if (outputTokens > 1 && numSequences === 1) {
      const t = v / (outputTokens - 1);
      if (t > 0) tpot = t;
    }
    if (v > 0) decode = v;
  }
  if (extended && scheduled !== 0) {
    if (first !== 0) {
      const v = (first - scheduled) / div;
      if (v > 0) prefill = v;
    }
    if (last !== 0) {
      const v = (last - scheduled) / div;
      if (v > 0) inference = v;
    }
  }
  out[0] = ttft;
  out[1] = e2e;
  out[2] = queue;
  out[3] = tpot;
  out[4] = prefill;
  out[5] = decode;
  out[6] = inference;
}

/**
 * `requestTimings` of the record row at `offset` of `data` (nanoseconds, so seconds out). The caller
 * decides whether the row counts (not an error, RECORD_FLAG_HAS_PERF set).
 */
export function recordTimings(out: Float64Array, data: Float64Array, offset: number, keepZeroQueue: boolean, extended: boolean): void {
  requestTimings(
    out,
    data[offset + F.ENQUEUE_TIME_NS]!,
    data[offset + F.ARRIVAL_TIME_NS]!,
    data[offset + F.FIRST_SCHEDULED_TIME_NS]!,
    data[offset + F.FIRST_TOKEN_TIME_NS]!,
    data[offset + F.LAST_TOKEN_TIME_NS]!,
    data[offset + F.OUTPUT_TOKENS]!,
    data[offset + F.NUM_SEQUENCES]!,
    1e9,
    keepZeroQueue,
    extended,
  );
}

/** RequestPerfMetrics. Times are seconds on the steady clock (the clock of process.hrtime); 0 = never set. */
export interface RequestPerfMetrics {
  timingMetrics: {
    /** When generate() enqueued the request (our stamp; the executor's arrival may be later), or its simArrivalTimeNs. */
    enqueueTime: number;
    arrivalTime: number;
    firstScheduledTime: number;
    firstTokenTime: number;
    lastTokenTime: number;
    kvCacheTransferStart: number;
    kvCacheTransferEnd: number;
  };
  kvCacheMetrics: {
    numTotalAllocatedBlocks: number;
    numNewAllocatedBlocks: number;
    numReusedBlocks: number;
    numMissedBlocks: number;
    kvCacheHitRate: number;
  };
  speculativeDecoding: { acceptanceRate: number; totalAcceptedDraftTokens: number; totalDraftTokens: number };
  firstIter: number | null;
  lastIter: number | null;
  /** Prompt tokens served from the KV cache. */
  cachedTokens: number;
}

/**
 * A record timestamp (ns relative to the engine's epoch) as absolute steady-clock seconds; 0 stays 0
 * (never set). `epochS` = Number(epochNs) / 1e9.
 */
export function recordSeconds(ns: number, epochS: number): number {
  return ns === 0 ? 0 : epochS + ns / 1e9;
}

/** Converts one record row (at `offset`) into RequestPerfMetrics. */
export function perfMetricsFromRecord(data: Float64Array, offset: number, epochNs: bigint): RequestPerfMetrics {
  const epochS = Number(epochNs) / 1e9;
  const t = (field: number): number => recordSeconds(data[offset + field]!, epochS);
  const iter = (field: number): number | null => {
    const v = data[offset + field]!;
    return v < 0 ? null : v;
  };
  return {
    timingMetrics: {
      enqueueTime: t(F.ENQUEUE_TIME_NS),
      arrivalTime: t(F.ARRIVAL_TIME_NS),
      firstScheduledTime: t(F.FIRST_SCHEDULED_TIME_NS),
      firstTokenTime: t(F.FIRST_TOKEN_TIME_NS),
      lastTokenTime: t(F.LAST_TOKEN_TIME_NS),
      kvCacheTransferStart: t(F.KV_TRANSFER_START_NS),
      kvCacheTransferEnd: t(F.KV_TRANSFER_END_NS),
    },
    kvCacheMetrics: {
      numTotalAllocatedBlocks: data[offset + F.KV_TOTAL_ALLOCATED_BLOCKS]!,
      numNewAllocatedBlocks: data[offset + F.KV_NEW_ALLOCATED_BLOCKS]!,
      numReusedBlocks: data[offset + F.KV_REUSED_BLOCKS]!,
      numMissedBlocks: data[offset + F.KV_MISSED_BLOCKS]!,
      kvCacheHitRate: data[offset + F.KV_HIT_RATE]!,
    },
    speculativeDecoding: {
      acceptanceRate: data[offset + F.SPEC_ACCEPTANCE_RATE]!,
      totalAcceptedDraftTokens: data[offset + F.SPEC_ACCEPTED_DRAFT_TOKENS]!,
      totalDraftTokens: data[offset + F.SPEC_DRAFT_TOKENS]!,
    },
    firstIter: iter(F.FIRST_ITER),
    lastIter: iter(F.LAST_ITER),
    cachedTokens: data[offset + F.CACHED_TOKENS]!,
  };
}
