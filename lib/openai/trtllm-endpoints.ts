/**
 * The side endpoints of trtllm-serve (tensorrt_llm/serve/openai_server.py) on the API port, with its paths,
 * methods and JSON shapes (docs/worker.md):
 * - GET /metrics (and its older name here, GET /stats): the iteration stats delivered since the previous
 *   call (drained), the JSON list of the executor's serialization (camelCase keys);
 * - GET /prometheus/metrics: the Prometheus exposition of the worker's registry (what tools that scrape
 *   trtllm-serve there read);
 * - GET or POST /kv_cache_events: the KV-cache events since the previous call (drained), in Python's
 *   snake_case event shape, every 64-bit value (hashes, token_extra_id, lora_id) as a decimal string;
 * - GET /perf_metrics: see perf-store.ts;
 * - GET /steady_clock_offset: {"receive_ts", "transmit_ts"} on the steady clock; POST {"offset": s} sets the
 *   offset a disaggregated server asks to be added to every /perf_metrics time;
 * - GET /health_generate: a one-token chat generation through the engine;
 * - GET /version: {"version": ...}.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import type { Engine } from '../engine.js';
import type { IterationStats } from '../types.js';
import { invalidValue } from './errors.js';
import { runGeneration, type GenerationDeps } from './generate.js';

/** JSON.stringify that writes BigInt values as decimal strings. */
export function stringifyWithBigInt(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * One IterationStats as TensorRT-LLM's executor serializes it (cpp/tensorrt_llm/executor/jsonSerialization.cpp):
 * its serializer has no crossKvCacheStats, so the key is written only when an encoder-decoder engine reports one.
 */
function upstreamShape(s: IterationStats): IterationStats {
  if (s.crossKvCacheStats !== null && s.crossKvCacheStats !== undefined) return s;
  const { crossKvCacheStats: _absent, ...rest } = s;
  return rest as IterationStats;
}

/** The body of GET /metrics: the iteration stats delivered since the previous call, in the executor's JSON. */
export async function drainStats(engine: Pick<Engine, 'getLatestIterationStats'>): Promise<string> {
  return JSON.stringify((await engine.getLatestIterationStats()).map(upstreamShape));
}

export async function drainKvEvents(engine: Pick<Engine, 'getLatestKvCacheEvents'>): Promise<string> {
  return stringifyWithBigInt(await engine.getLatestKvCacheEvents());
}

/** Seconds on the steady clock (CLOCK_MONOTONIC, the clock of the executor's perf metrics and process.hrtime). */
export function steadyClockSeconds(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

/**
 * The body of POST /steady_clock_offset, `{"offset": seconds}` (FastAPI's embedded Body of trtllm-serve): the
 * offset, or an ApiError (400) naming what is wrong.
 */
export function parseSteadyClockOffset(body: unknown): number {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalidValue('offset', 'The body must be a JSON object {"offset": seconds}');
  const offset = (body as Record<string, unknown>).offset;
  if (typeof offset !== 'number' || !Number.isFinite(offset)) {
    throw invalidValue('offset', `offset must be a finite number of seconds, got ${JSON.stringify(offset) ?? 'nothing'}`);
  }
  return offset;
}

let cachedVersion: string | undefined;

/** This package's version (package.json), the answer of GET /version. */
export function packageVersion(): string {
  if (cachedVersion === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: unknown };
      cachedVersion = typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      cachedVersion = 'unknown';
    }
  }
  return cachedVersion;
}

/** What GET /health_generate answers: trtllm-serve's status codes and texts. */
export interface HealthGenerateResult {
  status: 200 | 500;
  body: string;
}

/**
 * GET /health_generate: a minimal chat completion ("hi", one token, temperature 0) through the tokenizer, the
 * chat template and the engine, as trtllm-serve does. 200 "Generation health check OK", else 500 with the reason.
 */
export async function healthGenerate(deps: GenerationDeps, signal: AbortSignal): Promise<HealthGenerateResult> {
  let status = 0;
  try {
    await runGeneration(deps, 'chat', { model: deps.modelName, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1, temperature: 0, stream: false }, {
      signal,
      // A non-streaming generation answers through sendJson only; it never touches the response object.
      res: undefined as unknown as ServerResponse,
      sendJson: (s) => {
        status = s;
      },
      onStreamError: () => undefined,
      addResponseBytes: () => undefined,
    });
  } catch (err) {
    return healthGenerateAnswer(false, (err as Error)?.message ?? String(err));
  }
  return healthGenerateAnswer(status === 200);
}

/** trtllm-serve's answer: 200 "Generation health check OK", else 500 "Generation health check failed[: reason]". */
export function healthGenerateAnswer(ok: boolean, reason?: string): HealthGenerateResult {
  if (ok) return { status: 200, body: 'Generation health check OK' };
  return { status: 500, body: `Generation health check failed${reason ? `: ${reason}` : ''}` };
}
