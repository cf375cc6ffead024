/**
 * Engine: the public API over one native executor (the simulator, or TensorRT-LLM when built with it).
 * Token chunks, finished-request records, iteration stats and KV events arrive in batches from the bridge;
 * this class routes them to generate() streams, listeners, iterators and the getLatest*() buffers.
 */
import { AsyncQueue } from './async-queue.js';
import { BackendUnavailableError, EngineClosedError, ExecutorError, ExecutorFailedError, InvalidArgumentError, RequestFailedError, TrtllmMetricsError } from './errors.js';
import { validateEngineOptions, type EngineOptions } from './engine-options.js';
import { validateGenerateRequest, type GenerateRequest } from './request-options.js';
import {
  CHUNK_FLAG_ERROR,
  CHUNK_FLAG_EXECUTOR_FAULT,
  CHUNK_FLAG_FINAL,
  CHUNK_FLAG_PERF,
  CHUNK_STRIDE,
  ChunkField,
  loadAddon,
  type NativeBatch,
  type NativeEngine,
  type NativeEngineInfo,
  type NativeSimClockState,
  type NativeSimInfo,
} from './native.js';
import { REQUEST_RECORD_STRIDE, type RequestRecordBatch } from './records.js';
import { perfMetricsFromRecord, type RequestPerfMetrics } from './request-timings.js';
import type { BridgeCounters, IterationStats, KvCacheEvent, MetricsSource } from './types.js';

// Defined in lib/request-timings.ts (the one copy of the per-record conversions); re-exported here, where
// they lived before, for compatibility.
export { perfMetricsFromRecord, type RequestPerfMetrics };

/** TensorRT-LLM's FinishReason, by name. */
export type FinishReason = 'not_finished' | 'end_id' | 'stop_words' | 'length' | 'timed_out' | 'cancelled';
const FINISH_REASONS: readonly FinishReason[] = ['not_finished', 'end_id', 'stop_words', 'length', 'timed_out', 'cancelled'];

export interface GenerateChunk {
  requestId: number;
  /** New tokens of this iteration (streaming), or every generated token (non-streaming final chunk). */
  tokens: Int32Array;
  isFinal: boolean;
  /** Set on the final chunk. */
  finishReason: FinishReason | null;
  sequenceIndex: number;
  /** Present when the request set returnPerfMetrics. */
  perfMetrics?: RequestPerfMetrics;
}

export interface GenerateResult {
  requestId: number;
  /** Every generated token (the prompt is not included). */
  tokens: Int32Array;
  finishReason: FinishReason;
  perfMetrics?: RequestPerfMetrics;
}

/**
 * Where the engine stands: `running` takes requests; `failed` means the executor itself failed (a fatal error of
 * its forward step: every request in flight was settled with an ExecutorError, and new ones are refused until
 * the engine is shut down and replaced); `closing` and `closed` follow shutdown().
 */
export type EngineStatus = 'running' | 'failed' | 'closing' | 'closed';

/** The simulator's clock and its hold (docs/simulator.md "Pacing"). Times: ns in the units of record timestamps. */
export type SimClockState = NativeSimClockState;
export type SimInfo = NativeSimInfo;

/** The chunks of one request; iterate it with for-await. Leaving the loop early cancels the request. */
export class GenerationStream implements AsyncIterable<GenerateChunk> {
  /** @internal */
  readonly queue: AsyncQueue<GenerateChunk>;
  /** @internal */
  finished = false;
  /** @internal Called once when the request finishes (detaches an AbortSignal listener). */
  onFinish: (() => void) | undefined;

  /** @internal */
  constructor(readonly requestId: number, private readonly engine: Engine) {
    this.queue = new AsyncQueue<GenerateChunk>(Infinity, () => {
      if (!this.finished) this.engine.cancel(this.requestId);
    });
  }

  /** Cancels the request; the stream ends with a final chunk whose finishReason is 'cancelled'. */
  cancel(): void {
    this.engine.cancel(this.requestId);
  }

  [Symbol.asyncIterator](): AsyncIterator<GenerateChunk> {
    return this.queue;
  }

  /** Consumes the stream and returns every token with the final state. */
  async collect(): Promise<GenerateResult> {
    const parts: Int32Array[] = [];
    let total = 0;
    let last: GenerateChunk | undefined;
    for await (const chunk of this.queue) {
      parts.push(chunk.tokens);
      total += chunk.tokens.length;
      last = chunk;
    }
    const tokens = new Int32Array(total);
    let at = 0;
    for (const p of parts) {
      tokens.set(p, at);
      at += p.length;
    }
    const result: GenerateResult = { requestId: this.requestId, tokens, finishReason: last?.finishReason ?? 'not_finished' };
    if (last?.perfMetrics) result.perfMetrics = last.perfMetrics;
    return result;
  }
}

type Listener<T> = (value: T) => void;

export class Engine implements MetricsSource, AsyncDisposable {
  readonly modelName: string;
  readonly backend: 'sim' | 'trtllm';
  private readonly native: NativeEngine;
  private nativeInfo: NativeEngineInfo;
  private readonly shutdownGraceMs: number;
  private readonly streams = new Map<number, GenerationStream>();
  private readonly recordListeners = new Set<Listener<RequestRecordBatch>>();
  private readonly statsListeners = new Set<Listener<readonly IterationStats[]>>();
  private readonly eventListeners = new Set<Listener<readonly KvCacheEvent[]>>();
  private readonly latestStats: AsyncQueue<IterationStats>;
  private readonly latestEvents: AsyncQueue<KvCacheEvent>;
  private statsIterator: AsyncQueue<IterationStats> | undefined;
  private eventsIterator: AsyncQueue<KvCacheEvent> | undefined;
  private state: EngineStatus = 'running';
  private failureError: ExecutorFailedError | null = null;
  private readonly failureListeners = new Set<Listener<ExecutorFailedError>>();
  private progressAt = performance.now();
  private shutdownPromise: Promise<void> | undefined;
  private refd = false;

  private constructor(native: NativeEngine, modelName: string, backend: 'sim' | 'trtllm', graceMs: number, statsCap: number, eventsCap: number) {
    this.native = native;
    this.modelName = modelName;
    this.backend = backend;
    this.shutdownGraceMs = graceMs;
    this.latestStats = new AsyncQueue<IterationStats>(statsCap);
    this.latestEvents = new AsyncQueue<KvCacheEvent>(eventsCap);
    this.nativeInfo = native.info();
  }

  /** Validates the options, builds the executor off the JS thread and starts streaming. */
  static async create(options: EngineOptions = {}): Promise<Engine> {
    const resolved = validateEngineOptions(options);
    const addon = loadAddon();
    const Ctor = resolved.backend === 'trtllm' ? addon.TrtllmEngine : addon.SimEngine;
    if (!Ctor) {
      throw new BackendUnavailableError(
        'backend "trtllm" is not compiled into this build: reinstall with TRTLLM_ROOT pointing at a TensorRT-LLM ' +
          'install (e.g. TRTLLM_ROOT=$(python3 -c "import tensorrt_llm,os;print(os.path.dirname(tensorrt_llm.__file__))") npm rebuild trtllm-metrics); see docs/trtllm.md',
      );
    }
    let engine: Engine | undefined;
    let native: NativeEngine;
    try {
      native = new Ctor(resolved.native, (batch) => engine?.onBatch(batch));
    } catch (cause) {
      throw new ExecutorError(`invalid engine options: ${(cause as Error).message}`, { cause });
    }
    engine = new Engine(native, resolved.modelName, resolved.backend, resolved.shutdownGraceMs, resolved.latestStatsCapacity, resolved.latestEventsCapacity);
    try {
      await native.start();
    } catch (cause) {
      throw new ExecutorError(`the ${resolved.backend} executor failed to start: ${(cause as Error).message}`, { cause });
    }
    engine.refreshInfo();
    return engine;
  }

  private refreshInfo(): void {
    this.nativeInfo = this.native.info();
  }

  /** True while the engine accepts requests. */
  get ready(): boolean {
    return this.state === 'running';
  }

  /** running, failed, closing or closed (EngineStatus). */
  get status(): EngineStatus {
    return this.state;
  }

  /** Why the executor failed, once it has (status `failed`, and afterwards); else null. */
  get failure(): ExecutorFailedError | null {
    return this.failureError;
  }

  /**
   * When the executor last showed progress, on performance.now()'s clock (ms): an iteration's stats or a response
   * arrived, or work arrived at an idle engine (so a wait begins when there is something to wait for). The stall
   * watchdog (lib/health/stall-watchdog.ts) compares it with the time while requests are in flight.
   */
  get lastProgressAt(): number {
    return this.progressAt;
  }

  /** eventBufferMaxSize of the executor; 0 when KV events are off. */
  get kvEventBufferCapacity(): number {
    return this.nativeInfo.eventBufferCapacity;
  }

  /** Tokens per KV block of the engine. */
  get tokensPerBlock(): number {
    return this.native.info().tokensPerBlock;
  }

  /** Steady-clock ns that record timestamps count from (compare with process.hrtime.bigint()). */
  get epochNs(): bigint {
    return this.nativeInfo.epochNs;
  }

  /** Requests enqueued and not finished yet. */
  get inflight(): number {
    return this.streams.size;
  }

  /**
   * Enqueues a request (synchronously; bad input throws InvalidArgumentError, a full queue ExecutorError)
   * and returns its stream of chunks.
   */
  generate(request: GenerateRequest): GenerationStream {
    const nativeRequest = validateGenerateRequest(request);
    if (nativeRequest.simArrivalTimeNs !== undefined && this.backend !== 'sim') {
      throw new InvalidArgumentError('request.simArrivalTimeNs applies only to backend "sim" (TensorRT-LLM has no scheduled arrivals)');
    }
    if (this.state === 'failed') throw this.failedError();
    if (this.state !== 'running') throw new EngineClosedError();
    let id: number;
    try {
      id = this.native.enqueue(nativeRequest);
    } catch (cause) {
      const code = (cause as { code?: string }).code;
      if (code === 'ERR_TRTLLM_ENGINE_CLOSED') throw new EngineClosedError();
      throw new ExecutorError((cause as Error).message, { cause });
    }
    const stream = new GenerationStream(id, this);
    if (this.streams.size === 0) this.progressAt = performance.now();
    this.streams.set(id, stream);
    if (!this.refd) {
      this.native.ref();
      this.refd = true;
    }
    const signal = request.signal;
    if (signal) {
      if (signal.aborted) this.cancel(id);
      else {
        const onAbort = (): void => this.cancel(id);
        signal.addEventListener('abort', onAbort, { once: true });
        stream.onFinish = () => signal.removeEventListener('abort', onAbort);
      }
    }
    return stream;
  }

  /** generate() and collect(): resolves with all tokens once the request finishes. */
  complete(request: GenerateRequest): Promise<GenerateResult> {
    return this.generate(request).collect();
  }

  /** Cancels a request; unknown or finished ids are ignored (as the executor does). */
  cancel(requestId: number): void {
    if (this.state !== 'running') return;
    if (!this.streams.has(requestId)) return;
    this.native.cancel(requestId);
  }

  /** Iteration stats delivered since the previous call (at most latestStatsCapacity; older ones dropped). */
  async getLatestIterationStats(): Promise<IterationStats[]> {
    return this.latestStats.drain();
  }

  /** KV-cache events delivered since the previous call (at most latestEventsCapacity). */
  async getLatestKvCacheEvents(): Promise<KvCacheEvent[]> {
    return this.latestEvents.drain();
  }

  /** Every iteration's stats as they arrive; one consumer. Ends at shutdown. */
  iterationStats(capacity = 10_000): AsyncIterableIterator<IterationStats> {
    if (this.statsIterator) throw new TrtllmMetricsError('ERR_TRTLLM_ALREADY_CONSUMED', 'iterationStats() already has a consumer');
    const q = new AsyncQueue<IterationStats>(capacity, () => {
      this.statsIterator = undefined;
    });
    if (this.state === 'closed') q.close();
    this.statsIterator = q;
    return q;
  }

  /** Every KV-cache event as it arrives; one consumer. Ends at shutdown. */
  kvCacheEvents(capacity = 100_000): AsyncIterableIterator<KvCacheEvent> {
    if (this.eventsIterator) throw new TrtllmMetricsError('ERR_TRTLLM_ALREADY_CONSUMED', 'kvCacheEvents() already has a consumer');
    const q = new AsyncQueue<KvCacheEvent>(capacity, () => {
      this.eventsIterator = undefined;
    });
    if (this.state === 'closed') q.close();
    this.eventsIterator = q;
    return q;
  }

  /** Finished-request records in batches (lib/records.ts layout). The batch's buffer is only valid during the call. */
  onRequestFinished(listener: Listener<RequestRecordBatch>): () => void {
    this.recordListeners.add(listener);
    return () => this.recordListeners.delete(listener);
  }

  onIterationStats(listener: Listener<readonly IterationStats[]>): () => void {
    this.statsListeners.add(listener);
    return () => this.statsListeners.delete(listener);
  }

  onKvCacheEvents(listener: Listener<readonly KvCacheEvent[]>): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Called once, when the executor fails (status becomes `failed`), with the error in-flight requests got. */
  onFailure(listener: Listener<ExecutorFailedError>): () => void {
    this.failureListeners.add(listener);
    return () => this.failureListeners.delete(listener);
  }

  // ---- simulator-only pacing (docs/simulator.md "Pacing"); backend "trtllm" throws ERR_TRTLLM_UNSUPPORTED ----

  /**
   * The simulator's clock now, in the units of record timestamps (steady-clock ns relative to epochNs):
   * lay simArrivalTimeNs schedules out from it. Simulated time with sim.virtualClock.
   */
  simClockNs(): number {
    this.requireSimClock('simClockNs');
    return this.callClock(() => this.native.simClockNs());
  }

  /**
   * Holds the virtual clock: the simulator finishes the iteration in progress and starts none at or after
   * `atNs` (default: now), and the clock stops running at real speed while idle. Returns the hold (ns).
   * Use it to enqueue a batch of scheduled arrivals before the clock can pass them, then move the hold on
   * or call resumeSimClock(). Cancellations and shutdown still work while held.
   *
   * `unlessBacklogged`: iterations at or after the hold still run while more requests wait than one
   * iteration can admit. That is exact (but for the queue lengths in iteration stats) when every request
   * not sent yet arrives at or after `atNs`, has no higher priority and no allottedTimeMs: it would queue
   * behind the waiting ones. It lets the simulation overlap the enqueueing of a long schedule.
   */
  holdSimClock(atNs?: number, options: { unlessBacklogged?: boolean } = {}): number {
    this.requireSimClock('holdSimClock');
    if (atNs !== undefined && !(typeof atNs === 'number' && Number.isFinite(atNs) && atNs > 0)) {
      throw new InvalidArgumentError(`holdSimClock(atNs): atNs must be a positive finite number, got ${String(atNs)}`);
    }
    const unlessBacklogged = options.unlessBacklogged === true;
    return this.callClock(() => this.native.holdSimClock(atNs, unlessBacklogged));
  }

  /** Clears the hold (holdSimClock's or lockstep's). A no-op when there is none or after shutdown. */
  resumeSimClock(): void {
    this.requireSimClock('resumeSimClock');
    if (this.state === 'closed') return;
    this.callClock(() => this.native.resumeSimClock());
  }

  /** Where the simulator's clock stands; `paused` means it waits at a hold for the client. */
  simClockState(): SimClockState {
    this.requireSimClock('simClockState');
    return this.callClock(() => this.native.simClockState());
  }

  /**
   * What the simulator runs with: its timing model, per-rank KV blocks (GPU and host tier) and batch limits
   * (trtllm-bench's heuristic with the performance model), the GPU and precisions, and the LoRA adapters
   * resident in each rank's device cache. Simulator only.
   */
  simInfo(): SimInfo {
    this.requireSimClock('simInfo');
    return this.callClock(() => this.native.simInfo());
  }

  private requireSimClock(method: string): void {
    if (this.backend !== 'sim') {
      throw new TrtllmMetricsError('ERR_TRTLLM_UNSUPPORTED', `engine.${method}() applies only to backend "sim"`);
    }
  }

  private callClock<T>(fn: () => T): T {
    try {
      return fn();
    } catch (cause) {
      const code = (cause as { code?: string }).code;
      if (code === 'ERR_TRTLLM_ENGINE_CLOSED') throw new EngineClosedError();
      if (code === 'ERR_TRTLLM_UNSUPPORTED') throw new TrtllmMetricsError(code, (cause as Error).message, { cause });
      throw new ExecutorError((cause as Error).message, { cause });
    }
  }

  /**
   * Delivers now what the executor has produced. The bridge's pumps poll the executor at once (iteration stats
   * no longer wait for bridge.statsIntervalMs; responses and KV events wait at most for the poll in progress,
   * bridge.responsePollMs / eventPollMs), and the promise resolves once everything the executor had produced
   * before the call has been handed over: chunks routed to their generate() streams, finished-request records,
   * iteration stats and KV events passed to the listeners, iterators and getLatest*() buffers. Records, stats
   * and events that a full queue dropped are counted (counters()), not delivered. After shutdown() it resolves at
   * once: the final delivery carried everything. Lets tests and checkpoints wait for stats and events without
   * sleeping.
   */
  flush(): Promise<void> {
    return this.native.flush().catch((cause: unknown) => {
      const code = (cause as { code?: string }).code;
      if (code === 'ERR_TRTLLM_ENGINE_CLOSED') throw new EngineClosedError();
      throw new ExecutorError((cause as Error).message, { cause });
    });
  }

  /** produced / delivered / dropped / queued per bridge stream. */
  counters(): BridgeCounters {
    return this.native.counters();
  }

  /**
   * Stops accepting requests, cancels those in flight (they finish as 'cancelled' if the executor answers
   * within shutdownGraceMs, else they fail with EngineClosedError), delivers everything still queued and
   * stops the executor. Idempotent (the first call's grace applies). `graceMs` overrides shutdownGraceMs, e.g. 0
   * for an executor that has stalled or failed and will not answer the cancellations.
   */
  shutdown(options: { graceMs?: number } = {}): Promise<void> {
    if (!this.shutdownPromise) {
      this.state = 'closing';
      const grace = options.graceMs ?? this.shutdownGraceMs;
      if (!(Number.isInteger(grace) && grace >= 0)) throw new InvalidArgumentError(`shutdown({ graceMs }) must be an integer >= 0, got ${String(grace)}`);
      this.shutdownPromise = this.native.shutdown(grace).then(() => this.finishClose());
    }
    return this.shutdownPromise;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  private finishClose(): void {
    this.state = 'closed';
    for (const [id, stream] of this.streams) {
      stream.finished = true;
      stream.onFinish?.();
      stream.queue.close(new EngineClosedError(`the engine shut down before request ${id} finished`));
    }
    this.streams.clear();
    this.statsIterator?.close();
    this.eventsIterator?.close();
    if (this.refd) {
      this.native.unref();
      this.refd = false;
    }
  }

  private onBatch(batch: NativeBatch): void {
    if (batch.chunks || batch.stats) this.progressAt = performance.now();
    // Each part is handled on its own, so a throwing listener cannot starve the others.
    if (batch.chunks) this.routeChunks(batch.chunks);
    if (batch.records) {
      const recordBatch: RequestRecordBatch = { data: batch.records, count: batch.recordCount ?? 0, epochNs: this.nativeInfo.epochNs };
      for (const l of this.recordListeners) safeCall(l, recordBatch);
    }
    if (batch.stats) {
      for (const s of batch.stats) {
        this.latestStats.push(s);
        this.statsIterator?.push(s);
      }
      for (const l of this.statsListeners) safeCall(l, batch.stats);
    }
    if (batch.events) {
      for (const e of batch.events) {
        this.latestEvents.push(e);
        this.eventsIterator?.push(e);
      }
      for (const l of this.eventListeners) safeCall(l, batch.events);
    }
  }

  private routeChunks(chunks: NonNullable<NativeBatch['chunks']>): void {
    const { meta, tokens, perf, errors } = chunks;
    const n = meta.length / CHUNK_STRIDE;
    for (let i = 0; i < n; i++) {
      const m = i * CHUNK_STRIDE;
      const id = meta[m + ChunkField.REQUEST_ID]!;
      const stream = this.streams.get(id);
      if (!stream) continue;
      const flags = meta[m + ChunkField.FLAGS]!;
      const isFinal = (flags & CHUNK_FLAG_FINAL) !== 0;
      if (flags & CHUNK_FLAG_ERROR) {
        const message = errors[meta[m + ChunkField.ERROR_INDEX]!] ?? 'unknown executor error';
        if (flags & CHUNK_FLAG_EXECUTOR_FAULT && this.state === 'running') {
          this.fail(message);
          continue;
        }
        this.finishStream(id, stream);
        stream.queue.close(this.state === 'running' ? new RequestFailedError(id, message) : new EngineClosedError(`request ${id}: ${message}`));
        continue;
      }
      const offset = meta[m + ChunkField.TOKEN_OFFSET]!;
      const count = meta[m + ChunkField.TOKEN_COUNT]!;
      const chunk: GenerateChunk = {
        requestId: id,
        tokens: tokens.slice(offset, offset + count),
        isFinal,
        finishReason: isFinal ? (FINISH_REASONS[meta[m + ChunkField.FINISH_REASON]!] ?? 'not_finished') : null,
        sequenceIndex: meta[m + ChunkField.SEQUENCE_INDEX]!,
      };
      if (flags & CHUNK_FLAG_PERF) {
        chunk.perfMetrics = perfMetricsFromRecord(perf, meta[m + ChunkField.PERF_ROW]! * REQUEST_RECORD_STRIDE, this.nativeInfo.epochNs);
      }
      stream.queue.push(chunk);
      if (isFinal) {
        this.finishStream(id, stream);
        stream.queue.close();
      }
    }
  }

  /**
   * The executor failed: every request in flight settles now with the ExecutorError (the executor answers them
   * with errors too, or never: either way nobody waits), new requests are refused, and the listeners hear it once.
   */
  private fail(message: string): void {
    this.state = 'failed';
    this.failureError = new ExecutorFailedError(`the executor failed: ${message}`);
    for (const [id, stream] of [...this.streams]) {
      this.finishStream(id, stream);
      stream.queue.close(this.failedError());
      try {
        this.native.cancel(id);
      } catch {
        // Best effort: a failed executor may refuse it.
      }
    }
    for (const l of this.failureListeners) safeCall(l, this.failureError);
  }

  /** A fresh ExecutorFailedError per caller (its stack is theirs), with the failure's message. */
  private failedError(): ExecutorFailedError {
    return new ExecutorFailedError(this.failureError!.message, { cause: this.failureError });
  }

  private finishStream(id: number, stream: GenerationStream): void {
    stream.finished = true;
    stream.onFinish?.();
    this.streams.delete(id);
    if (this.streams.size === 0 && this.refd) {
      this.native.unref();
      this.refd = false;
    }
  }
}

function safeCall<T>(listener: Listener<T>, value: T): void {
  try {
    listener(value);
  } catch (err) {
    process.emitWarning(`a trtllm-metrics listener threw: ${(err as Error)?.stack ?? String(err)}`, { code: 'TRTLLM_METRICS_LISTENER' });
  }
}
