/**
 * Per-request metrics: the five seed metrics of TensorRT-LLM 1.1.0rc5 and the per-request part of the
 * extended set (REFERENCE.md sections 1-2), recorded once per finished request, from either the bridge's
 * raw records (Float64Array rows, nanoseconds) or one object (seconds).
 */
import { InvalidArgumentError } from '../errors.js';
import {
  ERROR_FINISH_CODE,
  FINISHED_REASON_LABELS,
  RECORD_FLAG_HAS_PERF,
  RecordField as F,
  REQUEST_RECORD_STRIDE,
  type RequestRecordBatch,
} from '../records.js';
import { isErrorRecord, newTimings, requestTimings, Timing } from '../request-timings.js';
import type { CollectorHistogramName } from './buckets.js';
import type { TraceIds } from './exemplars.js';
import { counterFamily, histogramFamily, withLabels, type MetricsContext } from './context.js';
import type { CounterChild, FastCounter, HistogramChild } from './fast-metrics.js';

/** Names (without prefix) and HELP texts of the per-request families. */
export const REQUEST_FAMILIES = {
  success: { suffix: 'request_success_total', help: 'Count of successfully processed requests.' },
  e2e: { suffix: 'e2e_request_latency_seconds', help: 'Histogram of end to end request latency in seconds.' },
  ttft: { suffix: 'time_to_first_token_seconds', help: 'Histogram of time to first token in seconds.' },
  tpot: { suffix: 'time_per_output_token_seconds', help: 'Histogram of time per output token in seconds.' },
  queue: { suffix: 'request_queue_time_seconds', help: 'Histogram of time spent in WAITING phase for request.' },
  prefill: {
    suffix: 'request_prefill_time_seconds',
    help: 'Time from first scheduling to the first token (prefill), in seconds.',
  },
  decode: {
    suffix: 'request_decode_time_seconds',
    help: 'Time from the first to the last token (decode), in seconds.',
  },
  inference: {
    suffix: 'request_inference_time_seconds',
    help: 'Time from first scheduling to the last token, in seconds.',
  },
  promptTokens: { suffix: 'prompt_tokens_total', help: 'Prompt tokens of finished requests.' },
  generationTokens: {
    suffix: 'generation_tokens_total',
    help: 'Generated tokens of finished requests.',
  },
  cachedTokens: {
    suffix: 'prompt_cached_tokens_total',
    help: 'Prompt tokens of finished requests that were served from the KV cache.',
  },
  cachedTokensPerRequest: {
    suffix: 'prompt_cached_tokens_per_request',
    help: 'Prompt tokens per request served from the KV cache.',
  },
  specDrafted: {
    suffix: 'spec_decode_drafted_tokens_total',
    help: 'Draft tokens proposed for finished requests (token_position="all": totals only).',
  },
  specAccepted: {
    suffix: 'spec_decode_accepted_tokens_total',
    help: 'Draft tokens accepted for finished requests (token_position="all": totals only).',
  },
  requestError: { suffix: 'request_error_total', help: 'Requests answered with an error, by HTTP status code.' },
  generationPerplexity: {
    suffix: 'generation_perplexity',
    help: 'Perplexity of the generated tokens per request (exp of their mean negative log probability), for requests that asked for log probabilities.',
  },
} as const;

/**
 * The `token_position` label value of the speculative-decoding token counters. TensorRT-LLM labels them
 * per draft position; a finished-request record only carries the totals, so every increment goes to one
 * series, token_position="all".
 */
export const SPEC_TOKEN_POSITION_ALL = 'all';

/** The label value for a FinishReason code outside 0..5 (TensorRT-LLM's collector default). */
export const UNKNOWN_FINISHED_REASON = 'unknown';

/**
 * One finished request, for logRequestMetrics(). Timestamps are seconds on any one clock shared by the
 * fields of the request (e.g. performance.now()/1000, or the steady-clock seconds of RequestPerfMetrics);
 * 0 or absent means "never set". Every value that needs an unset timestamp is skipped.
 */
export interface RequestMetricsInput {
  /**
   * Why the request finished: a `finished_reason` label (`stop`, `length`, `timeout`, `cancelled`,
   * `not_finished`, or any other non-empty string) or a TensorRT-LLM FinishReason code (0..5). An empty or
   * absent reason means the request has not finished: nothing is recorded. `error` (or code 6) marks an
   * error: nothing is recorded either (see logRequestError).
   */
  finishReason: string | number | null | undefined;
  /** When the caller enqueued the request. */
  enqueueTime?: number;
  /** The executor's arrivalTime. The earlier of enqueueTime and arrivalTime (among those set) is the arrival. */
  arrivalTime?: number;
  firstScheduledTime?: number;
  firstTokenTime?: number;
  lastTokenTime?: number;
  promptTokens?: number;
  /** Generated tokens (all sequences). */
  outputTokens?: number;
  /** Prompt tokens served from the KV cache; absent = unknown (the per-request histogram is skipped). */
  cachedTokens?: number;
  /** Sequences requested; TPOT is recorded only when this is 1 (the default). */
  numSequences?: number;
  /** Speculative decoding: draft tokens proposed, and accepted. */
  specDraftTokens?: number;
  specAcceptedTokens?: number;
  /** The request ended in an error: nothing is recorded. */
  error?: boolean;
  /** A trace id: the TTFT and E2E buckets this request lands in carry it as their exemplar (OpenMetrics). */
  traceId?: string;
  /** Sum and number of the generated tokens' log probabilities (returnLogProbs): the generation perplexity. */
  generationLogProbSum?: number;
  generationLogProbCount?: number;
}

const S_ENQ = F.ENQUEUE_TIME_NS;
const S_ARR = F.ARRIVAL_TIME_NS;
const S_SCHED = F.FIRST_SCHEDULED_TIME_NS;
const S_FIRST = F.FIRST_TOKEN_TIME_NS;
const S_LAST = F.LAST_TOKEN_TIME_NS;
const S_PROMPT = F.PROMPT_TOKENS;
const S_OUT = F.OUTPUT_TOKENS;
const S_CACHED = F.CACHED_TOKENS;
const S_NSEQ = F.NUM_SEQUENCES;
const S_REASON = F.FINISH_REASON;
const S_SPEC_ACC = F.SPEC_ACCEPTED_DRAFT_TOKENS;
const S_SPEC_DRAFT = F.SPEC_DRAFT_TOKENS;
const S_FLAGS = F.FLAGS;
const S_ID = F.REQUEST_ID;
const S_LP_SUM = F.GEN_LOGPROB_SUM;
const S_LP_COUNT = F.GEN_LOGPROB_COUNT;
const STRIDE = REQUEST_RECORD_STRIDE;
const NUM_FINISH_CODES = 6;

export class RequestMetrics {
  private readonly full: boolean;
  /** Success series by FinishReason code 0..5 (codes 1 and 2 share `stop`). */
  private readonly successByCode: CounterChild[];
  private readonly successByLabel = new Map<string, CounterChild>();
  private readonly successFamily: FastCounter;
  private readonly e2e: HistogramChild;
  private readonly ttft: HistogramChild;
  private readonly tpot: HistogramChild;
  private readonly queue: HistogramChild;
  // Extended set (null in the basic profile).
  private readonly prefill: HistogramChild | null = null;
  private readonly decode: HistogramChild | null = null;
  private readonly inference: HistogramChild | null = null;
  private readonly promptTokens: CounterChild | null = null;
  private readonly generationTokens: CounterChild | null = null;
  private readonly cachedTokens: CounterChild | null = null;
  private readonly cachedPerRequest: HistogramChild | null = null;
  private readonly specDrafted: CounterChild | null = null;
  private readonly specAccepted: CounterChild | null = null;
  private readonly errorFamily: FastCounter | null = null;
  private readonly generationPerplexity: HistogramChild | null = null;
  private readonly errorByCode = new Map<string, CounterChild>();

  /** Reused output of requestTimings (one request at a time). */
  private readonly timingValues = newTimings();
  /** The histogram of each Timing slot this profile records: the first four (basic) or all seven (full). */
  private readonly timingHists: HistogramChild[];

  /** Records skipped because the request ended in an error (not a success; see docs/metrics.md). */
  errorRecords = 0;

  constructor(
    private readonly ctx: MetricsContext,
    full: boolean,
    buckets: Readonly<Record<CollectorHistogramName, readonly number[]>>,
    /** Trace ids of requests in flight, for exemplars (null: none are recorded). */
    private readonly traceIds: TraceIds | null = null,
  ) {
    this.full = full;
    const R = REQUEST_FAMILIES;
    const own = ctx.owner;
    const base = ctx.labels;
    const hist = (f: { suffix: string; help: string }, b: readonly number[]): HistogramChild => histogramFamily(ctx, f.suffix, f.help, b).child(base, own);
    this.successFamily = counterFamily(ctx, R.success.suffix, R.success.help, ['finished_reason']);
    this.successByCode = [];
    for (let code = 0; code < NUM_FINISH_CODES; code++) {
      this.successByCode.push(this.successChild(FINISHED_REASON_LABELS[code]));
    }
    this.e2e = histogramFamily(ctx, R.e2e.suffix, R.e2e.help, buckets.e2e_request_latency_seconds).child(base, own);
    this.ttft = histogramFamily(ctx, R.ttft.suffix, R.ttft.help, buckets.time_to_first_token_seconds).child(base, own);
    this.tpot = histogramFamily(ctx, R.tpot.suffix, R.tpot.help, buckets.time_per_output_token_seconds).child(base, own);
    this.queue = histogramFamily(ctx, R.queue.suffix, R.queue.help, buckets.request_queue_time_seconds).child(base, own);
    this.timingHists = timingSlots(this.ttft, this.e2e, this.queue, this.tpot);
    if (!full) return;
    this.prefill = histogramFamily(ctx, R.prefill.suffix, R.prefill.help, buckets.request_prefill_time_seconds).child(base, own);
    this.decode = histogramFamily(ctx, R.decode.suffix, R.decode.help, buckets.request_decode_time_seconds).child(base, own);
    this.inference = histogramFamily(ctx, R.inference.suffix, R.inference.help, buckets.request_inference_time_seconds).child(
      base,
      own,
    );
    this.timingHists = timingSlots(this.ttft, this.e2e, this.queue, this.tpot, this.prefill, this.decode, this.inference);
    this.promptTokens = counterFamily(ctx, R.promptTokens.suffix, R.promptTokens.help).child(base, own);
    this.generationTokens = counterFamily(ctx, R.generationTokens.suffix, R.generationTokens.help).child(base, own);
    this.cachedTokens = counterFamily(ctx, R.cachedTokens.suffix, R.cachedTokens.help).child(base, own);
    this.cachedPerRequest = hist(R.cachedTokensPerRequest, buckets.prompt_cached_tokens_per_request);
    const pos = withLabels(ctx, { token_position: SPEC_TOKEN_POSITION_ALL });
    this.specDrafted = counterFamily(ctx, R.specDrafted.suffix, R.specDrafted.help, ['token_position']).child(pos, own);
    this.specAccepted = counterFamily(ctx, R.specAccepted.suffix, R.specAccepted.help, ['token_position']).child(pos, own);
    this.errorFamily = counterFamily(ctx, R.requestError.suffix, R.requestError.help, ['http_code']);
    this.generationPerplexity = hist(R.generationPerplexity, buckets.generation_perplexity);
  }

  private successChild(label: string): CounterChild {
    let c = this.successByLabel.get(label);
    if (c === undefined) {
      c = this.successFamily.child(withLabels(this.ctx, { finished_reason: label }), this.ctx.owner);
      this.successByLabel.set(label, c);
    }
    return c;
  }

  /**
   * Records a batch of raw finished-request rows (lib/records.ts). Timestamps are relative nanoseconds;
   * values are converted with `(t1 - t0) / 1e9`.
   */
  logRecords(batch: RequestRecordBatch): void {
    const d = batch.data;
    const count = batch.count;
    if (!(d instanceof Float64Array)) throw new InvalidArgumentError('batch.data must be a Float64Array');
    if (!Number.isInteger(count) || count < 0 || count * STRIDE > d.length) {
      throw new InvalidArgumentError(
        `batch.count (${String(count)}) must be a non-negative integer with count * ${STRIDE} <= data.length (${d.length})`,
      );
    }
    const byCode = this.successByCode;
    const full = this.full;
    // Exemplars cost one size check per batch unless some request in flight has a trace id.
    const traced = this.traceIds !== null && this.traceIds.size > 0 ? this.traceIds : null;
    // Wall-clock now and the wall-clock time of the batch's epoch (the exemplars' timestamps), once per batch:
    // Date.now() and hrtime cost about as much as recording a request.
    const nowS = traced === null ? 0 : Date.now() / 1000;
    const wallEpochS = traced === null ? 0 : nowS - Number(process.hrtime.bigint() - batch.epochNs) / 1e9;
    for (let o = 0, end = count * STRIDE; o < end; o += STRIDE) {
      const flags = d[o + S_FLAGS];
      const code = d[o + S_REASON];
      const traceId = traced === null ? undefined : traced.take(d[o + S_ID]);
      if (isErrorRecord(flags, code)) {
        this.errorRecords++;
        continue;
      }
      const ci = code | 0;
      (ci === code && ci >= 0 && ci < NUM_FINISH_CODES ? byCode[ci] : this.successChild(UNKNOWN_FINISHED_REASON)).inc(1);
      const out = d[o + S_OUT];
      const hasPerf = (flags & RECORD_FLAG_HAS_PERF) !== 0;
      if (hasPerf) {
        this.timings(d[o + S_ENQ], d[o + S_ARR], d[o + S_SCHED], d[o + S_FIRST], d[o + S_LAST], out, d[o + S_NSEQ], 1e9);
        if (traceId !== undefined) {
          const first = d[o + S_FIRST];
          const last = d[o + S_LAST];
          this.exemplars(traceId, first > 0 ? wallEpochS + first / 1e9 : nowS, last > 0 ? wallEpochS + last / 1e9 : nowS);
        }
      }
      if (full) {
        this.tokens(
          d[o + S_PROMPT],
          out,
          hasPerf ? d[o + S_CACHED] : -1,
          hasPerf ? d[o + S_SPEC_DRAFT] : 0,
          hasPerf ? d[o + S_SPEC_ACC] : 0,
        );
        const lpCount = d[o + S_LP_COUNT];
        if (lpCount > 0) this.perplexity(d[o + S_LP_SUM], lpCount);
      }
    }
  }

  /** Records one finished request given as an object (timestamps in seconds). */
  logObject(m: RequestMetricsInput): void {
    if (m === null || typeof m !== 'object') throw new InvalidArgumentError('request metrics must be an object');
    if (m.traceId !== undefined && (typeof m.traceId !== 'string' || m.traceId.length === 0 || m.traceId.length > 120)) {
      throw new InvalidArgumentError(`traceId must be a string of 1 to 120 characters, got ${JSON.stringify(m.traceId)}`);
    }
    const reason = m.finishReason;
    if (reason === undefined || reason === null || reason === '') return;
    if (m.error === true || reason === 'error' || reason === ERROR_FINISH_CODE) {
      this.errorRecords++;
      return;
    }
    let child: CounterChild;
    if (typeof reason === 'number') {
      const ci = reason | 0;
      child =
        ci === reason && ci >= 0 && ci < NUM_FINISH_CODES
          ? this.successByCode[ci]
          : this.successChild(UNKNOWN_FINISHED_REASON);
    } else if (typeof reason === 'string') {
      child = this.successChild(reason);
    } else {
      throw new InvalidArgumentError(`finishReason must be a string or a FinishReason code, got ${typeof reason}`);
    }
    child.inc(1);
    const out = num(m.outputTokens);
    this.timings(
      num(m.enqueueTime),
      num(m.arrivalTime),
      num(m.firstScheduledTime),
      num(m.firstTokenTime),
      num(m.lastTokenTime),
      out,
      m.numSequences === undefined ? 1 : num(m.numSequences),
      1,
    );
    if (m.traceId !== undefined) {
      const now = Date.now() / 1000;
      this.exemplars(m.traceId, now, now);
    }
    if (this.full) {
      this.tokens(
        num(m.promptTokens),
        out,
        m.cachedTokens === undefined ? -1 : num(m.cachedTokens),
        num(m.specDraftTokens),
        num(m.specAcceptedTokens),
      );
      const lpCount = num(m.generationLogProbCount);
      if (lpCount > 0) this.perplexity(num(m.generationLogProbSum), lpCount);
    }
  }

  /** Observes the timing values (lib/request-timings.ts: formulas and skip rules) of one request. */
  private timings(enq: number, arr: number, sched: number, first: number, last: number, out: number, nseq: number, div: number): void {
    const t = this.timingValues;
    const full = this.full;
    requestTimings(t, enq, arr, sched, first, last, out, nseq, div, full, full);
    const hists = this.timingHists;
    for (let i = 0, n = hists.length; i < n; i++) {
      const v = t[i]!;
      if (v === v) hists[i]!.observe(v);
    }
  }

  /**
   * The request's TTFT and E2E values (just observed, in this.timingValues) become the exemplars of their
   * buckets; each is stamped with the wall-clock time of its event (first, last token).
   */
  private exemplars(traceId: string, firstTokenWall: number, lastTokenWall: number): void {
    const t = this.timingValues;
    const ttft = t[Timing.TTFT]!;
    const e2e = t[Timing.E2E]!;
    if (ttft === ttft) this.ttft.setExemplar(ttft, traceId, firstTokenWall);
    if (e2e === e2e) this.e2e.setExemplar(e2e, traceId, lastTokenWall);
  }

  /** exp(-mean log probability), when finite (as TensorRT-LLM's collector: a non-finite value is skipped). */
  private perplexity(sum: number, count: number): void {
    const ppl = Math.exp(-sum / count);
    if (Number.isFinite(ppl)) this.generationPerplexity!.observe(ppl);
  }

  /** Token counters of the full profile. cached < 0 means unknown. */
  private tokens(prompt: number, out: number, cached: number, drafted: number, accepted: number): void {
    if (prompt > 0) this.promptTokens!.inc(prompt);
    if (out > 0) this.generationTokens!.inc(out);
    if (cached >= 0) {
      if (cached > 0) this.cachedTokens!.inc(cached);
      this.cachedPerRequest!.observe(cached);
    }
    if (drafted > 0) this.specDrafted!.inc(drafted);
    if (accepted > 0) this.specAccepted!.inc(accepted);
  }

  /** trtllm_request_error_total{http_code} += 1 (full profile; a no-op in basic). */
  logError(httpCode: number | string): void {
    if (this.errorFamily === null) return;
    let label: string;
    if (typeof httpCode === 'number' && Number.isInteger(httpCode) && httpCode >= 100 && httpCode <= 999) {
      label = String(httpCode);
    } else if (typeof httpCode === 'string' && /^[0-9]{3}$/.test(httpCode)) {
      label = httpCode;
    } else {
      throw new InvalidArgumentError(`httpCode must be a 3-digit HTTP status code, got ${String(httpCode)}`);
    }
    let c = this.errorByCode.get(label);
    if (c === undefined) {
      c = this.errorFamily.child(withLabels(this.ctx, { http_code: label }), this.ctx.owner);
      this.errorByCode.set(label, c);
    }
    c.inc(1);
  }
}

/** The histograms in Timing slot order (TTFT, E2E, QUEUE, TPOT, then PREFILL, DECODE, INFERENCE). */
function timingSlots(...hists: HistogramChild[]): HistogramChild[] {
  const slots: HistogramChild[] = [];
  const order = [Timing.TTFT, Timing.E2E, Timing.QUEUE, Timing.TPOT, Timing.PREFILL, Timing.DECODE, Timing.INFERENCE];
  hists.forEach((h, i) => (slots[order[i]!] = h));
  return slots;
}

function num(v: number | undefined): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number') throw new InvalidArgumentError(`expected a number, got ${typeof v}`);
  return v;
}
