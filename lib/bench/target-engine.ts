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
 */
import { Engine, type FinishReason } from '../engine.js';
import type { EngineOptions } from '../engine-options.js';
import { MetricsCollector } from '../metrics/collector.js';
import type { ClientResults } from './client-results.js';
import { RecordStore } from './engine-records.js';
import type { Target, TargetFinal } from './target.js';
import type { Workload } from './workload.js';

export interface EngineTargetOptions {
  model: string;
  streaming: boolean;
  virtualClock: boolean;
  speedupRatio?: number;
  seed: number;
  maxBatchSize?: number;
  maxNumTokens?: number;
  kvBlocks?: number;
  tokensPerBlock?: number;
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

export class EngineTarget implements Target {
  readonly description: string;
  readonly engineClock: 'simulated' | 'steady';
  readonly streaming: boolean;
  readonly model: string;
  private engine: Engine | null = null;
  private collector: MetricsCollector | null = null;
  private readonly store: RecordStore;

  constructor(
    private readonly o: EngineTargetOptions,
    private readonly workload: Workload,
    private readonly results: ClientResults,
  ) {
    this.model = o.model;
    this.streaming = o.streaming;
    this.engineClock = o.virtualClock ? 'simulated' : 'steady';
    const clock = o.virtualClock ? 'virtual clock' : `real clock${o.speedupRatio !== undefined ? `, speedup ${o.speedupRatio}x` : ''}`;
    this.description = `in-process simulator (${clock}, ${o.streaming ? 'streaming' : 'non-streaming'})`;
    this.store = new RecordStore(Math.min(workload.numRequests, 1 << 20));
  }

  engineOptions(): EngineOptions {
    const o = this.o;
    let longest = 0;
    const w = this.workload;
    for (let i = 0; i < w.numRequests; i++) longest = Math.max(longest, w.inputLens[i]! + w.outputLens[i]!);
    const sim: NonNullable<EngineOptions['sim']> = {
      virtualClock: o.virtualClock,
      outputLengthMode: 'maxTokens',
      seed: o.seed,
      maxSeqLen: Math.max(DEFAULT_SIM_MAX_SEQ_LEN, longest),
    };
    if (o.speedupRatio !== undefined) sim.speedupRatio = o.speedupRatio;
    if (o.kvBlocks !== undefined) sim.numKvBlocks = o.kvBlocks;
    if (o.tokensPerBlock !== undefined) sim.tokensPerBlock = o.tokensPerBlock;
    const executorConfig: NonNullable<EngineOptions['executorConfig']> = { kvCacheConfig: { enableBlockReuse: true } };
    if (o.maxBatchSize !== undefined) executorConfig.maxBatchSize = o.maxBatchSize;
    if (o.maxNumTokens !== undefined) executorConfig.maxNumTokens = o.maxNumTokens;
    return { modelName: o.model, sim, executorConfig, shutdownGraceMs: 1000 };
  }

  async start(): Promise<void> {
    const engine = await Engine.create(this.engineOptions());
    this.engine = engine;
    this.collector = new MetricsCollector({ model_name: this.model });
    this.collector.attach(engine);
    engine.onRequestFinished(this.store.onRecords);
  }

  async send(i: number, t0: number): Promise<void> {
    const engine = this.engine!;
    const r = this.results;
    const w = this.workload;
    const prompt = w.promptTokens(i);
    r.promptTokens[i] = prompt.length;
    const sent = (performance.now() - t0) / 1000;
    r.sendTime[i] = sent;
    let stream;
    try {
      stream = engine.generate({ inputTokenIds: prompt, maxTokens: w.outputLens[i]!, streaming: this.streaming });
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
