// Bucket tables of every histogram: TensorRT-LLM's defaults, overridable through the API, `serve` flags,
// --config keys and the environment form Dynamo uses (DYN_METRICS_TTFT_{MIN,MAX,COUNT}); every bad table is
// an error naming the histogram (API) or the flag, key or variable (exit code 2). Also the pieces of exemplars
// that are not HTTP: the W3C traceparent parser and the TraceIds bound.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createRequire } from 'node:module';
import { MetricsCollector } from '../dist/metrics/collector.js';
import { bucketsFromDynamoEnv, DEFAULT_COLLECTOR_BUCKETS, DYNAMO_BUCKET_ENV, logBuckets } from '../dist/metrics/buckets.js';
import { TraceIds } from '../dist/metrics/exemplars.js';
import { traceIdOf } from '../dist/openai/traceparent.js';
import { recordBatch, samples } from './helpers/metrics-fixtures.mjs';

const require = createRequire(import.meta.url);
const { resolveServeOptions } = require('../dist/cli.js');
const { UsageError } = require('../dist/errors.js');

const bounds = async (c, name) => samples(await c.registry.metrics(), `trtllm_${name}_bucket`).map((s) => s.labels.le);

test("defaults are TensorRT-LLM's tables, the perplexity one included", () => {
  assert.deepEqual(DEFAULT_COLLECTOR_BUCKETS.generation_perplexity, [1, 2, 5, 10, 25, 50, 100, 500, 1000]);
  assert.deepEqual(DEFAULT_COLLECTOR_BUCKETS.time_to_first_token_seconds.slice(0, 3), [0.001, 0.005, 0.01]);
});

test("Dynamo's log-spaced tables: 0, then rounded to 2 significant figures up to max, duplicates removed", () => {
  // Dynamo's TTFT default (0.001, 480, 18).
  const ttft = logBuckets(0.001, 480, 18);
  assert.equal(ttft[0], 0);
  assert.equal(ttft.at(-1), 480);
  assert.equal(ttft.length, 18);
  for (let i = 1; i < ttft.length; i++) assert.ok(ttft[i] > ttft[i - 1]);
  assert.deepEqual(logBuckets(1, 100, 3), [0, 10, 100]);
  assert.deepEqual(logBuckets(1, 2, 1), [0]);
  // 2 significant figures cannot tell 200 buckets apart between 1 and 1.5.
  assert.ok(logBuckets(1, 1.5, 200).length < 200);
});

test('DYN_METRICS_*_{MIN,MAX,COUNT}: a missing one takes Dynamo\'s default; a bad one names the variable', () => {
  const ttft = DYNAMO_BUCKET_ENV.time_to_first_token_seconds;
  assert.equal(bucketsFromDynamoEnv(ttft, {}), undefined);
  assert.deepEqual(bucketsFromDynamoEnv(ttft, { DYN_METRICS_TTFT_COUNT: '3' }), logBuckets(0.001, 480, 3));
  assert.deepEqual(bucketsFromDynamoEnv(ttft, { DYN_METRICS_TTFT_MIN: '0.01', DYN_METRICS_TTFT_MAX: '10', DYN_METRICS_TTFT_COUNT: '4' }), [0, 0.1, 1, 10]);
  for (const [env, re] of [
    [{ DYN_METRICS_TTFT_MIN: 'x' }, /DYN_METRICS_TTFT_MIN must be a finite number, got "x"/],
    [{ DYN_METRICS_TTFT_MIN: '0' }, /DYN_METRICS_TTFT_MIN must be above 0/],
    [{ DYN_METRICS_TTFT_MAX: '0.0001' }, /DYN_METRICS_TTFT_MAX must be above DYN_METRICS_TTFT_MIN/],
    [{ DYN_METRICS_TTFT_COUNT: '2.5' }, /DYN_METRICS_TTFT_COUNT must be an integer from 1 to 512/],
    [{ DYN_METRICS_TTFT_COUNT: '513' }, /DYN_METRICS_TTFT_COUNT must be an integer/],
  ]) {
    assert.throws(() => bucketsFromDynamoEnv(ttft, env), re);
  }
});

test('serve: a flag, a --config key and the Dynamo variables set the buckets, in that order of precedence', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trtllm-buckets-'));
  try {
    const cfg = join(dir, 'c.json');
    writeFileSync(cfg, JSON.stringify({ 'buckets-time-to-first-token-seconds': [0.5, 1, 2], bucketsGenerationPerplexity: [1, 3, 9] }));
    const env = { DYN_METRICS_TTFT_COUNT: '3', DYN_METRICS_ITL_MIN: '0.01', DYN_METRICS_ITL_MAX: '1', DYN_METRICS_ITL_COUNT: '3', DYN_METRICS_REQUEST_DURATION_COUNT: '2' };
    const fromEnv = resolveServeOptions([], env);
    assert.deepEqual(fromEnv.buckets, {
      time_to_first_token_seconds: logBuckets(0.001, 480, 3),
      time_per_output_token_seconds: [0, 0.1, 1],
      // max 256 rounded to 2 significant figures, as Dynamo rounds it
      e2e_request_latency_seconds: [0, 260],
    });
    const fromConfig = resolveServeOptions(['--config', cfg], env);
    assert.deepEqual(fromConfig.buckets.time_to_first_token_seconds, [0.5, 1, 2]);
    assert.deepEqual(fromConfig.buckets.generation_perplexity, [1, 3, 9]);
    const fromFlag = resolveServeOptions(['--config', cfg, '--buckets-time-to-first-token-seconds', '0.25, 4', '--buckets-dynamo-component-request-duration-seconds', '1,10'], env);
    assert.deepEqual(fromFlag.buckets.time_to_first_token_seconds, [0.25, 4]);
    assert.deepEqual(fromFlag.requestDurationBuckets, [1, 10]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('serve: a bad table is one line naming the flag, key or variable', () => {
  const cases = [
    [['--buckets-e2e-request-latency-seconds', '1,1'], {}, /--buckets-e2e-request-latency-seconds: buckets must be strictly increasing: index 1 \(1\) is not greater than index 0 \(1\)/],
    [['--buckets-e2e-request-latency-seconds', '2,1'], {}, /strictly increasing/],
    [['--buckets-prefill-batch-tokens', 'a,b'], {}, /--buckets-prefill-batch-tokens must be a non-empty array of finite numbers, strictly increasing, got "a,b"/],
    [['--buckets-prefill-batch-tokens', ''], {}, /--buckets-prefill-batch-tokens must be/],
    [[], { DYN_METRICS_ITL_COUNT: '-1' }, /DYN_METRICS_ITL_COUNT must be an integer/],
  ];
  for (const [args, env, re] of cases) {
    assert.throws(() => resolveServeOptions(args, env), (err) => err instanceof UsageError && re.test(err.message), `${args} ${JSON.stringify(env)}`);
  }
});

test('the collector uses overrides (API), and rejects empty, unsorted, non-finite or unknown tables naming them', async () => {
  const c = new MetricsCollector({ model_name: 'm' }, { buckets: { generation_perplexity: [1.5, 3], time_to_first_token_seconds: [0, 0.1] } });
  c.logRequestMetrics({ finishReason: 'stop', arrivalTime: 1, firstTokenTime: 1.05, lastTokenTime: 2, outputTokens: 2, generationLogProbSum: -1, generationLogProbCount: 2 });
  assert.deepEqual(await bounds(c, 'generation_perplexity'), ['1.5', '3', '+Inf']);
  assert.deepEqual(await bounds(c, 'time_to_first_token_seconds'), ['0', '0.1', '+Inf']);
  for (const [buckets, re] of [
    [{ generation_perplexity: [] }, /buckets for generation_perplexity must not be empty/],
    [{ generation_perplexity: [2, 1] }, /generation_perplexity must be strictly increasing/],
    [{ generation_perplexity: [1, Infinity] }, /generation_perplexity must be finite numbers/],
    [{ perplexity: [1] }, /options.buckets.perplexity: unknown histogram/],
  ]) {
    assert.throws(() => new MetricsCollector({ model_name: 'm' }, { buckets }), re);
  }
});

test('generation perplexity from records: exp(-sum / count), only for requests that asked for log probabilities', async () => {
  const c = new MetricsCollector({ model_name: 'm' });
  const F = require('../dist/records.js').RecordField;
  const batch = recordBatch([{ output: 4 }, { output: 4 }]);
  batch.data[F.GEN_LOGPROB_SUM] = -2;
  batch.data[F.GEN_LOGPROB_COUNT] = 4;
  c.logRequestRecords(batch);
  const text = await c.registry.metrics();
  const count = samples(text, 'trtllm_generation_perplexity_count')[0].value;
  const sum = samples(text, 'trtllm_generation_perplexity_sum')[0].value;
  assert.equal(count, 1);
  assert.equal(sum, Math.exp(0.5));
});

test('W3C traceparent: the trace id of a valid header, nothing for an invalid one', () => {
  const id = '4bf92f3577b34da6a3ce929d0e0e4736';
  assert.equal(traceIdOf(`00-${id}-00f067aa0ba902b7-01`), id);
  assert.equal(traceIdOf(` 00-${id}-00f067aa0ba902b7-00 `), id);
  assert.equal(traceIdOf(`01-${id}-00f067aa0ba902b7-01-future-fields`), id, 'a later version may add fields');
  for (const bad of [
    undefined,
    [`00-${id}-00f067aa0ba902b7-01`, `00-${id}-00f067aa0ba902b7-01`],
    `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
    `00-${id}-${'0'.repeat(16)}-01`,
    `ff-${id}-00f067aa0ba902b7-01`,
    `00-${id.toUpperCase()}-00f067aa0ba902b7-01`,
    `00-${id}-00f067aa0ba902b7-01-extra`,
    `00-${id}-00f067aa0ba902b7`,
  ]) {
    assert.equal(traceIdOf(bad), undefined, String(bad));
  }
});

test('TraceIds: take() forgets; past its capacity the oldest entry goes (counted); bad ids are errors', () => {
  const t = new TraceIds(2);
  t.set(1, 'a');
  t.set(2, 'b');
  t.set(3, 'c');
  assert.equal(t.dropped, 1);
  assert.equal(t.take(1), undefined);
  assert.equal(t.take(2), 'b');
  assert.equal(t.take(2), undefined);
  assert.equal(t.size, 1);
  assert.throws(() => t.set(4, ''), /trace id must be a string of 1 to 120 characters/);
  assert.throws(() => t.set(4, 'x'.repeat(121)), /1 to 120/);
  assert.throws(() => new TraceIds(0), /capacity must be a positive integer/);
});
