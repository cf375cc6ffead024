// An engine attached to a collector: the exposition reflects exactly the requests made, and an idle engine
// shows no running requests or KV blocks in use even though it runs no more iterations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { eventually } from './helpers/worker-fixtures.mjs';

const require = createRequire(import.meta.url);
const { Engine, MetricsCollector } = require('../dist/index.js');

function sample(text, name, labels = '') {
  const re = new RegExp(`^${name}\\{[^}]*${labels}[^}]*\\} (\\S+)$`, 'm');
  const m = text.match(re);
  return m ? Number(m[1]) : undefined;
}

test('exposition matches the requests made; an idle engine reads as idle', async (t) => {
  const engine = await Engine.create({ modelName: 'idle-test', sim: { speedupRatio: 2, outputLengthMode: 'maxTokens' }, bridge: { statsIntervalMs: 5 } });
  t.after(() => engine.shutdown());
  const collector = new MetricsCollector({ model_name: 'idle-test' });
  collector.attach(engine);
  const prompt = Array.from({ length: 200 }, (_, i) => i + 7);
  // The first request fills the cache with the prompt's blocks; the seven after it reuse them whatever the
  // timing (requests admitted in one iteration cannot reuse each other's blocks).
  const first = await engine.complete({ inputTokenIds: prompt, maxTokens: 200 });
  const running = Promise.all(Array.from({ length: 7 }, (_, i) => engine.complete({ inputTokenIds: prompt, maxTokens: 201 + i }))).then((rs) => [first, ...rs]);
  const during = await eventually(async () => {
    const text = await collector.registry.metrics();
    return sample(text, 'trtllm_num_requests_running') > 0 && sample(text, 'trtllm_kv_cache_used_blocks') > 0 ? text : null;
  }, 10_000, 'requests running and KV blocks in use on /metrics');
  assert.ok(sample(during, 'trtllm_num_requests_running') > 0, 'requests run while in flight');
  assert.ok(sample(during, 'trtllm_kv_cache_used_blocks') > 0);
  const results = await running;
  await engine.flush();
  const after = await collector.registry.metrics();
  assert.equal(sample(after, 'trtllm_request_success_total', 'finished_reason="length"'), 8);
  assert.equal(sample(after, 'trtllm_generation_tokens_total'), results.reduce((a, r) => a + r.tokens.length, 0));
  assert.equal(sample(after, 'trtllm_prompt_tokens_total'), 8 * 200);
  assert.equal(sample(after, 'trtllm_e2e_request_latency_seconds_count'), 8);
  assert.equal(sample(after, 'trtllm_num_requests_running'), 0);
  assert.equal(sample(after, 'trtllm_num_requests_waiting'), 0);
  assert.equal(sample(after, 'trtllm_kv_cache_used_blocks'), 0);
  assert.equal(sample(after, 'trtllm_kv_cache_utilization'), 0);
  assert.equal(sample(after, 'trtllm_kv_cache_free_blocks'), sample(after, 'trtllm_kv_cache_max_blocks'));
  // Prefix reuse of the first request's prompt shows up as cached tokens and reused blocks.
  assert.ok(sample(after, 'trtllm_prompt_cached_tokens_total') > 0);
  assert.ok(sample(after, 'trtllm_kv_cache_reused_blocks_total') > 0);
});
