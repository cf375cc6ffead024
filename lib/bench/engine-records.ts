/**
 * The engine side of a run: every finished-request record (lib/records.ts rows), copied raw as the engine
 * delivers them (one Float64Array, no object per request), and what is computed from them: the values the
 * metrics layer records (computed by the same code, lib/request-timings.ts, so the exact quantiles and the
 * Prometheus histograms describe the same observations) and the --dump-records lines.
 *
 * Arrival: the earlier of our enqueue stamp and the executor's arrivalTime (among those set), as the
 * metrics layer uses it (REFERENCE.md section 1).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import {
  effectiveArrival,
  FINISHED_REASON_LABELS,
  RECORD_FLAG_ERROR,
  RECORD_FLAG_HAS_PERF,
  RecordField as F,
  REQUEST_RECORD_STRIDE as STRIDE,
  type RequestRecordBatch,
} from '../records.js';
import { isErrorRecord, newTimings, recordSeconds, recordTimings, Timing } from '../request-timings.js';
import { FloatList } from './float-list.js';

/** The Timing slots of the engine table (the metrics layer's values: lib/request-timings.ts). */
const REPORTED = [Timing.TTFT, Timing.E2E, Timing.QUEUE, Timing.TPOT, Timing.PREFILL, Timing.DECODE] as const;

export interface EngineValues {
  /** Successful requests (not errors). */
  requests: number;
  errors: number;
  ttft: Float64Array;
  tpot: Float64Array;
  e2e: Float64Array;
  queue: Float64Array;
  prefill: Float64Array;
  decode: Float64Array;
  /** Earliest arrival and latest last token, seconds on the engine's steady clock (NaN when none). */
  firstArrival: number;
  lastToken: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  kv: { totalAllocatedBlocks: number; newAllocatedBlocks: number; reusedBlocks: number; missedBlocks: number };
  finishReasons: Record<string, number>;
}

export class RecordStore {
  private rows: Float64Array;
  count = 0;
  /** Steady-clock ns the timestamps count from (one engine: one epoch). */
  epochNs = 0n;
  /** False for rows rebuilt from /perf_metrics entries: token counts, n and finish reason are unknown. */
  hasTokenCounts = true;

  constructor(capacity = 1024) {
    this.rows = new Float64Array(Math.max(1, capacity) * STRIDE);
  }

  /** An onRequestFinished listener. */
  readonly onRecords = (batch: RequestRecordBatch): void => {
    const need = (this.count + batch.count) * STRIDE;
    if (need > this.rows.length) {
      const next = new Float64Array(Math.max(need, this.rows.length * 2));
      next.set(this.rows.subarray(0, this.count * STRIDE));
      this.rows = next;
    }
    this.epochNs = batch.epochNs;
    this.rows.set(batch.data.subarray(0, batch.count * STRIDE), this.count * STRIDE);
    this.count += batch.count;
  };

  /** The raw rows (a view). */
  data(): Float64Array {
    return this.rows.subarray(0, this.count * STRIDE);
  }

  /** The values of every successful record (seconds; the engine's clock). */
  values(): EngineValues {
    const d = this.rows;
    // The values of each Timing slot the report uses (inference is not reported), indexed by slot.
    const lists: FloatList[] = [];
    for (const slot of REPORTED) lists[slot] = new FloatList(this.count);
    const t = newTimings();
    const epochS = Number(this.epochNs) / 1e9;
    let requests = 0;
    let errors = 0;
    let minArrival = Infinity;
    let maxLast = -Infinity;
    let inputTokens = 0;
    let outputTokens = 0;
    let cachedTokens = 0;
    const kv = { totalAllocatedBlocks: 0, newAllocatedBlocks: 0, reusedBlocks: 0, missedBlocks: 0 };
    const reasons: Record<string, number> = {};
    for (let o = 0, end = this.count * STRIDE; o < end; o += STRIDE) {
      const flags = d[o + F.FLAGS]!;
      const code = d[o + F.FINISH_REASON]!;
      if (isErrorRecord(flags, code)) {
        errors++;
        continue;
      }
      requests++;
      const label = FINISHED_REASON_LABELS[code] ?? 'unknown';
      reasons[label] = (reasons[label] ?? 0) + 1;
      const out = d[o + F.OUTPUT_TOKENS]!;
      inputTokens += d[o + F.PROMPT_TOKENS]!;
      outputTokens += out;
      if ((flags & RECORD_FLAG_HAS_PERF) === 0) continue;
      cachedTokens += d[o + F.CACHED_TOKENS]!;
      kv.totalAllocatedBlocks += d[o + F.KV_TOTAL_ALLOCATED_BLOCKS]!;
      kv.newAllocatedBlocks += d[o + F.KV_NEW_ALLOCATED_BLOCKS]!;
      kv.reusedBlocks += d[o + F.KV_REUSED_BLOCKS]!;
      kv.missedBlocks += d[o + F.KV_MISSED_BLOCKS]!;
      const arrival = effectiveArrival(d[o + F.ENQUEUE_TIME_NS]!, d[o + F.ARRIVAL_TIME_NS]!);
      const last = d[o + F.LAST_TOKEN_TIME_NS]!;
      if (arrival !== 0 && arrival < minArrival) minArrival = arrival;
      if (last !== 0 && last > maxLast) maxLast = last;
      recordTimings(t, d, o, true, true);
      for (const slot of REPORTED) {
        const v = t[slot]!;
        if (v === v) lists[slot]!.push(v);
      }
    }
    return {
      requests,
      errors,
      ttft: lists[Timing.TTFT]!.view(),
      tpot: lists[Timing.TPOT]!.view(),
      e2e: lists[Timing.E2E]!.view(),
      queue: lists[Timing.QUEUE]!.view(),
      prefill: lists[Timing.PREFILL]!.view(),
      decode: lists[Timing.DECODE]!.view(),
      firstArrival: minArrival === Infinity ? Number.NaN : recordSeconds(minArrival, epochS),
      lastToken: maxLast === -Infinity ? Number.NaN : recordSeconds(maxLast, epochS),
      inputTokens,
      outputTokens,
      cachedTokens,
      kv,
      finishReasons: reasons,
    };
  }

  /**
   * For the throughput time series: per successful record with perf metrics, the first and last token
   * times (s, engine clock) and the output tokens.
   */
  tokenSpans(): { first: Float64Array; last: Float64Array; tokens: Float64Array } {
    const d = this.rows;
    const epochS = Number(this.epochNs) / 1e9;
    const first = new FloatList(this.count);
    const last = new FloatList(this.count);
    const tokens = new FloatList(this.count);
    for (let o = 0, end = this.count * STRIDE; o < end; o += STRIDE) {
      const flags = d[o + F.FLAGS]!;
      if ((flags & RECORD_FLAG_ERROR) !== 0 || (flags & RECORD_FLAG_HAS_PERF) === 0) continue;
      const f = d[o + F.FIRST_TOKEN_TIME_NS]!;
      const l = d[o + F.LAST_TOKEN_TIME_NS]!;
      if (f === 0 || l === 0) continue;
      first.push(recordSeconds(f, epochS));
      last.push(recordSeconds(l, epochS));
      tokens.push(d[o + F.OUTPUT_TOKENS]!);
    }
    return { first: first.view(), last: last.view(), tokens: tokens.view() };
  }

  /**
   * Per record, in delivery order (the engine side's request table: request-table.ts): success, the
   * metrics layer's TTFT, TPOT and E2E (s, NaN when skipped), arrival (s, engine clock) and token counts.
   */
  perRequest(): { ok: Uint8Array; ttft: Float64Array; tpot: Float64Array; e2e: Float64Array; arrival: Float64Array; prompt: Int32Array; output: Int32Array } {
    const d = this.rows;
    const n = this.count;
    const out = {
      ok: new Uint8Array(n),
      ttft: new Float64Array(n),
      tpot: new Float64Array(n),
      e2e: new Float64Array(n),
      arrival: new Float64Array(n),
      prompt: new Int32Array(n),
      output: new Int32Array(n),
    };
    const t = newTimings();
    const epochS = Number(this.epochNs) / 1e9;
    for (let k = 0, o = 0; k < n; k++, o += STRIDE) {
      out.prompt[k] = d[o + F.PROMPT_TOKENS]!;
      out.output[k] = d[o + F.OUTPUT_TOKENS]!;
      const ok = !isErrorRecord(d[o + F.FLAGS]!, d[o + F.FINISH_REASON]!) && (d[o + F.FLAGS]! & RECORD_FLAG_HAS_PERF) !== 0;
      out.ok[k] = ok ? 1 : 0;
      if (ok) recordTimings(t, d, o, true, false);
      else t.fill(Number.NaN);
      out.ttft[k] = t[Timing.TTFT]!;
      out.tpot[k] = t[Timing.TPOT]!;
      out.e2e[k] = t[Timing.E2E]!;
      const arrival = effectiveArrival(d[o + F.ENQUEUE_TIME_NS]!, d[o + F.ARRIVAL_TIME_NS]!);
      out.arrival[k] = arrival === 0 ? Number.NaN : recordSeconds(arrival, epochS);
    }
    return out;
  }

  /**
   * Writes one JSON line per finished request (errors included, with finish_reason "error"), in the shape
   * of a trtllm-serve /perf_metrics entry plus token counts (docs/bench.md). Timestamps: seconds on the
   * steady clock, 0 = never set. Rows from /perf_metrics have null token counts, n and finish_reason.
   */
  writeJsonl(path: string): number {
    const d = this.rows;
    const epochS = Number(this.epochNs) / 1e9;
    const abs = (v: number): number => recordSeconds(v, epochS);
    const known = this.hasTokenCounts;
    const fd = openSync(path, 'w');
    try {
      let buf: string[] = [];
      for (let o = 0, end = this.count * STRIDE; o < end; o += STRIDE) {
        const flags = d[o + F.FLAGS]!;
        const code = d[o + F.FINISH_REASON]!;
        const isError = isErrorRecord(flags, code);
        const arrival = effectiveArrival(d[o + F.ENQUEUE_TIME_NS]!, d[o + F.ARRIVAL_TIME_NS]!);
        const line = {
          request_id: d[o + F.REQUEST_ID]!,
          timing_metrics: {
            arrival_time: abs(arrival),
            first_scheduled_time: abs(d[o + F.FIRST_SCHEDULED_TIME_NS]!),
            first_token_time: abs(d[o + F.FIRST_TOKEN_TIME_NS]!),
            last_token_time: abs(d[o + F.LAST_TOKEN_TIME_NS]!),
          },
          kv_cache_metrics: {
            num_total_allocated_blocks: d[o + F.KV_TOTAL_ALLOCATED_BLOCKS]!,
            num_new_allocated_blocks: d[o + F.KV_NEW_ALLOCATED_BLOCKS]!,
            num_reused_blocks: d[o + F.KV_REUSED_BLOCKS]!,
            num_missed_blocks: d[o + F.KV_MISSED_BLOCKS]!,
          },
          prompt_tokens: known ? d[o + F.PROMPT_TOKENS]! : null,
          output_tokens: known ? d[o + F.OUTPUT_TOKENS]! : null,
          cached_tokens: known ? d[o + F.CACHED_TOKENS]! : null,
          n: known ? d[o + F.NUM_SEQUENCES]! : null,
          finish_reason: !known ? null : isError ? 'error' : (FINISHED_REASON_LABELS[code] ?? 'unknown'),
        };
        buf.push(JSON.stringify(line));
        if (buf.length === 4096) {
          writeSync(fd, buf.join('\n') + '\n');
          buf = [];
        }
      }
      if (buf.length > 0) writeSync(fd, buf.join('\n') + '\n');
    } finally {
      closeSync(fd);
    }
    return this.count;
  }
}

/** One entry of GET /perf_metrics (trtllm-serve's shape), the fields the engine table uses. */
interface PerfEntry {
  request_id?: unknown;
  perf_metrics?: {
    timing_metrics?: Record<string, unknown>;
    kv_cache_metrics?: Record<string, unknown>;
  };
}

/**
 * Rows from /perf_metrics entries (--url targets): timestamps (seconds) become nanoseconds with epoch 0,
 * and fields the entries lack (token counts, finish reason) stay 0; TPOT is then not computable.
 */
export function storeFromPerfEntries(entries: readonly unknown[]): RecordStore {
  const store = new RecordStore(entries.length);
  store.hasTokenCounts = false;
  const row = new Float64Array(STRIDE);
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  for (const e of entries as PerfEntry[]) {
    const t = e?.perf_metrics?.timing_metrics;
    if (!t) continue;
    const kv = e.perf_metrics!.kv_cache_metrics ?? {};
    row.fill(0);
    row[F.REQUEST_ID] = num(e.request_id);
    row[F.ARRIVAL_TIME_NS] = num(t.arrival_time) * 1e9;
    row[F.FIRST_SCHEDULED_TIME_NS] = num(t.first_scheduled_time) * 1e9;
    row[F.FIRST_TOKEN_TIME_NS] = num(t.first_token_time) * 1e9;
    row[F.LAST_TOKEN_TIME_NS] = num(t.last_token_time) * 1e9;
    row[F.KV_TOTAL_ALLOCATED_BLOCKS] = num(kv.num_total_allocated_blocks);
    row[F.KV_NEW_ALLOCATED_BLOCKS] = num(kv.num_new_allocated_blocks);
    row[F.KV_REUSED_BLOCKS] = num(kv.num_reused_blocks);
    row[F.KV_MISSED_BLOCKS] = num(kv.num_missed_blocks);
    row[F.NUM_SEQUENCES] = 1;
    row[F.FINISH_REASON] = -1;
    row[F.FLAGS] = RECORD_FLAG_HAS_PERF;
    store.onRecords({ data: row, count: 1, epochNs: 0n });
  }
  return store;
}
