// Overload: bursts of ~1M events into a deliberately slow JS consumer. Memory stays bounded by the configured
// queue sizes, every drop is counted (trtllm_bridge_dropped_total{stream}), and for every stream
// produced == delivered + dropped exactly, with `delivered` checked against what JS actually received.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createRequire } from 'node:module';
import { Engine } from '../dist/engine.js';
import { MetricsCollector } from '../dist/metrics/collector.js';
import { RecordField, REQUEST_RECORD_STRIDE } from '../dist/records.js';
import { renderRegistries } from '../dist/metrics/exposition.js';
import { sample } from './helpers/metrics-fixtures.mjs';

const require = createRequire(import.meta.url);
const { loadTestingAddon } = require('../dist/testing.js');

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const MB = 2 ** 20;
const blocker = new Int32Array(new SharedArrayBuffer(4));
/** Blocks the JS thread (the consumer is slow; the producers keep going). */
const stall = (ms) => Atomics.wait(blocker, 0, 0, ms);
function settledRss() {
  gc();
  gc();
  return process.memoryUsage().rss;
}
// Under AddressSanitizer (scripts/asan-check.sh) freed memory sits in ASan's quarantine: RSS says nothing there.
const UNDER_ASAN = /libasan/.test(process.env.LD_PRELOAD ?? '');
const STREAMS = { responses: 'responses', requestRecords: 'request_records', iterationStats: 'iteration_stats', kvEvents: 'kv_events' };

test('firehose: 1M records into a 4096-slot ring with a slow consumer: drop-oldest, all accounted, memory flat', async () => {
  const addon = loadTestingAddon();
  const RECORDS = 1_000_000;
  const CAPACITY = 4096;
  // Warm up once so the measured run starts from steady state (code, buffers).
  await addon.firehose({ records: 10_000, ringCapacity: CAPACITY }, () => stall(1));
  const rss0 = settledRss();

  // The records go to a MetricsCollector through a MetricsSource whose counters are the firehose's.
  const listeners = new Set();
  const counts = { produced: 0, delivered: 0, dropped: 0, queued: 0, capacity: CAPACITY };
  const zero = { produced: 0, delivered: 0, dropped: 0, queued: 0, capacity: 0 };
  const source = {
    modelName: 'firehose',
    kvEventBufferCapacity: 0,
    inflight: 0,
    onRequestFinished: (fn) => (listeners.add(fn), () => listeners.delete(fn)),
    onIterationStats: () => () => undefined,
    onKvCacheEvents: () => () => undefined,
    counters: () => ({ responses: zero, requestRecords: { ...counts }, iterationStats: zero, kvEvents: zero, kvEventsDroppedByExecutor: 0 }),
  };
  const collector = new MetricsCollector({ model_name: 'firehose' });
  collector.attach(source);

  let received = 0;
  let batches = 0;
  let maxBatch = 0;
  let lastId = 0;
  let ordered = true;
  let peakRss = 0;
  const result = await addon.firehose({ records: RECORDS, ringCapacity: CAPACITY, pushBatch: 64 }, (data, count) => {
    batches++;
    received += count;
    maxBatch = Math.max(maxBatch, count);
    for (let i = 0; i < count; i++) {
      const id = data[i * REQUEST_RECORD_STRIDE + RecordField.REQUEST_ID];
      if (id <= lastId) ordered = false;
      lastId = id;
    }
    for (const fn of listeners) fn({ data, count, epochNs: 0n });
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    stall(2); // the slow consumer
  });
  Object.assign(counts, { produced: result.produced, delivered: result.delivered, dropped: result.dropped });
  const rss1 = settledRss();

  assert.equal(result.produced, RECORDS);
  assert.equal(result.produced, result.delivered + result.dropped, 'produced == delivered + dropped');
  assert.equal(received, result.delivered, 'delivered == what JS received');
  assert.ok(result.dropped > RECORDS / 2, `the slow consumer forced drops (${result.dropped})`);
  assert.ok(maxBatch <= CAPACITY, `a batch never exceeds the ring (${maxBatch})`);
  assert.ok(ordered, 'records arrive in order (the oldest are the ones dropped)');
  assert.equal(lastId, RECORDS, 'the newest record is always delivered');
  const growth = (Math.max(rss1, peakRss) - rss0) / MB;
  if (!UNDER_ASAN) assert.ok(growth < 32, `RSS growth ${growth.toFixed(1)} MiB is bounded by the ring, not by the 1M records`);

  const text = await renderRegistries([collector.registry]);
  const labels = { stream: 'request_records' };
  assert.equal(sample(text, 'trtllm_bridge_produced_total', labels), RECORDS);
  assert.equal(sample(text, 'trtllm_bridge_dropped_total', labels), result.dropped);
  assert.equal(sample(text, 'trtllm_bridge_delivered_total', labels), result.delivered);
  assert.equal(sample(text, 'trtllm_request_success_total', { finished_reason: 'stop' }), result.delivered, 'every delivered record was recorded');
  collector.close();
  console.log(`# firehose: produced ${result.produced}, delivered ${result.delivered}, dropped ${result.dropped}, ${batches} batches, RSS +${growth.toFixed(1)} MiB`);
});

test('engine: ~1M events through tiny bridge queues into a slow consumer: every stream accounted, drops in metrics', async () => {
  const REQUESTS = Number(process.env.TRTLLM_METRICS_OVERLOAD_REQUESTS ?? 20_000);
  const TOKENS = 16;
  const engine = await Engine.create({
    modelName: 'overload',
    sim: { virtualClock: true, outputLengthMode: 'maxTokens', tokensPerBlock: 1, numKvBlocks: 4096 },
    executorConfig: { maxBatchSize: 256, kvCacheConfig: { eventBufferMaxSize: 1 << 16 } },
    bridge: { responseQueueCapacity: 8, recordQueueCapacity: 16, statsQueueCapacity: 4, eventQueueCapacity: 16, statsIntervalMs: 1, eventPollMs: 1 },
    latestStatsCapacity: 8,
    latestEventsCapacity: 8,
  });
  const collector = new MetricsCollector({ model_name: 'overload' });
  collector.attach(engine);
  const got = { responses: 0, requestRecords: 0, iterationStats: 0, kvEvents: 0 };
  engine.onRequestFinished((b) => {
    got.requestRecords += b.count;
    stall(1); // the slow consumer: the JS thread is blocked while the pumps keep producing
  });
  engine.onIterationStats((s) => (got.iterationStats += s.length));
  engine.onKvCacheEvents((e) => (got.kvEvents += e.length));

  let next = 0;
  let completed = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      const i = next++;
      let chunks = 0;
      let last;
      for await (const c of engine.generate({ inputTokenIds: [1 + (i % 20000), 2, 3, 4, 5, 6, 7, 8], maxTokens: TOKENS, streaming: true })) {
        chunks++;
        last = c;
      }
      got.responses += chunks;
      assert.equal(last.finishReason, 'length');
      completed++;
    }
  };
  const run = (n) => Promise.all(Array.from({ length: n }, worker));

  next = REQUESTS - Math.min(2000, REQUESTS); // warm-up: the last 2000 ids
  await run(256);
  const rss0 = settledRss();
  next = 0;
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  await run(256);
  clearInterval(sampler);
  const rss1 = settledRss();
  await engine.shutdown();

  const c = engine.counters();
  let produced = 0;
  for (const [stream, label] of Object.entries(STREAMS)) {
    const s = c[stream];
    produced += s.produced;
    assert.equal(s.queued, 0, `${stream}: nothing left queued after shutdown`);
    assert.equal(s.produced, s.delivered + s.dropped, `${stream}: produced == delivered + dropped`);
    assert.equal(got[stream], s.delivered, `${stream}: delivered == what JS received`);
    const text = await renderRegistries([collector.registry]);
    assert.equal(sample(text, 'trtllm_bridge_produced_total', { stream: label }), s.produced, `${label} produced metric`);
    assert.equal(sample(text, 'trtllm_bridge_delivered_total', { stream: label }), s.delivered, `${label} delivered metric`);
    assert.equal(sample(text, 'trtllm_bridge_dropped_total', { stream: label }), s.dropped, `${label} dropped metric`);
  }
  assert.equal(completed, REQUESTS + Math.min(2000, REQUESTS));
  assert.equal(c.responses.dropped, 0, 'token chunks are never dropped (backpressure)');
  assert.equal(c.responses.produced, completed * TOKENS);
  for (const stream of ['requestRecords', 'iterationStats', 'kvEvents']) assert.ok(c[stream].dropped > 0, `${stream}: the slow consumer forced drops`);
  const growth = (Math.max(rss1, peakRss) - rss0) / MB;
  if (!UNDER_ASAN) assert.ok(growth < 96, `RSS growth ${growth.toFixed(1)} MiB stays bounded over ${produced} events`);
  collector.close();
  console.log(
    `# engine: ${produced} events (${Object.entries(STREAMS).map(([s]) => `${s} ${c[s].produced}=${c[s].delivered}+${c[s].dropped}`).join(', ')}), RSS +${growth.toFixed(1)} MiB`,
  );
});
