#!/usr/bin/env node
// A quick end-to-end check of whichever addon build is in build/: one engine, a few requests, stats and
// KV events, clean shutdown. Used by .ci/run against the node-gyp build.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Engine } = require('../dist/index.js');

const engine = await Engine.create({
  modelName: 'smoke',
  executorConfig: { kvCacheConfig: { eventBufferMaxSize: 1024 } },
  sim: { virtualClock: true, outputLengthMode: 'maxTokens' },
  bridge: { statsIntervalMs: 5 },
});
const prompt = Array.from({ length: 100 }, (_, i) => i + 1);
const results = await Promise.all([0, 1, 2].map((seed) => engine.complete({ inputTokenIds: prompt, maxTokens: 8, samplingConfig: { seed } })));
for (const r of results) {
  assert.equal(r.tokens.length, 8);
  assert.equal(r.finishReason, 'length');
}
await new Promise((r) => setTimeout(r, 50));
const stats = await engine.getLatestIterationStats();
const events = await engine.getLatestKvCacheEvents();
assert.ok(stats.length > 0, 'iteration stats arrived');
assert.equal(events[0]?.data.type, 'created');
await engine.shutdown();
const c = engine.counters();
for (const s of ['responses', 'requestRecords', 'iterationStats', 'kvEvents']) {
  assert.equal(c[s].produced, c[s].delivered + c[s].dropped + c[s].queued, s);
}
console.log(`smoke ok: ${results.length} requests, ${stats.length} iteration stats, ${events.length} KV events`);
