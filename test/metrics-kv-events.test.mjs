// KV-cache event metrics (blocks stored / removed / updated, event-id gaps, drain batch sizes, buffer
// capacity) and the configuration info gauges.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MetricsCollector } from '../dist/metrics/collector.js';
import { EventIdTracker } from '../dist/metrics/kv-event-metrics.js';
import { bucketCounts, sample, samples } from './helpers/metrics-fixtures.mjs';

const L = { model_name: 'm', engine_type: 'trtllm' };
const collector = () => new MetricsCollector({ model_name: 'm' });

const block = (h) => ({ type: 'stored_block', block_hash: BigInt(h), tokens: [], lora_id: null, cache_level: 0, priority: 35 });
const created = (id, rank) => ({ event_id: id, data: { type: 'created', num_blocks_per_cache_level: [100, 0] }, window_size: 64, ...(rank === undefined ? {} : { attention_dp_rank: rank }) });
const stored = (id, n, rank) => ({ event_id: id, data: { type: 'stored', parent_hash: null, blocks: Array.from({ length: n }, (_, i) => block(i + 1)) }, window_size: 64, ...(rank === undefined ? {} : { attention_dp_rank: rank }) });
const removed = (id, n) => ({ event_id: id, data: { type: 'removed', block_hashes: Array.from({ length: n }, (_, i) => BigInt(i)) }, window_size: 64 });
const updated = (id) => ({ event_id: id, data: { type: 'updated', block_hash: 7n, cache_level: { type: 'event_diff', old_value: 0, new_value: 1 }, priority: null }, window_size: 64 });

describe('event id gaps', () => {
  test('the first event sets the baseline; consecutive ids report nothing; a jump reports the ids skipped', () => {
    const t = new EventIdTracker();
    assert.equal(t.see(10), 0, 'baseline, whatever its value');
    assert.equal(t.see(11), 0);
    assert.equal(t.see(15), 3, '12, 13, 14 missing');
    assert.equal(t.see(16), 0);
    assert.equal(t.see(3), 0, 'a restart (lower id) sets a new baseline');
    assert.equal(t.see(5), 1);
    assert.equal(t.see(5), 0, 'a repeated id is not a gap');
  });

  test('ids are tracked per attention-DP rank', () => {
    const t = new EventIdTracker();
    assert.equal(t.see(0, 0), 0);
    assert.equal(t.see(0, 1), 0);
    assert.equal(t.see(1, 0), 0);
    assert.equal(t.see(4, 1), 3);
  });

  test('kv_event_id_gap_events_total counts missing ids across batches', async () => {
    const c = collector();
    c.logKvCacheEvents([created(0), stored(1, 2), stored(2, 1)]);
    let text = await c.registry.metrics();
    assert.equal(sample(text, 'trtllm_kv_event_id_gap_events_total', L), undefined, 'no gap: no series yet');
    c.logKvCacheEvents([removed(5, 1)]); // 3, 4 lost between batches
    c.logKvCacheEvents([updated(6), stored(10, 1, 0)]); // 7, 8, 9 lost inside a batch
    text = await c.registry.metrics();
    assert.equal(sample(text, 'trtllm_kv_event_id_gap_events_total', L), 5);
  });
});

test('blocks stored / removed / updated and the drain batch histogram', async () => {
  const c = collector();
  c.logKvCacheEvents([created(0), stored(1, 3), stored(2, 2), removed(3, 4)]);
  c.logKvCacheEvents([updated(4)]);
  c.logKvCacheEvents([]); // an empty batch records nothing
  c.logKvCacheEvents([removed(5, 1), updated(6), updated(7)]);
  const text = await c.registry.metrics();
  assert.equal(sample(text, 'trtllm_kv_cache_blocks_stored_total', L), 5);
  assert.equal(sample(text, 'trtllm_kv_cache_blocks_removed_total', L), 5);
  assert.equal(sample(text, 'trtllm_kv_cache_blocks_updated_total', L), 3);
  assert.equal(sample(text, 'trtllm_kv_event_drain_batch_size_count', L), 3);
  assert.equal(sample(text, 'trtllm_kv_event_drain_batch_size_sum', L), 8);
  const b = bucketCounts(text, 'trtllm_kv_event_drain_batch_size', L);
  assert.equal(b['1'], 1);
  assert.equal(b['4'], 2);
  assert.throws(() => c.logKvCacheEvents('nope'), { code: 'ERR_TRTLLM_INVALID_ARGUMENT' });
  // malformed events inside a batch are skipped, not fatal
  c.logKvCacheEvents([null, { event_id: 8 }, { event_id: 9, data: { type: 'stored' } }]);
});

test('kv_event_buffer_capacity from setKvEventBufferCapacity', async () => {
  const c = collector();
  assert.equal(sample(await c.registry.metrics(), 'trtllm_kv_event_buffer_capacity', L), undefined);
  c.setKvEventBufferCapacity(1024);
  assert.equal(sample(await c.registry.metrics(), 'trtllm_kv_event_buffer_capacity', L), 1024);
  assert.throws(() => c.setKvEventBufferCapacity(-1), { code: 'ERR_TRTLLM_INVALID_ARGUMENT' });
});

describe('config info gauges', () => {
  test('each section becomes a *_config_info gauge = 1 with the base labels plus the config as labels', async () => {
    const c = collector();
    c.logConfigInfo({
      model: { model: 'llama', dtype: 'bfloat16', quantization: 'fp8' },
      parallel: { tp_size: 2, pp_size: 1 },
      speculative: { method: 'eagle', enabled: true },
      kvCache: { tokens_per_block: 32, enable_block_reuse: false, skipped: undefined },
    });
    const text = await c.registry.metrics();
    assert.match(text, /^trtllm_model_config_info\{model_name="m",engine_type="trtllm",model="llama",dtype="bfloat16",quantization="fp8"\} 1$/m);
    assert.match(text, /^trtllm_parallel_config_info\{model_name="m",engine_type="trtllm",tp_size="2",pp_size="1"\} 1$/m);
    assert.match(text, /^trtllm_speculative_config_info\{model_name="m",engine_type="trtllm",method="eagle",enabled="true"\} 1$/m);
    assert.match(text, /^trtllm_kv_cache_config_info\{model_name="m",engine_type="trtllm",tokens_per_block="32",enable_block_reuse="false"\} 1$/m);
    assert.match(text, /^# TYPE trtllm_model_config_info gauge$/m);
  });

  test('logging a section again replaces its series; absent or empty sections are left as they are', async () => {
    const c = collector();
    c.logConfigInfo({ model: { dtype: 'fp16' }, parallel: { tp_size: 1 } });
    c.logConfigInfo({ model: { dtype: 'bf16' }, speculative: {} });
    const text = await c.registry.metrics();
    assert.equal(samples(text, 'trtllm_model_config_info').length, 1);
    assert.equal(sample(text, 'trtllm_model_config_info', { dtype: 'bf16' }), 1);
    assert.equal(sample(text, 'trtllm_parallel_config_info', { tp_size: '1' }), 1);
    assert.equal(samples(text, 'trtllm_speculative_config_info').length, 0);
  });

  test('bad config labels are rejected before anything changes', async () => {
    const c = collector();
    const bad = [
      [{ model: { 'bad-name': 'x' } }, /not a valid label name/],
      [{ model: { model_name: 'x' } }, /collides/],
      [{ model: { nested: { a: 1 } } }, /must be a string, number or boolean/],
      [{ other: { a: 'b' } }, /unknown section other/],
      [{ model: 'fp16' }, /must be an object/],
    ];
    for (const [info, message] of bad) {
      assert.throws(() => c.logConfigInfo({ parallel: { tp_size: 4 }, ...info }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT', message });
    }
    assert.equal(samples(await c.registry.metrics(), 'trtllm_parallel_config_info').length, 0);
  });

  test('two models in one registry keep their own config series', async () => {
    const a = collector();
    const b = new MetricsCollector({ model_name: 'n' }, { registry: a.registry });
    a.logConfigInfo({ model: { dtype: 'fp16' } });
    b.logConfigInfo({ model: { dtype: 'fp16' } });
    a.logConfigInfo({ model: { dtype: 'fp8' } });
    const text = await a.registry.metrics();
    assert.equal(sample(text, 'trtllm_model_config_info', { model_name: 'm', dtype: 'fp8' }), 1);
    assert.equal(sample(text, 'trtllm_model_config_info', { model_name: 'n', dtype: 'fp16' }), 1);
    assert.equal(samples(text, 'trtllm_model_config_info').length, 2);
  });
});
