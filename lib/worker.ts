/**
 * The worker behind `trtllm-metrics serve`: one engine, its MetricsCollector and runtime metrics, the
 * metrics/health server (lib/server.ts, port 8081) and the OpenAI-compatible API server (lib/openai, port
 * 8000). Both ports are bound before the engine loads (a busy port fails fast; /health answers 503 while a
 * TensorRT-LLM engine loads). shutdown() is graceful: see docs/worker.md.
 */
import { Engine } from './engine.js';
import { validateEngineOptions, type EngineOptions } from './engine-options.js';
import { MetricsCollector, type MetricsProfile } from './metrics/collector.js';
import { RuntimeMetrics } from './metrics/runtime-metrics.js';
import type { ApiMetrics, RequestHandle } from './openai/server.js';
import { ApiServer } from './openai/server.js';
import { PerfMetricsStore } from './openai/perf-store.js';
import { MetricsServer, type BoundAddress } from './server.js';
import type { HttpAuthOptions, HttpLimits } from './http-guard.js';
import { createDashboardHandler } from './dashboard/index.js';
import { ByteTokenizer, type Tokenizer } from './tokenizer.js';

export interface WorkerOptions {
  engine: EngineOptions;
  /** Listen address of both servers. */
  host: string;
  /** Metrics/health port (0 = any free port). */
  metricsPort: number;
  /** OpenAI API port (0 = any free port). */
  httpPort: number;
  metricsProfile?: MetricsProfile;
  /** How long in-flight HTTP requests get to finish on shutdown before they are cancelled, ms (default 5000). */
  shutdownGraceMs?: number;
  /** Finished requests kept for GET /perf_metrics between two reads (default 1000; 0 = off). */
  perfMetricsMaxRequests?: number;
  /** Request body limit of the API, bytes (default 1 MiB). */
  maxBodyBytes?: number;
  /** Credentials both servers require (every route but the health probes); default none. */
  auth?: HttpAuthOptions;
  /** A scrape may be answered with a render begun at most this long before it arrived, ms (default 0: always fresh). */
  metricsMaxAgeMs?: number;
  /** Header size limit, timeouts and connection cap of both servers (lib/http-guard.ts); maxBodyBytes applies to the API. */
  limits?: HttpLimits;
  tokenizer?: Tokenizer;
}

/** A startup failure the CLI reports as one line with exit code 2. */
export class WorkerStartError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'WorkerStartError';
  }
}

/** The runtime metrics as the API server uses them: one RuntimeMetrics per endpoint label, made on first use. */
class RuntimeMetricsAdapter implements ApiMetrics {
  private readonly byEndpoint = new Map<string, RuntimeMetrics>();

  constructor(
    private readonly collector: MetricsCollector,
    private readonly model: string,
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
      m = new RuntimeMetrics({ registry: this.collector.registry, model: this.model, endpoint });
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
  apiAddress: BoundAddress | null = null;
  engine: Engine | null = null;
  private readonly runtime: RuntimeMetricsAdapter;
  private readonly graceMs: number;
  private draining = false;
  private shutdownPromise: Promise<void> | undefined;

  private constructor(private readonly options: WorkerOptions) {
    const resolved = validateEngineOptions(options.engine);
    this.modelName = resolved.modelName;
    this.backend = resolved.backend;
    this.graceMs = options.shutdownGraceMs ?? 5000;
    this.collector = new MetricsCollector({ model_name: this.modelName }, { profile: options.metricsProfile ?? 'full' });
    this.runtime = new RuntimeMetricsAdapter(this.collector, this.modelName);
    this.perfStore = new PerfMetricsStore(options.perfMetricsMaxRequests ?? 1000);
    this.metricsServer = new MetricsServer({
      registry: this.collector.registry,
      host: options.host,
      port: options.metricsPort,
      ready: () => !this.draining && this.engine !== null && this.engine.ready,
      ...(options.auth !== undefined ? { auth: options.auth } : {}),
      ...(options.limits !== undefined ? { limits: withoutBodyLimit(options.limits) } : {}),
      extraRoutes: createDashboardHandler({ collector: this.collector }),
      ...(options.metricsMaxAgeMs !== undefined ? { maxRenderAgeMs: options.metricsMaxAgeMs } : {}),
    });
    const apiOptions: ConstructorParameters<typeof ApiServer>[0] = {
      tokenizer: options.tokenizer ?? new ByteTokenizer(),
      modelName: this.modelName,
      metrics: this.runtime,
      perfStore: this.perfStore,
    };
    if (options.maxBodyBytes !== undefined) apiOptions.maxBodyBytes = options.maxBodyBytes;
    if (options.auth !== undefined) apiOptions.auth = options.auth;
    if (options.limits !== undefined) apiOptions.limits = options.limits;
    this.apiServer = new ApiServer(apiOptions);
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
      worker = new Worker(options);
    } catch (err) {
      throw new WorkerStartError((err as Error).message, (err as { code?: string }).code ?? 'ERR_INVALID_OPTIONS');
    }
    try {
      await worker.bind();
      const engine = await Engine.create(options.engine);
      worker.engine = engine;
      worker.collector.attach(engine);
      engine.onRequestFinished(worker.perfStore.onRecords);
      worker.apiServer.setEngine(engine);
    } catch (err) {
      await worker.stopAll();
      if (err instanceof WorkerStartError) throw err;
      throw new WorkerStartError((err as Error).message, (err as { code?: string }).code ?? 'ERR_ENGINE_START');
    }
    return worker;
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
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= (async () => {
      this.draining = true;
      await this.apiServer.drain(this.graceMs);
      if (this.engine) await this.engine.shutdown();
      await this.stopAll();
    })();
    return this.shutdownPromise;
  }

  private async stopAll(): Promise<void> {
    this.draining = true;
    this.apiServer.close();
    await this.metricsServer.close();
    if (this.engine) await this.engine.shutdown();
  }
}

/** The metrics server keeps its own small body limit (its routes take no body). */
function withoutBodyLimit(limits: HttpLimits): HttpLimits {
  const { maxBodyBytes: _ignored, ...rest } = limits;
  return rest;
}

function listenError(err: unknown, what: string, host: string, port: number): WorkerStartError {
  const code = (err as { code?: string }).code ?? 'ERR_LISTEN';
  if (code === 'EADDRINUSE') return new WorkerStartError(`${what} ${port} is already in use on ${host}`, code);
  if (code === 'EACCES') return new WorkerStartError(`${what} ${port}: permission denied on ${host}`, code);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new WorkerStartError(`--host ${host} is not an address of this machine`, code);
  return new WorkerStartError(`cannot listen on ${host}:${port} for the ${what}: ${(err as Error).message}`, code);
}
