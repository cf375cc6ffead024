// `promtool check metrics` (Debian package prometheus) accepts a realistic exposition: two models' full
// collectors fed with synthetic records, iteration stats, KV events, config info, request errors and bridge
// counters, plus the Dynamo runtime metrics. Skipped (visibly) when promtool is not installed, failed under CI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { MetricsCollector } from '../dist/metrics/collector.js';
import { RuntimeMetrics } from '../dist/metrics/runtime-metrics.js';
import { renderRegistries } from '../dist/metrics/exposition.js';
import { fakeSource, iterationStats, recordBatch, streamCounters } from './helpers/metrics-fixtures.mjs';

import { PROMTOOL, skipWithout } from './helpers/tools.mjs';

function loadedRegistry() {
  const registry = new Registry();
  for (const [i, model] of ['llama-3.1-8b-instruct', 'qwen2.5 "7b"\\chat'].entries()) {
    const c = new MetricsCollector({ model_name: model }, { registry });
    const src = fakeSource({ modelName: model, capacity: 4096 });
    c.attach(src);
    const rows = [];
    for (let k = 0; k < 200; k++) {
      const enqueue = 1e9 + k * 5e7;
      const scheduled = enqueue + (k % 4) * 1e8;
      const firstToken = scheduled + 3e7 + (k % 9) * 2e7;
      rows.push({
        enqueue, arrival: enqueue + 2e5, scheduled, firstToken, lastToken: firstToken + (k % 50) * 4e7,
        prompt: 50 + k, output: 1 + (k % 50), cached: 32 * (k % 5), reason: [1, 1, 2, 3, 5, 4, 0][k % 7],
        specDraft: k % 3, specAccepted: k % 2, flags: k % 31 === 0 ? 3 : 2,
      });
    }
    src.emitRecords(recordBatch(rows));
    src.emitStats([iterationStats({ iter: 1 }), iterationStats({ iter: 2, numActiveRequests: 9 + i })]);
    src.emitEvents([
      { event_id: 0, data: { type: 'created', num_blocks_per_cache_level: [4096, 0] }, window_size: 4096 },
      { event_id: 1, data: { type: 'stored', parent_hash: null, blocks: [{ type: 'stored_block', block_hash: 5n, tokens: [], lora_id: null, cache_level: 0, priority: 35 }] }, window_size: 4096 },
      { event_id: 4, data: { type: 'removed', block_hashes: [5n] }, window_size: 4096 },
    ]);
    src.counterValues.kvEvents = streamCounters(120, 100, 20, 0, 1024);
    c.logConfigInfo({ model: { dtype: 'bfloat16', quantization: 'fp8' }, parallel: { tp_size: 1 }, speculative: { method: 'none' }, kvCache: { tokens_per_block: 32 } });
    c.logRequestError(400);
    c.logRequestError(503);
    const rt = new RuntimeMetrics({ registry, model });
    rt.startRequest().end({ requestBytes: 512, responseBytes: 4096 });
    rt.startRequest().end({ requestBytes: 64, error: true });
    rt.startRequest();
  }
  return registry;
}

test('promtool check metrics passes on a loaded exposition', { skip: skipWithout(PROMTOOL, 'apt-get install prometheus') }, async () => {
  const registry = loadedRegistry();
  for (const text of [await renderRegistries([registry]), await registry.metrics()]) {
    assert.ok(text.length > 10000);
    const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.error, undefined);
    assert.equal(r.status, 0, `promtool failed:\n${r.stdout}\n${r.stderr}`);
    assert.equal(r.stdout.trim(), '', `promtool reported:\n${r.stdout}`);
  }
});

test('promtool rejects a broken exposition (the check is real)', { skip: skipWithout(PROMTOOL, 'apt-get install prometheus') }, () => {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: '# TYPE x counter\nx{a="1" 1\n', encoding: 'utf8' });
  assert.notEqual(r.status, 0);
});
