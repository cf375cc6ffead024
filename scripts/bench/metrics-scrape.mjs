#!/usr/bin/env node
// Scrape (render) cost of the /metrics exposition: our renderer (what MetricsServer serves) and prom-client's
// registry.metrics() on the same registry, for: the five seed families (basic profile), the full set
// (extended set, KV-event, bridge and runtime metrics), and 100 models' full collectors in one registry.
// Every series holds data. Prints microseconds per render. Build first: npx tsc -p tsconfig.json
//
//   node scripts/bench/metrics-scrape.mjs [--ms 300] [--rounds 3] [--models 100]
import { Registry } from 'prom-client';
import { MetricsCollector } from '../../dist/metrics/collector.js';
import { RuntimeMetrics } from '../../dist/metrics/runtime-metrics.js';
import { renderRegistries } from '../../dist/metrics/exposition.js';
import { RecordField as F, REQUEST_RECORD_STRIDE as STRIDE } from '../../dist/records.js';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const MS = Number(args.ms ?? 300);
const ROUNDS = Number(args.rounds ?? 3);
const MODELS = Number(args.models ?? 100);

function records(n, salt) {
  const d = new Float64Array(n * STRIDE);
  for (let i = 0; i < n; i++) {
    const o = i * STRIDE;
    const t = 1e9 + i * 1e7 + salt;
    d[o + F.ENQUEUE_TIME_NS] = t;
    d[o + F.ARRIVAL_TIME_NS] = t + 1e5;
    d[o + F.FIRST_SCHEDULED_TIME_NS] = t + ((i * 7919) % 500) * 1e6;
    d[o + F.FIRST_TOKEN_TIME_NS] = d[o + F.FIRST_SCHEDULED_TIME_NS] + 2e7 + ((i * 104729) % 300) * 1e6;
    d[o + F.LAST_TOKEN_TIME_NS] = d[o + F.FIRST_TOKEN_TIME_NS] + ((i * 31) % 200) * 5e7;
    d[o + F.PROMPT_TOKENS] = 100 + (i % 3000);
    d[o + F.OUTPUT_TOKENS] = 2 + (i % 500);
    d[o + F.CACHED_TOKENS] = 32 * (i % 40);
    d[o + F.NUM_SEQUENCES] = 1;
    d[o + F.FINISH_REASON] = [1, 1, 2, 3, 5, 4][i % 6];
    d[o + F.SPEC_DRAFT_TOKENS] = i % 5;
    d[o + F.SPEC_ACCEPTED_DRAFT_TOKENS] = i % 3;
    d[o + F.FLAGS] = 2;
  }
  return { data: d, count: n, epochNs: 0n };
}

const iterStats = {
  timestamp: '01-01-2025 00:00:00', iter: 10, iterLatencyMS: 12.5, newActiveRequestsQueueLatencyMS: 0.1,
  numNewActiveRequests: 1, numActiveRequests: 12, numQueuedRequests: 3, numCompletedRequests: 2, maxNumActiveRequests: 64,
  maxBatchSizeStatic: 64, maxBatchSizeTunerRecommended: 64, maxBatchSizeRuntime: 64, maxNumTokensStatic: 8192,
  maxNumTokensTunerRecommended: 8192, maxNumTokensRuntime: 8192, gpuMemUsage: 7e10, cpuMemUsage: 1e9, pinnedMemUsage: 2e8,
  kvCacheStats: { maxNumBlocks: 4096, freeNumBlocks: 1000, usedNumBlocks: 3096, tokensPerBlock: 32, allocTotalBlocks: 9000,
    allocNewBlocks: 8000, reusedBlocks: 1000, missedBlocks: 8000, cacheHitRate: 0.11 },
  inflightBatchingStats: { numScheduledRequests: 12, numContextRequests: 2, numGenRequests: 10, numPausedRequests: 0,
    numCtxTokens: 900, microBatchId: 0, avgNumDecodedTokensPerIter: 1.4 },
  specDecodingStats: { numDraftTokens: 40, numAcceptedTokens: 22, numRequestsWithDraftTokens: 10, acceptanceLength: 2.2,
    iterLatencyMS: 1.5, draftOverhead: 0.12 },
};

const events = [
  { event_id: 0, data: { type: 'created', num_blocks_per_cache_level: [4096, 0] }, window_size: 4096 },
  { event_id: 1, data: { type: 'stored', parent_hash: null, blocks: [{ type: 'stored_block', block_hash: 1n, tokens: [], lora_id: null, cache_level: 0, priority: 35 }] }, window_size: 4096 },
  { event_id: 3, data: { type: 'removed', block_hashes: [1n] }, window_size: 4096 },
  { event_id: 4, data: { type: 'updated', block_hash: 2n, cache_level: null, priority: { type: 'event_diff', old_value: 35, new_value: 50 } }, window_size: 4096 },
];

function source(model) {
  const s = (p) => ({ produced: p, delivered: p - 1, dropped: 1, queued: 0, capacity: 1024 });
  return {
    modelName: model,
    onRequestFinished: () => () => {},
    onIterationStats: () => () => {},
    onKvCacheEvents: () => () => {},
    counters: () => ({ responses: s(100), requestRecords: s(50), iterationStats: s(500), kvEvents: s(900), kvEventsDroppedByExecutor: 2 }),
    kvEventBufferCapacity: 10000,
    ready: true,
  };
}

function fullModel(registry, model, i) {
  const c = new MetricsCollector({ model_name: model }, { registry });
  c.logRequestRecords(records(500, i));
  c.logIterationStats(iterStats);
  c.logKvCacheEvents(events);
  c.logConfigInfo({ model: { dtype: 'bfloat16', quantization: 'fp8' }, parallel: { tp_size: 1, pp_size: 1 }, kvCache: { tokens_per_block: 32, enable_block_reuse: true } });
  c.logRequestError(400);
  c.attach(source(model));
  const rt = new RuntimeMetrics({ registry, model });
  for (let k = 0; k < 20; k++) rt.startRequest().end({ requestBytes: 1000, responseBytes: 5000, error: k === 3 });
  return c;
}

function setups() {
  const one = records(1, 7);
  const five = new Registry();
  const fiveCollector = new MetricsCollector({ model_name: 'model-0' }, { registry: five, profile: 'basic' });
  fiveCollector.logRequestRecords(records(500, 0));
  const full = new Registry();
  const fullCollector = fullModel(full, 'model-0', 0);
  const many = new Registry();
  const collectors = [];
  for (let i = 0; i < MODELS; i++) collectors.push(fullModel(many, `model-${i}`, i));
  // "changed": before each render every collector records one more request, so every request histogram has
  // changed since the previous render and no per-series text cache helps (the recordings are included in
  // the figure); "idle": nothing changed since the previous render.
  return [
    ['five families, idle', five, null],
    ['five families, changed', five, () => fiveCollector.logRequestRecords(one)],
    ['full set, idle', full, null],
    ['full set, changed', full, () => fullCollector.logRequestRecords(one)],
    [`${MODELS} models, idle`, many, null],
    [`${MODELS} models, changed`, many, () => {
      for (const c of collectors) c.logRequestRecords(one);
    }],
  ];
}

async function measure(fn) {
  await fn();
  let n = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(MS) * 1000000n;
  let elapsed = 0n;
  do {
    await fn();
    n++;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < budget);
  return Number(elapsed) / n / 1000;
}

console.log(`node ${process.version}; microseconds per render (best of ${ROUNDS} rounds of ~${MS} ms)`);
for (const [name, reg, touch] of setups()) {
  const text = await renderRegistries([reg]);
  const ours = [];
  const prom = [];
  const om = [];
  const before = touch ?? (() => {});
  for (let r = 0; r < ROUNDS; r++) {
    ours.push(await measure(() => (before(), renderRegistries([reg]))));
    om.push(await measure(() => (before(), renderRegistries([reg], 'openmetrics'))));
    prom.push(await measure(() => (before(), reg.metrics())));
  }
  const families = reg.getMetricsAsArray().length;
  const lines = text.split('\n').length - 1;
  console.log(
    `${name.padEnd(26)} ${String(families).padStart(3)} families ${String(lines).padStart(6)} lines  ` +
      `ours ${Math.min(...ours).toFixed(1).padStart(8)} us  openmetrics ${Math.min(...om).toFixed(1).padStart(8)} us  ` +
      `prom-client registry.metrics() ${Math.min(...prom).toFixed(1).padStart(9)} us`,
  );
}
console.log('targets: five families <= 25 us, full set <= 300 us (ours)');
