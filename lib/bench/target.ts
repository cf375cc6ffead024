/** What the runner drives: the in-process engine (target-engine.ts) or an OpenAI-compatible server (target-http.ts). */
import type { SimClockState } from '../engine.js';
import type { RecordStore } from './engine-records.js';

export interface TargetFinal {
  /** Finished-request records of the engine side, when the target has them. */
  records: RecordStore | null;
  /** Where `records` came from. */
  recordsSource: 'records' | 'perf_metrics' | null;
  /** The final /metrics exposition (in-process: our collector's; --url: the last --metrics-url scrape). */
  exposition: string | null;
  /** The exposition scraped before the run (--url only), to take the histograms' increase over the run. */
  expositionBefore: string | null;
  /** Records the bridge dropped (its record queue was full), in-process only. */
  recordsDropped: number;
  /** Static labels to select our series in the exposition (e.g. {model_name}). */
  seriesMatch: Record<string, string>;
}

/**
 * Pacing of a simulated clock (the in-process simulator with --virtual-clock; docs/bench.md "The virtual
 * clock"): the runner schedules arrivals on the simulated clock instead of sending on the wall clock.
 */
export interface SimPacing {
  /** Closed loop: the engine holds its clock after every iteration in which a request finished (lockstep). */
  readonly lockstep: boolean;
  /**
   * Holds the clock at atNs (default: now); no iteration starts at or after it, unless `unlessBacklogged`
   * and more requests wait than one iteration can admit (Engine.holdSimClock). Returns the hold (ns).
   */
  holdClock(atNs?: number, unlessBacklogged?: boolean): number;
  /** Clears the hold. */
  resumeClock(): void;
  /** The simulated clock now (ns, the units of record timestamps). */
  clockNs(): number;
  clockState(): SimClockState;
  /** The engine's last token time of workload request i (ns), NaN when unknown. Valid once send(i) resolved. */
  lastTokenNs(i: number): number;
}

export interface Target {
  /** One line describing it, for the report header. */
  readonly description: string;
  /** The clock of engine-side timestamps: the simulator's virtual clock, the real steady clock, or none. */
  readonly engineClock: 'simulated' | 'steady' | null;
  /** Whether client-side TTFT and ITL are measured (streamed outputs). */
  readonly streaming: boolean;
  /** The model name requests use. */
  readonly model: string;
  /** Set when the runner must pace a simulated clock (available after start()). */
  readonly pacing: SimPacing | null;
  start(): Promise<void>;
  /**
   * Sends workload request i and records it into the client results; resolves when it has finished.
   * `t0` is performance.now() at the start of the run. With `pacing`, `simArrivalNs` is the request's
   * scheduled arrival on the simulated clock. Never rejects: failures are recorded.
   */
  send(i: number, t0: number, simArrivalNs?: number): Promise<void>;
  /** After the last request: collects the engine side and releases everything. */
  finish(): Promise<TargetFinal>;
  /** Releases everything after a failure (idempotent). */
  abort(): Promise<void>;
}
