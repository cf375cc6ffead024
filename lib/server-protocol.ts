/**
 * The messages between MetricsServer (lib/server.ts, on the main thread, where the metrics live) and its HTTP
 * thread (lib/server-thread.ts, which owns the port). The thread asks; the main thread answers. Every ask
 * carries an id that its answer repeats.
 */
import type { HttpAuthOptions, ResolvedLimits } from './http-guard.js';
import type { ExpositionFormat } from './metrics/exposition.js';

/** What the thread is started with (its workerData). */
export interface ThreadConfig {
  host: string;
  port: number;
  /** listen() backlog. */
  backlog: number;
  limits: ResolvedLimits;
  auth: HttpAuthOptions | undefined;
  /** True when the main thread has extra routes: unknown paths are asked about instead of answered 404. */
  hasExtraRoutes: boolean;
  /** How long a request waits for the main thread's answer before it is answered 503, ms. */
  answerTimeoutMs: number;
  /** A scrape may be answered with a render begun at most this long before it arrived, ms (0: never). */
  maxRenderAgeMs: number;
  /** MetricsServerOptions.manualClock: element 0 is the time in ms that render ages are measured on (shared memory). */
  manualClock: Float64Array | undefined;
}

/** The clock of render ages, ms: process.hrtime, or a manual clock in shared memory (tests). */
export function clockMs(manual: Float64Array | undefined): number {
  return manual !== undefined ? manual[0]! : Number(process.hrtime.bigint()) / 1e6;
}

export type EndpointStatus = 'ready' | 'notready';

export interface HealthBody {
  status: EndpointStatus;
  /** Seconds since the server was created. */
  uptime: number;
  endpoints: Record<string, EndpointStatus>;
  /** /health with a health report (MetricsServerOptions.health): why the worker cannot serve, one line each. */
  reasons?: string[];
  /** /health with a health report: the report's details (the worker's: lib/health/worker-health.ts EngineHealth). */
  engine?: unknown;
}

/** /health answers readiness and health (with reasons); /live answers readiness only. */
export type Probe = 'health' | 'live';

/** A request for an extra route, as the main thread sees it (no body: the metrics port's routes take none). */
export interface RouteRequest {
  /** GET, HEAD, ... as sent. */
  method: string;
  /** The request target as sent: path and query. */
  url: string;
  /** The path part of `url`. */
  path: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** An extra route's answer. Content-Length is added; HEAD answers get the headers without the body. */
export interface RouteResponse {
  status: number;
  headers?: Readonly<Record<string, string>>;
  body: string | Uint8Array;
}

export type ThreadToMain =
  | { type: 'listening'; address: string; port: number; family: string }
  | { type: 'listen-error'; code: string | undefined; message: string }
  | { type: 'render'; id: number; format: ExpositionFormat }
  | { type: 'health'; id: number; probe: Probe }
  | { type: 'route'; id: number; request: RouteRequest }
  | { type: 'closed' };

export type MainToThread =
  /** `begunAtMs`: when the render began, on the process's monotonic clock (process.hrtime), ms. */
  | { type: 'rendered'; id: number; text: string; begunAtMs: number }
  | { type: 'health'; id: number; body: HealthBody }
  | { type: 'route'; id: number; response: RouteResponse | null }
  | { type: 'failed'; id: number; message: string }
  | { type: 'close' };
