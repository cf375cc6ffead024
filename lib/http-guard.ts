/**
 * What both HTTP servers (the metrics/health server, lib/server.ts, and the API, lib/openai/server.ts) share
 * to protect themselves: size limits, timeouts and a connection cap applied to a node:http server, and an
 * optional bearer-token / basic-auth check. See docs/reliability.md.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server, ServerOptions } from 'node:http';
import { InvalidArgumentError } from './errors.js';

export interface HttpLimits {
  /** Request line + headers beyond this many bytes: Node answers 431 (default 16384). */
  maxHeaderBytes?: number;
  /** Request bodies beyond this many bytes: 413 (default: 1 MiB on the API, 16 KiB on the metrics server). */
  maxBodyBytes?: number;
  /** The request headers must arrive within this time, else 408 (default 20000 ms). */
  headersTimeoutMs?: number;
  /** The whole request (headers and body) must arrive within this time, else 408 (default 60000 ms; 0 = none). Not a limit on the response: a stream may run longer. */
  requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this time (default 5000 ms). */
  keepAliveTimeoutMs?: number;
  /** Open connections beyond this are closed at once (default 2048; 0 = no cap). */
  maxConnections?: number;
  /** A socket with no traffic in either direction for this long is closed (default 0 = never; the metrics server uses 60000). */
  socketTimeoutMs?: number;
}

export type ResolvedLimits = Required<HttpLimits>;

export const DEFAULT_LIMITS: Readonly<Omit<ResolvedLimits, 'maxBodyBytes' | 'socketTimeoutMs'>> = Object.freeze({
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 2048,
});

const LIMIT_KEYS: ReadonlyArray<[keyof HttpLimits, number, number]> = [
  ['maxHeaderBytes', 1024, 1 << 24],
  ['maxBodyBytes', 0, 1 << 30],
  ['headersTimeoutMs', 1, 3_600_000],
  ['requestTimeoutMs', 0, 3_600_000],
  ['keepAliveTimeoutMs', 1, 3_600_000],
  ['maxConnections', 0, 1 << 20],
  ['socketTimeoutMs', 0, 3_600_000],
];

/** Validates `limits` and fills in the defaults (`maxBodyBytes` and `socketTimeoutMs` are per server). */
export function resolveLimits(limits: HttpLimits | undefined, defaults: { maxBodyBytes: number; socketTimeoutMs: number }): ResolvedLimits {
  if (limits !== undefined && (limits === null || typeof limits !== 'object' || Array.isArray(limits))) {
    throw new InvalidArgumentError('limits must be an object');
  }
  const l = (limits ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(l)) {
    if (!LIMIT_KEYS.some(([k]) => k === key)) throw new InvalidArgumentError(`limits.${key} is not a known limit`);
  }
  for (const [key, min, max] of LIMIT_KEYS) {
    const v = l[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new InvalidArgumentError(`limits.${key} must be an integer in [${min}, ${max}], got ${String(v)}`);
    }
  }
  const out: ResolvedLimits = { ...DEFAULT_LIMITS, ...defaults, ...(l as HttpLimits) } as ResolvedLimits;
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

export interface HttpAuthOptions {
  /** Accept `Authorization: Bearer <token>`. */
  token?: string;
  /** Accept `Authorization: Basic base64(<user:password>)`; given as `user:password`. */
  basic?: string;
}

/**
 * Checks the Authorization header against the configured credentials (either kind is accepted when both are
 * set). Comparisons are on SHA-256 digests with timingSafeEqual, so they take the same time for any input.
 */
export class Authenticator {
  private readonly tokenDigest: Buffer | null;
  private readonly basicDigest: Buffer | null;

  constructor(options: HttpAuthOptions | undefined) {
    if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
      throw new InvalidArgumentError('auth must be an object { token?, basic? }');
    }
    const o = options ?? {};
    for (const key of Object.keys(o)) if (key !== 'token' && key !== 'basic') throw new InvalidArgumentError(`auth.${key} is not a known option (token, basic)`);
    const token = o.token;
    if (token !== undefined && (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token))) {
      throw new InvalidArgumentError('auth.token must be a non-empty string of visible ASCII characters');
    }
    const basic = o.basic;
    if (basic !== undefined && (typeof basic !== 'string' || !/^[^:\r\n]+:[^\r\n]*$/.test(basic))) {
      throw new InvalidArgumentError('auth.basic must be "user:password" (a non-empty user name, no colon in it)');
    }
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
