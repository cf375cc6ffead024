/**
 * The API port: OpenAI-compatible routes plus trtllm-serve's side endpoints, on node:http.
 *
 *   POST /v1/completions, POST /v1/chat/completions   (JSON or SSE)
 *   GET  /v1/models, GET /v1/models/{model}
 *   POST /tokenize, POST /detokenize                   (vLLM's; they work before the engine is loaded)
 *   GET  /metrics (= /stats), GET /prometheus/metrics, GET|POST /kv_cache_events, GET /perf_metrics,
 *   GET|POST /steady_clock_offset, GET /health, GET /health_generate, GET /version  (trtllm-serve's: trtllm-endpoints.ts)
 *
 * Every request is counted by the runtime metrics (under dynamo_endpoint `generate` for the two generation
 * routes, the route's name otherwise); every error response counts in trtllm_request_error_total{http_code}.
 * A client that disconnects before its response ends cancels its engine request.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Engine } from '../engine.js';
import type { Canary } from '../health/canary.js';
import type { HealthReportLike } from '../server.js';
import { applyLimits, Authenticator, resolveLimits, serverOptions, type HttpAuthOptions, type HttpLimits } from '../http-guard.js';
import type { Tokenizer } from '../tokenizer.js';
import { parseJson, readBody } from './body.js';
import { ApiError, internal, methodNotAllowed, modelNotFound, notFound, unauthorized, unavailable } from './errors.js';
import { runGeneration, type GenerationDeps } from './generate.js';
import type { PerfMetricsStore } from './perf-store.js';
import { adapterModels, type LoraModules } from './lora.js';
import { modelList } from './responses.js';
import { SlowReaders, type SlowReaderPolicy } from './slow-readers.js';
import { detokenize, tokenize } from './tokenize.js';
import { drainKvEvents, drainStats, healthGenerate, healthGenerateAnswer, type HealthGenerateResult, packageVersion, parseSteadyClockOffset, steadyClockSeconds } from './trtllm-endpoints.js';
import { negotiateFormat, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, renderRegistries } from '../metrics/exposition.js';
import type { TraceIds } from '../metrics/exemplars.js';
import { requestIdOf, traceIdOf } from './traceparent.js';
import type { EndpointKind } from './validate.js';

/** One request as the runtime metrics see it. */
export interface RequestHandle {
  end(result: { requestBytes?: number; responseBytes?: number; error?: string }): unknown;
}

/** What the API server reports to; worker.ts adapts the metrics layer to it. */
export interface ApiMetrics {
  /** A request arrived on `endpoint` (`generate`, `models`, `stats`, ...). */
  startRequest(endpoint: string): RequestHandle;
  /** An error response with this HTTP status was sent. */
  logRequestError(httpCode: number): void;
}

export type ApiEngine = Pick<Engine, 'generate' | 'getLatestIterationStats' | 'getLatestKvCacheEvents' | 'ready'>;

export interface ApiServerOptions {
  /** The engine; may be set later with setEngine() (until then every engine route answers 503). */
  engine?: ApiEngine;
  tokenizer: Tokenizer;
  modelName: string;
  /** LoRA adapters by name (serve --lora-modules): served as models whose parent is modelName. */
  loraModules?: LoraModules;
  metrics?: ApiMetrics;
  perfStore?: PerfMetricsStore;
  /** Request bodies beyond this many bytes get 413 (default: limits.maxBodyBytes, else 1 MiB). */
  maxBodyBytes?: number;
  /** Size limits, timeouts and connection cap (lib/http-guard.ts). */
  limits?: HttpLimits;
  /** Credentials required on every route but GET /health (default: none). */
  auth?: HttpAuthOptions;
  defaultMaxTokens?: { completion?: number; chat?: number };
  /** The context limit (prompt + max_tokens) requests are held to; null or absent for none. */
  maxModelLen?: number | null;
  /** The registries GET /prometheus/metrics serves (trtllm-serve's path of its Prometheus text); absent: 404. */
  registry?: Registry | readonly Registry[];
  /** Where the trace ids of traced requests go, for exemplars (the collector's TraceIds); absent: none. */
  traceIds?: TraceIds;
  /**
   * Which requests get exemplars: `traceparent` (default) those with a W3C traceparent header (its trace id);
   * `request-id` every request (its traceparent's trace id, else its X-Request-Id header, else its engine
   * request id, the request_id of /perf_metrics); `off` none.
   */
  exemplars?: 'traceparent' | 'request-id' | 'off';
  /** Streamed choices send their text every this many tokens (default 1). */
  streamInterval?: number;
  /** The worker's health: GET /health answers 503 with its reasons when unhealthy (default: readiness only). */
  health?: () => HealthReportLike;
  /**
   * The worker's canary (null until the engine is loaded): GET /health_generate then runs it (shared with the
   * periodic ones, timed out, counted, and part of /health); absent: the route runs its own one-token chat.
   */
  canary?: () => Canary | null;
  /** Bounds on what a client that does not read may cost (slow-readers.ts; default: no bound, no timeout). */
  slowReaders?: SlowReaderPolicy;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  abort: AbortController;
  handle: RequestHandle | undefined;
  requestBytes: number;
  responseBytes: number;
  errorType: string | undefined;
  done: Promise<void>;
  finish: () => void;
  /** When the request reached the server (steady-clock seconds; /perf_metrics server_arrival_time). */
  arrival: number;
}

export const DEFAULT_MAX_BODY_BYTES = 1 << 20;

export class ApiServer {
  readonly server: Server;
  private readonly deps: Omit<GenerationDeps, 'engine'>;
  private engine: ApiEngine | undefined;
  private readonly metrics: ApiMetrics | undefined;
  private readonly perfStore: PerfMetricsStore | undefined;
  private readonly registries: readonly Registry[];
  private readonly traceIds: TraceIds | undefined;
  private readonly exemplars: 'traceparent' | 'request-id' | 'off';
  private readonly maxBodyBytes: number;
  private readonly auth: Authenticator;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly active = new Set<Ctx>();
  private draining = false;
  private readonly healthFn: (() => HealthReportLike) | undefined;
  private readonly canaryFn: (() => Canary | null) | undefined;
  /** The responses of clients that read slowly or not at all, and the ones cut (by reason). */
  readonly slowReaders: SlowReaders;

  constructor(options: ApiServerOptions) {
    this.engine = options.engine;
    this.metrics = options.metrics;
    this.perfStore = options.perfStore;
    this.registries = options.registry === undefined ? [] : Array.isArray(options.registry) ? options.registry : [options.registry as Registry];
    this.traceIds = options.traceIds;
    this.exemplars = options.exemplars ?? 'traceparent';
    const limits = resolveLimits(options.limits, { maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, socketTimeoutMs: 0 });
    this.maxBodyBytes = options.maxBodyBytes ?? limits.maxBodyBytes;
    this.auth = new Authenticator(options.auth);
    this.healthFn = options.health;
    this.canaryFn = options.canary;
    this.slowReaders = new SlowReaders(options.slowReaders ?? { maxUnsentBytes: 0, stallTimeoutMs: 0 });
    this.deps = {
      tokenizer: options.tokenizer,
      modelName: options.modelName,
      loraModules: options.loraModules ?? new Map(),
      defaultMaxTokens: { completion: options.defaultMaxTokens?.completion ?? 16, chat: options.defaultMaxTokens?.chat ?? 1024 },
      maxModelLen: options.maxModelLen ?? null,
      streamInterval: options.streamInterval ?? 1,
    };
    // The request timeout bounds receiving the request only: long generations still stream for minutes.
    this.server = createServer(serverOptions(limits), (req, res) => this.onRequest(req, res));
    applyLimits(this.server, limits);
  }

  /** Sets the engine once it is loaded (the servers bind before a slow engine load). */
  setEngine(engine: ApiEngine): void {
    this.engine = engine;
  }

  /** Requests whose response has not ended. */
  get inflight(): number {
    return this.active.size;
  }

  /** Binds; port 0 picks a free port. Rejects with the listen error (e.g. EADDRINUSE). */
  listen(port: number, host?: string): Promise<AddressInfo> {
    return new Promise<AddressInfo>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /**
   * Graceful stop: closes the listener (new connections are refused, new requests on open connections get
   * 503), waits up to `graceMs` for in-flight requests, then cancels those left (their engine requests finish
   * as cancelled) and waits up to `cancelWaitMs` for their responses to end. Resolves with the number of
   * requests it had to cancel.
   */
  async drain(graceMs: number, cancelWaitMs = 2000): Promise<number> {
    this.draining = true;
    this.server.close();
    this.server.closeIdleConnections();
    await this.waitIdle(graceMs);
    const left = [...this.active];
    for (const ctx of left) ctx.abort.abort();
    if (left.length > 0) await this.waitIdle(cancelWaitMs);
    return left.length;
  }

  /** Closes every connection (after drain()). */
  close(): void {
    this.draining = true;
    this.server.close();
    this.server.closeAllConnections();
  }

  private async waitIdle(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.active.size > 0) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([...this.active].map((c) => c.done)),
        new Promise<void>((r) => {
          timer = setTimeout(r, remaining);
        }),
      ]);
      clearTimeout(timer);
    }
  }

  /** A handler that throws synchronously answers a bare 500 (never a stack trace, never a crash). */
  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.handleRequest(req, res);
    } catch {
      if (res.headersSent) res.destroy();
      else {
        const body = JSON.stringify(internal('Internal server error').toJSON());
        res.writeHead(500, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
        res.end(body);
      }
    }
  }

  private handleRequest(req: IncomingMessage, res: ServerResponse): void {
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      path = '/invalid-url';
    }
    const method = req.method ?? 'GET';
    const route = routeOf(path);
    let finish!: () => void;
    const done = new Promise<void>((r) => {
      finish = r;
    });
    const ctx: Ctx = {
      arrival: steadyClockSeconds(),
      req,
      res,
      abort: new AbortController(),
      handle: this.metrics?.startRequest(route.endpoint),
      requestBytes: 0,
      responseBytes: 0,
      errorType: undefined,
      done,
      finish,
    };
    this.active.add(ctx);
    res.once('close', () => {
      if (!res.writableFinished) {
        // The client went away before the response ended: cancel its engine request.
        ctx.abort.abort();
        ctx.errorType ??= 'cancelled';
      }
      this.active.delete(ctx);
      ctx.handle?.end({ requestBytes: ctx.requestBytes, responseBytes: ctx.responseBytes, error: ctx.errorType });
      ctx.finish();
    });
    if (this.draining) res.setHeader('Connection', 'close');
    this.dispatch(ctx, method, path, route).catch((err: unknown) => {
      const apiErr = err instanceof ApiError ? err : internal('Internal server error');
      if (!(err instanceof ApiError)) process.emitWarning(`trtllm-metrics API: ${(err as Error)?.stack ?? String(err)}`, { code: 'TRTLLM_METRICS_API' });
      this.sendError(ctx, apiErr);
    });
  }

  private async dispatch(ctx: Ctx, method: string, path: string, route: Route): Promise<void> {
    // The probes are called without credentials (as on the metrics port).
    if (route.endpoint !== 'health' && route.endpoint !== 'health_generate' && !this.auth.check(ctx.req)) {
      ctx.res.setHeader('WWW-Authenticate', this.auth.challenge);
      throw unauthorized();
    }
    if (route.endpoint === 'unknown') throw notFound(method, path);
    if (!route.methods.includes(method)) {
      ctx.res.setHeader('Allow', route.methods.join(', '));
      throw methodNotAllowed(method, path, route.methods);
    }
    if (this.draining) throw unavailable('The server is shutting down');
    const engine = this.engine;
    const needsEngine = !['models', 'tokenize', 'detokenize', 'prometheus_metrics', 'steady_clock_offset', 'version'].includes(route.endpoint);
    if (engine === undefined && needsEngine) throw unavailable('The engine is still loading');
    switch (route.endpoint) {
      case 'generate':
        return this.generate(ctx, engine!, path === '/v1/chat/completions' ? 'chat' : 'completion');
      case 'models': {
        ctx.req.resume();
        const id = path.startsWith('/v1/models/') ? safeDecode(path.slice('/v1/models/'.length)) : undefined;
        const list = modelList(this.deps.modelName, this.created, this.deps.maxModelLen) as { data: Array<{ id: string }> };
        list.data.push(...(adapterModels(this.deps.loraModules, this.deps.modelName, this.created) as Array<{ id: string }>));
        if (id === undefined) return this.sendJson(ctx, 200, list);
        const found = list.data.find((m) => m.id === id);
        if (found === undefined) throw modelNotFound(id);
        return this.sendJson(ctx, 200, found);
      }
      case 'tokenize':
        return this.sendJson(ctx, 200, await tokenize(this.deps, await this.readJson(ctx)));
      case 'detokenize':
        return this.sendJson(ctx, 200, detokenize(this.deps, await this.readJson(ctx)));
      case 'stats':
        ctx.req.resume();
        return this.sendRaw(ctx, 200, await drainStats(engine!));
      case 'kv_cache_events':
        ctx.req.resume();
        return this.sendRaw(ctx, 200, await drainKvEvents(engine!));
      case 'perf_metrics':
        ctx.req.resume();
        return this.sendJson(ctx, 200, this.perfStore ? this.perfStore.drain() : []);
      case 'health': {
        ctx.req.resume();
        if (!engine!.ready) throw unavailable('The engine is not ready');
        const report = this.healthFn?.();
        if (report !== undefined && !report.healthy) throw unavailable(`The worker is unhealthy: ${report.reasons.join('; ')}`);
        return this.sendJson(ctx, 200, { status: 'ready' });
      }
      case 'health_generate': {
        ctx.req.resume();
        const r = await this.generationHealthCheck(ctx, engine!);
        if (r.status !== 200) ctx.errorType = 'generate';
        return this.sendText(ctx, r.status, r.body);
      }
      case 'prometheus_metrics': {
        ctx.req.resume();
        if (this.registries.length === 0) throw notFound(method, path);
        const format = negotiateFormat(ctx.req.headers.accept);
        const text = await renderRegistries(this.registries, format);
        return this.sendText(ctx, 200, text, format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE);
      }
      case 'steady_clock_offset':
        if (method === 'POST') {
          const offset = parseSteadyClockOffset(await this.readJson(ctx));
          if (this.perfStore) this.perfStore.offsetSeconds = offset;
          return this.sendText(ctx, 200, '');
        }
        ctx.req.resume();
        return this.sendJson(ctx, 200, { receive_ts: ctx.arrival, transmit_ts: steadyClockSeconds() });
      case 'version':
        ctx.req.resume();
        return this.sendJson(ctx, 200, { version: packageVersion() });
    }
  }

  /** The exemplar trace id of this HTTP request's engine requests (see ApiServerOptions.exemplars). */
  private traceIdFor(ctx: Ctx, requestId: number): string | undefined {
    if (this.traceIds === undefined || this.exemplars === 'off') return undefined;
    const fromHeader = traceIdOf(ctx.req.headers.traceparent);
    if (fromHeader !== undefined || this.exemplars !== 'request-id') return fromHeader;
    return requestIdOf(ctx.req.headers['x-request-id']) ?? String(requestId);
  }

  /** GET /health_generate: the worker's canary when there is one, else a one-token chat (trtllm-endpoints.ts). */
  private async generationHealthCheck(ctx: Ctx, engine: ApiEngine): Promise<HealthGenerateResult> {
    if (this.canaryFn === undefined) return healthGenerate({ ...this.deps, engine }, ctx.abort.signal);
    const canary = this.canaryFn();
    if (canary === null) throw unavailable('The engine is still loading');
    const r = await canary.probe();
    return healthGenerateAnswer(r.outcome === 'ok', `${r.outcome === 'timeout' ? 'timed out' : 'error'}${r.error ? `: ${r.error}` : ''}`);
  }

  private async readJson(ctx: Ctx): Promise<unknown> {
    const body = await readBody(ctx.req, this.maxBodyBytes);
    ctx.requestBytes = body.length;
    return parseJson(body);
  }

  private async generate(ctx: Ctx, engine: ApiEngine, kind: EndpointKind): Promise<void> {
    const json = await this.readJson(ctx);
    await runGeneration({ ...this.deps, engine }, kind, json, {
      signal: ctx.abort.signal,
      res: ctx.res,
      // A stream cut for its slow reader cancels its engine requests (the guard then closes the connection).
      guardStream: (pending) => this.slowReaders.watch(ctx.res, { bounded: true, pending, onCut: () => ctx.abort.abort() }),
      sendJson: (status, obj) => this.sendJson(ctx, status, obj),
      onStreamError: (err) => {
        ctx.errorType = err.errorType;
        this.metrics?.logRequestError(err.status);
      },
      addResponseBytes: (n) => {
        ctx.responseBytes += n;
      },
      onEngineRequest: (requestId) => {
        this.perfStore?.serverArrival(requestId, ctx.arrival);
        const traceId = this.traceIdFor(ctx, requestId);
        if (traceId !== undefined) this.traceIds!.set(requestId, traceId);
      },
      onFirstToken: (requestId) => this.perfStore?.serverFirstToken(requestId, steadyClockSeconds()),
    });
  }

  private sendError(ctx: Ctx, err: ApiError): void {
    ctx.errorType = err.errorType;
    this.metrics?.logRequestError(err.status);
    if (ctx.res.headersSent) {
      ctx.res.destroy();
      return;
    }
    // A body we did not read (e.g. beyond the size limit) is discarded; close the connection after a 413.
    if (err.status === 413 || err.status === 401) ctx.res.setHeader('Connection', 'close');
    this.sendJson(ctx, err.status, err.toJSON());
  }

  private sendJson(ctx: Ctx, status: number, body: unknown): void {
    this.sendRaw(ctx, status, JSON.stringify(body));
  }

  private sendRaw(ctx: Ctx, status: number, json: string): void {
    this.sendText(ctx, status, json, 'application/json');
  }

  private sendText(ctx: Ctx, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
    const res = ctx.res;
    if (res.destroyed || res.writableEnded) return;
    const buf = Buffer.from(text, 'utf8');
    ctx.responseBytes += buf.length;
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': buf.length });
    res.end(buf);
    // A body the socket could not take whole: cut after the stall timeout if the client takes none of it (it is
    // written once, so it has no byte bound; one the kernel took is left to the keep-alive timeout).
    if (res.writableLength > 0) this.slowReaders.watch(res, { bounded: false, onCut: () => undefined }).wrote(buf.length);
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

interface Route {
  endpoint:
    | 'generate'
    | 'models'
    | 'tokenize'
    | 'detokenize'
    | 'stats'
    | 'kv_cache_events'
    | 'perf_metrics'
    | 'health'
    | 'health_generate'
    | 'prometheus_metrics'
    | 'steady_clock_offset'
    | 'version'
    | 'unknown';
  methods: readonly string[];
}

function routeOf(path: string): Route {
  switch (path) {
    case '/v1/completions':
    case '/v1/chat/completions':
      return { endpoint: 'generate', methods: ['POST'] };
    case '/v1/models':
      return { endpoint: 'models', methods: ['GET'] };
    case '/tokenize':
      return { endpoint: 'tokenize', methods: ['POST'] };
    case '/detokenize':
      return { endpoint: 'detokenize', methods: ['POST'] };
    case '/stats':
    case '/metrics':
      return { endpoint: 'stats', methods: ['GET'] };
    case '/steady_clock_offset':
      return { endpoint: 'steady_clock_offset', methods: ['GET', 'POST'] };
    case '/health_generate':
      return { endpoint: 'health_generate', methods: ['GET'] };
    case '/version':
      return { endpoint: 'version', methods: ['GET'] };
    case '/kv_cache_events':
      return { endpoint: 'kv_cache_events', methods: ['GET', 'POST'] };
    case '/perf_metrics':
      return { endpoint: 'perf_metrics', methods: ['GET'] };
    case '/health':
      return { endpoint: 'health', methods: ['GET'] };
  }
  if (path.startsWith('/v1/models/')) return { endpoint: 'models', methods: ['GET'] };
  // trtllm-serve mounts its Prometheus app there: every path below it is the same exposition.
  if (path === '/prometheus/metrics' || path.startsWith('/prometheus/metrics/')) return { endpoint: 'prometheus_metrics', methods: ['GET'] };
  return { endpoint: 'unknown', methods: [] };
}
