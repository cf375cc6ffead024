// collector.attach(source) with synthetic MetricsSource implementations: subscriptions, per-source state,
// bridge counters and buffer capacity sampled at scrape, detach, close, errors in pushed data.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { MetricsCollector } from '../dist/metrics/collector.js';
import { renderRegistries } from '../dist/metrics/exposition.js';
import { fakeSource, iterationStats, recordBatch, sample, streamCounters } from './helpers/metrics-fixtures.mjs';

const L = { model_name: 'm', engine_type: 'trtllm' };

describe('attach', () => {
  test('records, iteration stats and KV events pushed by the source are recorded', async () => {
    const c = new MetricsCollector({ model_name: 'm' });
    const src = fakeSource();
    c.attach(src);
    src.emitRecords(recordBatch([{ enqueue: 1e9, firstToken: 2e9, lastToken: 3e9, output: 3 }]));
    src.emitStats([iterationStats({ numActiveRequests: 11 })]);
    src.emitEvents([{ event_id: 0, data: { type: 'removed', block_hashes: [1n, 2n] }, window_size: 32 }]);
    const text = await c.registry.metrics();
    assert.equal(sample(text, 'trtllm_request_success_total', { ...L, finished_reason: 'stop' }), 1);
    assert.equal(sample(text, 'trtllm_num_requests_running', L), 11);
    assert.equal(sample(text, 'trtllm_kv_cache_blocks_removed_total', L), 2);
  });

  test('the basic profile subscribes to finished requests only', () => {
    const c = new MetricsCollector({ model_name: 'm' }, { profile: 'basic' });
    const src = fakeSource();
    c.attach(src);
    assert.equal(src.listenerCount(), 1);
    assert.equal(src.countersCalls, 0);
  });

  test('bridge counters and buffer capacity are sampled at scrape, once per scrape', async () => {
    const c = new MetricsCollector({ model_name: 'm' });
    const src = fakeSource({ capacity: 5000 });
    c.attach(src);
    src.counterValues.requestRecords = streamCounters(10, 7, 2, 1, 64);
    src.counterValues.kvEvents = streamCounters(100, 90, 10, 0, 1024);
    src.counterValues.kvEventsDroppedByExecutor = 4;
    const calls = src.countersCalls;
    let text = await c.registry.metrics();
    assert.equal(src.countersCalls - calls, 1, 'one counters() read for all bridge families');
    const s = (name, stream) => sample(text, `trtllm_bridge_${name}`, { ...L, stream });
    assert.equal(s('produced_total', 'request_records'), 10);
    assert.equal(s('delivered_total', 'request_records'), 7);
    assert.equal(s('dropped_total', 'request_records'), 2);
    assert.equal(s('queue_depth', 'request_records'), 1);
    assert.equal(s('dropped_total', 'kv_events'), 10);
    assert.equal(s('dropped_total', 'responses'), 0);
    assert.equal(s('dropped_total', 'iteration_stats'), 0);
    assert.equal(sample(text, 'trtllm_kv_event_executor_dropped_total', L), 4);
    assert.equal(sample(text, 'trtllm_kv_event_buffer_capacity', L), 5000);

    src.counterValues.kvEvents = streamCounters(200, 170, 30, 0, 1024);
    src.kvEventBufferCapacity = 8000;
    text = await renderRegistries([c.registry]);
    assert.equal(s('dropped_total', 'kv_events'), 30);
    assert.equal(sample(text, 'trtllm_kv_event_buffer_capacity', L), 8000);
  });

  test('detach stops the subscriptions and keeps the counts monotonic across engines', async () => {
    const c = new MetricsCollector({ model_name: 'm' });
    const a = fakeSource();
    const detach = c.attach(a);
    a.counterValues.kvEvents = streamCounters(50, 40, 10);
    a.emitRecords(recordBatch([{ reason: 1 }]));
    detach();
    detach(); // idempotent
    assert.equal(a.listenerCount(), 0);
    a.emitRecords(recordBatch([{ reason: 1 }]));
    a.counterValues.kvEvents = streamCounters(999, 0, 999);
    let text = await c.registry.metrics();
    assert.equal(sample(text, 'trtllm_request_success_total', { ...L, finished_reason: 'stop' }), 1);
    assert.equal(sample(text, 'trtllm_bridge_dropped_total', { ...L, stream: 'kv_events' }), 10, 'final counts of the detached engine');

    const b = fakeSource();
    c.attach(b);
    b.counterValues.kvEvents = streamCounters(5, 2, 3);
    text = await c.registry.metrics();
    assert.equal(sample(text, 'trtllm_bridge_dropped_total', { ...L, stream: 'kv_events' }), 13);
    assert.equal(sample(text, 'trtllm_bridge_produced_total', { ...L, stream: 'kv_events' }), 55);
  });

  test('each source keeps its own cumulative counters and event ids', async () => {
    const c = new MetricsCollector({ model_name: 'm' });
    const a = fakeSource();
    const b = fakeSource();
    c.attach(a);
    c.attach(b);
    const kv = (reused) => [iterationStats({ kvCacheStats: { ...iterationStats().kvCacheStats, reusedBlocks: reused } })];
    a.emitStats(kv(100));
    b.emitStats(kv(10));
    a.emitStats(kv(120));
    b.emitStats(kv(15));
    const ev = (id) => [{ event_id: id, data: { type: 'created', num_blocks_per_cache_level: [1] }, window_size: 1 }];
    a.emitEvents(ev(500));
    b.emitEvents(ev(0));
    a.emitEvents(ev(501));
    b.emitEvents(ev(1));
    const text = await c.registry.metrics();
    assert.equal(sample(text, 'trtllm_kv_cache_reused_blocks_total', L), 135, '100 + 20 from a, 10 + 5 from b');
    assert.equal(sample(text, 'trtllm_kv_event_id_gap_events_total', L), undefined, 'no false gaps');
  });

  test('a source whose counters() throws keeps its last counts', async () => {
    const c = new MetricsCollector({ model_name: 'm' });
    const src = fakeSource();
    c.attach(src);
    src.counterValues.responses = streamCounters(3, 3, 0);
    await c.registry.metrics();
    src.counters = () => {
      throw new Error('engine closed');
    };
    Object.defineProperty(src, 'kvEventBufferCapacity', {
      get() {
        throw new Error('engine closed');
      },
    });
    const text = await c.registry.metrics();
    assert.equal(sample(text, 'trtllm_bridge_produced_total', { ...L, stream: 'responses' }), 3);
  });

  test('bad pushed data does not throw into the source: counted and warned once', async () => {
    const c = new MetricsCollector({ model_name: 'm' });
    const src = fakeSource();
    c.attach(src);
    const warned = once(process, 'warning');
    src.emitRecords({ data: new Float64Array(10), count: 5, epochNs: 0n });
    src.emitStats([null]);
    assert.equal(c.listenerErrors, 2);
    const [w] = await warned;
    assert.equal(w.code, 'TRTLLM_METRICS_RECORD');
  });

  test('attach validation, double attach, and close()', () => {
    const c = new MetricsCollector({ model_name: 'm' });
    assert.throws(() => c.attach({}), { code: 'ERR_TRTLLM_INVALID_ARGUMENT' });
    const src = fakeSource();
    c.attach(src);
    assert.throws(() => c.attach(src), { code: 'ERR_TRTLLM_INVALID_ARGUMENT', message: /already attached/ });
    c.close();
    assert.equal(src.listenerCount(), 0);
    assert.equal(c.registry.getMetricsAsArray().length, 0);
    assert.throws(() => c.attach(fakeSource()), { code: 'ERR_TRTLLM_INVALID_ARGUMENT', message: /closed/ });
  });
});
