/**
 * GET /dashboard on the metrics port: a self-contained live page (lib/dashboard/page.ts) charting one
 * collector's latencies, throughput, KV cache and scheduler state with uPlot, which the package serves from
 * node_modules (no CDN), and the JSON it polls (lib/dashboard/data.ts).
 *
 * Routes (GET and HEAD; other methods 405):
 *   /dashboard                           the page
 *   /dashboard/                          308 to /dashboard
 *   /dashboard/data[?since=<s>]          JSON points after `since` (seconds since the epoch)
 *   /dashboard/assets/uplot.iife.min.js  uPlot
 *   /dashboard/assets/uplot.min.css      uPlot's stylesheet
 */
import { readFileSync } from 'node:fs';
import { OptionalDependencyError } from '../errors.js';
import { resolveOptional } from '../optional-dependency.js';
import type { Registry } from 'prom-client';
import type { MetricsCollector } from '../metrics/collector.js';
import { DashboardSampler } from './data.js';
import { renderPage } from './page.js';
import type { ExtraRoutes, RouteRequest, RouteResponse } from '../server.js';

export { DashboardSampler, histogramQuantile, SERIES } from './data.js';
export type { Buckets, DashboardData, SamplerOptions, SeriesName, Snapshot } from './data.js';

export interface DashboardOptions {
  collector: MetricsCollector;
  /** Registry holding the runtime (dynamo_component_*) metrics; default the collector's. */
  registry?: Registry;
  /** Poll period of the page, ms (default 1000). */
  pollMs?: number;
  /** Sliding window of the quantiles, seconds (default 10). */
  windowSeconds?: number;
  /** Snapshots kept, one per poll at most every minIntervalMs (default 600). */
  maxSamples?: number;
  /** Minimum time between two snapshots, ms (default 500). */
  minIntervalMs?: number;
}

/** Answers a request when it is one of the dashboard's; returns undefined (and touches nothing) otherwise. */
export type DashboardHandler = ExtraRoutes & {
  readonly sampler: DashboardSampler;
};

const ASSETS: Record<string, { file: string; type: string }> = {
  'uplot.iife.min.js': { file: 'uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  'uplot.min.css': { file: 'uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
};

const assetCache = new Map<string, Buffer>();

function asset(name: string): Buffer {
  let body = assetCache.get(name);
  if (body === undefined) {
    body = readFileSync(resolveOptional(ASSETS[name].file, ['uplot'], 'the live dashboard (/dashboard)'));
    assetCache.set(name, body);
  }
  return body;
}

/** Why the page cannot work (an optional package is missing), or undefined. */
function missingAssets(): string | undefined {
  try {
    for (const name of Object.keys(ASSETS)) asset(name);
    return undefined;
  } catch (err) {
    if (err instanceof OptionalDependencyError) return err.message;
    throw err;
  }
}

export function createDashboardHandler(options: DashboardOptions): DashboardHandler {
  if (options === null || typeof options !== 'object' || options.collector === undefined) {
    throw new TypeError('createDashboardHandler needs { collector }');
  }
  const sampler = new DashboardSampler({
    collector: options.collector,
    registry: options.registry,
    pollMs: options.pollMs,
    windowSeconds: options.windowSeconds,
    maxSamples: options.maxSamples,
    minIntervalMs: options.minIntervalMs,
  });
  let page: string | null = null;

  const handler = (req: RouteRequest): RouteResponse | Promise<RouteResponse> | undefined => {
    const { url, path } = req;
    if (path !== '/dashboard' && !path.startsWith('/dashboard/')) return undefined;
    const sub = path.slice('/dashboard'.length);
    const known = sub === '' || sub === '/' || sub === '/data' || (sub.startsWith('/assets/') && Object.hasOwn(ASSETS, sub.slice(8)));
    if (!known) return reply(404, 'text/plain; charset=utf-8', 'Not Found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return reply(405, 'text/plain; charset=utf-8', 'Method Not Allowed\n', { Allow: 'GET, HEAD' });
    }
    if (sub === '') {
      const problem = missingAssets();
      if (problem !== undefined) return reply(503, 'text/plain; charset=utf-8', `${problem}\n`);
      page ??= renderPage({ pollMs: sampler.pollMs, windowSeconds: sampler.windowSeconds });
      return reply(200, 'text/html; charset=utf-8', page);
    }
    if (sub === '/') return reply(308, 'text/plain; charset=utf-8', 'see /dashboard\n', { Location: '../dashboard' });
    if (sub === '/data') {
      const q = url.indexOf('?');
      const params = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
      const raw = params.get('since');
      const since = raw === null || raw === '' ? -Infinity : Number(raw);
      if (Number.isNaN(since)) {
        return reply(400, 'application/json', `${JSON.stringify({ error: 'since must be a number (seconds since the epoch)' })}\n`);
      }
      return sampler.data(since).then(
        (data) => reply(200, 'application/json', JSON.stringify(data)),
        (err: unknown) => reply(500, 'application/json', `${JSON.stringify({ error: (err as Error)?.message ?? String(err) })}\n`),
      );
    }
    const name = sub.slice(8);
    try {
      return reply(200, ASSETS[name].type, asset(name), { 'Cache-Control': 'public, max-age=3600' });
    } catch (err) {
      const status = err instanceof OptionalDependencyError ? 503 : 500;
      return reply(status, 'text/plain; charset=utf-8', `asset unavailable: ${(err as Error).message}\n`);
    }
  };
  return Object.assign(handler, { sampler });
}

function reply(status: number, contentType: string, body: string | Buffer, extra?: Record<string, string>): RouteResponse {
  return {
    status,
    headers: { 'Content-Type': contentType, 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...extra },
    body,
  };
}
