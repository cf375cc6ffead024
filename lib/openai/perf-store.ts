/**
 * GET /perf_metrics: the per-request perf metrics of recently finished requests, in trtllm-serve's shape,
 * drained on read (as trtllm-serve does). A bounded ring: when more than `capacity` requests finish between
 * two reads, the oldest are dropped (counted in `dropped`). Rows are copied raw from the engine's
 * finished-request records (24 float64 each) and turned into JSON only when read.
 *
 * Entry: {"request_id": 7, "perf_metrics": {"first_iter", "last_iter",
 *   "timing_metrics": {"arrival_time", "first_scheduled_time", "first_token_time", "last_token_time"}  // s, steady clock
 *   "kv_cache_metrics": {"num_total_allocated_blocks", "num_new_allocated_blocks", "num_reused_blocks", "num_missed_blocks"},
 *   "speculative_decoding": {...}  // only when draft tokens were used }}
 */
import { perfMetricsFromRecord } from '../request-timings.js';
import { RECORD_FLAG_ERROR, RECORD_FLAG_HAS_PERF, RecordField, REQUEST_RECORD_STRIDE, type RequestRecordBatch } from '../records.js';

export interface PerfMetricsEntry {
  request_id: number;
  perf_metrics: {
    first_iter: number | null;
    last_iter: number | null;
    timing_metrics: Record<string, number>;
    kv_cache_metrics: Record<string, number>;
    speculative_decoding?: Record<string, number>;
  };
}

export class PerfMetricsStore {
  /** Entries dropped because the ring was full. */
  dropped = 0;
  private readonly rows: Float64Array;
  private readonly epochs: bigint[];
  private head = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.rows = new Float64Array(Math.max(0, capacity) * REQUEST_RECORD_STRIDE);
    this.epochs = new Array<bigint>(Math.max(0, capacity)).fill(0n);
  }

  /** The engine's onRequestFinished listener: keeps successful rows that carry perf metrics. */
  readonly onRecords = (batch: RequestRecordBatch): void => {
    if (this.capacity === 0) return;
    const { data, count, epochNs } = batch;
    for (let i = 0; i < count; i++) {
      const off = i * REQUEST_RECORD_STRIDE;
      const flags = data[off + RecordField.FLAGS]!;
      if (flags & RECORD_FLAG_ERROR || !(flags & RECORD_FLAG_HAS_PERF)) continue;
      const slot = (this.head + this.size) % this.capacity;
      if (this.size === this.capacity) {
        this.head = (this.head + 1) % this.capacity;
        this.dropped++;
      } else {
        this.size++;
      }
      this.rows.set(data.subarray(off, off + REQUEST_RECORD_STRIDE), slot * REQUEST_RECORD_STRIDE);
      this.epochs[slot] = epochNs;
    }
  };

  /** Returns and forgets the stored entries, oldest first. */
  drain(): PerfMetricsEntry[] {
    const out: PerfMetricsEntry[] = [];
    for (let i = 0; i < this.size; i++) {
      const slot = (this.head + i) % this.capacity;
      out.push(toEntry(this.rows, slot * REQUEST_RECORD_STRIDE, this.epochs[slot]!));
    }
    this.head = 0;
    this.size = 0;
    return out;
  }
}

function toEntry(rows: Float64Array, off: number, epochNs: bigint): PerfMetricsEntry {
  const m = perfMetricsFromRecord(rows, off, epochNs);
  const t = m.timingMetrics;
  const timing: Record<string, number> = {
    arrival_time: t.arrivalTime,
    first_scheduled_time: t.firstScheduledTime,
    first_token_time: t.firstTokenTime,
    last_token_time: t.lastTokenTime,
  };
  if (t.kvCacheTransferStart > 0 || t.kvCacheTransferEnd > 0) {
    timing.kv_cache_transfer_start = t.kvCacheTransferStart;
    timing.kv_cache_transfer_end = t.kvCacheTransferEnd;
  }
  const kv = m.kvCacheMetrics;
  const entry: PerfMetricsEntry = {
    request_id: rows[off + RecordField.REQUEST_ID]!,
    perf_metrics: {
      first_iter: m.firstIter,
      last_iter: m.lastIter,
      timing_metrics: timing,
      kv_cache_metrics: {
        num_total_allocated_blocks: kv.numTotalAllocatedBlocks,
        num_new_allocated_blocks: kv.numNewAllocatedBlocks,
        num_reused_blocks: kv.numReusedBlocks,
        num_missed_blocks: kv.numMissedBlocks,
      },
    },
  };
  const s = m.speculativeDecoding;
  if (s.totalDraftTokens > 0) {
    entry.perf_metrics.speculative_decoding = {
      acceptance_rate: s.acceptanceRate,
      total_accepted_draft_tokens: s.totalAcceptedDraftTokens,
      total_draft_tokens: s.totalDraftTokens,
    };
  }
  return entry;
}
