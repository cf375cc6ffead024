// Golden tests of the five seed metrics (REFERENCE.md section 1): names, HELP, TYPE, labels, bucket bounds,
// family order, and the exact exposition text for hand-computed observations. The bucket tables and HELP
// texts are written out here, not imported, so that a change in lib/ breaks these tests.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricsCollector } from '../dist/metrics/collector.js';
import { renderRegistries } from '../dist/metrics/exposition.js';
import { familyNames, recordBatch } from './helpers/metrics-fixtures.mjs';

const E2E = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];
const TTFT = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const TPOT = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];

const LABELS = 'model_name="llama-3-8b",engine_type="trtllm"';

function histogramText(name, help, bounds, values) {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
  for (const b of bounds) lines.push(`${name}_bucket{le="${b}",${LABELS}} ${values.filter((v) => v <= b).length}`);
  lines.push(`${name}_bucket{le="+Inf",${LABELS}} ${values.length}`);
  lines.push(`${name}_sum{${LABELS}} ${values.reduce((a, v) => a + v, 0)}`);
  lines.push(`${name}_count{${LABELS}} ${values.length}`);
  return lines.join('\n');
}

// R1: arrival = enqueue (earlier than the executor's arrival): TTFT 0.75, E2E 3, queue 0.5, TPOT 2.25/9 = 0.25.
// R2: enqueue unset, arrival 2 s, scheduled at arrival (queue 0: not recorded by 1.1.0rc5), one output token
//     (no TPOT): TTFT 0.5, E2E 0.5.
// R3: stop words; first/last token never set: only queue = 6 - 4.5 = 1.5 (arrival = the earlier, 4.5 s).
const ROWS = [
  { enqueue: 1e9, arrival: 1.25e9, scheduled: 1.5e9, firstToken: 1.75e9, lastToken: 4e9, output: 10, prompt: 5, reason: 1 },
  { enqueue: 0, arrival: 2e9, scheduled: 2e9, firstToken: 2.5e9, lastToken: 2.5e9, output: 1, prompt: 5, reason: 3 },
  { enqueue: 5e9, arrival: 4.5e9, scheduled: 6e9, firstToken: 0, lastToken: 0, output: 0, prompt: 5, reason: 2 },
];

const EXPECTED =
  [
    '# HELP trtllm_request_success_total Count of successfully processed requests.',
    '# TYPE trtllm_request_success_total counter',
    `trtllm_request_success_total{${LABELS},finished_reason="stop"} 2`,
    `trtllm_request_success_total{${LABELS},finished_reason="length"} 1`,
  ].join('\n') +
  '\n\n' +
  histogramText('trtllm_e2e_request_latency_seconds', 'Histogram of end to end request latency in seconds.', E2E, [3, 0.5]) +
  '\n\n' +
  histogramText('trtllm_time_to_first_token_seconds', 'Histogram of time to first token in seconds.', TTFT, [0.75, 0.5]) +
  '\n\n' +
  histogramText('trtllm_time_per_output_token_seconds', 'Histogram of time per output token in seconds.', TPOT, [0.25]) +
  '\n\n' +
  histogramText('trtllm_request_queue_time_seconds', 'Histogram of time spent in WAITING phase for request.', E2E, [0.5, 1.5]) +
  '\n';

test('basic profile: the five seed families, golden exposition (registry.metrics() and our renderer)', async () => {
  const c = new MetricsCollector({ model_name: 'llama-3-8b' }, { profile: 'basic' });
  c.logRequestRecords(recordBatch(ROWS));
  const text = await c.registry.metrics();
  assert.equal(text, EXPECTED);
  assert.equal(await renderRegistries([c.registry]), EXPECTED);
  assert.deepEqual(familyNames(text), [
    'trtllm_request_success_total',
    'trtllm_e2e_request_latency_seconds',
    'trtllm_time_to_first_token_seconds',
    'trtllm_time_per_output_token_seconds',
    'trtllm_request_queue_time_seconds',
  ]);
});

test('basic profile registers exactly the five families, before any data too', async () => {
  const c = new MetricsCollector({}, { profile: 'basic' });
  assert.equal(c.registry.getMetricsAsArray().length, 5);
  const text = await c.registry.metrics();
  assert.deepEqual(familyNames(text).length, 5);
  // No series before the first observation (as prom-client), only HELP and TYPE.
  assert.equal(text.split('\n').filter((l) => l && !l.startsWith('#')).length, 0);
  // Iteration stats, KV events, config info and request errors record nothing in the basic profile.
  c.logIterationStats({ numActiveRequests: 3 });
  c.logKvCacheEvents([{ event_id: 1, data: { type: 'removed', block_hashes: [1n] }, window_size: 1 }]);
  c.logConfigInfo({ model: { dtype: 'fp16' } });
  c.logRequestError(500);
  assert.equal(await c.registry.metrics(), text);
});

test('default labels are model_name="unknown", engine_type="trtllm"; extra static labels follow them', async () => {
  const c = new MetricsCollector(undefined, { profile: 'basic' });
  assert.deepEqual(c.labels, { model_name: 'unknown', engine_type: 'trtllm' });
  c.logRequestRecords(recordBatch([{ enqueue: 1e9, firstToken: 2e9, lastToken: 3e9, output: 2, reason: 4 }]));
  const text = await c.registry.metrics();
  assert.match(text, /^trtllm_request_success_total\{model_name="unknown",engine_type="trtllm",finished_reason="timeout"\} 1$/m);

  const d = new MetricsCollector({ region: 'eu', model_name: 'm', engine_type: 'custom' }, { profile: 'basic' });
  assert.deepEqual(Object.keys(d.labels), ['model_name', 'engine_type', 'region']);
  d.logRequestRecords(recordBatch([{ enqueue: 1e9, firstToken: 2e9, lastToken: 3e9, output: 2, reason: 5 }]));
  const t2 = await d.registry.metrics();
  assert.match(t2, /^trtllm_request_success_total\{model_name="m",engine_type="custom",region="eu",finished_reason="cancelled"\} 1$/m);
  assert.match(t2, /^trtllm_time_to_first_token_seconds_bucket\{le="1",model_name="m",engine_type="custom",region="eu"\} 1$/m);
});

test('prefix option renames every family', async () => {
  const c = new MetricsCollector({ model_name: 'm' }, { profile: 'basic', prefix: 'trtllm:' });
  assert.deepEqual(
    c.registry.getMetricsAsArray().map((m) => m.name),
    [
      'trtllm:request_success_total',
      'trtllm:e2e_request_latency_seconds',
      'trtllm:time_to_first_token_seconds',
      'trtllm:time_per_output_token_seconds',
      'trtllm:request_queue_time_seconds',
    ],
  );
});

test('full profile: every REFERENCE.md section 2 family, with its type and labels', async () => {
  const c = new MetricsCollector({ model_name: 'm' });
  const types = Object.fromEntries(
    (await c.registry.metrics())
      .split('\n')
      .filter((l) => l.startsWith('# TYPE '))
      .map((l) => l.split(' ').slice(2)),
  );
  const expected = {
    counter: [
      'request_success_total', 'prompt_tokens_total', 'generation_tokens_total', 'prompt_cached_tokens_total',
      'spec_decode_drafted_tokens_total', 'spec_decode_accepted_tokens_total', 'request_error_total',
      'num_requests_completed_total', 'kv_cache_reused_blocks_total', 'kv_cache_missed_blocks_total',
      'spec_decode_num_draft_tokens_total', 'spec_decode_num_accepted_tokens_total', 'kv_event_id_gap_events_total',
    ],
    histogram: [
      'e2e_request_latency_seconds', 'time_to_first_token_seconds', 'time_per_output_token_seconds',
      'request_queue_time_seconds', 'request_prefill_time_seconds', 'request_decode_time_seconds',
      'request_inference_time_seconds', 'prompt_cached_tokens_per_request', 'prefill_batch_tokens',
      'kv_event_drain_batch_size',
    ],
    gauge: [
      'num_requests_running', 'num_requests_waiting', 'max_num_active_requests', 'iteration_latency_seconds',
      'gpu_memory_usage_bytes', 'cpu_memory_usage_bytes', 'pinned_memory_usage_bytes', 'max_batch_size_static',
      'max_batch_size_runtime', 'max_num_tokens_runtime', 'kv_cache_hit_rate', 'kv_cache_utilization',
      'kv_cache_max_blocks', 'kv_cache_free_blocks', 'kv_cache_used_blocks', 'kv_cache_tokens_per_block',
      'num_context_requests', 'num_generation_requests', 'num_paused_requests', 'num_scheduled_requests',
      'total_context_tokens', 'avg_decoded_tokens_per_iter', 'prefill_batch_occupancy',
      'spec_decode_acceptance_length', 'spec_decode_draft_overhead', 'model_config_info', 'parallel_config_info',
      'speculative_config_info', 'kv_cache_config_info', 'kv_event_buffer_capacity',
    ],
  };
  for (const [type, names] of Object.entries(expected)) {
    for (const n of names) assert.equal(types[`trtllm_${n}`], type, `trtllm_${n} should be a ${type}`);
  }
  const buckets = (name) => c.registry.getSingleMetric(name).bucketList;
  assert.deepEqual(buckets('trtllm_request_prefill_time_seconds'), [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 640, 2560]);
  assert.deepEqual(buckets('trtllm_request_decode_time_seconds'), E2E);
  assert.deepEqual(buckets('trtllm_request_inference_time_seconds'), E2E);
  assert.deepEqual(buckets('trtllm_prompt_cached_tokens_per_request'), [0, 64, 128, 256, 512, 1024, 2048, 4096, 8192]);
  assert.deepEqual(buckets('trtllm_prefill_batch_tokens'), [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768]);
  const labelNames = (name) => c.registry.getSingleMetric(name).labelNames;
  assert.deepEqual(labelNames('trtllm_request_success_total'), ['model_name', 'engine_type', 'finished_reason']);
  assert.deepEqual(labelNames('trtllm_request_error_total'), ['model_name', 'engine_type', 'http_code']);
  assert.deepEqual(labelNames('trtllm_spec_decode_drafted_tokens_total'), ['model_name', 'engine_type', 'token_position']);
  assert.deepEqual(labelNames('trtllm_kv_cache_utilization'), ['model_name', 'engine_type']);
});
