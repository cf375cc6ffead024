/**
 * What both HTTP servers (the metrics/health server, lib/server.ts, and the API, lib/openai/server.ts) share
 * to protect themselves: size limits, timeouts and a connection cap applied to a node:http server, and an
 * optional bearer-token / basic-auth check. See docs/reliability.md.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerOptions } from 'node:http';
import { resolveTree } from './options/check.js';
import type { OptionsOf } from './options/define.js';
import { HTTP_AUTH, HTTP_LIMITS } from './options/server-table.js';

/** Size limits, timeouts and the connection cap (lib/options/server-table.ts has each one's range, unit and default). */
export type HttpLimits = OptionsOf<typeof HTTP_LIMITS>;

export type ResolvedLimits = Required<HttpLimits>;

/** Validates `limits` against the table and fills in the defaults (`maxBodyBytes` and `socketTimeoutMs` are per server). */
export function resolveLimits(limits: HttpLimits | undefined, defaults: { maxBodyBytes: number; socketTimeoutMs: number }): ResolvedLimits {
  const out = { ...defaults, ...resolveTree(HTTP_LIMITS, limits, { root: 'limits' }) } as ResolvedLimits;
  // Node requires headersTimeout <= requestTimeout when the latter is set.
  if (out.requestTimeoutMs > 0 && out.headersTimeoutMs > out.requestTimeoutMs) out.headersTimeoutMs = out.requestTimeoutMs;
  return out;
}

/** The createServer options that carry the limits. */
export function serverOptions(limits: ResolvedLimits): ServerOptions {
  return {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the header and request timeouts on this interval (default 30 s): check often enough that
    // a timeout fires within about a second of its value.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs || Infinity) / 4))),
  };
}

/** Applies what is not a createServer option: the connection cap and the socket inactivity timeout. */
export function applyLimits(server: Server, limits: ResolvedLimits): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  if (limits.maxConnections > 0) server.maxConnections = limits.maxConnections;
  server.timeout = limits.socketTimeoutMs;
  // Malformed requests, oversized headers and timeouts are answered by Node itself with a bare 400 / 431 /
  // 408 and a closed connection (no body, no stack trace): no clientError listener on purpose.
}

/** Bearer token and/or basic-auth credentials (lib/options/server-table.ts). */
export type HttpAuthOptions = OptionsOf<typeof HTTP_AUTH>;

/**
 * Checks the Authorization header against the configured credentials (either kind is accepted when both are
 * set). Comparisons are on SHA-256 digests with timingSafeEqual, so they take the same time for any input.
 */
export class Authenticator {
  private readonly tokenDigest: Buffer | null;
  private readonly basicDigest: Buffer | null;

  constructor(options: HttpAuthOptions | undefined) {
    const { token, basic } = resolveTree(HTTP_AUTH, options, { root: 'auth' });
    this.tokenDigest = token !== undefined ? digest(token) : null;
    this.basicDigest = basic !== undefined ? digest(basic) : null;
  }

  /** True when credentials are required. */
  get enabled(): boolean {
    return this.tokenDigest !== null || this.basicDigest !== null;
  }

  /** The WWW-Authenticate challenge of a 401. */
  get challenge(): string {
    const schemes: string[] = [];
    if (this.tokenDigest !== null) schemes.push('Bearer realm="trtllm-metrics"');
    if (this.basicDigest !== null) schemes.push('Basic realm="trtllm-metrics", charset="UTF-8"');
    return schemes.join(', ');
  }

  /** True when the request may pass (always, when no credentials are configured). */
  check(req: IncomingMessage): boolean {
    if (!this.enabled) return true;
    const header = req.headers.authorization;
    if (typeof header !== 'string') return false;
    const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(header);
    if (!m) return false;
    const scheme = m[1]!.toLowerCase();
    if (scheme === 'bearer' && this.tokenDigest !== null) return timingSafeEqual(digest(m[2]!), this.tokenDigest);
    if (scheme === 'basic' && this.basicDigest !== null) {
      const decoded = Buffer.from(m[2]!, 'base64').toString('utf8');
      return timingSafeEqual(digest(decoded), this.basicDigest);
    }
    return false;
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * Discards a request body the route does not read, up to `limit` bytes; beyond that the connection is
 * destroyed (the response, if any, has been sent with `Connection: close`).
 */
export function discardBody(req: IncomingMessage, limit: number): void {
  let seen = 0;
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > limit) req.socket.destroy();
  });
  req.on('error', () => undefined);
  req.resume();
}

/** The declared Content-Length when it is a valid number, else undefined. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const raw = req.headers['content-length'];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}
