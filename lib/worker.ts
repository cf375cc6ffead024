/**
 * The worker behind `trtllm-metrics serve`: one engine, its MetricsCollector and runtime metrics, the
 * metrics/health server (lib/server.ts, port 8081) and the OpenAI-compatible API server (lib/openai, port
 * 8000). Both ports are bound before the engine loads (a busy port fails fast; /health answers 503 while a
 * TensorRT-LLM engine loads). shutdown() is graceful: see docs/worker.md.
 */
import { Engine } from './engine.js';
import { validateEngineOptions } from './engine-options.js';
import { MetricsCollector, type MetricsProfile } from './metrics/collector.js';
import { RuntimeMetrics } from './metrics/runtime-metrics.js';
import type { ApiMetrics, RequestHandle } from './openai/server.js';
import { parseLoraModules } from './openai/lora.js';
import { ApiServer } from './openai/server.js';
import { PerfMetricsStore } from './openai/perf-store.js';
import { MetricsServer, type BoundAddress } from './server.js';
import type { HttpAuthOptions, HttpLimits } from './http-guard.js';
import { createDashboardHandler } from './dashboard/index.js';
import { ByteTokenizer, BYTE_VOCAB_SIZE, type Tokenizer } from './tokenizer.js';
import { maxModelLen, workerTokenizer } from './worker-model.js';
import { InvalidArgumentError, TrtllmMetricsError } from './errors.js';
import { resolveTree } from './options/check.js';
import type { OptionsOf, ResolvedOf } from './options/define.js';
import { WORKER_OPTIONS } from './options/worker-table.js';
import { checkTransports, KvEventPublisher } from './fleet/publisher.js';
import { KvPublisherMetrics } from './metrics/kv-publisher-metrics.js';
import { TraceIds } from './metrics/exemplars.js';
import { workerConfigInfo } from './worker-config-info.js';
import { healthMetrics } from './metrics/health-metrics.js';
import { slowStreamMetrics } from './metrics/slow-stream-metrics.js';
import type { SampledGroup } from './metrics/sampled-group.js';
import { WorkerHealth, type FatalEvent } from './health/worker-health.js';

/** The worker's options (lib/options/worker-table.ts); `tokenizer` is a folder or a loaded Tokenizer. */
export type WorkerOptions = Omit<OptionsOf<typeof WORKER_OPTIONS>, 'tokenizer'> & { tokenizer?: string | Tokenizer };

/** A startup failure the CLI reports as one line with exit code 2; `reason` is the underlying code (e.g. EADDRINUSE). */
export class WorkerStartError extends TrtllmMetricsError {
  constructor(
    message: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_TRTLLM_WORKER_START', message, options);
  }
}

/** The runtime metrics as the API server uses them: one RuntimeMetrics per endpoint label, made on first use. */
class RuntimeMetricsAdapter implements ApiMetrics {
  private readonly byEndpoint = new Map<string, RuntimeMetrics>();

  constructor(
    private readonly collector: MetricsCollector,
    private readonly model: string,
    private readonly durationBuckets: readonly number[],
  ) {
    this.metricsFor('generate');
  }

  startRequest(endpoint: string): RequestHandle {
    return this.metricsFor(endpoint).startRequest();
  }

  logRequestError(httpCode: number): void {
    this.collector.logRequestError(httpCode);
  }

  close(): void {
    for (const m of this.byEndpoint.values()) m.close();
  }

  private metricsFor(endpoint: string): RuntimeMetrics {
    let m = this.byEndpoint.get(endpoint);
    if (m === undefined) {
      m = new RuntimeMetrics({ registry: this.collector.registry, model: this.model, endpoint, durationBuckets: this.durationBuckets });
      this.byEndpoint.set(endpoint, m);
    }
    return m;
  }
}

export class Worker {
  readonly modelName: string;
  readonly backend: 'sim' | 'trtllm';
  readonly collector: MetricsCollector;
  readonly apiServer: ApiServer;
  readonly metricsServer: MetricsServer;
  readonly perfStore: PerfMetricsStore;
  /** Trace ids of traced requests in flight (exemplars: --exemplars). */
  readonly traceIds: TraceIds;
  /** The tokenizer of the API (the byte tokenizer unless a model's was given). */
  readonly tokenizer: Tokenizer;
  /** The context limit the API enforces (prompt + max_tokens), null for none. */
  readonly maxModelLen: number | null;
  apiAddress: BoundAddress | null = null;
  engine: Engine | null = null;
  /** The KV-event publisher (--kv-events-endpoint / --kv-events-nats), else null. */
  kvPublisher: KvEventPublisher | null = null;
  private kvPublisherMetrics: KvPublisherMetrics | null = null;
  /** What /health reports (lib/health/worker-health.ts): failure, stalls, canaries. */
  readonly health: WorkerHealth;
  /** The health and slow-reader metrics (full profile only: basic serves exactly the five seed trtllm_ metrics). */
  private readonly healthMetrics: SampledGroup[] = [];
  private readonly runtime: RuntimeMetricsAdapter;
  /** How long in-flight requests get on shutdown, ms (options.shutdownGraceMs). */
  readonly graceMs: number;
  private draining = false;
  private shutdownPromise: Promise<void> | undefined;

  private readonly options: ResolvedOf<typeof WORKER_OPTIONS>;

  private constructor(options: WorkerOptions, tokenizer: Tokenizer) {
    const { tokenizer: folder, ...rest } = options;
    const backend = rest.engine?.backend === 'trtllm' ? 'trtllm' : 'sim';
    const byBytes = tokenizer instanceof ByteTokenizer;
    if (!byBytes && backend === 'sim') rest.engine = simWithVocabulary(rest.engine, tokenizer);
    // serve's defaults: the worker is what `serve` runs (e.g. KV events on).
    const o = resolveTree(WORKER_OPTIONS, typeof folder === 'string' ? { ...rest, tokenizer: folder } : rest, { root: 'options', command: 'serve', backend });
    this.options = o;
    const engine = validateEngineOptions(o.engine, 'serve', (path) => `options.engine.${path}`);
    if (byBytes && engine.backend === 'sim' && engine.native.sim.vocabSize < BYTE_VOCAB_SIZE) {
      throw new InvalidArgumentError(`options.engine.sim.vocabSize (--vocab-size) must be >= ${BYTE_VOCAB_SIZE} for the byte tokenizer, got ${engine.native.sim.vocabSize}`);
    }
    this.tokenizer = tokenizer;
    this.maxModelLen = maxModelLen({
      explicit: o.maxModelLen,
      backend: engine.backend,
      simMaxSeqLen: engine.native.sim.maxSeqLen,
      engineDir: o.engine.engineDir,
      tokenizer,
    });
    if (o.kvEvents.endpoint !== undefined || o.kvEvents.nats !== undefined || o.kvEvents.replayEndpoint !== undefined) {
      checkTransports(o.kvEvents, 'options.kvEvents');
      if (engine.native.executorConfig.kvCacheConfig.eventBufferMaxSize === 0) {
        throw new InvalidArgumentError('publishing KV events (--kv-events-endpoint, --kv-events-nats) needs KV events on: --event-buffer-size above 0');
      }
    }
    this.modelName = engine.modelName;
    this.backend = engine.backend;
    this.graceMs = o.shutdownGraceMs;
    this.traceIds = new TraceIds();
    this.collector = new MetricsCollector({ model_name: this.modelName }, { profile: o.metricsProfile, buckets: o.buckets, traceIds: this.traceIds });
    this.runtime = new RuntimeMetricsAdapter(this.collector, this.modelName, o.requestDurationBuckets);
    this.perfStore = new PerfMetricsStore(o.perfMetricsMaxRequests);
    this.health = new WorkerHealth(
      {
        stallTimeoutMs: o.health.stallTimeoutMs,
        exitOnStall: o.health.exitOnStall,
        healthCheckIntervalMs: o.health.checkIntervalMs,
        healthCheckTimeoutMs: o.health.checkTimeoutMs,
      },
      () => this.draining,
    );

    // The metrics port keeps its own small body limit (its routes take no body).
    const { maxBodyBytes, ...metricsLimits } = o.limits;
    this.metricsServer = new MetricsServer({
      registry: this.collector.registry,
      host: o.host,
      port: o.metricsPort,
      ready: () => this.health.live,
      health: () => this.health.report(),
      auth: o.auth,
      limits: metricsLimits,
      extraRoutes: createDashboardHandler({ collector: this.collector }),
      maxRenderAgeMs: o.metricsMaxAgeMs,
    });
    this.apiServer = new ApiServer({
      tokenizer,
      maxModelLen: this.maxModelLen,
      modelName: this.modelName,
      loraModules: o.loraModules === undefined ? new Map() : parseLoraModules(o.loraModules, 'options.loraModules (--lora-modules)'),
      metrics: this.runtime,
      perfStore: this.perfStore,
      registry: this.collector.registry,
      traceIds: this.traceIds,
      exemplars: o.exemplars,
      streamInterval: o.streamInterval,
      auth: o.auth,
      limits: o.limits,
      health: () => this.health.report(),
      canary: () => this.health.canary,
      slowReaders: o.slowReaders,
      ...(maxBodyBytes !== undefined ? { maxBodyBytes } : {}),
    });
    if (o.metricsProfile === 'full') {
      const m = { registry: this.collector.registry, labels: this.collector.labels, prefix: this.collector.prefix };
      this.healthMetrics.push(healthMetrics(this.health, m), slowStreamMetrics(this.apiServer.slowReaders, m));
    }
  }

  /**
   * Told once per fatal event: the executor failed, or it stalled under exitOnStall. `serve` then shuts the worker
   * down and exits with a distinct code (docs/worker.md, "Exit codes").
   */
  onFatal(listener: (event: FatalEvent) => void): () => void {
    return this.health.onFatal(listener);
  }

  get metricsAddress(): BoundAddress | null {
    return this.metricsServer.address;
  }

  /**
   * Binds both ports, creates the engine and wires it. Fails with WorkerStartError (bad options, a port in
   * use, an engine that cannot start); everything started so far is stopped first.
   */
  static async start(options: WorkerOptions): Promise<Worker> {
    let worker: Worker;
    try {
      const tokenizer = await workerTokenizer({
        tokenizer: options.tokenizer,
        chatTemplate: options.chatTemplate,
        backend: options.engine?.backend === 'trtllm' ? 'trtllm' : 'sim',
        engineDir: options.engine?.engineDir,
      });
      worker = new Worker(options, tokenizer);
    } catch (err) {
      throw new WorkerStartError((err as Error).message, (err as { code?: string }).code ?? 'ERR_INVALID_OPTIONS', { cause: err });
    }
    try {
      await worker.bind();
      const engine = await Engine.create(worker.options.engine);
      worker.engine = engine;
      worker.collector.attach(engine);
      worker.logConfigInfo(engine);
      engine.onRequestFinished(worker.perfStore.onRecords);
      worker.health.attach(engine, await worker.tokenizer.encode('hi', { addSpecialTokens: true }));
      await worker.startKvPublisher(engine);
      worker.apiServer.setEngine(engine);
    } catch (err) {
      await worker.stopAll();
      if (err instanceof WorkerStartError) throw err;
      throw new WorkerStartError((err as Error).message, (err as { code?: string }).code ?? 'ERR_ENGINE_START', { cause: err });
    }
    return worker;
  }

  /** trtllm_*_config_info, once (as trtllm-serve does at start). */
  private logConfigInfo(engine: Engine): void {
    const e = this.options.engine;
    const kv = e.executorConfig.kvCacheConfig;
    this.collector.logConfigInfo(
      workerConfigInfo({
        backend: this.backend,
        modelName: this.modelName,
        maxModelLen: this.maxModelLen,
        tokensPerBlock: engine.tokensPerBlock,
        enableBlockReuse: kv.enableBlockReuse,
        freeGpuMemoryFraction: kv.freeGpuMemoryFraction,
        engineDir: e.engineDir,
        ...(this.backend === 'sim' ? { sim: { info: engine.simInfo(), modelConfig: e.sim.perf.modelConfig, specDraftLength: e.sim.specDraftLength } } : {}),
      }),
    );
  }

  private async startKvPublisher(engine: Engine): Promise<void> {
    const kv = this.options.kvEvents;
    if (kv.endpoint === undefined && kv.nats === undefined) return;
    this.kvPublisher = await KvEventPublisher.forEngine(engine, kv);
    this.kvPublisherMetrics = new KvPublisherMetrics(this.kvPublisher, { registry: this.collector.registry, labels: this.collector.labels, prefix: this.collector.prefix });
  }

  private async bind(): Promise<void> {
    try {
      await this.metricsServer.start();
    } catch (err) {
      throw listenError(err, 'metrics port (--port)', this.options.host, this.options.metricsPort);
    }
    try {
      const a = await this.apiServer.listen(this.options.httpPort, this.options.host);
      const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
      this.apiAddress = { host: a.address, port: a.port, family: String(a.family), url: `http://${host}:${a.port}` };
    } catch (err) {
      throw listenError(err, 'API port (--http-port)', this.options.host, this.options.httpPort);
    }
  }

  /**
   * Graceful stop: /health turns notready and the API stops accepting; in-flight requests get the grace
   * period to finish, then are cancelled; the engine shuts down; both servers close. Idempotent.
   * `afterFault`: the executor failed or stalled, so once the grace period is over nothing waits for it to answer
   * the cancellations (it cannot); the requests left end with an error instead.
   */
  shutdown(options: { afterFault?: boolean } = {}): Promise<void> {
    this.shutdownPromise ??= (async () => {
      this.draining = true;
      const afterFault = options.afterFault === true;
      await this.apiServer.drain(this.graceMs, afterFault ? 0 : undefined);
      if (this.engine) await this.engine.shutdown(afterFault ? { graceMs: 0 } : {});
      // After the engine: its last events were delivered to the publisher by shutdown().
      await this.kvPublisher?.close();
      await this.stopAll();
    })();
    return this.shutdownPromise;
  }

  private async stopAll(): Promise<void> {
    this.draining = true;
    this.health.stop();
    this.apiServer.close();
    await this.metricsServer.close();
    if (this.engine) await this.engine.shutdown();
    await this.kvPublisher?.close();
    this.kvPublisherMetrics?.close();
    for (const m of this.healthMetrics) m.close();
  }
}

/** The simulator's vocabulary is the tokenizer's (an explicit --vocab-size must agree with it). */
function simWithVocabulary(engine: WorkerOptions['engine'], tokenizer: Tokenizer): WorkerOptions['engine'] {
  const given = engine?.sim?.vocabSize;
  if (given !== undefined && given !== tokenizer.vocabSize) {
    throw new InvalidArgumentError(
      `options.engine.sim.vocabSize (--vocab-size) ${given} differs from the tokenizer's vocabulary (${tokenizer.vocabSize} ids): leave it out, the simulator takes the tokenizer's`,
    );
  }
  return { ...engine, sim: { ...engine?.sim, vocabSize: tokenizer.vocabSize } };
}

function listenError(err: unknown, what: string, host: string, port: number): WorkerStartError {
  const code = (err as { code?: string }).code ?? 'ERR_LISTEN';
  if (code === 'EADDRINUSE') return new WorkerStartError(`${what} ${port} is already in use on ${host}`, code);
  if (code === 'EACCES') return new WorkerStartError(`${what} ${port}: permission denied on ${host}`, code);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new WorkerStartError(`--host ${host} is not an address of this machine`, code);
  return new WorkerStartError(`cannot listen on ${host}:${port} for the ${what}: ${(err as Error).message}`, code);
}
