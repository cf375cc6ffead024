// Collector options: bucket overrides and their validation, labels, prefix, profile, registry sharing between
// models, close().
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { MetricsCollector } from '../dist/metrics/collector.js';
import { validateBuckets } from '../dist/metrics/buckets.js';
import { recordBatch, sample } from './helpers/metrics-fixtures.mjs';

const INVALID = { code: 'ERR_TRTLLM_INVALID_ARGUMENT', name: 'InvalidArgumentError' };

describe('bucket overrides', () => {
  test('an override replaces the default table of that histogram', async () => {
    const c = new MetricsCollector({ model_name: 'm' }, { buckets: { time_to_first_token_seconds: [0.1, 1, 10], prefill_batch_tokens: [100, 1000] } });
    assert.deepEqual(c.registry.getSingleMetric('trtllm_time_to_first_token_seconds').bucketList, [0.1, 1, 10]);
    assert.deepEqual(c.registry.getSingleMetric('trtllm_prefill_batch_tokens').bucketList, [100, 1000]);
    c.logRequestRecords(recordBatch([{ enqueue: 1e9, firstToken: 1.5e9, lastToken: 20e9, output: 1 }]));
    const text = await c.registry.metrics();
    assert.match(text, /^trtllm_time_to_first_token_seconds_bucket\{le="0\.1",model_name="m",engine_type="trtllm"\} 0$/m);
    assert.match(text, /^trtllm_time_to_first_token_seconds_bucket\{le="1",model_name="m",engine_type="trtllm"\} 1$/m);
    assert.match(text, /^trtllm_time_to_first_token_seconds_bucket\{le="\+Inf",model_name="m",engine_type="trtllm"\} 1$/m);
    assert.equal(text.match(/^trtllm_time_to_first_token_seconds_bucket/gm).length, 4);
    // the others keep their defaults
    assert.equal(c.registry.getSingleMetric('trtllm_e2e_request_latency_seconds').bucketList.length, 21);
  });

  const bad = [
    [[], /time_to_first_token_seconds must not be empty/],
    [[1, 1], /time_to_first_token_seconds must be strictly increasing: index 1 \(1\) is not greater than index 0 \(1\)/],
    [[0.5, 0.1], /strictly increasing/],
    [[0.1, Infinity], /finite numbers.*index 1 is Infinity/],
    [[0.1, NaN], /finite numbers.*index 1 is NaN/],
    [[0.1, '1'], /finite numbers.*index 1 is "1"/],
    ['0.1,1', /must be an array of numbers, got "0\.1,1"/],
    [null, /must be an array of numbers, got null/],
  ];
  for (const [buckets, message] of bad) {
    test(`rejects ${JSON.stringify(buckets)} naming the histogram and the problem`, () => {
      assert.throws(() => new MetricsCollector({}, { buckets: { time_to_first_token_seconds: buckets } }), { ...INVALID, message });
    });
  }

  test('rejects an unknown histogram name and a non-object', () => {
    assert.throws(() => new MetricsCollector({}, { buckets: { time_to_first_token: [1] } }), { ...INVALID, message: /unknown histogram/ });
    assert.throws(() => new MetricsCollector({}, { buckets: [1, 2] }), INVALID);
  });

  test('validateBuckets returns a frozen copy', () => {
    const src = [1, 2, 3];
    const v = validateBuckets('x', src);
    assert.deepEqual(v, src);
    assert.notEqual(v, src);
    assert.ok(Object.isFrozen(v));
  });
});

describe('labels, prefix, profile', () => {
  test('bad labels are rejected', () => {
    assert.throws(() => new MetricsCollector({ 'bad-name': 'x' }), { ...INVALID, message: /not a valid label name/ });
    assert.throws(() => new MetricsCollector({ __reserved: 'x' }), INVALID);
    assert.throws(() => new MetricsCollector({ finished_reason: 'x' }), { ...INVALID, message: /reserved/ });
    assert.throws(() => new MetricsCollector({ le: 'x' }), INVALID);
    assert.throws(() => new MetricsCollector({ model_name: '' }), INVALID);
    assert.throws(() => new MetricsCollector({ model_name: { a: 1 } }), INVALID);
    assert.throws(() => new MetricsCollector('m'), INVALID);
  });

  test('bad prefix, profile, registry are rejected', () => {
    assert.throws(() => new MetricsCollector({}, { prefix: 'bad-prefix' }), INVALID);
    assert.throws(() => new MetricsCollector({}, { profile: 'extended' }), { ...INVALID, message: /'full' or 'basic'/ });
    assert.throws(() => new MetricsCollector({}, { registry: {} }), INVALID);
  });

  test('an empty prefix is allowed', () => {
    const c = new MetricsCollector({}, { prefix: '', profile: 'basic' });
    assert.ok(c.registry.getSingleMetric('request_success_total'));
  });
});

describe('several models in one registry', () => {
  test('collectors share the families; each model has its own series', async () => {
    const registry = new Registry();
    const a = new MetricsCollector({ model_name: 'a' }, { registry });
    const b = new MetricsCollector({ model_name: 'b' }, { registry });
    a.logRequestRecords(recordBatch([{ enqueue: 1e9, firstToken: 2e9, lastToken: 3e9, output: 2 }]));
    b.logRequestRecords(recordBatch([{ enqueue: 1e9, firstToken: 3e9, lastToken: 4e9, output: 2 }, { reason: 3 }]));
    const text = await registry.metrics();
    assert.equal(text.match(/^# TYPE trtllm_request_success_total /gm).length, 1, 'one family');
    assert.equal(sample(text, 'trtllm_request_success_total', { model_name: 'a', finished_reason: 'stop' }), 1);
    assert.equal(sample(text, 'trtllm_request_success_total', { model_name: 'b', finished_reason: 'stop' }), 1);
    assert.equal(sample(text, 'trtllm_request_success_total', { model_name: 'b', finished_reason: 'length' }), 1);
    assert.equal(sample(text, 'trtllm_time_to_first_token_seconds_sum', { model_name: 'a' }), 1);
    assert.equal(sample(text, 'trtllm_time_to_first_token_seconds_sum', { model_name: 'b' }), 2);
  });

  test('a second collector with the same labels in the same registry is rejected, and leaves nothing behind', async () => {
    const registry = new Registry();
    new MetricsCollector({ model_name: 'a' }, { registry });
    const before = registry.getMetricsAsArray().length;
    assert.throws(() => new MetricsCollector({ model_name: 'a' }, { registry }), { ...INVALID, message: /already recorded by another collector/ });
    assert.equal(registry.getMetricsAsArray().length, before);
    // a distinct model is still fine afterwards
    new MetricsCollector({ model_name: 'b' }, { registry });
  });

  test('incompatible definitions of a shared name are rejected', () => {
    const registry = new Registry();
    new MetricsCollector({ model_name: 'a' }, { registry });
    assert.throws(
      () => new MetricsCollector({ model_name: 'b' }, { registry, buckets: { time_to_first_token_seconds: [1, 2] } }),
      { ...INVALID, message: /trtllm_time_to_first_token_seconds is already registered in this registry with other buckets/ },
    );
    assert.throws(() => new MetricsCollector({ model_name: 'b', region: 'x' }, { registry }), { ...INVALID, message: /other label names/ });
    const r2 = new Registry();
    new Counter({ name: 'trtllm_request_success_total', help: 'mine', registers: [r2] });
    assert.throws(() => new MetricsCollector({}, { registry: r2 }), { ...INVALID, message: /by something else/ });
  });

  test('close() removes the collector series; the last one out unregisters the families', async () => {
    const registry = new Registry();
    const a = new MetricsCollector({ model_name: 'a' }, { registry, profile: 'basic' });
    const b = new MetricsCollector({ model_name: 'b' }, { registry, profile: 'basic' });
    a.logRequestRecords(recordBatch([{ reason: 1 }]));
    b.logRequestRecords(recordBatch([{ reason: 1 }]));
    a.close();
    a.logRequestRecords(recordBatch([{ reason: 1 }])); // ignored after close
    const text = await registry.metrics();
    assert.equal(sample(text, 'trtllm_request_success_total', { model_name: 'a' }), undefined);
    assert.equal(sample(text, 'trtllm_request_success_total', { model_name: 'b' }), 1);
    // a new collector for model a can now be created
    const a2 = new MetricsCollector({ model_name: 'a' }, { registry, profile: 'basic' });
    a2.close();
    b.close();
    assert.equal(registry.getMetricsAsArray().length, 0);
  });
});
