// The families of TensorRT-LLM's current collector that this package feeds from what the C++ executor reports
// (docs/metrics.md, "Parity with TensorRT-LLM"): per-iteration KV reuse from the cumulative KvCacheStats,
// the scheduled batch size per rank, and the host tier's utilization followed through KV events.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricsCollector } from '../dist/metrics/collector.js';
import { fakeSource, iterationStats, sample, samples } from './helpers/metrics-fixtures.mjs';
import { created, ev, moved, removed, reprioritized, stored, storedBlock } from './helpers/fleet-fixtures.mjs';

const L = { model_name: 'm', engine_type: 'trtllm' };
const kvStats = (reused, missed) => iterationStats({ kvCacheStats: { ...iterationStats().kvCacheStats, reusedBlocks: reused, missedBlocks: missed } });

test('per-iteration KV reuse: counters from the deltas of the cumulative counters, the rate of the latest iteration with lookups', async () => {
  const c = new MetricsCollector({ model_name: 'm' });
  c.logIterationStats([kvStats(10, 30), kvStats(10, 30), kvStats(25, 35)]);
  const text = await c.registry.metrics();
  assert.equal(sample(text, 'trtllm_kv_cache_iter_reused_blocks_total', L), 25);
  assert.equal(sample(text, 'trtllm_kv_cache_iter_missed_blocks_total', L), 35);
  // The second row looked nothing up (no delta): the gauge keeps the third row's 15 / (15 + 5).
  assert.equal(sample(text, 'trtllm_kv_cache_iter_reuse_rate', L), 0.75);
  // The same blocks as the cumulative-counter families (both count the executor's reused / missed blocks).
  assert.equal(sample(text, 'trtllm_kv_cache_reused_blocks_total', L), 25);
  // A restarted executor: its counters start again from 0.
  c.logIterationStats(kvStats(4, 0));
  const after = await c.registry.metrics();
  assert.equal(sample(after, 'trtllm_kv_cache_iter_reused_blocks_total', L), 29);
  assert.equal(sample(after, 'trtllm_kv_cache_iter_reuse_rate', L), 1);
});

test('scheduled batch size: one series per rank with the pid, 0 once the engine is idle', async () => {
  const c = new MetricsCollector({ model_name: 'm' });
  const src = fakeSource();
  src.inflight = 3;
  c.attach(src);
  const ifb = (n) => ({ ...iterationStats().inflightBatchingStats, numScheduledRequests: n });
  src.emitStats([
    iterationStats({ attentionDpRank: 0, inflightBatchingStats: ifb(5) }),
    iterationStats({ attentionDpRank: 1, inflightBatchingStats: ifb(2) }),
  ]);
  let text = await c.registry.metrics();
  const series = samples(text, 'trtllm_scheduled_batch_size', L);
  assert.deepEqual(
    series.map((s) => [s.labels.rank, s.labels.pid, s.value]),
    [
      ['0', String(process.pid), 5],
      ['1', String(process.pid), 2],
    ],
  );
  src.inflight = 0;
  text = await c.registry.metrics();
  assert.deepEqual(samples(text, 'trtllm_scheduled_batch_size', L).map((s) => s.value), [0, 0]);
});

test('scheduled batch size without attention DP is rank 0; static batching reads staticBatchingStats', async () => {
  const c = new MetricsCollector({ model_name: 'm' });
  c.logIterationStats(iterationStats({ inflightBatchingStats: null, staticBatchingStats: { numScheduledRequests: 9, numContextRequests: 1, numCtxTokens: 5, numGenTokens: 3, emptyGenSlots: 0 } }));
  const text = await c.registry.metrics();
  assert.equal(sample(text, 'trtllm_scheduled_batch_size', { ...L, rank: 0 }), 9);
  assert.throws(() => new MetricsCollector({ model_name: 'm', rank: '1' }), /rank is reserved/);
});

test('host tier utilization follows offloads, onboards and removals through the KV events', async () => {
  const c = new MetricsCollector({ model_name: 'm' });
  const src = fakeSource();
  c.attach(src);
  const host = async () => sample(await c.registry.metrics(), 'trtllm_kv_cache_host_utilization', L);
  src.emitEvents([created([100, 0])]);
  assert.equal(await host(), undefined, 'no host tier, no value (as TensorRT-LLM)');
  src.emitEvents([
    created([100, 8]),
    stored(null, [storedBlock(1n, [1, 2]), storedBlock(2n, [3, 4]), storedBlock(3n, [5, 6])]),
    moved(1n, 0, 1),
    moved(2n, 0, 1),
    moved(3n, 0, 1),
  ]);
  assert.equal(await host(), 3 / 8);
  src.emitEvents([moved(2n, 1, 0), removed([3n, 99n])]);
  assert.equal(await host(), 1 / 8);
  // A priority update does not move a block between tiers.
  src.emitEvents([reprioritized(1n)]);
  assert.equal(await host(), 1 / 8);
  // The executor restarted: a new created event starts the rank afresh.
  src.emitEvents([created([100, 4])]);
  assert.equal(await host(), 0);
});

test('host tier: ranks add up (attention DP), and a second source counts its own pool', async () => {
  const c = new MetricsCollector({ model_name: 'm' });
  const a = fakeSource();
  const b = fakeSource();
  c.attach(a);
  const detachB = c.attach(b);
  a.emitEvents([ev({ type: 'created', num_blocks_per_cache_level: [10, 4] }, { attention_dp_rank: 0 }), ev({ type: 'created', num_blocks_per_cache_level: [10, 4] }, { attention_dp_rank: 1 })]);
  a.emitEvents([ev({ type: 'updated', block_hash: 7n, cache_level: { type: 'event_diff', old_value: 0, new_value: 1 }, priority: null }, { attention_dp_rank: 1 })]);
  b.emitEvents([created([10, 2]), moved(5n, 0, 1), moved(6n, 0, 1)]);
  let text = await c.registry.metrics();
  assert.equal(sample(text, 'trtllm_kv_cache_host_utilization', L), 3 / 10);
  detachB();
  a.emitEvents([ev({ type: 'updated', block_hash: 8n, cache_level: { type: 'event_diff', old_value: 0, new_value: 1 }, priority: null }, { attention_dp_rank: 0 })]);
  text = await c.registry.metrics();
  assert.equal(sample(text, 'trtllm_kv_cache_host_utilization', L), 2 / 8);
});
