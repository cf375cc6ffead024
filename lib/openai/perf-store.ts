/**
 * GET /perf_metrics: the per-request perf metrics of recently finished requests, in trtllm-serve's shape
 * (tensorrt_llm/serve/openai_server.py, get_perf_metrics), drained on read (as trtllm-serve does). A bounded
 * ring: when more than `capacity` requests finish between two reads, the oldest are dropped (counted in
 * `dropped`). Rows are copied raw from the engine's finished-request records and turned into JSON only when read.
 *
 * Entry: {"request_id": 7, "perf_metrics": {"first_iter", "last_iter",
 *   "timing_metrics": {"server_arrival_time", "arrival_time", "first_scheduled_time", "first_token_time",
 *                      "server_first_token_time", "last_token_time"}     // s, steady clock, + the set offset
 *   "kv_cache_metrics": {"num_total_allocated_blocks", "num_new_allocated_blocks", "num_reused_blocks", "num_missed_blocks"},
 *   "speculative_decoding": {...}  // only when draft tokens were used }}
 * server_arrival_time / server_first_token_time: when the HTTP request reached the API server and when the
 * server got the request's first token (non-streaming: its result), recorded by the API (serverTimes()); null
 * for requests that did not come through it.
 */
import { perfMetricsFromRecord } from '../request-timings.js';
import { RECORD_FLAG_ERROR, RECORD_FLAG_HAS_PERF, RecordField, REQUEST_RECORD_STRIDE, type RequestRecordBatch } from '../records.js';

export interface PerfMetricsEntry {
  request_id: number;
  perf_metrics: {
    first_iter: number | null;
    last_iter: number | null;
    timing_metrics: Record<string, number | null>;
    kv_cache_metrics: Record<string, number>;
    speculative_decoding?: Record<string, number>;
  };
}

/** The API server's own times of one request (steady-clock seconds). */
interface ServerTimes {
  arrival: number | null;
  firstToken: number | null;
}

export class PerfMetricsStore {
  /** Entries dropped because the ring was full. */
  dropped = 0;
  /** Seconds added to every time (POST /steady_clock_offset: a disaggregated server's clock offset). */
  offsetSeconds = 0;
  private readonly rows: Float64Array;
  private readonly epochs: bigint[];
  private head = 0;
  private size = 0;
  /** Server times by request id, kept until the request's entry is read or dropped (bounded). */
  private readonly serverTimes = new Map<number, ServerTimes>();
  private readonly maxServerTimes: number;

  constructor(readonly capacity: number) {
    this.rows = new Float64Array(Math.max(0, capacity) * REQUEST_RECORD_STRIDE);
    this.epochs = new Array<bigint>(Math.max(0, capacity)).fill(0n);
    // Room for a full ring plus the requests in flight; beyond it the oldest times are forgotten.
    this.maxServerTimes = Math.max(0, capacity) * 2 + 4096;
  }

  /** The API server received the HTTP request of engine request `requestId` at `arrival` (steady-clock s). */
  serverArrival(requestId: number, arrival: number): void {
    if (this.capacity === 0) return;
    this.serverTimes.set(requestId, { arrival, firstToken: null });
    if (this.serverTimes.size > this.maxServerTimes) this.serverTimes.delete(this.serverTimes.keys().next().value as number);
  }

  /** The API server got the request's first token (kept only the first time). */
  serverFirstToken(requestId: number, time: number): void {
    const t = this.serverTimes.get(requestId);
    if (t !== undefined && t.firstToken === null) t.firstToken = time;
  }

  /** The engine's onRequestFinished listener: keeps successful rows that carry perf metrics. */
  readonly onRecords = (batch: RequestRecordBatch): void => {
    if (this.capacity === 0) return;
    const { data, count, epochNs } = batch;
    for (let i = 0; i < count; i++) {
      const off = i * REQUEST_RECORD_STRIDE;
      const flags = data[off + RecordField.FLAGS]!;
      if (flags & RECORD_FLAG_ERROR || !(flags & RECORD_FLAG_HAS_PERF)) {
        this.serverTimes.delete(data[off + RecordField.REQUEST_ID]!);
        continue;
      }
      const slot = (this.head + this.size) % this.capacity;
      if (this.size === this.capacity) {
        this.serverTimes.delete(this.rows[slot * REQUEST_RECORD_STRIDE + RecordField.REQUEST_ID]!);
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
      const off = slot * REQUEST_RECORD_STRIDE;
      const id = this.rows[off + RecordField.REQUEST_ID]!;
      const server = this.serverTimes.get(id);
      this.serverTimes.delete(id);
      out.push(toEntry(this.rows, off, this.epochs[slot]!, server, this.offsetSeconds));
    }
    this.head = 0;
    this.size = 0;
    return out;
  }
}

function toEntry(rows: Float64Array, off: number, epochNs: bigint, server: ServerTimes | undefined, offset: number): PerfMetricsEntry {
  const m = perfMetricsFromRecord(rows, off, epochNs);
  const t = m.timingMetrics;
  const at = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : v + offset);
  // Key order as trtllm-serve writes them.
  const timing: Record<string, number | null> = {
    server_arrival_time: at(server?.arrival),
    arrival_time: t.arrivalTime + offset,
    first_scheduled_time: t.firstScheduledTime + offset,
    first_token_time: t.firstTokenTime + offset,
    server_first_token_time: at(server?.firstToken),
    last_token_time: t.lastTokenTime + offset,
  };
  if (t.kvCacheTransferStart > 0 || t.kvCacheTransferEnd > 0) {
    timing.kv_cache_transfer_start = t.kvCacheTransferStart + offset;
    timing.kv_cache_transfer_end = t.kvCacheTransferEnd + offset;
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
