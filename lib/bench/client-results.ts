/**
 * What the client side measures, per request, in typed arrays indexed by the request's position in the
 * workload (no object per request), and the client-side formulas, once (docs/bench.md "What is measured";
 * vLLM's and aiperf's definitions). Times are seconds on the wall clock (performance.now()), relative to the
 * start of the run. An output is a streamed event (SSE event, engine chunk) that carries output text or tokens.
 *
 * - TTFT = first output - send;  TTST = second output - first output (aiperf's time to second token)
 * - E2EL = last output - send (vLLM's latency; the end of the response when nothing was streamed)
 * - TPOT = (last output - first output) / (output tokens - 1), for more than one output token (vLLM's)
 * - ITL: the gaps between a request's consecutive outputs, each output timed when the read that completed
 *   it returned: outputs that arrive in one read share that time and give gaps of 0 (docs/bench.md).
 */
import { FloatList, IntList } from './float-list.js';

export const enum RequestStatus {
  PENDING = 0,
  OK = 1,
  FAILED = 2,
  /** The harness cancelled it (--request-cancel-rate) before it finished. */
  CANCELLED = 3,
}

/** Kinds of failure, for the report's errors by kind. */
export type ErrorKind = 'http_4xx' | 'http_5xx' | 'timeout' | 'connection' | 'stream_error' | 'protocol' | 'engine';

function grown<T extends Int32Array | Float64Array | Uint8Array>(a: T, n: number, fill?: number): T {
  const next = new (a.constructor as new (n: number) => T)(n);
  if (fill !== undefined) next.fill(fill);
  next.set(a as never);
  return next;
}

export class ClientResults {
  /** Capacity (requests of the workload so far). */
  n: number;
  status: Uint8Array;
  /** When the request was sent (s). */
  sendTime: Float64Array;
  /** First / second output (s); NaN when none (or non-streaming). */
  firstTokenTime: Float64Array;
  secondTokenTime: Float64Array;
  /** Last output, or the end of the response when nothing was streamed (s). */
  lastTokenTime: Float64Array;
  outputTokens: Int32Array;
  promptTokens: Int32Array;
  /** Prompt tokens the server reported as cached (usage.prompt_tokens_details.cached_tokens); -1 unknown. */
  cachedTokens: Int32Array;
  /**
   * Every ITL gap as it is measured (s) and the request it belongs to: appended in arrival order, with no
   * allocation per request (a run may hold 100,000 streams at once); grouped by request on first use.
   */
  private readonly gaps = new FloatList(4096);
  private readonly gapOwner = new IntList(4096);
  private grouped: { start: Int32Array; count: Int32Array; gaps: Float64Array } | null = null;
  private pooled: { gaps: number; done: number; view: Float64Array } | null = null;
  /** The output texts (only when asked for: vLLM's --save-detailed generated_texts). */
  readonly texts: Map<number, string> | null;
  /** The error message of each failed request. */
  readonly errorOf = new Map<number, string>();
  readonly finishReasons = new Map<string, number>();
  readonly errors = new Map<string, number>();
  readonly errorKinds = new Map<string, number>();
  completed = 0;
  failed = 0;
  cancelled = 0;
  /** Requests sent (a timed run sends fewer than its capacity). */
  sent = 0;

  constructor(n: number, options: { keepTexts?: boolean } = {}) {
    this.n = 0;
    this.status = new Uint8Array(0);
    this.sendTime = new Float64Array(0);
    this.firstTokenTime = new Float64Array(0);
    this.secondTokenTime = new Float64Array(0);
    this.lastTokenTime = new Float64Array(0);
    this.outputTokens = new Int32Array(0);
    this.promptTokens = new Int32Array(0);
    this.cachedTokens = new Int32Array(0);
    this.texts = options.keepTexts ? new Map() : null;
    this.ensure(n);
  }

  /** Grows to n requests. */
  ensure(n: number): void {
    if (n <= this.n) return;
    this.status = grown(this.status, n);
    this.sendTime = grown(this.sendTime, n, Number.NaN);
    this.firstTokenTime = grown(this.firstTokenTime, n, Number.NaN);
    this.secondTokenTime = grown(this.secondTokenTime, n, Number.NaN);
    this.lastTokenTime = grown(this.lastTokenTime, n, Number.NaN);
    this.outputTokens = grown(this.outputTokens, n);
    this.promptTokens = grown(this.promptTokens, n);
    this.cachedTokens = grown(this.cachedTokens, n, -1);
    this.n = n;
  }

  /** Marks request i sent at `at` (s). */
  markSent(i: number, at: number): void {
    this.sendTime[i] = at;
    this.sent++;
  }

  /** A request that finished, and its finish reason. */
  succeed(i: number, finishReason: string): void {
    this.status[i] = RequestStatus.OK;
    this.completed++;
    this.finishReasons.set(finishReason, (this.finishReasons.get(finishReason) ?? 0) + 1);
  }

  /** One ITL gap (s) of request i, in order. */
  addGap(i: number, gap: number): void {
    this.gaps.push(gap);
    this.gapOwner.push(i);
    this.grouped = null;
  }

  fail(i: number, message: string, at: number, kind: ErrorKind = 'protocol'): void {
    this.status[i] = RequestStatus.FAILED;
    this.failed++;
    this.lastTokenTime[i] = at;
    const key = message.length > 300 ? `${message.slice(0, 300)}...` : message;
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
    this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1);
    this.errorOf.set(i, key);
  }

  /** The harness cancelled request i at `at` (s). */
  cancel(i: number, at: number): void {
    this.status[i] = RequestStatus.CANCELLED;
    this.cancelled++;
    this.lastTokenTime[i] = at;
    this.errorKinds.set('cancelled', (this.errorKinds.get('cancelled') ?? 0) + 1);
    this.errorOf.set(i, 'cancelled by the harness (--request-cancel-rate)');
  }

  get done(): number {
    return this.completed + this.failed + this.cancelled;
  }

  // ---- the client-side formulas (seconds; NaN where the request has no such value) ----

  ttft(i: number): number {
    return this.firstTokenTime[i]! - this.sendTime[i]!;
  }

  ttst(i: number): number {
    return this.secondTokenTime[i]! - this.firstTokenTime[i]!;
  }

  e2el(i: number): number {
    return this.lastTokenTime[i]! - this.sendTime[i]!;
  }

  /** NaN unless more than one output token and a first output. */
  tpot(i: number): number {
    const out = this.outputTokens[i]!;
    return out > 1 ? (this.lastTokenTime[i]! - this.firstTokenTime[i]!) / (out - 1) : Number.NaN;
  }

  /** Request i's ITL gaps, in order (a view). */
  itlOf(i: number): Float64Array {
    const g = this.group();
    const start = g.start[i]!;
    return g.gaps.subarray(start, start + g.count[i]!);
  }

  /** The ITL gaps of the completed requests, pooled (vLLM's ITL distribution); kept until more results come. */
  pooledItl(): Float64Array {
    const gaps = this.gaps.view();
    const p = this.pooled;
    if (p !== null && p.gaps === gaps.length && p.done === this.done) return p.view;
    const owner = this.gapOwner.view();
    const out = new FloatList(gaps.length);
    for (let k = 0; k < gaps.length; k++) if (this.status[owner[k]!] === RequestStatus.OK) out.push(gaps[k]!);
    this.pooled = { gaps: gaps.length, done: this.done, view: out.view() };
    return this.pooled.view;
  }

  /** The gaps grouped by request (a counting sort by owner; arrival order is kept within a request). */
  private group(): { start: Int32Array; count: Int32Array; gaps: Float64Array } {
    if (this.grouped !== null) return this.grouped;
    const gaps = this.gaps.view();
    const owner = this.gapOwner.view();
    const count = new Int32Array(this.n);
    for (let k = 0; k < owner.length; k++) count[owner[k]!]!++;
    const start = new Int32Array(this.n);
    for (let i = 1; i < this.n; i++) start[i] = start[i - 1]! + count[i - 1]!;
    const fill = start.slice();
    const sorted = new Float64Array(gaps.length);
    for (let k = 0; k < gaps.length; k++) sorted[fill[owner[k]!]!++] = gaps[k]!;
    this.grouped = { start, count, gaps: sorted };
    return this.grouped;
  }
}

/**
 * Times one request's outputs into the results: the first and second output, and the gaps between
 * consecutive outputs (the request's ITL). Without `timed` (a non-streaming request) it only counts them and
 * keeps the last one's time.
 */
export class OutputClock {
  outputs = 0;
  last = Number.NaN;

  constructor(
    private readonly r: ClientResults,
    private readonly i: number,
    private readonly timed = true,
  ) {}

  output(t: number): void {
    if (this.timed) {
      if (this.outputs === 0) this.r.firstTokenTime[this.i] = t;
      else {
        if (this.outputs === 1) this.r.secondTokenTime[this.i] = t;
        this.r.addGap(this.i, t - this.last);
      }
    }
    this.last = t;
    this.outputs++;
  }
}
