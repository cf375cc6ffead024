#!/usr/bin/env node
// KV-cache events into JS: the simulator on a virtual clock with small blocks and a small cache (so every
// request stores and evicts blocks), events delivered to a listener as objects with BigInt hashes.
// Prints events/s and blocks/s as JS receives them, and the bridge's drop accounting.
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { Engine } = require('../../dist/index.js');

const requests = Number(process.env.KV_BENCH_REQUESTS ?? 20_000);
const engine = await Engine.create({
  modelName: 'kv-bench',
  executorConfig: { maxBatchSize: 256, kvCacheConfig: { eventBufferMaxSize: 1 << 20 } },
  sim: { virtualClock: true, tokensPerBlock: 4, numKvBlocks: 4096, outputLengthMode: 'maxTokens' },
  bridge: { eventQueueCapacity: 1 << 20 },
});
let events = 0;
let blocks = 0;
engine.onKvCacheEvents((batch) => {
  events += batch.length;
  for (const e of batch) {
    if (e.data.type === 'stored') blocks += e.data.blocks.length;
    else if (e.data.type === 'removed') blocks += e.data.block_hashes.length;
  }
});
const t0 = process.hrtime.bigint();
const inflight = new Set();
for (let i = 0; i < requests; i++) {
  const prompt = Array.from({ length: 64 }, (_, k) => ((i * 7919 + k * 31) % 30000) + 1);
  const p = engine.complete({ inputTokenIds: prompt, maxTokens: 8 }).then(() => inflight.delete(p));
  inflight.add(p);
  if (inflight.size >= 256) await Promise.race(inflight);
}
await Promise.all(inflight);
await engine.shutdown();
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const c = engine.counters().kvEvents;
console.log(`kv events into JS: ${Math.round(events / seconds).toLocaleString('en-US')} events/s, ${Math.round(blocks / seconds).toLocaleString('en-US')} blocks/s (${events} events, ${blocks} blocks, ${requests} requests in ${seconds.toFixed(2)} s; bridge produced ${c.produced}, delivered ${c.delivered}, dropped ${c.dropped})`);
