/**
 * The canary health check, as Dynamo's workers run it (ai-dynamo/dynamo lib/runtime/src/health_check.rs; docs:
 * "Health Checks", DYN_HEALTH_CHECK_ENABLED / DYN_CANARY_WAIT_TIME / DYN_HEALTH_CHECK_REQUEST_TIMEOUT): when the
 * engine has shown no progress for a whole interval, send it a one-token request; a canary that fails or does not
 * finish within the timeout makes the worker unhealthy, and the next success (or real traffic moving again)
 * makes it healthy. `probe()` runs one on demand: the API's GET /health_generate (trtllm-serve's route, which
 * generates one token the same way). Concurrent probes share the canary in flight, so probing costs the engine
 * at most one one-token request at a time.
 */
import type { GenerateRequest } from '../request-options.js';

/** What the canary needs of the engine. */
export interface CanaryEngine {
  generate(request: GenerateRequest): AsyncIterable<unknown> & { cancel(): void };
  readonly lastProgressAt: number;
}

export type CanaryOutcome = 'ok' | 'failed' | 'timeout';

export interface CanaryResult {
  outcome: CanaryOutcome;
  /** Seconds the canary took (to the timeout when it timed out). */
  seconds: number;
  /** What went wrong (failed, timeout). */
  error?: string;
  /** performance.now() ms when it ended. */
  at: number;
}

export interface CanaryOptions {
  /** The one-token request's prompt (token ids the engine's vocabulary has). */
  promptTokenIds: Int32Array;
  /** Send a canary after this long without progress, ms; 0: only on demand (probe()). */
  intervalMs: number;
  /** A canary that has not finished after this long failed, ms. */
  timeoutMs: number;
  /** Told every result (metrics). */
  onResult?: (result: CanaryResult) => void;
  /** The clock, ms (default performance.now). */
  now?: () => number;
}

export class Canary {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<CanaryResult> | null = null;
  private lastResult: CanaryResult | null = null;
  private readonly now: () => number;

  constructor(
    private readonly engine: CanaryEngine,
    private readonly options: CanaryOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Starts the periodic canary (nothing when intervalMs is 0); the timer does not keep the process alive. */
  start(): void {
    if (this.timer !== null || this.options.intervalMs <= 0) return;
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Healthy unless the last canary failed and the engine has not shown progress since (Dynamo: a successful
   * response of real traffic also proves the engine healthy).
   */
  get healthy(): boolean {
    const r = this.lastResult;
    return r === null || r.outcome === 'ok' || this.engine.lastProgressAt > r.at;
  }

  /** The last canary's result, or null before the first. */
  get last(): CanaryResult | null {
    return this.lastResult;
  }

  /** Runs a canary now, or joins the one in flight. Never rejects. */
  probe(): Promise<CanaryResult> {
    this.inFlight ??= this.run().then((r) => {
      this.inFlight = null;
      this.lastResult = r;
      this.options.onResult?.(r);
      return r;
    });
    return this.inFlight;
  }

  private tick(): void {
    if (this.now() - this.engine.lastProgressAt < this.options.intervalMs) return;
    void this.probe();
  }

  private async run(): Promise<CanaryResult> {
    const start = this.now();
    const done = (outcome: CanaryOutcome, error?: string): CanaryResult => {
      const at = this.now();
      return { outcome, seconds: (at - start) / 1000, at, ...(error !== undefined ? { error } : {}) };
    };
    let stream: ReturnType<CanaryEngine['generate']>;
    try {
      stream = this.engine.generate({ inputTokenIds: this.options.promptTokenIds, maxTokens: 1 });
    } catch (err) {
      return done('failed', (err as Error).message);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.options.timeoutMs);
      timer.unref();
    });
    const consumed = (async (): Promise<'ok'> => {
      for await (const _ of stream) {
        // the one token
      }
      return 'ok';
    })();
    try {
      const first = await Promise.race([consumed, timeout]);
      if (first === 'timeout') {
        stream.cancel();
        consumed.catch(() => undefined);
        return done('timeout', `no token within ${this.options.timeoutMs} ms`);
      }
      return done('ok');
    } catch (err) {
      return done('failed', (err as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }
}
