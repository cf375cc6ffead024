// Bad requests get 400 (404, 405, 413) with OpenAI's error JSON naming the problem, and a client that
// disconnects cancels its engine request (finished_reason="cancelled").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startWorker, post, scrape, sample, eventually, errorOf } from './helpers/worker-fixtures.mjs';

let w;
before(async () => {
  w = await startWorker({ sim: { speedupRatio: 50, outputLengthMode: 'maxTokens' } });
});
after(async () => {
  await w?.stop();
});

const completions = () => `${w.api}/v1/completions`;
const chat = () => `${w.api}/v1/chat/completions`;

test('malformed JSON and a body that is not an object are 400 invalid_json', async () => {
  for (const body of ['{"model": "test-model", "prompt": ', 'not json', '', '[1, 2]', '"text"']) {
    const e = errorOf(await post(completions(), body), assert, 400);
    assert.equal(e.type, 'invalid_request_error');
    assert.equal(e.code, 'invalid_json', `body ${JSON.stringify(body)}`);
  }
});

test('unknown fields are 400 naming the field', async () => {
  const e = errorOf(await post(completions(), { model: w.model, prompt: 'x', max_tokens: 1, foo: 1 }), assert, 400);
  assert.equal(e.param, 'foo');
  assert.match(e.message, /foo/);
  const e2 = errorOf(
    await post(chat(), { model: w.model, messages: [{ role: 'user', content: 'x', mood: 'happy' }] }),
    assert,
    400,
  );
  assert.equal(e2.param, 'messages[0].mood');
  // Through the openai client too.
  await assert.rejects(w.client.completions.create({ model: w.model, prompt: 'x', max_tokens: 1, best_of: 3 }), (err) => {
    assert.ok(err instanceof OpenAI.BadRequestError);
    assert.equal(err.status, 400);
    assert.equal(err.param, 'best_of');
    return true;
  });
});

test('bad values are 400 naming the parameter', async () => {
  const base = { model: w.model, prompt: 'hi', max_tokens: 4 };
  const cases = [
    [{ ...base, temperature: 5 }, 'temperature'],
    [{ ...base, temperature: 'hot' }, 'temperature'],
    [{ ...base, top_p: 1.5 }, 'top_p'],
    [{ ...base, max_tokens: 0 }, 'max_tokens'],
    [{ ...base, max_tokens: '10' }, 'max_tokens'],
    [{ ...base, max_tokens: 2.5 }, 'max_tokens'],
    [{ ...base, n: 2 }, 'n'],
    [{ ...base, seed: -1 }, 'seed'],
    [{ ...base, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    [{ ...base, stop: [''] }, 'stop[0]'],
    [{ ...base, stop: 7 }, 'stop'],
    [{ ...base, stream: 'yes' }, 'stream'],
    [{ ...base, stream_options: { include_usage: true } }, 'stream_options'],
    [{ ...base, logprobs: 5 }, 'logprobs'],
    [{ ...base, prompt: ['one', 7] }, 'prompt[1]'],
    [{ ...base, prompt: '' }, 'prompt'],
    [{ ...base, prompt: [1, -2] }, 'prompt[1]'],
    [{ ...base, prompt: { text: 'x' } }, 'prompt'],
    [{ ...base, prompt: undefined }, 'prompt'],
    [{ ...base, model: 7 }, 'model'],
    [{ ...base, model: undefined }, 'model'],
  ];
  for (const [body, param] of cases) {
    const e = errorOf(await post(completions(), body), assert, 400);
    assert.equal(e.param, param, `${JSON.stringify(body)} -> ${e.message}`);
    assert.equal(e.type, 'invalid_request_error');
  }
  const chatBase = { model: w.model, messages: [{ role: 'user', content: 'x' }] };
  const chatCases = [
    [{ ...chatBase, messages: [] }, 'messages'],
    [{ ...chatBase, messages: 'hello' }, 'messages'],
    [{ ...chatBase, messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
    [{ ...chatBase, messages: [{ role: 'user' }] }, 'messages[0].content'],
    [{ ...chatBase, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 'messages[0].content[0].type'],
    [{ ...chatBase, max_tokens: 5, max_completion_tokens: 6 }, 'max_completion_tokens'],
    [{ ...chatBase, tools: ['search'] }, 'tools[0]'],
    [{ ...chatBase, tool_choice: 'auto' }, 'tool_choice'],
    [{ ...chatBase, prompt: 'x' }, 'prompt'],
  ];
  for (const [body, param] of chatCases) {
    const e = errorOf(await post(chat(), body), assert, 400);
    assert.equal(e.param, param, `${JSON.stringify(body)} -> ${e.message}`);
  }
});

test('no-op values of unsupported OpenAI fields are accepted; any content type is read as JSON', async () => {
  const r = await post(completions(), { model: w.model, prompt: 'x', max_tokens: 2, frequency_penalty: 0, echo: false, logprobs: null, n: 1 });
  assert.equal(r.status, 200, r.text);
  const res = await fetch(completions(), {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, // what `curl -d` sends
    body: JSON.stringify({ model: w.model, prompt: 'x', max_tokens: 2 }),
  });
  assert.equal(res.status, 200);
});

test('a token id outside the vocabulary is rejected by the engine: 400', async () => {
  const e = errorOf(await post(completions(), { model: w.model, prompt: [5, 999999], max_tokens: 2 }), assert, 400);
  assert.match(e.message, /vocab|token/i);
});

test('a body over 1 MiB is 413', async () => {
  const big = JSON.stringify({ model: w.model, prompt: 'x'.repeat((1 << 20) + 10), max_tokens: 1 });
  const e = errorOf(await post(completions(), big), assert, 413);
  assert.equal(e.code, 'payload_too_large');
});

test('error responses count in trtllm_request_error_total{http_code} and dynamo_component_errors_total', async () => {
  const text = await scrape(w.metrics);
  assert.ok(sample(text, 'trtllm_request_error_total', { http_code: '400' }) >= 30);
  assert.equal(sample(text, 'trtllm_request_error_total', { http_code: '413' }), 1);
  assert.equal(sample(text, 'dynamo_component_errors_total', { error_type: 'deserialization' }), 5);
});

test('a client that disconnects mid-stream cancels its engine request', async () => {
  const before = sample(await scrape(w.metrics), 'trtllm_request_success_total', { finished_reason: 'cancelled' });
  const stream = await w.client.completions.create({ model: w.model, prompt: 'long', max_tokens: 4000, stream: true });
  let got = 0;
  for await (const chunk of stream) {
    got += chunk.choices[0].text.length;
    if (got > 0) break; // leaving the loop aborts the HTTP request
  }
  await eventually(async () => {
    const text = await scrape(w.metrics);
    return sample(text, 'trtllm_request_success_total', { finished_reason: 'cancelled' }) === before + 1;
  }, 5000, 'the cancelled request');
  assert.equal(w.worker.engine.inflight, 0);
  await eventually(() => w.worker.apiServer.inflight === 0, 2000, 'the HTTP request to end');
  const text = await scrape(w.metrics);
  assert.ok(sample(text, 'trtllm_generation_tokens_total') < 4000, 'stopped early');
  assert.equal(sample(text, 'dynamo_component_inflight_requests', { dynamo_endpoint: 'generate' }), 0);
  assert.ok(sample(text, 'dynamo_component_errors_total', { error_type: 'cancelled' }) >= 1);
});

test('a client that disconnects while waiting for a non-streamed answer cancels it too', async () => {
  const before = sample(await scrape(w.metrics), 'trtllm_request_success_total', { finished_reason: 'cancelled' });
  const ac = new AbortController();
  const p = fetch(`${w.api}/v1/chat/completions`, {
    method: 'POST',
    body: JSON.stringify({ model: w.model, messages: [{ role: 'user', content: 'wait' }], max_tokens: 4000 }),
    signal: ac.signal,
  });
  await eventually(() => w.worker.engine.inflight === 1, 2000, 'the request to start');
  ac.abort();
  await assert.rejects(p);
  await eventually(async () => {
    const text = await scrape(w.metrics);
    return sample(text, 'trtllm_request_success_total', { finished_reason: 'cancelled' }) === before + 1;
  }, 5000, 'the cancelled request');
  assert.equal(w.worker.engine.inflight, 0);
});
