/**
 * The side endpoints trtllm-serve users know, on the API port (docs/worker.md):
 * - GET /stats: the iteration stats delivered since the previous call (drained), as the JSON list that
 *   trtllm-serve returns at its own /metrics (the executor's camelCase keys);
 * - GET or POST /kv_cache_events: the KV-cache events since the previous call (drained), in Python's
 *   snake_case event shape, every 64-bit value (hashes, token_extra_id, lora_id) as a decimal string;
 * - GET /perf_metrics: see perf-store.ts.
 */
import type { Engine } from '../engine.js';

/** JSON.stringify that writes BigInt values as decimal strings. */
export function stringifyWithBigInt(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

export async function drainStats(engine: Pick<Engine, 'getLatestIterationStats'>): Promise<string> {
  return JSON.stringify(await engine.getLatestIterationStats());
}

export async function drainKvEvents(engine: Pick<Engine, 'getLatestKvCacheEvents'>): Promise<string> {
  return stringifyWithBigInt(await engine.getLatestKvCacheEvents());
}
