/**
 * The stall watchdog: a GPU worker's commonest silent failure is a hung executor (an NCCL or kernel hang) that
 * completes no iteration while requests wait. The watchdog checks, on a timer, whether requests are in flight
 * and the executor has shown no progress (an iteration's stats or a response, Engine.lastProgressAt) for
 * `stallTimeoutMs`. It reports the stall (the worker's /health turns 503, a gauge and a counter record it) and
 * its end when progress resumes. docs/reliability.md, "Faults".
 */

/** What the watchdog watches: an Engine. */
export interface StallSource {
  /** Requests in flight (running or waiting in the executor). */
  readonly inflight: number;
  /** performance.now() ms of the last progress (see Engine.lastProgressAt). */
  readonly lastProgressAt: number;
}

export interface StallWatchdogOptions {
  /** No progress this long while requests are in flight is a stall, ms (> 0). */
  stallTimeoutMs: number;
  /** How often to check, ms (default: a quarter of the timeout, at most 1000). */
  checkIntervalMs?: number;
  /** Told when a stall begins (once per stall). */
  onStall?: (state: StallState) => void;
  /** Told when progress resumes after a stall. */
  onRecover?: (state: StallState) => void;
  /** The clock, ms (default performance.now). */
  now?: () => number;
}

export interface StallState {
  stalled: boolean;
  /** Seconds since the executor last showed progress (while idle: since then too, for the record). */
  secondsSinceProgress: number;
  /** Requests in flight at the check. */
  inflight: number;
  /** Stalls detected since the watchdog started. */
  stalls: number;
}

export class StallWatchdog {
  private readonly timeoutMs: number;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private stalledNow = false;
  private count = 0;

  constructor(
    private readonly source: StallSource,
    private readonly options: StallWatchdogOptions,
  ) {
    this.timeoutMs = options.stallTimeoutMs;
    this.intervalMs = options.checkIntervalMs ?? Math.max(1, Math.min(1000, Math.floor(this.timeoutMs / 4)));
    this.now = options.now ?? (() => performance.now());
  }

  /** Checks on a timer that does not keep the process alive. */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  get stalled(): boolean {
    return this.stalledNow;
  }

  /** The state now (does not report a change: check() does). */
  state(): StallState {
    return {
      stalled: this.stalledNow,
      secondsSinceProgress: Math.max(0, this.now() - this.source.lastProgressAt) / 1000,
      inflight: this.source.inflight,
      stalls: this.count,
    };
  }

  /** One check: a stall begins, lasts, or ends. Returns the state. */
  check(): StallState {
    const inflight = this.source.inflight;
    const stalled = inflight > 0 && this.now() - this.source.lastProgressAt >= this.timeoutMs;
    if (stalled !== this.stalledNow) {
      this.stalledNow = stalled;
      if (stalled) this.count++;
      const s = this.state();
      (stalled ? this.options.onStall : this.options.onRecover)?.(s);
      return s;
    }
    return this.state();
  }
}
