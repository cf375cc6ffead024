/**
 * What the client side measures, per request, in typed arrays indexed by the request's position in the
 * workload (no object per request). Times are seconds on the wall clock (performance.now()), relative to
 * the start of the run.
 */
import { FloatList } from './float-list.js';

export const enum RequestStatus {
  PENDING = 0,
  OK = 1,
  FAILED = 2,
}

export class ClientResults {
  readonly n: number;
  readonly status: Uint8Array;
  /** When the request was sent (s). */
  readonly sendTime: Float64Array;
  /** First output (s); NaN when unknown (non-streaming) or none. */
  readonly firstTokenTime: Float64Array;
  /** Last output / completion (s). */
  readonly lastTokenTime: Float64Array;
  readonly outputTokens: Int32Array;
  readonly promptTokens: Int32Array;
  /** Prompt tokens the server reported as cached (usage.prompt_tokens_details.cached_tokens); -1 unknown. */
  readonly cachedTokens: Int32Array;
  /** Gaps between consecutive streamed outputs of every request (s). */
  readonly itl = new FloatList(4096);
  readonly finishReasons = new Map<string, number>();
  readonly errors = new Map<string, number>();
  completed = 0;
  failed = 0;

  constructor(n: number) {
    this.n = n;
    this.status = new Uint8Array(n);
    this.sendTime = new Float64Array(n).fill(Number.NaN);
    this.firstTokenTime = new Float64Array(n).fill(Number.NaN);
    this.lastTokenTime = new Float64Array(n).fill(Number.NaN);
    this.outputTokens = new Int32Array(n);
    this.promptTokens = new Int32Array(n);
    this.cachedTokens = new Int32Array(n).fill(-1);
  }

  succeed(i: number, finishReason: string): void {
    this.status[i] = RequestStatus.OK;
    this.completed++;
    this.finishReasons.set(finishReason, (this.finishReasons.get(finishReason) ?? 0) + 1);
  }

  fail(i: number, message: string, at: number): void {
    this.status[i] = RequestStatus.FAILED;
    this.failed++;
    this.lastTokenTime[i] = at;
    const key = message.length > 300 ? `${message.slice(0, 300)}...` : message;
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
  }

  get done(): number {
    return this.completed + this.failed;
  }
}
