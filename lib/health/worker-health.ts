/**
 * The worker's health, told truthfully: /health on the metrics port (and GET /health on the API) answer 503 with
 * the reasons whenever the worker cannot serve: the engine is loading, the worker is draining, the executor failed
 * (a fatal error of its forward step), the executor stalled (requests in flight, no iteration for
 * --stall-timeout-ms), or the last canary failed (--health-check-interval-ms). /live keeps its meaning: the process
 * serves, the engine is loaded and the worker is not draining. A fatal failure, and a stall under --exit-on-stall,
 * are also handed to `onFatal` (serve exits with a distinct code). docs/reliability.md, "Faults".
 */
import type { Engine, EngineStatus } from '../engine.js';
import { Canary, type CanaryOutcome, type CanaryResult } from './canary.js';
import { StallWatchdog, type StallState } from './stall-watchdog.js';

export interface WorkerHealthOptions {
  /** A stall is this long without progress while requests are in flight, ms; 0: no watchdog. */
  stallTimeoutMs: number;
  /** A stall is fatal (serve exits) instead of only unhealthy. */
  exitOnStall: boolean;
  /** Canary interval, ms; 0: canaries only on demand (GET /health_generate). */
  healthCheckIntervalMs: number;
  /** A canary that has not finished after this long failed, ms. */
  healthCheckTimeoutMs: number;
}

/** Why serve must exit: the executor failed, or it stalled under --exit-on-stall. */
export interface FatalEvent {
  kind: 'executor_failed' | 'stalled';
  message: string;
}

/** The health JSON's `engine` part (snake_case, as the rest of Dynamo's health JSON). */
export interface EngineHealth {
  status: EngineStatus | 'loading';
  inflight: number;
  seconds_since_progress: number;
  stalled: boolean;
  stalls: number;
  failure?: string;
  health_check?: { outcome: CanaryOutcome; seconds: number; seconds_ago: number; error?: string };
}

export interface HealthReport {
  healthy: boolean;
  /** One line per reason the worker cannot serve (empty when healthy). */
  reasons: string[];
  engine: EngineHealth;
}

/** What the health metrics sample (lib/metrics/health-metrics.ts). */
export interface HealthCounters {
  healthy: boolean;
  stalled: boolean;
  stalls: number;
  failed: boolean;
  failures: number;
  secondsSinceProgress: number;
  healthChecks: Record<CanaryOutcome, number>;
}

export class WorkerHealth {
  private engine: Engine | null = null;
  private watchdog: StallWatchdog | null = null;
  private canaryRunner: Canary | null = null;
  private failures = 0;
  private readonly checks: Record<CanaryOutcome, number> = { ok: 0, failed: 0, timeout: 0 };
  private readonly fatalListeners = new Set<(event: FatalEvent) => void>();

  constructor(
    private readonly options: WorkerHealthOptions,
    private readonly draining: () => boolean,
  ) {}

  /** Starts watching an engine: its failure, the watchdog and the canary (prompt: token ids of its vocabulary). */
  attach(engine: Engine, canaryPrompt: Int32Array): void {
    this.engine = engine;
    engine.onFailure((err) => {
      this.failures++;
      this.emitFatal({ kind: 'executor_failed', message: err.message });
    });
    if (this.options.stallTimeoutMs > 0) {
      this.watchdog = new StallWatchdog(engine, {
        stallTimeoutMs: this.options.stallTimeoutMs,
        onStall: (s) => {
          if (this.options.exitOnStall) this.emitFatal({ kind: 'stalled', message: stallLine(s) });
        },
      });
      this.watchdog.start();
    }
    this.canaryRunner = new Canary(engine, {
      promptTokenIds: canaryPrompt,
      intervalMs: this.options.healthCheckIntervalMs,
      timeoutMs: this.options.healthCheckTimeoutMs,
      onResult: (r) => this.checks[r.outcome]++,
    });
    this.canaryRunner.start();
  }

  /** Stops the timers (shutdown). */
  stop(): void {
    this.watchdog?.stop();
    this.canaryRunner?.stop();
  }

  /** The canary, for GET /health_generate (null before the engine is loaded). */
  get canary(): Canary | null {
    return this.canaryRunner;
  }

  /** Told once per fatal event (an executor failure; a stall under --exit-on-stall). */
  onFatal(listener: (event: FatalEvent) => void): () => void {
    this.fatalListeners.add(listener);
    return () => this.fatalListeners.delete(listener);
  }

  /** /live: the engine is loaded and running and the worker is not draining (unchanged by stalls and canaries). */
  get live(): boolean {
    return !this.draining() && this.engine !== null && this.engine.ready;
  }

  /** /health: everything that keeps the worker from serving, with reasons. */
  report(): HealthReport {
    const reasons: string[] = [];
    const engine = this.engine;
    if (engine === null) {
      reasons.push('the engine is loading');
      return { healthy: false, reasons, engine: { status: 'loading', inflight: 0, seconds_since_progress: 0, stalled: false, stalls: 0 } };
    }
    const status = engine.status;
    if (engine.failure !== null) reasons.push(engine.failure.message);
    if (this.draining()) reasons.push('the worker is shutting down');
    else if (status !== 'running' && status !== 'failed') reasons.push(`the engine is ${status}`);
    // Checked now, not only on the watchdog's timer: a probe sees a stall the moment it counts as one.
    const stall = this.watchdog?.check() ?? null;
    if (stall?.stalled) reasons.push(stallLine(stall));
    const canary = this.canaryRunner;
    const last = canary?.last ?? null;
    if (canary !== null && !canary.healthy && last !== null) {
      reasons.push(`the last health check ${last.outcome === 'timeout' ? 'timed out' : 'failed'}: ${last.error ?? ''}`.trim());
    }
    const body: EngineHealth = {
      status,
      inflight: engine.inflight,
      seconds_since_progress: round3(Math.max(0, performance.now() - engine.lastProgressAt) / 1000),
      stalled: stall?.stalled ?? false,
      stalls: stall?.stalls ?? 0,
    };
    if (engine.failure !== null) body.failure = engine.failure.message;
    if (last !== null) {
      body.health_check = { outcome: last.outcome, seconds: round3(last.seconds), seconds_ago: round3((performance.now() - last.at) / 1000) };
      if (last.error !== undefined) body.health_check.error = last.error;
    }
    return { healthy: reasons.length === 0, reasons, engine: body };
  }

  /** The figures the metrics sample at scrape time. */
  counters(): HealthCounters {
    const r = this.report();
    return {
      healthy: r.healthy,
      stalled: r.engine.stalled,
      stalls: r.engine.stalls,
      failed: r.engine.status === 'failed' || this.engine?.failure != null,
      failures: this.failures,
      secondsSinceProgress: r.engine.seconds_since_progress,
      healthChecks: { ...this.checks },
    };
  }

  private emitFatal(event: FatalEvent): void {
    for (const l of this.fatalListeners) {
      try {
        l(event);
      } catch (err) {
        process.emitWarning(`a trtllm-metrics fatal-event listener threw: ${(err as Error)?.message ?? String(err)}`, { code: 'TRTLLM_METRICS_LISTENER' });
      }
    }
  }
}

function stallLine(s: StallState): string {
  return `the executor stalled: no iteration for ${s.secondsSinceProgress.toFixed(1)} s with ${s.inflight} request(s) in flight`;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export type { CanaryResult };
