/**
 * The system HTTP server of a worker, shaped like Dynamo's: GET/HEAD /metrics (Prometheus text 0.0.4, or
 * OpenMetrics 1.0 when the Accept header asks for application/openmetrics-text), /health and /live (Dynamo's
 * JSON: 200 when ready, 503 when not), 404 for other paths, 405 for other methods. Port 8081 by default;
 * DYN_SYSTEM_PORT / DYN_SYSTEM_HOST are honoured when the options do not set port / host.
 */
import { gzipSync } from 'node:zlib';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { register as globalRegistry, type Registry } from 'prom-client';
import { InvalidArgumentError } from './errors.js';
import { applyLimits, Authenticator, declaredLength, discardBody, resolveLimits, serverOptions, type HttpAuthOptions, type HttpLimits, type ResolvedLimits } from './http-guard.js';
import {
  negotiateFormat,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
  renderRegistries,
  type ExpositionFormat,
} from './metrics/exposition.js';

export const DEFAULT_SYSTEM_PORT = 8081;
export const DEFAULT_SYSTEM_HOST = '0.0.0.0';

export type EndpointStatus = 'ready' | 'notready';

export interface MetricsServerOptions {
  /** The registries to serve, in order (default: prom-client's global registry). */
  registry?: Registry | readonly Registry[];
  /** Listen address (default: DYN_SYSTEM_HOST, else 0.0.0.0). */
  host?: string;
  /** Listen port (default: DYN_SYSTEM_PORT, else 8081; 0 picks a free port). */
  port?: number;
  /** Readiness for /health and /live: a callback, or an object with a `ready` getter (e.g. an Engine). Default: ready. */
  ready?: (() => boolean) | { readonly ready: boolean };
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
  /** Extra routes (e.g. lib/dashboard's GET /dashboard), consulted before the 404; return true when handled. */
  extraRoutes?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}

export interface BoundAddress {
  host: string;
  port: number;
  family: string;
  /** http://host:port (IPv6 hosts in brackets). */
  url: string;
}

export interface HealthBody {
  status: EndpointStatus;
  /** Seconds since the server was created. */
  uptime: number;
  endpoints: Record<string, EndpointStatus>;
}

const ALLOW = 'GET, HEAD';

export class MetricsServer {
  readonly host: string;
  readonly port: number;
  private readonly registries: readonly Registry[];
  private readonly readyFn: () => boolean;
  private readonly endpointsFn: (ready: boolean) => Record<string, EndpointStatus>;
  private readonly extraRoutes: MetricsServerOptions['extraRoutes'];
  private readonly createdAt = process.hrtime.bigint();
  private readonly limits: ResolvedLimits;
  private readonly auth: Authenticator;
  private readonly inflight: Partial<Record<ExpositionFormat, Promise<string>>> = {};
  private readonly lastEncoded: Partial<Record<ExpositionFormat, { text: string; buf: Buffer; gzip?: Buffer }>> = {};
  private server: http.Server | null = null;
  private bound: BoundAddress | null = null;
  private starting: Promise<BoundAddress> | null = null;
  /** Renders started (concurrent scrapes share one). */
  renders = 0;

  constructor(options: MetricsServerOptions = {}) {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options must be an object');
    const env = options.env ?? process.env;
    this.port = resolvePort(options.port, env.DYN_SYSTEM_PORT);
    const host = options.host ?? env.DYN_SYSTEM_HOST ?? DEFAULT_SYSTEM_HOST;
    if (typeof host !== 'string' || host === '') throw new InvalidArgumentError('host must be a non-empty string');
    this.host = host;
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
    const endpointName = options.endpointName ?? 'generate';
    if (typeof endpointName !== 'string' || endpointName === '') {
      throw new InvalidArgumentError('endpointName must be a non-empty string');
    }
    const endpoints = options.endpoints;
    if (endpoints !== undefined && typeof endpoints !== 'function') {
      throw new InvalidArgumentError('endpoints must be a function');
    }
    this.endpointsFn = endpoints ?? ((r) => ({ [endpointName]: r ? 'ready' : 'notready' }));
    this.extraRoutes = options.extraRoutes;
    this.limits = resolveLimits(options.limits, { maxBodyBytes: 16 * 1024, socketTimeoutMs: 60_000 });
    this.auth = new Authenticator(options.auth);
  }

  /** The bound address once started, else null. */
  get address(): BoundAddress | null {
    return this.bound;
  }

  /** Starts listening; resolves with the bound address. Calling it again returns the same address. */
  start(): Promise<BoundAddress> {
    if (this.bound !== null) return Promise.resolve(this.bound);
    if (this.starting !== null) return this.starting;
    const server = http.createServer(serverOptions(this.limits), (req, res) => this.guard(req, res));
    applyLimits(server, this.limits);
    this.server = server;
    this.starting = new Promise<BoundAddress>((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server = null;
        this.starting = null;
        reject(err);
      };
      server.once('error', onError);
      // A deep accept backlog: a burst of scrapes must not overflow it (a dropped SYN costs the client 1 s).
      server.listen(this.port, this.host, 2048, () => {
        server.off('error', onError);
        const a = server.address() as AddressInfo;
        const h = a.family === 'IPv6' || a.family === (6 as unknown as string) ? `[${a.address}]` : a.address;
        this.bound = { host: a.address, port: a.port, family: String(a.family), url: `http://${h}:${a.port}` };
        this.starting = null;
        resolve(this.bound);
      });
    });
    return this.starting;
  }

  /** Stops listening and closes open connections. Idempotent. */
  async close(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    if (this.starting !== null) await this.starting.catch(() => undefined);
    this.server = null;
    this.bound = null;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections?.();
    });
  }

  /** Renders the exposition; concurrent calls for one format share the render in flight. */
  render(format: ExpositionFormat = 'prometheus'): Promise<string> {
    const current = this.inflight[format];
    if (current !== undefined) return current;
    this.renders++;
    const p: Promise<string> = renderRegistries(this.registries, format).finally(() => {
      if (this.inflight[format] === p) delete this.inflight[format];
    });
    this.inflight[format] = p;
    return p;
  }

  /**
   * The bytes of a render, encoded once for every scrape that shares it; gzip-compressed (also once) for
   * scrapers that accept it, as Prometheus does: a tenth of the bytes to write per scrape.
   */
  private encoded(format: ExpositionFormat, text: string, gzip: boolean): Buffer {
    let last = this.lastEncoded[format];
    if (last === undefined || last.text !== text) {
      last = { text, buf: Buffer.from(text, 'utf8') };
      this.lastEncoded[format] = last;
    }
    if (!gzip) return last.buf;
    if (last.gzip === undefined) last.gzip = gzipSync(last.buf, { level: 1 });
    return last.gzip;
  }

  /** The health JSON and whether the worker is ready. */
  health(): HealthBody {
    let ready = false;
    try {
      ready = this.readyFn();
    } catch {
      ready = false;
    }
    return {
      status: ready ? 'ready' : 'notready',
      uptime: Number(process.hrtime.bigint() - this.createdAt) / 1e9,
      endpoints: this.endpointsFn(ready),
    };
  }

  /** Body limit and credentials first; any exception becomes a bare 500 (never a stack trace, never a crash). */
  private guard(req: http.IncomingMessage, res: http.ServerResponse): void {
    const head = req.method === 'HEAD';
    try {
      const declared = declaredLength(req);
      if (declared !== undefined && declared > this.limits.maxBodyBytes) {
        res.setHeader('Connection', 'close');
        send(res, 413, 'text/plain; charset=utf-8', 'Payload Too Large\n', head);
        return;
      }
      discardBody(req, this.limits.maxBodyBytes); // no route here reads a body
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q >= 0 ? url.slice(0, q) : url;
      if (path !== '/health' && path !== '/live' && !this.auth.check(req)) {
        res.setHeader('WWW-Authenticate', this.auth.challenge);
        send(res, 401, 'text/plain; charset=utf-8', 'Unauthorized\n', head);
        return;
      }
      this.handle(req, res);
    } catch {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'Internal Server Error\n', head);
      else res.destroy();
    }
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    const isRoute = path === '/metrics' || path === '/health' || path === '/live';
    if (!isRoute) {
      if (this.extraRoutes?.(req, res) === true) return;
      send(res, 404, 'text/plain; charset=utf-8', 'Not Found\n', req.method === 'HEAD');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', ALLOW);
      send(res, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n', false);
      return;
    }
    const head = req.method === 'HEAD';
    if (path === '/metrics') {
      const format = negotiateFormat(req.headers.accept);
      const gzip = acceptsGzip(req.headers['accept-encoding']);
      this.render(format).then(
        (body) => {
          if (gzip) res.setHeader('Content-Encoding', 'gzip');
          res.setHeader('Vary', 'Accept-Encoding');
          send(res, 200, format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE, this.encoded(format, body, gzip), head);
        },
        (err: unknown) =>
          send(res, 500, 'text/plain; charset=utf-8', `metrics rendering failed: ${(err as Error)?.message ?? String(err)}\n`, head),
      );
      return;
    }
    const body = this.health();
    send(res, body.status === 'ready' ? 200 : 503, 'application/json', `${JSON.stringify(body)}\n`, head);
  }
}

/** True when the Accept-Encoding header lists gzip without q=0. */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value) return false;
  for (const part of value.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== 'x-gzip') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

function send(res: http.ServerResponse, status: number, contentType: string, body: string | Buffer, head: boolean): void {
  if (res.destroyed) return;
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': typeof body === 'string' ? Buffer.byteLength(body) : body.length,
    'Cache-Control': 'no-store',
  });
  res.end(head ? undefined : body);
}

function resolvePort(option: number | undefined, env: string | undefined): number {
  if (option !== undefined) {
    if (typeof option !== 'number' || !Number.isInteger(option) || option < 0 || option > 65535) {
      throw new InvalidArgumentError(`port must be an integer in 0..65535, got ${String(option)}`);
    }
    return option;
  }
  if (env !== undefined && env.trim() !== '') {
    const s = env.trim();
    const n = /^[0-9]+$/.test(s) ? Number(s) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > 65535) {
      throw new InvalidArgumentError(`DYN_SYSTEM_PORT must be an integer in 0..65535, got ${JSON.stringify(env)}`);
    }
    return n;
  }
  return DEFAULT_SYSTEM_PORT;
}
