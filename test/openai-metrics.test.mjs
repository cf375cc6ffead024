// /metrics reflects exactly the requests made through the API: success counts by finished_reason, token
// counters equal to the sums of the responses' usage, runtime request/byte/error counters, health.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWorker, post, scrape, sample, eventually } from './helpers/worker-fixtures.mjs';

/** Reads an SSE body into its JSON events (without [DONE]). */
function sseEvents(text) {
  const events = text
    .split('\n\n')
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice(6));
  assert.equal(events.at(-1), '[DONE]');
  return events.slice(0, -1).map((e) => JSON.parse(e));
}

test('/metrics counts exactly the requests made', async () => {
  const w = await startWorker({ sim: { speedupRatio: 100, meanOutputTokens: 6 } });
  try {
    const tally = { requests: 0, requestBytes: 0, responseBytes: 0, prompt: 0, generation: 0, cached: 0, reasons: {}, errors: {} };
    const count = (finish, usage) => {
      tally.reasons[finish] = (tally.reasons[finish] ?? 0) + 1;
      tally.prompt += usage.prompt_tokens;
      tally.generation += usage.completion_tokens;
      tally.cached += usage.prompt_tokens_details.cached_tokens;
    };
    const send = async (path, body) => {
      const raw = typeof body === 'string' ? body : JSON.stringify(body);
      const res = await fetch(`${w.api}${path}`, { method: 'POST', body: raw });
      const text = await res.text();
      tally.requests++;
      tally.requestBytes += Buffer.byteLength(raw);
      tally.responseBytes += Buffer.byteLength(text);
      if (res.status !== 200) tally.errors[res.status] = (tally.errors[res.status] ?? 0) + 1;
      return { status: res.status, text };
    };

    const shared = 'a shared prefix that is longer than one KV block of thirty-two tokens, for reuse ';
    for (let i = 0; i < 6; i++) {
      const { status, text } = await send('/v1/completions', { model: w.model, prompt: shared + i, max_tokens: 10 + i, seed: i });
      assert.equal(status, 200);
      const r = JSON.parse(text);
      count(r.choices[0].finish_reason, r.usage);
    }
    for (let i = 0; i < 4; i++) {
      const { status, text } = await send('/v1/chat/completions', {
        model: w.model,
        messages: [{ role: 'user', content: `question ${i}` }],
        max_tokens: 12,
        stream: true,
        stream_options: { include_usage: true },
      });
      assert.equal(status, 200);
      const events = sseEvents(text);
      const finish = events.map((e) => e.choices[0]?.finish_reason).find(Boolean);
      count(finish, events.at(-1).usage);
    }
    // Errors: malformed JSON, a bad value, an unknown model, a token the engine rejects.
    await send('/v1/completions', '{"model":');
    await send('/v1/completions', { model: w.model, prompt: 'x', temperature: -1 });
    await send('/v1/chat/completions', { model: 'nope', messages: [{ role: 'user', content: 'x' }] });
    await send('/v1/completions', { model: w.model, prompt: [40000], max_tokens: 1 });
    assert.deepEqual(tally.errors, { 400: 3, 404: 1 });
    const successes = Object.values(tally.reasons).reduce((a, b) => a + b, 0);
    assert.equal(successes, 10);
    assert.ok(tally.cached > 0, 'the shared prefix was reused');

    // Records reach the collector asynchronously: wait for the last one.
    let text = await eventually(async () => {
      const t = await scrape(w.metrics);
      return sample(t, 'trtllm_request_success_total') === successes ? t : null;
    }, 5000, 'every finished request');
    for (const [reason, n] of Object.entries(tally.reasons)) {
      assert.equal(sample(text, 'trtllm_request_success_total', { finished_reason: reason, model_name: w.model, engine_type: 'trtllm' }), n, reason);
    }
    assert.equal(sample(text, 'trtllm_prompt_tokens_total'), tally.prompt);
    assert.equal(sample(text, 'trtllm_generation_tokens_total'), tally.generation);
    assert.equal(sample(text, 'trtllm_prompt_cached_tokens_total'), tally.cached);
    assert.equal(sample(text, 'trtllm_e2e_request_latency_seconds_count'), successes);
    assert.equal(sample(text, 'trtllm_time_to_first_token_seconds_count'), successes);
    assert.equal(sample(text, 'trtllm_request_error_total', { http_code: '400' }), 3);
    assert.equal(sample(text, 'trtllm_request_error_total', { http_code: '404' }), 1);

    const gen = { dynamo_endpoint: 'generate', model: w.model };
    assert.equal(sample(text, 'dynamo_component_requests_total', gen), tally.requests);
    assert.equal(sample(text, 'dynamo_component_request_duration_seconds_count', gen), tally.requests);
    assert.equal(sample(text, 'dynamo_component_inflight_requests', gen), 0);
    assert.equal(sample(text, 'dynamo_component_request_bytes_total', gen), tally.requestBytes);
    assert.equal(sample(text, 'dynamo_component_response_bytes_total', gen), tally.responseBytes);
    assert.equal(sample(text, 'dynamo_component_errors_total', { ...gen, error_type: 'deserialization' }), 1);
    assert.equal(sample(text, 'dynamo_component_errors_total', { ...gen, error_type: 'invalid_message' }), 3);
    assert.ok(sample(text, 'dynamo_component_uptime_seconds') > 0);

    // Side endpoints count under their own dynamo_endpoint label, not as generate requests.
    await fetch(`${w.api}/v1/models`).then((r) => r.text());
    text = await scrape(w.metrics);
    assert.equal(sample(text, 'dynamo_component_requests_total', gen), tally.requests);
    assert.equal(sample(text, 'dynamo_component_requests_total', { dynamo_endpoint: 'models' }), 1);

    const health = await fetch(`${w.metrics}/health`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, 'ready');
  } finally {
    await w.stop();
  }
  // After shutdown nothing listens any more.
  await assert.rejects(fetch(`${w.api}/v1/models`));
});

test('the basic profile serves the five seed metrics only, beside the runtime metrics', async () => {
  const w = await startWorker({ sim: { virtualClock: true }, metricsProfile: 'basic' });
  try {
    const r = await post(`${w.api}/v1/completions`, { model: w.model, prompt: 'basic', max_tokens: 3 });
    assert.equal(r.status, 200);
    const text = await eventually(async () => {
      const t = await scrape(w.metrics);
      return sample(t, 'trtllm_request_success_total') === 1 ? t : null;
    }, 5000, 'the request');
    const families = new Set([...text.matchAll(/^# TYPE (trtllm_\S+)/gm)].map((m) => m[1]));
    assert.deepEqual([...families].sort(), [
      'trtllm_e2e_request_latency_seconds',
      'trtllm_request_queue_time_seconds',
      'trtllm_request_success_total',
      'trtllm_time_per_output_token_seconds',
      'trtllm_time_to_first_token_seconds',
    ]);
    assert.equal(sample(text, 'dynamo_component_requests_total', { dynamo_endpoint: 'generate' }), 1);
  } finally {
    await w.stop();
  }
});
