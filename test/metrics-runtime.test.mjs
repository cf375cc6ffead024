// Dynamo component runtime metrics (REFERENCE.md section 3): names, HELP, labels, buckets, the request handle,
// uptime at scrape.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { RuntimeMetrics } from '../dist/metrics/runtime-metrics.js';
import { MetricsCollector } from '../dist/metrics/collector.js';
import { renderRegistries } from '../dist/metrics/exposition.js';
import { sample, samples } from './helpers/metrics-fixtures.mjs';

const DEFAULT_LABELS = { dynamo_namespace: 'dynamo', dynamo_component: 'tensorrt_llm', dynamo_endpoint: 'generate', model: 'unknown' };

test('families, HELP, types, labels and buckets', async () => {
  const rt = new RuntimeMetrics();
  const text = await rt.registry.metrics();
  const help = Object.fromEntries(text.split('\n').filter((l) => l.startsWith('# HELP ')).map((l) => [l.split(' ')[2], l.split(' ').slice(3).join(' ')]));
  const types = Object.fromEntries(text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ').slice(2)));
  assert.deepEqual(types, {
    dynamo_component_requests_total: 'counter',
    dynamo_component_request_duration_seconds: 'histogram',
    dynamo_component_inflight_requests: 'gauge',
    dynamo_component_request_bytes_total: 'counter',
    dynamo_component_response_bytes_total: 'counter',
    dynamo_component_errors_total: 'counter',
    dynamo_component_uptime_seconds: 'gauge',
  });
  assert.equal(help.dynamo_component_requests_total, 'Requests handled by this endpoint.');
  assert.equal(help.dynamo_component_request_duration_seconds, 'Time from receiving a request to finishing its response, in seconds.');
  assert.equal(help.dynamo_component_inflight_requests, 'Requests being handled right now.');
  assert.equal(help.dynamo_component_request_bytes_total, 'Request body bytes received.');
  assert.equal(help.dynamo_component_response_bytes_total, 'Response body bytes sent.');
  assert.equal(help.dynamo_component_errors_total, 'Requests that ended in an error, by error type.');
  assert.equal(help.dynamo_component_uptime_seconds, 'Seconds since this worker started.');
  assert.deepEqual(rt.registry.getSingleMetric('dynamo_component_request_duration_seconds').bucketList, [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  assert.deepEqual(rt.registry.getSingleMetric('dynamo_component_errors_total').labelNames, [...Object.keys(DEFAULT_LABELS), 'error_type']);
  // the unlabelled-vector series exist at 0 before any request, with the default labels (as in Dynamo)
  assert.equal(sample(text, 'dynamo_component_inflight_requests', DEFAULT_LABELS), 0);
  assert.equal(sample(text, 'dynamo_component_requests_total', DEFAULT_LABELS), 0);
  assert.equal(sample(text, 'dynamo_component_request_bytes_total', DEFAULT_LABELS), 0);
  assert.equal(sample(text, 'dynamo_component_response_bytes_total', DEFAULT_LABELS), 0);
  assert.equal(sample(text, 'dynamo_component_request_duration_seconds_count', DEFAULT_LABELS), 0);
  assert.equal(sample(text, 'dynamo_component_request_duration_seconds_bucket', { ...DEFAULT_LABELS, le: '+Inf' }), 0);
  assert.equal(sample(text, 'dynamo_component_errors_total'), undefined, 'error series appear with their error_type');
});

test('startRequest / end: requests, in-flight, duration, bytes, errors', async () => {
  const rt = new RuntimeMetrics({ namespace: 'ns', component: 'worker', endpoint: 'gen', model: 'llama' });
  const L = { dynamo_namespace: 'ns', dynamo_component: 'worker', dynamo_endpoint: 'gen', model: 'llama' };
  const t0 = process.hrtime.bigint();
  const a = rt.startRequest();
  const t1 = process.hrtime.bigint();
  const b = rt.startRequest();
  let text = await rt.registry.metrics();
  assert.equal(sample(text, 'dynamo_component_requests_total', L), 2);
  assert.equal(sample(text, 'dynamo_component_inflight_requests', L), 2);
  const t2 = process.hrtime.bigint();
  const d = a.end({ requestBytes: 100, responseBytes: 2000 });
  const t3 = process.hrtime.bigint();
  // The duration lies between what we measured inside and around the request's start and end.
  assert.ok(d >= Number(t2 - t1) / 1e9 && d <= Number(t3 - t0) / 1e9, `duration ${d}`);
  assert.equal(a.end({ requestBytes: 1 }), d, 'a second end() is ignored');
  b.end({ requestBytes: 50, error: true });
  rt.startRequest().end({ error: 'response_stream' });
  rt.countError('deserialization');
  text = await rt.registry.metrics();
  assert.equal(sample(text, 'dynamo_component_requests_total', L), 3);
  assert.equal(sample(text, 'dynamo_component_inflight_requests', L), 0);
  assert.equal(sample(text, 'dynamo_component_request_duration_seconds_count', L), 3);
  assert.ok(sample(text, 'dynamo_component_request_duration_seconds_sum', L) >= d);
  assert.equal(sample(text, 'dynamo_component_request_bytes_total', L), 150);
  assert.equal(sample(text, 'dynamo_component_response_bytes_total', L), 2000);
  assert.equal(sample(text, 'dynamo_component_errors_total', { ...L, error_type: 'generate' }), 1);
  assert.equal(sample(text, 'dynamo_component_errors_total', { ...L, error_type: 'response_stream' }), 1);
  assert.equal(sample(text, 'dynamo_component_errors_total', { ...L, error_type: 'deserialization' }), 1);
});

test('bad arguments are rejected without ending the request', async () => {
  const rt = new RuntimeMetrics();
  const h = rt.startRequest();
  assert.throws(() => h.end({ requestBytes: -1 }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT' });
  assert.throws(() => h.end({ error: '' }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT' });
  assert.equal(sample(await rt.registry.metrics(), 'dynamo_component_inflight_requests'), 1);
  h.end();
  assert.equal(sample(await rt.registry.metrics(), 'dynamo_component_inflight_requests'), 0);
  assert.throws(() => new RuntimeMetrics({ model: '' }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT' });
  assert.throws(() => new RuntimeMetrics({ durationBuckets: [2, 1] }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT', message: /dynamo_component_request_duration_seconds/ });
});

test('uptime is set at scrape time, one series per registry, beside the trtllm_ families', async () => {
  const registry = new Registry();
  const c = new MetricsCollector({ model_name: 'a' }, { registry, profile: 'basic' });
  const r1 = new RuntimeMetrics({ registry, model: 'a' });
  const r2 = new RuntimeMetrics({ registry, model: 'b' });
  const u1 = sample(await registry.metrics(), 'dynamo_component_uptime_seconds');
  const text = await renderRegistries([registry]);
  const u2 = sample(text, 'dynamo_component_uptime_seconds');
  assert.ok(u2 > u1, `uptime is set at scrape time: it advanced from ${u1} to ${u2}`);
  assert.match(text, /^dynamo_component_uptime_seconds [0-9.e-]+$/m);
  assert.equal(samples(text, 'dynamo_component_inflight_requests').length, 2);
  assert.equal(samples(text, 'trtllm_request_success_total').length, 0);
  r1.close();
  r2.close();
  c.close();
  const left = (await registry.metrics()).split('\n').filter((l) => l.startsWith('# TYPE')).map((l) => l.split(' ')[2]);
  assert.deepEqual(left, ['dynamo_component_uptime_seconds']);
  assert.throws(() => r1.startRequest(), { code: 'ERR_TRTLLM_INVALID_ARGUMENT' });
});
