/**
 * The in-process target: an Engine (the simulator) with a MetricsCollector attached, driven directly.
 * Client-side times are taken around generate() and its chunks on the wall clock; the engine side comes
 * from the raw finished-request records (RecordStore), which the collector also records from.
 *
 * Streaming: with `streaming` every iteration's tokens arrive as a chunk, which gives client-side TTFT and
 * ITL; without it one final chunk arrives, so only the client-side E2E is measured (TTFT/TPOT still come
 * from the engine's perf metrics). Streaming costs a JS chunk per token, about ten times the per-request
 * cost, so it is off by default with --virtual-clock (where client wall times say nothing about the
 * simulated timeline anyway) and on otherwise.
 *
 * Virtual clock: the target paces the simulator (SimPacing; docs/bench.md "The virtual clock"): requests
 * carry scheduled arrivals on the simulated clock, and with `lockstep` (closed loop) the simulator holds its
 * clock after each iteration in which a request finished until the runner has sent the replacements.
 */
import { Engine, type FinishReason, type SimClockState } from '../engine.js';
import type { EngineOptions } from '../engine-options.js';
import type { GenerateRequest } from '../request-options.js';
import { MetricsCollector } from '../metrics/collector.js';
import { RecordField, REQUEST_RECORD_STRIDE, type RequestRecordBatch } from '../records.js';
import type { ClientResults } from './client-results.js';
import { RecordStore } from './engine-records.js';
import type { SimPacing, Target, TargetFinal } from './target.js';
import type { Workload } from './workload.js';

export interface EngineTargetOptions {
  model: string;
  streaming: boolean;
  virtualClock: boolean;
  /** Virtual clock, closed loop (--concurrency): the simulator's lockstep mode. */
  lockstep?: boolean;
  seed: number;
  /** Engine options of the command line (lib/options/engine-table.ts); the target adds its pacing and lengths. */
  engine?: EngineOptions;
}

/** The finished_reason label of an engine FinishReason. */
const REASON_LABEL: Record<FinishReason, string> = {
  not_finished: 'not_finished',
  end_id: 'stop',
  stop_words: 'stop',
  length: 'length',
  timed_out: 'timeout',
  cancelled: 'cancelled',
};

const DEFAULT_SIM_MAX_SEQ_LEN = 8192;

export class EngineTarget implements Target, SimPacing {
  readonly description: string;
  readonly engineClock: 'simulated' | 'steady';
  readonly streaming: boolean;
  readonly model: string;
  readonly pacing: SimPacing | null;
  readonly lockstep: boolean;
  private engine: Engine | null = null;
  private collector: MetricsCollector | null = null;
  private readonly store: RecordStore;
  /** Lockstep: request id of each workload request, and the last token time (ns) of each request id. */
  private readonly idOf: Float64Array;
  private lastTokenById: Float64Array;

  constructor(
    private readonly o: EngineTargetOptions,
    private readonly workload: Workload,
    private readonly results: ClientResults,
  ) {
    this.model = o.model;
    this.streaming = o.streaming;
    this.engineClock = o.virtualClock ? 'simulated' : 'steady';
    const speedup = o.engine?.sim?.speedupRatio;
    const clock = o.virtualClock ? 'virtual clock' : `real clock${speedup !== undefined ? `, speedup ${speedup}x` : ''}`;
    this.lockstep = o.virtualClock && o.lockstep === true;
    const pacing = o.virtualClock ? (this.lockstep ? ', lockstep' : ', scheduled arrivals') : '';
    this.description = `in-process simulator (${clock}${pacing}, ${o.streaming ? 'streaming' : 'non-streaming'})`;
    this.store = new RecordStore(Math.min(workload.numRequests, 1 << 20));
    this.pacing = o.virtualClock ? this : null;
    this.idOf = new Float64Array(this.lockstep ? workload.numRequests : 0);
    this.lastTokenById = new Float64Array(this.lockstep ? workload.numRequests + 1 : 0);
  }

  engineOptions(): EngineOptions {
    const o = this.o;
    let longest = 0;
    let inputTokens = 0;
    let outputTokens = 0;
    const w = this.workload;
    for (let i = 0; i < w.numRequests; i++) {
      longest = Math.max(longest, w.inputLens[i]! + w.outputLens[i]!);
      inputTokens += w.inputLens[i]!;
      outputTokens += w.outputLens[i]!;
    }
    const given = o.engine ?? {};
    const sim: NonNullable<EngineOptions['sim']> = {
      ...given.sim,
      virtualClock: o.virtualClock,
      outputLengthMode: 'maxTokens',
      seed: o.seed,
      maxSeqLen: Math.max(given.sim?.maxSeqLen ?? DEFAULT_SIM_MAX_SEQ_LEN, longest),
    };
    if (given.sim?.perf?.modelConfig !== undefined) {
      // trtllm-bench sizes its batch limits for the dataset's mean lengths; so does the performance model.
      const n = Math.max(1, w.numRequests);
      sim.perf = {
        targetInputLen: Math.max(1, Math.round(inputTokens / n)),
        targetOutputLen: Math.max(1, Math.round(outputTokens / n)),
        ...given.sim.perf,
      };
    }
    if (this.lockstep) sim.lockstep = true;
    return { ...given, modelName: o.model, sim, shutdownGraceMs: 1000 };
  }

  /** With the performance model: the limits it picked, for the report's notes (null otherwise). */
  engineNote: string | null = null;

  async start(): Promise<void> {
    const engine = await Engine.create(this.engineOptions());
    this.engine = engine;
    const info = engine.simInfo();
    if (info.timingModel === 'perfModel') {
      const dp = info.attentionDp > 1 ? `, ${info.attentionDp} attention-DP ranks` : '';
      this.engineNote =
        `performance model: ${this.o.engine?.sim?.perf?.modelConfig} ${info.weightsPrecision} (KV ${info.kvCachePrecision}) on ${info.tp}x ${info.gpu}${dp}: ` +
        `maxBatchSize ${info.maxBatchSize}, maxNumTokens ${info.maxNumTokens}, ${info.numKvBlocks} KV blocks of ${info.tokensPerBlock} tokens`;
    }
    this.collector = new MetricsCollector({ model_name: this.model });
    this.collector.attach(engine);
    engine.onRequestFinished(this.store.onRecords);
    if (this.lockstep) engine.onRequestFinished(this.onLastTokens);
  }

  // ---- SimPacing (virtual clock) ----
  holdClock(atNs?: number, unlessBacklogged = false): number {
    return this.engine!.holdSimClock(atNs, { unlessBacklogged });
  }

  resumeClock(): void {
    this.engine?.resumeSimClock();
  }

  clockNs(): number {
    return this.engine!.simClockNs();
  }

  clockState(): SimClockState {
    return this.engine!.simClockState();
  }

  lastTokenNs(i: number): number {
    const id = this.idOf[i] ?? 0;
    const v = id > 0 && id < this.lastTokenById.length ? this.lastTokenById[id]! : 0;
    return v > 0 ? v : Number.NaN;
  }

  /**
   * Lockstep: the last token time of each finished request, by request id. A batch's records are delivered
   * (in the same engine batch or an earlier one) before the final chunk of the same request reaches send().
   */
  private readonly onLastTokens = (batch: RequestRecordBatch): void => {
    const d = batch.data;
    for (let k = 0, o = 0; k < batch.count; k++, o += REQUEST_RECORD_STRIDE) {
      const id = d[o + RecordField.REQUEST_ID]!;
      if (id >= this.lastTokenById.length) {
        const next = new Float64Array(Math.max(id + 1, this.lastTokenById.length * 2));
        next.set(this.lastTokenById);
        this.lastTokenById = next;
      }
      this.lastTokenById[id] = d[o + RecordField.LAST_TOKEN_TIME_NS]!;
    }
  };

  async send(i: number, t0: number, simArrivalNs?: number): Promise<void> {
    const engine = this.engine!;
    const r = this.results;
    const w = this.workload;
    const prompt = w.promptTokens(i);
    r.promptTokens[i] = prompt.length;
    const sent = (performance.now() - t0) / 1000;
    r.sendTime[i] = sent;
    let stream;
    const request: GenerateRequest = { inputTokenIds: prompt, maxTokens: w.outputLens[i]!, streaming: this.streaming };
    if (simArrivalNs !== undefined) request.simArrivalTimeNs = simArrivalNs;
    try {
      stream = engine.generate(request);
      if (this.lockstep) this.idOf[i] = stream.requestId;
    } catch (err) {
      r.fail(i, (err as Error).message, sent);
      return;
    }
    let tokens = 0;
    let prev = Number.NaN;
    let reason: FinishReason | null = null;
    try {
      for await (const chunk of stream) {
        const now = (performance.now() - t0) / 1000;
        if (chunk.tokens.length > 0) {
          if (tokens === 0) {
            if (this.streaming) r.firstTokenTime[i] = now;
          } else {
            r.itl.push(now - prev);
          }
          prev = now;
          tokens += chunk.tokens.length;
        }
        if (chunk.isFinal) reason = chunk.finishReason;
      }
    } catch (err) {
      r.fail(i, (err as Error).message, (performance.now() - t0) / 1000);
      return;
    }
    r.lastTokenTime[i] = (performance.now() - t0) / 1000;
    r.outputTokens[i] = tokens;
    r.succeed(i, REASON_LABEL[reason ?? 'not_finished'] ?? 'unknown');
  }

  async finish(): Promise<TargetFinal> {
    const engine = this.engine!;
    // Shutdown delivers every record still queued before it resolves.
    await engine.shutdown();
    const dropped = engine.counters().requestRecords.dropped;
    const exposition = await this.collector!.registry.metrics();
    this.collector!.close();
    return {
      records: this.store,
      recordsSource: 'records',
      exposition,
      expositionBefore: null,
      recordsDropped: dropped,
      seriesMatch: { model_name: this.model },
    };
  }

  async abort(): Promise<void> {
    try {
      await this.engine?.shutdown();
    } finally {
      this.collector?.close();
    }
  }
}
