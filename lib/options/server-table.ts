/**
 * Options of the two HTTP servers: the metrics/health server (lib/server.ts) and the OpenAI API
 * (lib/openai/server.ts). The limits and credentials are shared (lib/http-guard.ts applies them).
 */
import { Type } from '@sinclair/typebox';
import { group, HOUR_MS, int, nonEmpty, opt } from './define.js';

const SERVE = ['serve'] as const;

export const HTTP_LIMITS = {
  maxConnections: opt(int(0, 1 << 20), {
    help: 'open connections per port beyond which new ones are closed; 0 = no cap',
    unit: 'connections',
    default: 2048,
    maps: 'http.Server.maxConnections',
    flag: 'max-connections',
    commands: SERVE,
    section: 'HTTP limits',
  }),
  maxBodyBytes: opt(int(0, 1 << 30), {
    help: 'request bodies beyond this get 413 (serve: the API port)',
    unit: 'bytes',
    defaultText: '1048576 on the API, 16384 on the metrics port',
    flag: 'max-body-bytes',
    commands: SERVE,
    section: 'HTTP limits',
  }),
  maxHeaderBytes: opt(int(1024, 1 << 24), {
    help: 'request line + headers beyond this get 431',
    unit: 'bytes',
    default: 16384,
    maps: 'http.createServer({ maxHeaderSize })',
    flag: 'max-header-bytes',
    commands: SERVE,
    section: 'HTTP limits',
  }),
  headersTimeoutMs: opt(int(1, HOUR_MS), {
    help: 'time a client has to send its request headers, else 408',
    unit: 'ms',
    default: 20_000,
    maps: 'http.Server.headersTimeout',
    flag: 'headers-timeout-ms',
    commands: SERVE,
    section: 'HTTP limits',
  }),
  requestTimeoutMs: opt(int(0, HOUR_MS), {
    help: 'time a client has to send its whole request, else 408; 0 = none (not a limit on a streamed response)',
    unit: 'ms',
    default: 60_000,
    maps: 'http.Server.requestTimeout',
    flag: 'request-timeout-ms',
    commands: SERVE,
    section: 'HTTP limits',
  }),
  keepAliveTimeoutMs: opt(int(1, HOUR_MS), {
    help: 'idle keep-alive connections are closed after this',
    unit: 'ms',
    default: 5000,
    maps: 'http.Server.keepAliveTimeout',
    flag: 'keep-alive-timeout-ms',
    commands: SERVE,
    section: 'HTTP limits',
  }),
  socketTimeoutMs: opt(int(0, HOUR_MS), {
    help: 'a socket with no traffic either way for this long is closed; 0 = never',
    unit: 'ms',
    defaultText: '0 on the API, 60000 on the metrics port',
    maps: 'http.Server.timeout',
  }),
};

export const HTTP_AUTH = {
  token: opt(Type.String({ pattern: '^[\\x21-\\x7e]+$' }), {
    help: 'require "Authorization: Bearer TOKEN" on both ports (not on /health, /live)',
    expected: 'visible ASCII characters without spaces',
    flag: 'auth-token',
    commands: SERVE,
    arg: 'TOKEN',
    env: 'TRTLLM_METRICS_AUTH_TOKEN',
    section: 'Server',
  }),
  basic: opt(Type.String({ pattern: '^[^:\\r\\n]+:[^\\r\\n]*$' }), {
    help: 'require HTTP basic auth on both ports (not on /health, /live)',
    expected: '"user:password" (a non-empty user name without a colon)',
    flag: 'basic-auth',
    commands: SERVE,
    arg: 'USER:PASS',
    env: 'TRTLLM_METRICS_BASIC_AUTH',
    section: 'Server',
  }),
};

/** The metrics/health server's own options (lib/server.ts). */
export const METRICS_SERVER_OPTIONS = {
  port: opt(int(0, 65535), {
    help: 'metrics/health port; 0 = any free port',
    default: 8081,
    env: 'DYN_SYSTEM_PORT',
    flag: 'port',
    commands: SERVE,
    section: 'Server',
  }),
  host: opt(nonEmpty(), {
    help: 'listen address (0.0.0.0 for all interfaces)',
    default: '0.0.0.0',
    env: 'DYN_SYSTEM_HOST',
  }),
  answerTimeoutMs: opt(int(1, HOUR_MS), {
    help: 'a scrape or probe the main thread does not answer in this time gets 503',
    unit: 'ms',
    default: 10_000,
  }),
  maxRenderAgeMs: opt(int(0, 60_000), {
    help: 'answer a scrape with a render begun at most this long before it (0: always a fresh render; e.g. 250 for scrape storms)',
    unit: 'ms',
    default: 0,
    flag: 'metrics-max-age-ms',
    commands: SERVE,
    section: 'Metrics',
  }),
  limits: group('HTTP limits (lib/http-guard.ts)', HTTP_LIMITS),
  auth: group('credentials (lib/http-guard.ts)', HTTP_AUTH),
};
