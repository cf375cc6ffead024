// The OpenAI-compatible API driven by the `openai` npm client: completions and chat completions, streamed and
// not, token-id prompts, cached tokens, stop strings, the model list, and the trtllm-serve side endpoints.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startWorker, getJson, post, eventually, errorOf } from './helpers/worker-fixtures.mjs';

let w;
before(async () => {
  w = await startWorker();
});
after(async () => {
  await w?.stop();
});

function checkUsage(u) {
  assert.equal(typeof u.prompt_tokens, 'number');
  assert.equal(typeof u.completion_tokens, 'number');
  assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
  assert.equal(typeof u.prompt_tokens_details.cached_tokens, 'number');
}

test('completion, non-streaming: text, finish_reason and usage', async () => {
  const r = await w.client.completions.create({ model: w.model, prompt: 'Hello, world', max_tokens: 8, seed: 1 });
  assert.match(r.id, /^cmpl-/);
  assert.equal(r.object, 'text_completion');
  assert.equal(r.model, w.model);
  assert.equal(r.choices.length, 1);
  const c = r.choices[0];
  assert.equal(typeof c.text, 'string');
  assert.ok(['stop', 'length'].includes(c.finish_reason));
  checkUsage(r.usage);
  assert.equal(r.usage.prompt_tokens, 12, 'the byte tokenizer: one token per UTF-8 byte');
  assert.ok(r.usage.completion_tokens >= 1 && r.usage.completion_tokens <= 8);
  if (c.finish_reason === 'length') assert.equal(r.usage.completion_tokens, 8);
});

test('completion, streaming: the chunks add up to the non-streamed text for a seed, usage last', async () => {
  const req = { model: w.model, prompt: 'Streaming é ü 日本', max_tokens: 24, seed: 7 };
  const whole = await w.client.completions.create(req);
  const stream = await w.client.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let finish = null;
  let usage = null;
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    assert.equal(chunk.object, 'text_completion');
    if (chunk.usage) {
      usage = chunk.usage;
      assert.equal(chunk.choices.length, 0, 'the usage chunk has no choices');
      continue;
    }
    assert.equal(chunk.usage, null, 'include_usage: usage is null on content chunks');
    text += chunk.choices[0].text;
    if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
  }
  assert.ok(chunks >= 3);
  assert.equal(text, whole.choices[0].text);
  assert.equal(finish, whole.choices[0].finish_reason);
  assert.deepEqual(usage, whole.usage);
  assert.equal(whole.usage.prompt_tokens, Buffer.byteLength(req.prompt));
});

test('chat completion, non-streaming and streaming agree', async () => {
  const req = {
    model: w.model,
    messages: [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: [{ type: 'text', text: 'Where is ' }, { type: 'text', text: 'New York?' }] },
    ],
    max_completion_tokens: 16,
    seed: 3,
    temperature: 0.5,
    top_p: 0.9,
    user: 'ignored',
  };
  const r = await w.client.chat.completions.create(req);
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  checkUsage(r.usage);
  const expectedPrompt =
    '<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nWhere is New York?<|im_end|>\n<|im_start|>assistant\n';
  assert.equal(r.usage.prompt_tokens, Buffer.byteLength(expectedPrompt), 'the documented chat template');

  const stream = await w.client.chat.completions.create({ ...req, stream: true });
  let content = '';
  let role;
  let finish;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    assert.equal(chunk.usage, undefined, 'no usage without include_usage');
    const d = chunk.choices[0].delta;
    if (d.role) {
      assert.equal(role, undefined, 'role only in the first chunk');
      role = d.role;
    }
    content += d.content ?? '';
    if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
  }
  assert.equal(role, 'assistant');
  assert.equal(content, r.choices[0].message.content);
  assert.equal(finish, r.choices[0].finish_reason);
});

test('a prompt of token ids is used as is; a repeated prompt reports cached tokens', async () => {
  const ids = Array.from({ length: 100 }, (_, i) => 3 + ((i * 7) % 250));
  const first = await w.client.completions.create({ model: w.model, prompt: ids, max_tokens: 4 });
  assert.equal(first.usage.prompt_tokens, 100);
  assert.equal(first.usage.prompt_tokens_details.cached_tokens, 0);
  const second = await w.client.completions.create({ model: w.model, prompt: ids, max_tokens: 4 });
  const cached = second.usage.prompt_tokens_details.cached_tokens;
  assert.ok(cached > 0 && cached <= 100, `cached tokens ${cached}`);
  assert.equal(cached % 32, 0, 'whole blocks of 32 tokens');
});

test('GET /v1/models lists the served model; another model is 404 model_not_found', async () => {
  const list = await w.client.models.list();
  assert.deepEqual(
    list.data.map((m) => m.id),
    [w.model],
  );
  const one = await w.client.models.retrieve(w.model);
  assert.equal(one.id, w.model);
  await assert.rejects(w.client.completions.create({ model: 'gpt-4', prompt: 'x', max_tokens: 1 }), (err) => {
    assert.ok(err instanceof OpenAI.NotFoundError);
    assert.equal(err.status, 404);
    assert.equal(err.code, 'model_not_found');
    assert.equal(err.param, 'model');
    return true;
  });
  const e = errorOf(await getJson(`${w.api}/v1/models/other`).then((r) => ({ ...r, text: JSON.stringify(r.json) })), assert, 404);
  assert.equal(e.code, 'model_not_found');
});

test('stop strings: generation ends at the first one, which is not returned (streamed or not)', async () => {
  // A vocabulary of exactly the byte range: every generated token is a byte, so stop strings can match.
  const s = await startWorker({ sim: { vocabSize: 259, outputLengthMode: 'maxTokens' } });
  /** A printable ASCII substring of `len` characters after the start of `text`. */
  const pick = (text, len) => {
    const chars = [...text];
    for (let i = 3; i + len <= chars.length; i++) {
      const sub = chars.slice(i, i + len).join('');
      if (/^[!-~]+$/.test(sub)) return sub;
    }
    return null;
  };
  try {
    const req = { model: s.model, prompt: 'abc', max_tokens: 64, seed: 11 };
    const full = (await s.client.completions.create(req)).choices[0].text;
    const stop = pick(full, 1);
    assert.ok(stop, `an ASCII character in ${JSON.stringify(full)}`);
    const r = await s.client.completions.create({ ...req, stop: [stop, 'never!'] });
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.choices[0].text, full.slice(0, full.indexOf(stop)));
    assert.ok(r.usage.completion_tokens < 64);

    // Streaming holds the last tokens back until they cannot be a stop sequence: it is never sent.
    const chat = { model: s.model, messages: [{ role: 'user', content: 'abc' }], max_tokens: 64, seed: 5 };
    const fullChat = (await s.client.chat.completions.create(chat)).choices[0].message.content;
    const stop2 = pick(fullChat, 2) ?? pick(fullChat, 1);
    assert.ok(stop2, `ASCII characters in ${JSON.stringify(fullChat)}`);
    const stream = await s.client.chat.completions.create({ ...chat, stop: stop2, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish;
    let usage;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    assert.equal(finish, 'stop');
    assert.equal(text, fullChat.slice(0, fullChat.indexOf(stop2)));
    const same = await s.client.chat.completions.create({ ...chat, stop: stop2 });
    assert.equal(same.choices[0].message.content, text);
    assert.deepEqual(same.usage, usage);
  } finally {
    await s.stop();
  }
});

test('GET /stats drains iteration stats in the executor JSON shape', async () => {
  await w.client.completions.create({ model: w.model, prompt: 'stats please', max_tokens: 4 });
  const stats = await eventually(async () => {
    const { status, json } = await getJson(`${w.api}/stats`);
    assert.equal(status, 200);
    return json.length > 0 ? json : null;
  }, 5000, 'iteration stats');
  const s = stats.at(-1);
  for (const key of ['timestamp', 'iter', 'iterLatencyMS', 'numActiveRequests', 'numQueuedRequests', 'maxNumActiveRequests', 'gpuMemUsage']) {
    assert.ok(key in s, `key ${key}`);
  }
  assert.equal(typeof s.kvCacheStats.maxNumBlocks, 'number');
  assert.equal(typeof s.inflightBatchingStats.numContextRequests, 'number');
  const iters = stats.map((x) => x.iter);
  assert.deepEqual(iters, [...iters].sort((a, b) => a - b), 'in iteration order');
  // Drained: the same iterations are not returned twice.
  const again = (await getJson(`${w.api}/stats`)).json;
  assert.ok(again.every((x) => x.iter > iters.at(-1)));
});

test('POST /kv_cache_events drains events with 64-bit hashes as decimal strings', async () => {
  const prompt = 'k'.repeat(70); // two full blocks of 32 tokens: two stored blocks
  await w.client.completions.create({ model: w.model, prompt, max_tokens: 2 });
  const events = await eventually(async () => {
    const res = await fetch(`${w.api}/kv_cache_events`, { method: 'POST' });
    assert.equal(res.status, 200);
    const json = await res.json();
    return json.some((e) => e.data.type === 'stored') ? json : null;
  }, 5000, 'stored events');
  const ids = events.map((e) => e.event_id);
  for (let i = 1; i < ids.length; i++) assert.equal(ids[i], ids[i - 1] + 1, 'consecutive event ids');
  const stored = events.find((e) => e.data.type === 'stored');
  assert.equal(typeof stored.window_size, 'number');
  const block = stored.data.blocks[0];
  assert.equal(block.type, 'stored_block');
  assert.match(block.block_hash, /^\d+$/, 'hash as a decimal string');
  assert.ok(BigInt(block.block_hash) >= 0n);
  assert.equal(block.tokens[0].type, 'unique_token');
  assert.equal(typeof block.tokens[0].token_id, 'number');
  assert.match(block.tokens[0].token_extra_id, /^\d+$/);
  const next = (await getJson(`${w.api}/kv_cache_events`)).json;
  assert.ok(next.every((e) => e.event_id > ids.at(-1)), 'drained');
});

test('GET /perf_metrics drains per-request perf metrics in trtllm-serve shape', async () => {
  await getJson(`${w.api}/perf_metrics`); // drop what earlier tests left
  const r = await w.client.completions.create({ model: w.model, prompt: 'perf metrics', max_tokens: 5 });
  const entries = await eventually(async () => {
    const { json } = await getJson(`${w.api}/perf_metrics`);
    return json.length > 0 ? json : null;
  }, 5000, 'perf metrics');
  assert.equal(entries.length, 1);
  const { request_id, perf_metrics: p } = entries[0];
  assert.equal(typeof request_id, 'number');
  const t = p.timing_metrics;
  assert.ok(t.arrival_time > 0);
  assert.ok(t.arrival_time <= t.first_scheduled_time && t.first_scheduled_time <= t.first_token_time && t.first_token_time <= t.last_token_time);
  for (const k of ['num_total_allocated_blocks', 'num_new_allocated_blocks', 'num_reused_blocks', 'num_missed_blocks']) {
    assert.equal(typeof p.kv_cache_metrics[k], 'number', k);
  }
  assert.equal(typeof p.first_iter, 'number');
  assert.ok(p.last_iter >= p.first_iter);
  assert.ok(r.usage.completion_tokens >= 1);
  assert.deepEqual((await getJson(`${w.api}/perf_metrics`)).json, [], 'drained on read');
});

test('unknown paths are 404 and wrong methods 405, with OpenAI error bodies', async () => {
  const nf = await fetch(`${w.api}/v1/embeddings`, { method: 'POST', body: '{}' });
  errorOf({ status: nf.status, json: await nf.json(), text: '' }, assert, 404);
  const na = await fetch(`${w.api}/v1/completions`);
  assert.equal(na.headers.get('allow'), 'POST');
  errorOf({ status: na.status, json: await na.json(), text: '' }, assert, 405);
  const r = await post(`${w.api}/v1/models`, {});
  errorOf(r, assert, 405);
});

test('ignore_eos runs to max_tokens where the end id would have stopped the request earlier', async () => {
  // With the simulator's geometric output lengths some of these seeds end early at the end id.
  const early = [];
  for (let seed = 0; seed < 12; seed++) {
    const base = { model: w.model, prompt: 'Tell me a long story', max_tokens: 400, seed };
    const normal = await w.client.completions.create(base);
    const ignoring = await w.client.completions.create({ ...base, ignore_eos: true });
    assert.equal(ignoring.usage.completion_tokens, 400);
    assert.equal(ignoring.choices[0].finish_reason, 'length');
    if (normal.choices[0].finish_reason === 'stop') early.push(seed);
  }
  assert.ok(early.length > 0, 'some seeds stopped at the end id without ignore_eos');
  const bad = await post(`${w.api}/v1/completions`, { model: w.model, prompt: 'x', ignore_eos: 'yes' });
  assert.equal(bad.status, 400);
});
