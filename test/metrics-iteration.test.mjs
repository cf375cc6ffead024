// Iteration stats -> metrics: every gauge's source field, counters from per-iteration counts and from positive
// deltas of cumulative fields (with counter resets), missing nested objects, arrays (latest wins).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricsCollector } from '../dist/metrics/collector.js';
import { cumulativeDelta } from '../dist/metrics/iteration-metrics.js';
import { bucketCounts, iterationStats, sample } from './helpers/metrics-fixtures.mjs';

const L = { model_name: 'm', engine_type: 'trtllm' };
const collector = () => new MetricsCollector({ model_name: 'm' });

async function values(c) {
  const text = await c.registry.metrics();
  return (name) => sample(text, `trtllm_${name}`, L);
}

test('every gauge maps its IterationStats field', async () => {
  const c = collector();
  const s = iterationStats();
  c.logIterationStats(s);
  const v = await values(c);
  const expected = {
    num_requests_running: s.numActiveRequests,
    num_requests_waiting: s.numQueuedRequests,
    max_num_active_requests: s.maxNumActiveRequests,
    iteration_latency_seconds: s.iterLatencyMS / 1000,
    gpu_memory_usage_bytes: s.gpuMemUsage,
    cpu_memory_usage_bytes: s.cpuMemUsage,
    pinned_memory_usage_bytes: s.pinnedMemUsage,
    max_batch_size_static: s.maxBatchSizeStatic,
    max_batch_size_runtime: s.maxBatchSizeRuntime,
    max_num_tokens_runtime: s.maxNumTokensRuntime,
    kv_cache_hit_rate: s.kvCacheStats.cacheHitRate,
    kv_cache_utilization: s.kvCacheStats.usedNumBlocks / s.kvCacheStats.maxNumBlocks,
    kv_cache_max_blocks: s.kvCacheStats.maxNumBlocks,
    kv_cache_free_blocks: s.kvCacheStats.freeNumBlocks,
    kv_cache_used_blocks: s.kvCacheStats.usedNumBlocks,
    kv_cache_tokens_per_block: s.kvCacheStats.tokensPerBlock,
    num_context_requests: s.inflightBatchingStats.numContextRequests,
    num_generation_requests: s.inflightBatchingStats.numGenRequests,
    num_paused_requests: s.inflightBatchingStats.numPausedRequests,
    num_scheduled_requests: s.inflightBatchingStats.numScheduledRequests,
    total_context_tokens: s.inflightBatchingStats.numCtxTokens,
    avg_decoded_tokens_per_iter: s.inflightBatchingStats.avgNumDecodedTokensPerIter,
    prefill_batch_occupancy: s.inflightBatchingStats.numContextRequests / s.maxNumActiveRequests,
    spec_decode_acceptance_length: s.specDecodingStats.acceptanceLength,
    spec_decode_draft_overhead: s.specDecodingStats.draftOverhead,
  };
  for (const [name, value] of Object.entries(expected)) assert.equal(v(name), value, name);
  // the distinct fixture values make a mix-up of fields visible
  assert.equal(new Set(Object.values(expected)).size, Object.keys(expected).length);
  // counters after one iteration
  assert.equal(v('num_requests_completed_total'), 4);
  assert.equal(v('kv_cache_reused_blocks_total'), 100);
  assert.equal(v('kv_cache_missed_blocks_total'), 800);
  assert.equal(v('spec_decode_num_draft_tokens_total'), 30);
  assert.equal(v('spec_decode_num_accepted_tokens_total'), 18);
  assert.equal(v('prefill_batch_tokens_count'), 1);
  assert.equal(v('prefill_batch_tokens_sum'), 700);
});

test('an array of stats: gauges from the latest, counters over all, histogram per iteration', async () => {
  const c = collector();
  c.logIterationStats([
    iterationStats({ numActiveRequests: 1, numCompletedRequests: 2 }),
    iterationStats({ numActiveRequests: 2, numCompletedRequests: 0 }),
    iterationStats({ numActiveRequests: 3, numCompletedRequests: 5, inflightBatchingStats: { ...iterationStats().inflightBatchingStats, numCtxTokens: 0 } }),
  ]);
  const v = await values(c);
  assert.equal(v('num_requests_running'), 3);
  assert.equal(v('num_requests_completed_total'), 7);
  assert.equal(v('prefill_batch_tokens_count'), 2, 'numCtxTokens 0 is not observed');
  assert.equal(v('total_context_tokens'), 0);
  const text = await c.registry.metrics();
  assert.equal(bucketCounts(text, 'trtllm_prefill_batch_tokens', L)['1024'], 2);
});

test('cumulative counters: positive deltas; a decrease is a reset (the new value is the delta from 0)', async () => {
  const c = collector();
  const kv = (reused, missed) => iterationStats({ kvCacheStats: { ...iterationStats().kvCacheStats, reusedBlocks: reused, missedBlocks: missed } });
  c.logIterationStats(kv(10, 100)); // first: from 0
  c.logIterationStats(kv(15, 100)); // +5, +0
  c.logIterationStats(kv(15, 130)); // +0, +30
  let v = await values(c);
  assert.equal(v('kv_cache_reused_blocks_total'), 15);
  assert.equal(v('kv_cache_missed_blocks_total'), 130);
  c.logIterationStats(kv(4, 7)); // new engine: counters restarted
  v = await values(c);
  assert.equal(v('kv_cache_reused_blocks_total'), 19);
  assert.equal(v('kv_cache_missed_blocks_total'), 137);
  c.logIterationStats(kv(6, 7));
  v = await values(c);
  assert.equal(v('kv_cache_reused_blocks_total'), 21);
  assert.equal(cumulativeDelta(10, 15), 5);
  assert.equal(cumulativeDelta(15, 4), 4);
  assert.equal(cumulativeDelta(0, 0), 0);
});

test('per-iteration counters add positive values only', async () => {
  const c = collector();
  c.logIterationStats(iterationStats({ numCompletedRequests: -3, specDecodingStats: { ...iterationStats().specDecodingStats, numDraftTokens: 0, numAcceptedTokens: -1 } }));
  const v = await values(c);
  assert.equal(v('num_requests_completed_total'), undefined);
  assert.equal(v('spec_decode_num_draft_tokens_total'), undefined);
  assert.equal(v('spec_decode_num_accepted_tokens_total'), undefined);
});

test('missing nested objects skip their metrics without throwing', async () => {
  for (const missing of [null, undefined]) {
    const c = collector();
    const s = iterationStats({ kvCacheStats: missing, inflightBatchingStats: missing, specDecodingStats: missing });
    if (missing === undefined) {
      delete s.kvCacheStats;
      delete s.inflightBatchingStats;
      delete s.specDecodingStats;
    }
    c.logIterationStats(s);
    const v = await values(c);
    assert.equal(v('num_requests_running'), 7);
    for (const name of [
      'kv_cache_hit_rate', 'kv_cache_utilization', 'kv_cache_max_blocks', 'kv_cache_reused_blocks_total',
      'num_context_requests', 'total_context_tokens', 'prefill_batch_occupancy', 'prefill_batch_tokens_count',
      'spec_decode_acceptance_length', 'spec_decode_num_draft_tokens_total',
    ]) {
      assert.equal(v(name), undefined, `${name} (${missing})`);
    }
  }
});

test('missing or non-numeric fields skip their gauge; zero maxima skip the ratios', async () => {
  const c = collector();
  const s = iterationStats({
    maxNumActiveRequests: 0,
    kvCacheStats: { ...iterationStats().kvCacheStats, maxNumBlocks: 0, cacheHitRate: NaN },
  });
  delete s.gpuMemUsage;
  s.cpuMemUsage = 'lots';
  c.logIterationStats(s);
  const v = await values(c);
  assert.equal(v('prefill_batch_occupancy'), undefined);
  assert.equal(v('kv_cache_utilization'), undefined);
  assert.equal(v('kv_cache_hit_rate'), undefined, 'NaN is not exposed');
  assert.equal(v('gpu_memory_usage_bytes'), undefined);
  assert.equal(v('cpu_memory_usage_bytes'), undefined);
  assert.equal(v('kv_cache_max_blocks'), 0);
  // a later complete iteration fills them in
  c.logIterationStats(iterationStats());
  const w = await values(c);
  assert.equal(w('prefill_batch_occupancy'), 8 / 64);
  assert.equal(w('kv_cache_utilization'), 0.25);
});

test('a static-batching iteration (inflightBatchingStats null) leaves the inflight gauges alone', async () => {
  const c = collector();
  c.logIterationStats(iterationStats());
  c.logIterationStats(iterationStats({ numActiveRequests: 9, inflightBatchingStats: null, staticBatchingStats: { numScheduledRequests: 1, numContextRequests: 1, numCtxTokens: 5, numGenTokens: 0, emptyGenSlots: 0 } }));
  const v = await values(c);
  assert.equal(v('num_requests_running'), 9);
  assert.equal(v('num_context_requests'), 8);
});

test('bad input: non-object stats are rejected', () => {
  const c = collector();
  assert.throws(() => c.logIterationStats(null), { code: 'ERR_TRTLLM_INVALID_ARGUMENT' });
  assert.throws(() => c.logIterationStats([iterationStats(), 5]), { code: 'ERR_TRTLLM_INVALID_ARGUMENT' });
});
