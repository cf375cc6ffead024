// Every per-request formula and skip rule of REFERENCE.md section 1 (and the per-request extended set),
// through the raw-record path and the object path.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MetricsCollector } from '../dist/metrics/collector.js';
import { bucketCounts, ERROR, HAS_PERF, recordBatch, sample } from './helpers/metrics-fixtures.mjs';

const L = { model_name: 'm', engine_type: 'trtllm' };

/** Sum and count of a histogram series of a collector. */
async function hist(c, suffix) {
  const text = await c.registry.metrics();
  return {
    sum: sample(text, `trtllm_${suffix}_sum`, L) ?? 0,
    count: sample(text, `trtllm_${suffix}_count`, L) ?? 0,
  };
}

async function observed(c, suffix) {
  const h = await hist(c, suffix);
  return h.count === 0 ? [] : [h.sum];
}

function collector(profile = 'full') {
  return new MetricsCollector({ model_name: 'm' }, { profile });
}

describe('arrival time', () => {
  test('arrival is the earlier of enqueue and executor arrival', async () => {
    const c = collector();
    // enqueue earlier
    c.logRequestRecords(recordBatch([{ enqueue: 1e9, arrival: 1.5e9, scheduled: 2e9, firstToken: 3e9, lastToken: 4e9, output: 1 }]));
    assert.deepEqual(await observed(c, 'time_to_first_token_seconds'), [2]);
    assert.deepEqual(await observed(c, 'e2e_request_latency_seconds'), [3]);
    assert.deepEqual(await observed(c, 'request_queue_time_seconds'), [1]);
    // executor arrival earlier (e.g. a clock skew of the stamps)
    const d = collector();
    d.logRequestRecords(recordBatch([{ enqueue: 2e9, arrival: 1e9, scheduled: 2e9, firstToken: 3e9, lastToken: 4e9, output: 1 }]));
    assert.deepEqual(await observed(d, 'time_to_first_token_seconds'), [2]);
    assert.deepEqual(await observed(d, 'request_queue_time_seconds'), [1]);
  });

  test('an unset (0) enqueue or arrival is ignored; both unset skips TTFT, E2E and queue', async () => {
    const a = collector();
    a.logRequestRecords(recordBatch([{ enqueue: 0, arrival: 1e9, scheduled: 1.5e9, firstToken: 2e9, lastToken: 3e9, output: 1 }]));
    assert.deepEqual(await observed(a, 'time_to_first_token_seconds'), [1]);
    const b = collector();
    b.logRequestRecords(recordBatch([{ enqueue: 1e9, arrival: 0, scheduled: 1.5e9, firstToken: 2e9, lastToken: 3e9, output: 1 }]));
    assert.deepEqual(await observed(b, 'e2e_request_latency_seconds'), [2]);
    const n = collector();
    n.logRequestRecords(recordBatch([{ enqueue: 0, arrival: 0, scheduled: 1.5e9, firstToken: 2e9, lastToken: 3e9, output: 5 }]));
    assert.deepEqual(await observed(n, 'time_to_first_token_seconds'), []);
    assert.deepEqual(await observed(n, 'e2e_request_latency_seconds'), []);
    assert.deepEqual(await observed(n, 'request_queue_time_seconds'), []);
    // the values that do not need the arrival are still recorded
    assert.deepEqual(await observed(n, 'time_per_output_token_seconds'), [0.25]);
    assert.deepEqual(await observed(n, 'request_prefill_time_seconds'), [0.5]);
    assert.deepEqual(await observed(n, 'request_decode_time_seconds'), [1]);
    assert.deepEqual(await observed(n, 'request_inference_time_seconds'), [1.5]);
    assert.equal(sample(await n.registry.metrics(), 'trtllm_request_success_total', { finished_reason: 'stop' }), 1);
  });
});

describe('each value and its unset timestamps', () => {
  const base = { enqueue: 1e9, arrival: 1e9, scheduled: 1.25e9, firstToken: 2e9, lastToken: 6e9, output: 5 };
  const cases = [
    ['firstToken', { firstToken: 0 }, { ttft: [], e2e: [5], queue: [0.25], tpot: [], prefill: [], decode: [], inference: [4.75] }],
    ['lastToken', { lastToken: 0 }, { ttft: [1], e2e: [], queue: [0.25], tpot: [], prefill: [0.75], decode: [], inference: [] }],
    ['scheduled', { scheduled: 0 }, { ttft: [1], e2e: [5], queue: [], tpot: [1], prefill: [], decode: [4], inference: [] }],
    ['none', {}, { ttft: [1], e2e: [5], queue: [0.25], tpot: [1], prefill: [0.75], decode: [4], inference: [4.75] }],
  ];
  const names = {
    ttft: 'time_to_first_token_seconds',
    e2e: 'e2e_request_latency_seconds',
    queue: 'request_queue_time_seconds',
    tpot: 'time_per_output_token_seconds',
    prefill: 'request_prefill_time_seconds',
    decode: 'request_decode_time_seconds',
    inference: 'request_inference_time_seconds',
  };
  for (const [unset, patch, expected] of cases) {
    test(`unset ${unset}`, async () => {
      const c = collector();
      c.logRequestRecords(recordBatch([{ ...base, ...patch }]));
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(await observed(c, names[k]), v, k);
    });
  }

  test('formulas: TTFT, E2E, queue, TPOT, prefill, decode, inference (seconds from ns, (t1 - t0) / 1e9)', async () => {
    const row = { enqueue: 1000, arrival: 1500, scheduled: 123456789, firstToken: 987654321, lastToken: 5555555555, output: 7 };
    const c = collector();
    c.logRequestRecords(recordBatch([row]));
    const arrival = 1000;
    const decode = (row.lastToken - row.firstToken) / 1e9;
    assert.deepEqual(await observed(c, names.ttft), [(row.firstToken - arrival) / 1e9]);
    assert.deepEqual(await observed(c, names.e2e), [(row.lastToken - arrival) / 1e9]);
    assert.deepEqual(await observed(c, names.queue), [(row.scheduled - arrival) / 1e9]);
    assert.deepEqual(await observed(c, names.tpot), [decode / (row.output - 1)]);
    assert.deepEqual(await observed(c, names.prefill), [(row.firstToken - row.scheduled) / 1e9]);
    assert.deepEqual(await observed(c, names.decode), [decode]);
    assert.deepEqual(await observed(c, names.inference), [(row.lastToken - row.scheduled) / 1e9]);
  });

  test('values <= 0 are skipped (timestamps out of order)', async () => {
    const c = collector();
    // first token before arrival, last before first, scheduled after first token
    c.logRequestRecords(recordBatch([{ enqueue: 5e9, arrival: 5e9, scheduled: 4.5e9, firstToken: 4e9, lastToken: 3e9, output: 9 }]));
    for (const n of Object.values(names)) assert.deepEqual(await observed(c, n), [], n);
    const d = collector();
    // equal timestamps: zero-length values (other than queue) are skipped
    d.logRequestRecords(recordBatch([{ enqueue: 1e9, arrival: 1e9, scheduled: 2e9, firstToken: 2e9, lastToken: 2e9, output: 9 }]));
    for (const n of [names.prefill, names.decode, names.inference, names.tpot]) assert.deepEqual(await observed(d, n), [], n);
  });
});

describe('TPOT', () => {
  test('only with more than one output token', async () => {
    const c = collector();
    c.logRequestRecords(recordBatch([
      { enqueue: 1e9, firstToken: 2e9, lastToken: 4e9, output: 1 },
      { enqueue: 1e9, firstToken: 2e9, lastToken: 4e9, output: 0 },
    ]));
    assert.deepEqual(await observed(c, 'time_per_output_token_seconds'), []);
    c.logRequestRecords(recordBatch([{ enqueue: 1e9, firstToken: 2e9, lastToken: 4e9, output: 2 }]));
    assert.deepEqual(await observed(c, 'time_per_output_token_seconds'), [2]);
  });

  test('only when one sequence was requested', async () => {
    const c = collector('basic');
    c.logRequestRecords(recordBatch([{ enqueue: 1e9, firstToken: 2e9, lastToken: 4e9, output: 5, sequences: 2 }]));
    assert.deepEqual(await observed(c, 'time_per_output_token_seconds'), []);
    assert.deepEqual(await observed(c, 'time_to_first_token_seconds'), [1]);
  });
});

describe('queue time of exactly 0', () => {
  const row = { enqueue: 1e9, arrival: 1e9, scheduled: 1e9, firstToken: 2e9, lastToken: 3e9, output: 2 };
  test('is kept in the full profile', async () => {
    const c = collector('full');
    c.logRequestRecords(recordBatch([row]));
    const text = await c.registry.metrics();
    assert.equal(sample(text, 'trtllm_request_queue_time_seconds_count', L), 1);
    assert.equal(sample(text, 'trtllm_request_queue_time_seconds_bucket', { ...L, le: '0.3' }), 1);
  });
  test('is not recorded in the basic profile (1.1.0rc5)', async () => {
    const c = collector('basic');
    c.logRequestRecords(recordBatch([row]));
    assert.deepEqual(await observed(c, 'request_queue_time_seconds'), []);
    // the other values of the same request are recorded
    assert.deepEqual(await observed(c, 'e2e_request_latency_seconds'), [2]);
  });
  test('the object path follows the same rule', async () => {
    const obj = { finishReason: 'stop', arrivalTime: 10, firstScheduledTime: 10, firstTokenTime: 11, lastTokenTime: 12, outputTokens: 2 };
    const f = collector('full');
    f.logRequestMetrics(obj);
    assert.equal((await hist(f, 'request_queue_time_seconds')).count, 1);
    const b = collector('basic');
    b.logRequestMetrics(obj);
    assert.equal((await hist(b, 'request_queue_time_seconds')).count, 0);
  });
});

describe('finish reasons, errors and perf flags', () => {
  test('finished_reason labels of every FinishReason code; out-of-range codes are `unknown`', async () => {
    const c = collector();
    c.logRequestRecords(recordBatch([0, 1, 2, 3, 4, 5, 9, 1.5].map((reason) => ({ reason, flags: 0 }))));
    const text = await c.registry.metrics();
    const count = (r) => sample(text, 'trtllm_request_success_total', { ...L, finished_reason: r });
    assert.equal(count('not_finished'), 1);
    assert.equal(count('stop'), 2);
    assert.equal(count('length'), 1);
    assert.equal(count('timeout'), 1);
    assert.equal(count('cancelled'), 1);
    assert.equal(count('unknown'), 2);
  });

  test('error rows (RECORD_FLAG_ERROR or FINISH_REASON 6) record nothing and are counted in errorRecords', async () => {
    const c = collector();
    const timing = { enqueue: 1e9, scheduled: 1.5e9, firstToken: 2e9, lastToken: 3e9, output: 4, prompt: 10, cached: 5 };
    c.logRequestRecords(recordBatch([
      { ...timing, flags: ERROR | HAS_PERF, reason: 6 },
      { ...timing, flags: HAS_PERF, reason: 6 },
      { ...timing, flags: ERROR | HAS_PERF, reason: 1 },
    ]));
    const text = await c.registry.metrics();
    assert.equal(c.errorRecords, 3);
    assert.equal(text.split('\n').filter((l) => l && !l.startsWith('#')).length, 0, 'no series at all');
  });

  test('without RECORD_FLAG_HAS_PERF, timings, cached tokens and spec tokens are skipped; success and tokens kept', async () => {
    const c = collector();
    c.logRequestRecords(recordBatch([
      { flags: 0, enqueue: 1e9, arrival: 1e9, scheduled: 1.5e9, firstToken: 2e9, lastToken: 3e9, output: 4, prompt: 10, cached: 8, specDraft: 3, specAccepted: 2 },
    ]));
    const text = await c.registry.metrics();
    assert.equal(sample(text, 'trtllm_request_success_total', { finished_reason: 'stop' }), 1);
    assert.equal(sample(text, 'trtllm_prompt_tokens_total', L), 10);
    assert.equal(sample(text, 'trtllm_generation_tokens_total', L), 4);
    for (const h of ['e2e_request_latency_seconds', 'time_to_first_token_seconds', 'request_queue_time_seconds', 'prompt_cached_tokens_per_request']) {
      assert.equal(sample(text, `trtllm_${h}_count`, L), undefined, h);
    }
    assert.equal(sample(text, 'trtllm_prompt_cached_tokens_total', L), undefined);
    assert.equal(sample(text, 'trtllm_spec_decode_drafted_tokens_total', L), undefined);
  });

  test('a batch count larger than its data is rejected; count bounds the rows read', async () => {
    const c = collector();
    const batch = recordBatch([{ reason: 1 }, { reason: 3 }], { pad: 1 });
    assert.throws(() => c.logRequestRecords({ ...batch, count: 4 }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT' });
    c.logRequestRecords({ ...batch, count: 1 });
    const text = await c.registry.metrics();
    assert.equal(sample(text, 'trtllm_request_success_total', { finished_reason: 'stop' }), 1);
    assert.equal(sample(text, 'trtllm_request_success_total', { finished_reason: 'length' }), undefined);
  });
});

describe('token counters and the cached-tokens histogram (full profile)', () => {
  test('prompt, generation and cached tokens; cached 0 is observed in the histogram but not added', async () => {
    const c = collector();
    c.logRequestRecords(recordBatch([
      { prompt: 100, output: 20, cached: 64 },
      { prompt: 50, output: 0, cached: 0 },
      { prompt: 0, output: 7, cached: 200 },
    ]));
    const text = await c.registry.metrics();
    assert.equal(sample(text, 'trtllm_prompt_tokens_total', L), 150);
    assert.equal(sample(text, 'trtllm_generation_tokens_total', L), 27);
    assert.equal(sample(text, 'trtllm_prompt_cached_tokens_total', L), 264);
    assert.equal(sample(text, 'trtllm_prompt_cached_tokens_per_request_count', L), 3);
    assert.equal(sample(text, 'trtllm_prompt_cached_tokens_per_request_sum', L), 264);
    const b = bucketCounts(text, 'trtllm_prompt_cached_tokens_per_request', L);
    assert.equal(b['0'], 1);
    assert.equal(b['64'], 1);
    assert.equal(b['256'], 1);
  });

  test('speculative decoding totals go to token_position="all"', async () => {
    const c = collector();
    c.logRequestRecords(recordBatch([{ specDraft: 10, specAccepted: 6 }, { specDraft: 4, specAccepted: 0 }, { specDraft: 0, specAccepted: 0 }]));
    const text = await c.registry.metrics();
    assert.equal(sample(text, 'trtllm_spec_decode_drafted_tokens_total', { ...L, token_position: 'all' }), 14);
    assert.equal(sample(text, 'trtllm_spec_decode_accepted_tokens_total', { ...L, token_position: 'all' }), 6);
  });

  test('the basic profile has none of them', async () => {
    const c = collector('basic');
    c.logRequestRecords(recordBatch([{ prompt: 100, output: 20, cached: 64, specDraft: 3 }]));
    const text = await c.registry.metrics();
    assert.doesNotMatch(text, /prompt_tokens_total|cached|spec_decode|prefill|decode_time|inference/);
  });
});

describe('object path (seconds)', () => {
  test('the same request as an object and as a record gives the same exposition', async () => {
    const a = collector();
    const b = collector();
    a.logRequestRecords(recordBatch([
      { enqueue: 2e9, arrival: 2.5e9, scheduled: 3e9, firstToken: 3.5e9, lastToken: 7.5e9, output: 9, prompt: 30, cached: 16, specDraft: 5, specAccepted: 3, reason: 3 },
    ]));
    b.logRequestMetrics({
      finishReason: 'length', enqueueTime: 2, arrivalTime: 2.5, firstScheduledTime: 3, firstTokenTime: 3.5, lastTokenTime: 7.5,
      outputTokens: 9, promptTokens: 30, cachedTokens: 16, specDraftTokens: 5, specAcceptedTokens: 3,
    });
    assert.equal(await b.registry.metrics(), await a.registry.metrics());
  });

  test('finish reasons: codes, labels, empty (not finished), error', async () => {
    const c = collector();
    c.logRequestMetrics({ finishReason: 3 });
    c.logRequestMetrics({ finishReason: 0 });
    c.logRequestMetrics({ finishReason: 'stop' });
    c.logRequestMetrics({ finishReason: 'custom_reason' });
    c.logRequestMetrics({ finishReason: '' });
    c.logRequestMetrics({ finishReason: undefined, arrivalTime: 1, lastTokenTime: 2 });
    c.logRequestMetrics({ finishReason: 'error', arrivalTime: 1, lastTokenTime: 2 });
    c.logRequestMetrics({ finishReason: 'stop', error: true, arrivalTime: 1, lastTokenTime: 2 });
    const text = await c.registry.metrics();
    const n = (r) => sample(text, 'trtllm_request_success_total', { finished_reason: r });
    assert.equal(n('length'), 1);
    assert.equal(n('not_finished'), 1);
    assert.equal(n('stop'), 1);
    assert.equal(n('custom_reason'), 1);
    assert.equal(sample(text, 'trtllm_e2e_request_latency_seconds_count', L), undefined);
    assert.equal(c.errorRecords, 2);
  });

  test('numSequences and absent cachedTokens', async () => {
    const c = collector();
    c.logRequestMetrics({ finishReason: 'stop', arrivalTime: 1, firstTokenTime: 2, lastTokenTime: 4, outputTokens: 3, numSequences: 4 });
    const text = await c.registry.metrics();
    assert.equal(sample(text, 'trtllm_time_per_output_token_seconds_count', L), undefined);
    assert.equal(sample(text, 'trtllm_prompt_cached_tokens_per_request_count', L), undefined);
    assert.throws(() => c.logRequestMetrics({ finishReason: 'stop', arrivalTime: '1' }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT' });
    assert.throws(() => c.logRequestMetrics(null), { code: 'ERR_TRTLLM_INVALID_ARGUMENT' });
  });
});

test('request errors: trtllm_request_error_total{http_code} from logRequestError only', async () => {
  const c = collector();
  c.logRequestError(500);
  c.logRequestError('500');
  c.logRequestError(429);
  c.logRequestRecords(recordBatch([{ flags: ERROR, reason: 6 }]));
  const text = await c.registry.metrics();
  assert.equal(sample(text, 'trtllm_request_error_total', { ...L, http_code: '500' }), 2);
  assert.equal(sample(text, 'trtllm_request_error_total', { ...L, http_code: '429' }), 1);
  for (const bad of [99.5, 'abc', -1, null, 1000]) {
    assert.throws(() => c.logRequestError(bad), { code: 'ERR_TRTLLM_INVALID_ARGUMENT' }, String(bad));
  }
});
