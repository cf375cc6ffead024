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
  CHUNK_FLAG_LOGPROBS,
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
import { KvEventBatch } from './kv-event-batch.js';
import { KvEventBuffer } from './kv-event-buffer.js';
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
  /** Present when the request set returnLogProbs: the log probability (natural log) of each of `tokens`. */
  logProbs?: Float32Array;
}

export interface GenerateResult {
  requestId: number;
  /** Every generated token (the prompt is not included). */
  tokens: Int32Array;
  finishReason: FinishReason;
  perfMetrics?: RequestPerfMetrics;
  /** With returnLogProbs: the log probability of each token. */
  logProbs?: Float32Array;
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

/**
 * Takes one request's output as the bridge delivers it, synchronously, instead of the async iterator
 * (`engine.generate(request, sink)`): no chunk object, token copy or promise per response, so a server
 * streaming thousands of requests pays per token only for what it does with the tokens. Calls come in order:
 * any number of onTokens, then exactly one of onFinish or onError. A sink that throws has its request
 * cancelled and the error reported as a process warning. Token ranges are `tokens[start, end)` of the whole
 * delivery's array, which is not kept: read them during the call only.
 */
export interface GenerationSink {
  /**
   * New tokens of one response that is not the last. `logProbs` (request.returnLogProbs) holds each token's log
   * probability at the same index as `tokens`.
   */
  onTokens(tokens: Int32Array, start: number, end: number, logProbs: Float32Array | undefined): void;
  /** The last response: its tokens (possibly none; every generated token for a non-streaming request) and how the request ended. */
  onFinish(tokens: Int32Array, start: number, end: number, reason: FinishReason, perfMetrics: RequestPerfMetrics | undefined, logProbs: Float32Array | undefined): void;
  /** The request failed (RequestFailedError), the executor failed (ExecutorFailedError), or the engine shut down before it finished (EngineClosedError). */
  onError(error: TrtllmMetricsError): void;
}

/** The chunks of one request; iterate it with for-await. Leaving the loop early cancels the request. */
export class GenerationStream implements AsyncIterable<GenerateChunk> {
  /** @internal */
  readonly queue: AsyncQueue<GenerateChunk>;
  /** @internal */
  finished = false;
  /** @internal Called once when the request finishes (detaches an AbortSignal listener). */
  onFinish: (() => void) | undefined;
  /** @internal The sink threw: it gets no more calls. */
  sinkFailed = false;

  /**
   * @internal `sink`: the request's output goes there instead of the iterator (engine.generate(request, sink)).
   */
  constructor(
    readonly requestId: number,
    private readonly engine: Engine,
    readonly sink?: GenerationSink,
  ) {
    this.queue = new AsyncQueue<GenerateChunk>(Infinity, () => {
      if (!this.finished) this.engine.cancel(this.requestId);
    });
  }

  /** Cancels the request; the stream ends with a final chunk whose finishReason is 'cancelled'. */
  cancel(): void {
    this.engine.cancel(this.requestId);
  }

  [Symbol.asyncIterator](): AsyncIterator<GenerateChunk> {
    if (this.sink) throw new TrtllmMetricsError('ERR_TRTLLM_ALREADY_CONSUMED', `request ${this.requestId} delivers to the sink given to generate()`);
    return this.queue;
  }

  /** Consumes the stream and returns every token with the final state. */
  async collect(): Promise<GenerateResult> {
    const parts: GenerateChunk[] = [];
    let total = 0;
    let last: GenerateChunk | undefined;
    for await (const chunk of this.queue) {
      parts.push(chunk);
      total += chunk.tokens.length;
      last = chunk;
    }
    const tokens = new Int32Array(total);
    const logProbs = parts.some((p) => p.logProbs !== undefined) ? new Float32Array(total).fill(NaN) : undefined;
    let at = 0;
    for (const p of parts) {
      tokens.set(p.tokens, at);
      if (p.logProbs !== undefined) logProbs!.set(p.logProbs, at);
      at += p.tokens.length;
    }
    const result: GenerateResult = { requestId: this.requestId, tokens, finishReason: last?.finishReason ?? 'not_finished' };
    if (last?.perfMetrics) result.perfMetrics = last.perfMetrics;
    if (logProbs !== undefined) result.logProbs = logProbs;
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
  private readonly eventBatchListeners = new Set<Listener<KvEventBatch>>();
  private readonly latestStats: AsyncQueue<IterationStats>;
  private readonly latestEvents: KvEventBuffer;
  private statsIterator: AsyncQueue<IterationStats> | undefined;
  private eventsIterator: AsyncQueue<KvCacheEvent> | undefined;
  private state: EngineStatus = 'running';
  private failureError: ExecutorFailedError | null = null;
  private readonly failureListeners = new Set<Listener<ExecutorFailedError>>();
  private progressAt = performance.now();
  private shutdownPromise: Promise<void> | undefined;
  private refd = false;
  /**
   * Deliveries that arrive before create() has returned (the executor's first KV event, `created`, comes at
   * once): held, and handed over on the next macrotask, so that the listeners the caller attaches right after
   * create() see them. null once released.
   */
  private held: NativeBatch[] | null = [];

  private constructor(native: NativeEngine, modelName: string, backend: 'sim' | 'trtllm', graceMs: number, statsCap: number, eventsCap: number) {
    this.native = native;
    this.modelName = modelName;
    this.backend = backend;
    this.shutdownGraceMs = graceMs;
    this.latestStats = new AsyncQueue<IterationStats>(statsCap);
    this.latestEvents = new KvEventBuffer(eventsCap);
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
    setImmediate(() => engine!.releaseHeld());
    return engine;
  }

  private releaseHeld(): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    for (const b of held) this.onBatch(b);
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
   * and returns its stream of chunks. With a `sink`, the output goes to it as it is delivered and the
   * stream is not iterable (cancel() still works).
   */
  generate(request: GenerateRequest, sink?: GenerationSink): GenerationStream {
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
    const stream = new GenerationStream(id, this, sink);
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
    this.releaseHeld();
    return this.latestStats.drain();
  }

  /** KV-cache events delivered since the previous call (at most latestEventsCapacity). */
  async getLatestKvCacheEvents(): Promise<KvCacheEvent[]> {
    this.releaseHeld();
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

  /** KV-cache events as objects (Python event JSON shape), one array per delivery. */
  onKvCacheEvents(listener: Listener<readonly KvCacheEvent[]>): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /**
   * The same KV-cache events, packed as the bridge delivered them (lib/kv-event-batch.ts): counting blocks or
   * reading ids builds no object per event, block or token. The batch stays valid after the call.
   */
  onKvCacheEventBatch(listener: Listener<KvEventBatch>): () => void {
    this.eventBatchListeners.add(listener);
    return () => this.eventBatchListeners.delete(listener);
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
    this.releaseHeld();
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
    this.releaseHeld();
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
      const error = new EngineClosedError(`the engine shut down before request ${id} finished`);
      if (stream.sink) this.failSink(stream, error);
      else stream.queue.close(error);
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
    if (this.held !== null) {
      // The records and chunk buffers are reused by the next delivery: keep copies.
      const held: NativeBatch = { ...batch };
      if (batch.records) held.records = batch.records.slice(0, (batch.recordCount ?? 0) * REQUEST_RECORD_STRIDE);
      if (batch.chunks) held.chunks = copyChunks(batch.chunks);
      this.held.push(held);
      return;
    }
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
      // Packed until someone asks for objects: the buffer of getLatestKvCacheEvents() builds them when drained.
      const events = new KvEventBatch(batch.events);
      this.latestEvents.push(events);
      for (const l of this.eventBatchListeners) safeCall(l, events);
      if (this.eventsIterator) for (const e of events.toEvents()) this.eventsIterator.push(e);
      if (this.eventListeners.size > 0) {
        const objects = events.toEvents();
        for (const l of this.eventListeners) safeCall(l, objects);
      }
    }
  }

  private routeChunks(chunks: NonNullable<NativeBatch['chunks']>): void {
    const { meta, tokens, perf, errors, logProbs, count: n } = chunks;
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
        const error = this.state === 'running' ? new RequestFailedError(id, message) : new EngineClosedError(`request ${id}: ${message}`);
        if (stream.sink) this.failSink(stream, error);
        else stream.queue.close(error);
        continue;
      }
      const offset = meta[m + ChunkField.TOKEN_OFFSET]!;
      const count = meta[m + ChunkField.TOKEN_COUNT]!;
      if (stream.sink) {
        const lp = flags & CHUNK_FLAG_LOGPROBS ? logProbs : undefined;
        this.routeToSink(stream, tokens, offset, count, isFinal ? meta[m + ChunkField.FINISH_REASON]! : -1, flags & CHUNK_FLAG_PERF ? perf : null, meta[m + ChunkField.PERF_ROW]!, lp);
        continue;
      }
      const chunk: GenerateChunk = {
        requestId: id,
        tokens: tokens.slice(offset, offset + count),
        isFinal,
        finishReason: isFinal ? (FINISH_REASONS[meta[m + ChunkField.FINISH_REASON]!] ?? 'not_finished') : null,
        sequenceIndex: meta[m + ChunkField.SEQUENCE_INDEX]!,
      };
      if (flags & CHUNK_FLAG_LOGPROBS && logProbs !== undefined) chunk.logProbs = logProbs.slice(offset, offset + count);
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

  /** One response to a sink: its tokens, then (final) the finish with the perf metrics. */
  private routeToSink(
    stream: GenerationStream,
    tokens: Int32Array,
    offset: number,
    count: number,
    finishReason: number,
    perf: Float64Array | null,
    perfRow: number,
    logProbs: Float32Array | undefined,
  ): void {
    const final = finishReason >= 0;
    if (final) this.finishStream(stream.requestId, stream);
    if (stream.sinkFailed) return;
    try {
      if (!final) stream.sink!.onTokens(tokens, offset, offset + count, logProbs);
      else {
        const perfMetrics = perf !== null ? perfMetricsFromRecord(perf, perfRow * REQUEST_RECORD_STRIDE, this.nativeInfo.epochNs) : undefined;
        stream.sink!.onFinish(tokens, offset, offset + count, FINISH_REASONS[finishReason] ?? 'not_finished', perfMetrics, logProbs);
      }
    } catch (err) {
      this.sinkThrew(stream, err);
    }
  }

  private failSink(stream: GenerationStream, error: TrtllmMetricsError): void {
    if (stream.sinkFailed) return;
    try {
      stream.sink!.onError(error);
    } catch (err) {
      this.sinkThrew(stream, err);
    }
  }

  /** A sink that throws gets its request cancelled and no more calls. */
  private sinkThrew(stream: GenerationStream, err: unknown): void {
    stream.sinkFailed = true;
    this.cancel(stream.requestId);
    process.emitWarning(`a trtllm-metrics generation sink threw (request ${stream.requestId} cancelled): ${(err as Error)?.stack ?? String(err)}`, { code: 'TRTLLM_METRICS_SINK' });
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
      if (stream.sink) this.failSink(stream, this.failedError());
      else stream.queue.close(this.failedError());
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

/** A delivery's chunks in arrays of their own (the bridge's are valid during the delivery only). */
function copyChunks(chunks: NonNullable<NativeBatch['chunks']>): NonNullable<NativeBatch['chunks']> {
  const { meta, tokens, perf, logProbs, count } = chunks;
  let tokenCount = 0;
  let perfRows = 0;
  for (let i = 0; i < count; i++) {
    const m = i * CHUNK_STRIDE;
    tokenCount = Math.max(tokenCount, meta[m + ChunkField.TOKEN_OFFSET]! + meta[m + ChunkField.TOKEN_COUNT]!);
    if (meta[m + ChunkField.FLAGS]! & CHUNK_FLAG_PERF) perfRows = Math.max(perfRows, meta[m + ChunkField.PERF_ROW]! + 1);
  }
  const copy: NonNullable<NativeBatch['chunks']> = {
    ...chunks,
    meta: meta.slice(0, count * CHUNK_STRIDE),
    tokens: tokens.slice(0, tokenCount),
    perf: perf.slice(0, perfRows * REQUEST_RECORD_STRIDE),
  };
  if (logProbs !== undefined) copy.logProbs = logProbs.slice(0, tokenCount);
  return copy;
}
