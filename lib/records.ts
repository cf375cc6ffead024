/**
 * The raw finished-request record: one row of `REQUEST_RECORD_STRIDE` float64 slots per finished request,
 * packed back to back in a Float64Array. The bridge hands batches of rows to JS in one call; the metrics
 * layer reads them in place, without an object per request.
 *
 * Units: timestamps are nanoseconds on the steady clock (CLOCK_MONOTONIC, the clock process.hrtime reads),
 * relative to `epochNs` of the engine that produced them (absolute ns = epochNs + BigInt(Math.round(value))).
 * A timestamp of 0 means "never set". Counts are plain integers. Optional integers use -1 for "absent".
 */
export const RecordField = {
  /** Executor request id. */
  REQUEST_ID: 0,
  /**
   * When the caller enqueued the request (our stamp, taken just before enqueueRequest), ns; for a request
   * with a scheduled arrival (the simulator's simArrivalTimeNs), that arrival.
   */
  ENQUEUE_TIME_NS: 1,
  /** RequestPerfMetrics.timingMetrics.arrivalTime (stamped by the executor when it fetched the request), ns. */
  ARRIVAL_TIME_NS: 2,
  /** timingMetrics.firstScheduledTime, ns. */
  FIRST_SCHEDULED_TIME_NS: 3,
  /** timingMetrics.firstTokenTime, ns. */
  FIRST_TOKEN_TIME_NS: 4,
  /** timingMetrics.lastTokenTime, ns. */
  LAST_TOKEN_TIME_NS: 5,
  /** Number of prompt tokens. */
  PROMPT_TOKENS: 6,
  /** Number of generated tokens (all sequences). */
  OUTPUT_TOKENS: 7,
  /** Prompt tokens served from the KV cache (reused blocks x tokens per block, at most the prompt). */
  CACHED_TOKENS: 8,
  /** Sequences requested (numReturnSequences x beam width as the executor counts them; 1 normally). */
  NUM_SEQUENCES: 9,
  /** FinishReason code (see FINISH_REASON_CODES); ERROR_FINISH_CODE when the request ended in an error. */
  FINISH_REASON: 10,
  /** kvCacheMetrics.numTotalAllocatedBlocks. */
  KV_TOTAL_ALLOCATED_BLOCKS: 11,
  /** kvCacheMetrics.numNewAllocatedBlocks. */
  KV_NEW_ALLOCATED_BLOCKS: 12,
  /** kvCacheMetrics.numReusedBlocks. */
  KV_REUSED_BLOCKS: 13,
  /** kvCacheMetrics.numMissedBlocks. */
  KV_MISSED_BLOCKS: 14,
  /** kvCacheMetrics.kvCacheHitRate, 0..1. */
  KV_HIT_RATE: 15,
  /** speculativeDecoding.acceptanceRate, 0..1. */
  SPEC_ACCEPTANCE_RATE: 16,
  /** speculativeDecoding.totalAcceptedDraftTokens. */
  SPEC_ACCEPTED_DRAFT_TOKENS: 17,
  /** speculativeDecoding.totalDraftTokens. */
  SPEC_DRAFT_TOKENS: 18,
  /** firstIter, or -1. */
  FIRST_ITER: 19,
  /** lastIter, or -1. */
  LAST_ITER: 20,
  /** timingMetrics.kvCacheTransferStart, ns (disaggregated serving; 0 otherwise). */
  KV_TRANSFER_START_NS: 21,
  /** timingMetrics.kvCacheTransferEnd, ns. */
  KV_TRANSFER_END_NS: 22,
  /** Bit flags: RECORD_FLAG_*. */
  FLAGS: 23,
  /** Sum of the generated tokens' log probabilities (sequence 0), when the request set returnLogProbs. */
  GEN_LOGPROB_SUM: 24,
  /** Number of generated tokens with a log probability (0 when the request did not ask for them). */
  GEN_LOGPROB_COUNT: 25,
} as const;

export const REQUEST_RECORD_STRIDE = 26;

/** The request ended with an error Response (not a success; FINISH_REASON is ERROR_FINISH_CODE). */
export const RECORD_FLAG_ERROR = 1;
/** The executor attached RequestPerfMetrics (timestamps are meaningful). */
export const RECORD_FLAG_HAS_PERF = 2;

/** TensorRT-LLM's FinishReason enum values. */
export const FinishReasonCode = {
  NOT_FINISHED: 0,
  END_ID: 1,
  STOP_WORDS: 2,
  LENGTH: 3,
  TIMED_OUT: 4,
  CANCELLED: 5,
} as const;
export const ERROR_FINISH_CODE = 6;

/** The `finished_reason` label value of each FinishReason code, as TensorRT-LLM's collector writes it. */
export const FINISHED_REASON_LABELS: readonly string[] = [
  'not_finished', // kNOT_FINISHED (context-only requests in disaggregated serving)
  'stop', // kEND_ID
  'stop', // kSTOP_WORDS
  'length', // kLENGTH
  'timeout', // kTIMED_OUT
  'cancelled', // kCANCELLED
  'error', // an error Response (never counted as success)
];

/**
 * The arrival the metrics use (REFERENCE.md section 1): the executor stamps arrivalTime when it fetches the
 * request, later than the caller's enqueue, so the earlier of the two timestamps that are set (nonzero) wins.
 * Returns 0 when neither is set. Units as given (ns in records, seconds in objects).
 */
export function effectiveArrival(enqueueTime: number, arrivalTime: number): number {
  return enqueueTime !== 0 && (arrivalTime === 0 || enqueueTime < arrivalTime) ? enqueueTime : arrivalTime;
}

/** A batch of finished-request records: `count` rows of REQUEST_RECORD_STRIDE in `data` (which may be longer). */
export interface RequestRecordBatch {
  readonly data: Float64Array;
  readonly count: number;
  /** Steady-clock nanoseconds that the relative timestamps count from. */
  readonly epochNs: bigint;
}
