/**
 * The system HTTP server of a worker, shaped like Dynamo's: GET/HEAD /metrics (Prometheus text 0.0.4, or
 * OpenMetrics 1.0 when the Accept header asks for application/openmetrics-text), /health and /live (Dynamo's
 * JSON: 200 when ready, 503 when not), 404 for other paths, 405 for other methods. Port 8081 by default;
 * DYN_SYSTEM_PORT / DYN_SYSTEM_HOST are honoured when the options do not set port / host.
 *
 * The port is served by a thread of its own (lib/server-thread.ts): scrapes are answered while the main
 * thread streams tokens, and a burst of scrapes costs the main thread one render per group of waiting
 * scrapes, not the HTTP work of each. The metrics themselves stay here, where they are recorded; this class
 * renders them when the thread asks (docs/metrics.md, "The metrics port").
 */
import path from 'node:path';
import { Worker as Thread } from 'node:worker_threads';
import { register as globalRegistry, type Registry } from 'prom-client';
import { InvalidArgumentError } from './errors.js';
import { Authenticator, resolveLimits, type HttpAuthOptions, type HttpLimits, type ResolvedLimits } from './http-guard.js';
import { renderRegistries, type ExpositionFormat } from './metrics/exposition.js';
import type { Static, TSchema } from '@sinclair/typebox';
import { checkLeaf } from './options/check.js';
import { valueFromText } from './options/command-line.js';
import type { DefaultedLeaf } from './options/define.js';
import { METRICS_SERVER_OPTIONS } from './options/server-table.js';
import { clockMs, type EndpointStatus, type HealthBody, type MainToThread, type Probe, type RouteRequest, type RouteResponse, type ThreadConfig, type ThreadToMain } from './server-protocol.js';

export { acceptsGzip } from './metrics/exposition.js';
export type { EndpointStatus, HealthBody, Probe, RouteRequest, RouteResponse } from './server-protocol.js';

export const DEFAULT_SYSTEM_PORT = METRICS_SERVER_OPTIONS.port.meta.default;
export const DEFAULT_SYSTEM_HOST = METRICS_SERVER_OPTIONS.host.meta.default;
/** Default of MetricsServerOptions.answerTimeoutMs. */
export const DEFAULT_ANSWER_TIMEOUT_MS = METRICS_SERVER_OPTIONS.answerTimeoutMs.meta.default;

/**
 * An extra route on the metrics port (e.g. lib/dashboard's GET /dashboard): called on the main thread for
 * every path that is not /metrics, /health or /live; returns the answer (or a promise of it), or undefined
 * when the path is not its own (then 404).
 */
export type ExtraRoutes = (request: RouteRequest) => RouteResponse | undefined | Promise<RouteResponse | undefined>;

export interface MetricsServerOptions {
  /** The registries to serve, in order (default: prom-client's global registry). */
  registry?: Registry | readonly Registry[];
  /** Listen address (default: DYN_SYSTEM_HOST, else 0.0.0.0). */
  host?: string;
  /** Listen port (default: DYN_SYSTEM_PORT, else 8081; 0 picks a free port). */
  port?: number;
  /** Readiness for /health and /live: a callback, or an object with a `ready` getter (e.g. an Engine). Default: ready. */
  ready?: (() => boolean) | { readonly ready: boolean };
  /**
   * Health beyond readiness, for /health only (/live answers readiness alone): when it reports unhealthy, /health
   * answers 503 with its reasons and details (the worker's: lib/health/worker-health.ts). Default: none.
   */
  health?: () => HealthReportLike;
  /** The endpoint named in the health JSON (default `generate`). */
  endpointName?: string;
  /** Per-endpoint status for the health JSON (default: `{ [endpointName]: <ready or notready> }`). */
  endpoints?: () => Record<string, EndpointStatus>;
  /** Environment to read DYN_SYSTEM_PORT / DYN_SYSTEM_HOST from (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Credentials required on every route but /health and /live (default: none). */
  auth?: HttpAuthOptions;
  /** Size limits, timeouts and connection cap (lib/http-guard.ts; maxBodyBytes default 16 KiB, socketTimeoutMs 60000). */
  limits?: HttpLimits;
  /** Extra routes, consulted before the 404. */
  extraRoutes?: ExtraRoutes;
  /**
   * A scrape may be answered with the newest render if that render began at most this long before the scrape
   * arrived, ms (default 0: every scrape gets a render begun after it arrived, so a client sees its own
   * changes). Set it (e.g. 250) where scrape storms must not wait for a busy main thread; see docs/metrics.md.
   */
  maxRenderAgeMs?: number;
  /**
   * How long a scrape, probe or extra route waits for the main thread (where the metrics are rendered and
   * readiness is known) before it is answered 503, ms (default 10000: Prometheus' default scrape timeout).
   */
  answerTimeoutMs?: number;
  /**
   * For tests: the clock render ages (maxRenderAgeMs) are measured on, instead of process.hrtime. A Float64Array
   * over a SharedArrayBuffer whose element 0 is the time in ms; the main thread and the HTTP thread both read it.
   */
  manualClock?: Float64Array;
}

/** What MetricsServerOptions.health reports. */
export interface HealthReportLike {
  healthy: boolean;
  /** Why not, one line each. */
  reasons: readonly string[];
  /** Details for the JSON body's `engine` key. */
  engine?: unknown;
}

export interface BoundAddress {
  host: string;
  port: number;
  family: string;
  /** http://host:port (IPv6 hosts in brackets). */
  url: string;
}

const THREAD_FILE = path.join(__dirname, 'server-thread.js');
/** How long close() waits for the thread to close its connections before it terminates it, ms. */
const CLOSE_GRACE_MS = 5000;

export class MetricsServer {
  readonly host: string;
  readonly port: number;
  private readonly registries: readonly Registry[];
  private readonly readyFn: () => boolean;
  private readonly healthFn: (() => HealthReportLike) | undefined;
  private readonly endpointsFn: (ready: boolean) => Record<string, EndpointStatus>;
  private readonly extraRoutes: ExtraRoutes | undefined;
  private readonly createdAt = process.hrtime.bigint();
  private readonly limits: ResolvedLimits;
  private readonly auth: HttpAuthOptions | undefined;
  private readonly answerTimeoutMs: number;
  private readonly maxRenderAgeMs: number;
  private readonly manualClock: Float64Array | undefined;
  private thread: Thread | null = null;
  private bound: BoundAddress | null = null;
  private starting: Promise<BoundAddress> | null = null;
  private closing: Promise<void> | null = null;
  /** Renders done for the HTTP thread (scrapes that wait together share one). */
  renders = 0;

  constructor(options: MetricsServerOptions = {}) {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options must be an object');
    const env = options.env ?? process.env;
    const M = METRICS_SERVER_OPTIONS;
    this.port = fromOptionOrEnv(M.port, options.port, 'port', env);
    this.host = fromOptionOrEnv(M.host, options.host, 'host', env);
    const reg = options.registry ?? globalRegistry;
    this.registries = Array.isArray(reg) ? [...(reg as readonly Registry[])] : [reg as Registry];
    for (const r of this.registries) {
      if (!r || typeof (r as Registry).getMetricsAsArray !== 'function') {
        throw new InvalidArgumentError('registry must be a prom-client Registry (or an array of them)');
      }
    }
    const ready = options.ready;
    if (ready === undefined) this.readyFn = () => true;
    else if (typeof ready === 'function') this.readyFn = () => ready() === true;
    else if (typeof ready === 'object' && ready !== null) this.readyFn = () => ready.ready === true;
    else throw new InvalidArgumentError('ready must be a function or an object with a ready property');
    if (options.health !== undefined && typeof options.health !== 'function') throw new InvalidArgumentError('health must be a function');
    this.healthFn = options.health;
    const endpointName = options.endpointName ?? 'generate';
    if (typeof endpointName !== 'string' || endpointName === '') {
      throw new InvalidArgumentError('endpointName must be a non-empty string');
    }
    const endpoints = options.endpoints;
    if (endpoints !== undefined && typeof endpoints !== 'function') {
      throw new InvalidArgumentError('endpoints must be a function');
    }
    this.endpointsFn = endpoints ?? ((r) => ({ [endpointName]: r ? 'ready' : 'notready' }));
    if (options.extraRoutes !== undefined && typeof options.extraRoutes !== 'function') {
      throw new InvalidArgumentError('extraRoutes must be a function');
    }
    this.extraRoutes = options.extraRoutes;
    this.answerTimeoutMs = fromOptionOrEnv(M.answerTimeoutMs, options.answerTimeoutMs, 'answerTimeoutMs', env);
    this.maxRenderAgeMs = fromOptionOrEnv(M.maxRenderAgeMs, options.maxRenderAgeMs, 'maxRenderAgeMs', env);
    const clock = options.manualClock;
    if (clock !== undefined && !(clock instanceof Float64Array && clock.buffer instanceof SharedArrayBuffer && clock.length >= 1)) {
      throw new InvalidArgumentError('manualClock must be a Float64Array over a SharedArrayBuffer');
    }
    this.manualClock = clock;
    this.limits = resolveLimits(options.limits, { maxBodyBytes: 16 * 1024, socketTimeoutMs: 60_000 });
    new Authenticator(options.auth); // validates here, where the caller can catch it; the thread builds its own
    this.auth = options.auth === undefined ? undefined : { ...options.auth };
  }

  /** The bound address once started, else null. */
  get address(): BoundAddress | null {
    return this.bound;
  }

  /** Starts the HTTP thread listening; resolves with the bound address. Calling it again returns the same address. */
  start(): Promise<BoundAddress> {
    if (this.bound !== null) return Promise.resolve(this.bound);
    if (this.starting !== null) return this.starting;
    const config: ThreadConfig = {
      host: this.host,
      port: this.port,
      backlog: 2048,
      limits: this.limits,
      auth: this.auth,
      hasExtraRoutes: this.extraRoutes !== undefined,
      answerTimeoutMs: this.answerTimeoutMs,
      maxRenderAgeMs: this.maxRenderAgeMs,
      manualClock: this.manualClock,
    };
    const thread = new Thread(THREAD_FILE, { workerData: { metricsHttpThread: config }, stdout: false, stderr: false });
    this.thread = thread;
    this.starting = new Promise<BoundAddress>((resolve, reject) => {
      const fail = (err: Error): void => {
        if (this.thread === thread) this.thread = null;
        this.starting = null;
        reject(err);
      };
      thread.on('message', (m: ThreadToMain) => {
        if (m.type === 'listening') {
          const h = m.family === 'IPv6' || m.family === '6' ? `[${m.address}]` : m.address;
          this.bound = { host: m.address, port: m.port, family: m.family, url: `http://${h}:${m.port}` };
          this.starting = null;
          resolve(this.bound);
        } else if (m.type === 'listen-error') {
          fail(Object.assign(new Error(m.message), { code: m.code }));
        } else this.onAsk(thread, m);
      });
      thread.on('error', (err) => {
        if (this.starting !== null) fail(err);
        else process.emitWarning(`trtllm-metrics: the metrics server thread failed: ${err.message}`, 'MetricsServerWarning');
      });
      thread.on('exit', () => {
        if (this.thread === thread) {
          this.thread = null;
          this.bound = null;
        }
        if (this.starting !== null) fail(new Error('the metrics server thread exited before it listened'));
      });
    });
    return this.starting;
  }

  /** Stops listening and closes open connections. Idempotent. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    const thread = this.thread;
    if (thread === null) return Promise.resolve();
    // Listen for the exit first: the thread has not exited yet (its exit handler would have cleared this.thread),
    // but it may while a failed start() settles.
    const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
    this.closing = (async () => {
      if (this.starting !== null) await this.starting.catch(() => undefined);
      thread.postMessage({ type: 'close' } satisfies MainToThread);
      const timer = setTimeout(() => void thread.terminate(), CLOSE_GRACE_MS);
      await exited; // its exit handler has cleared thread and bound
      clearTimeout(timer);
    })().finally(() => {
      this.closing = null;
    });
    return this.closing;
  }

  /** Renders the exposition of the registries (a fresh render per call). */
  render(format: ExpositionFormat = 'prometheus'): Promise<string> {
    this.renders++;
    return renderRegistries(this.registries, format);
  }

  /** The health JSON of /health (readiness and the health report) or /live (readiness only). */
  health(probe: Probe = 'health'): HealthBody {
    let ready = false;
    try {
      ready = this.readyFn();
    } catch {
      ready = false;
    }
    let report: HealthReportLike | undefined;
    if (probe === 'health' && this.healthFn !== undefined) {
      try {
        report = this.healthFn();
      } catch (err) {
        report = { healthy: false, reasons: [`the health report failed: ${(err as Error)?.message ?? String(err)}`] };
      }
      ready &&= report.healthy;
    }
    const body: HealthBody = {
      status: ready ? 'ready' : 'notready',
      uptime: Number(process.hrtime.bigint() - this.createdAt) / 1e9,
      endpoints: this.endpointsFn(ready),
    };
    if (report !== undefined) {
      body.reasons = [...report.reasons];
      if (report.engine !== undefined) body.engine = report.engine;
    }
    return body;
  }

  /** Answers the thread's ask; a failure is answered as one (the thread turns it into a 500). */
  private onAsk(thread: Thread, m: ThreadToMain): void {
    if (m.type !== 'render' && m.type !== 'health' && m.type !== 'route') return;
    const id = m.id;
    const post = (answer: MainToThread): void => {
      if (this.thread === thread) thread.postMessage(answer);
    };
    const failed = (err: unknown): void => post({ type: 'failed', id, message: (err as Error)?.message ?? String(err) });
    try {
      if (m.type === 'render') {
        const begunAtMs = clockMs(this.manualClock);
        this.render(m.format).then((text) => post({ type: 'rendered', id, text, begunAtMs }), failed);
      } else if (m.type === 'health') {
        post({ type: 'health', id, body: this.health(m.probe) });
      } else {
        const routes = this.extraRoutes;
        if (routes === undefined) return post({ type: 'route', id, response: null });
        Promise.resolve(routes(m.request)).then((response) => {
          if (response === undefined) return post({ type: 'route', id, response: null });
          const problem = invalidRouteResponse(response);
          if (problem !== null) return failed(new Error(`extraRoutes answered ${m.request.path} with ${problem}`));
          post({ type: 'route', id, response });
        }, failed);
      }
    } catch (err) {
      failed(err);
    }
  }
}

/** Why a route answer cannot be sent, or null. */
function invalidRouteResponse(r: unknown): string | null {
  if (r === null || typeof r !== 'object') return 'a non-object';
  const { status, body, headers } = r as RouteResponse;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) return `status ${String(status)}`;
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) return 'a body that is neither a string nor bytes';
  if (headers !== undefined && (headers === null || typeof headers !== 'object')) return 'headers that are not an object';
  return null;
}

/** An option given to the constructor, else its environment variable (DYN_SYSTEM_*) if it has one, else the table's default. */
function fromOptionOrEnv<S extends TSchema>(leaf: DefaultedLeaf<S>, value: Static<S> | undefined, name: string, env: Readonly<Record<string, string | undefined>>): Static<S> {
  if (value !== undefined) {
    checkLeaf(leaf, value, name);
    return value;
  }
  const text = leaf.meta.env !== undefined ? env[leaf.meta.env] : undefined;
  if (text === undefined || text.trim() === '') return leaf.meta.default;
  const parsed = valueFromText(leaf, text);
  checkLeaf(leaf, parsed, leaf.meta.env!);
  return parsed as Static<S>;
}
