// The OpenAI API on real text: a worker with the Llama 3 tokenizer folder (serve --tokenizer) on the simulator,
// driven by the `openai` client. The chat prompt's ids are the Llama 3 template's (shown by /tokenize and by
// the KV blocks the engine stores), streamed text adds up to the one-shot text, stop strings cut real text,
// batches, max_model_len, /tokenize and /detokenize, template errors, prefix reuse through the template.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startWorker, post, errorOf, eventually, scrape, sample } from './helpers/worker-fixtures.mjs';
import { LLAMA2, llama3Folder } from './helpers/tokenizer-fixtures.mjs';
import { runGeneration } from '../dist/openai/generate.js';

let w;
let folder;
before(async () => {
  folder = llama3Folder();
  w = await startWorker({ tokenizer: folder.dir });
});
after(async () => {
  await w?.stop();
  folder?.cleanup();
});

const tokenize = async (body) => {
  const r = await post(`${w.api}/tokenize`, body);
  assert.equal(r.status, 200, r.text);
  return r.json;
};

async function streamText(create) {
  const stream = await create;
  const byIndex = new Map();
  let usage = null;
  let finish = new Map();
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      byIndex.set(c.index, (byIndex.get(c.index) ?? '') + (c.delta?.content ?? c.text ?? ''));
      if (c.finish_reason) finish.set(c.index, c.finish_reason);
    }
  }
  return { texts: byIndex, usage, finish };
}

test('chat: the prompt ids are the Llama 3 template rendering (/tokenize and the stored KV blocks), streamed = one-shot', async () => {
  const messages = [
    { role: 'system', content: `You answer in one word. Session ${Date.now()}: ${'context '.repeat(20)}` },
    { role: 'user', content: 'Capital of France?' },
  ];
  const tk = await tokenize({ messages });
  assert.equal(tk.tokens[0], 128000, '<|begin_of_text|> from the template');
  assert.deepEqual(tk.tokens.slice(1, 4), [128006, 9125, 128007], '<|start_header_id|>system<|end_header_id|>');
  assert.equal(tk.max_model_len, 8192);
  assert.equal((await w.client.models.retrieve(w.model)).max_model_len, 8192, "vLLM's max_model_len in the model card");
  assert.equal(tk.count, tk.tokens.length);
  assert.equal(tk.token_strs, null);
  // The same ids as encoding the template's text without special tokens.
  const text = w.worker.tokenizer.chatTemplate.render(messages);
  assert.deepEqual(tk.tokens, [...(await w.worker.tokenizer.encode(text, { addSpecialTokens: false }))]);

  await fetch(`${w.api}/kv_cache_events`, { method: 'POST' }); // drain
  const req = { model: w.model, messages, max_tokens: 24, seed: 5 };
  const whole = await w.client.chat.completions.create(req);
  assert.equal(whole.usage.prompt_tokens, tk.count);
  // The engine stored the prompt's first block: its tokens are the /tokenize ids.
  const stored = await eventually(async () => {
    const events = await (await fetch(`${w.api}/kv_cache_events`, { method: 'POST' })).json();
    return events.find((e) => e.data.type === 'stored' && e.data.parent_hash === null);
  }, 5000, 'the stored first block');
  assert.deepEqual(
    stored.data.blocks[0].tokens.map((t) => t.token_id),
    tk.tokens.slice(0, 32),
  );

  const s = await streamText(w.client.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } }));
  assert.equal(s.texts.get(0), whole.choices[0].message.content, 'the streamed deltas add up to the one-shot text');
  assert.equal(s.finish.get(0), whole.choices[0].finish_reason);
  assert.deepEqual(s.usage, { ...whole.usage, prompt_tokens_details: s.usage.prompt_tokens_details });
  assert.ok(whole.usage.completion_tokens > 0);
});

test('completions: prompt as a string, a list of strings, token ids, a list of token-id lists; batches stream by index', async () => {
  const one = await w.client.completions.create({ model: w.model, prompt: 'Hello world', max_tokens: 4, seed: 1 });
  assert.equal(one.usage.prompt_tokens, 2, '"Hello world" is two Llama 3 tokens (no bos in this tokenizer.json)');
  const ids = await w.client.completions.create({ model: w.model, prompt: [9906, 1917], max_tokens: 4, seed: 1 });
  assert.equal(ids.choices[0].text, one.choices[0].text, 'the same ids, the same seed: the same text');
  const batch = await w.client.completions.create({ model: w.model, prompt: ['Hello world', 'Bonjour le monde'], max_tokens: 6, seed: 2 });
  assert.deepEqual(
    batch.choices.map((c) => c.index),
    [0, 1],
  );
  const bonjour = (await tokenize({ prompt: 'Bonjour le monde' })).count;
  assert.equal(batch.usage.prompt_tokens, 2 + bonjour);
  const lists = await w.client.completions.create({ model: w.model, prompt: [[9906, 1917], [9906]], max_tokens: 6, seed: 2 });
  assert.equal(lists.choices[0].text, batch.choices[0].text);
  assert.equal(lists.usage.prompt_tokens, 3);
  const s = await streamText(w.client.completions.create({ model: w.model, prompt: ['Hello world', 'Bonjour le monde'], max_tokens: 6, seed: 2, stream: true, stream_options: { include_usage: true } }));
  assert.equal(s.texts.get(0), batch.choices[0].text);
  assert.equal(s.texts.get(1), batch.choices[1].text);
  assert.deepEqual(s.usage.completion_tokens, batch.usage.completion_tokens);
  const echo = await w.client.completions.create({ model: w.model, prompt: 'Hello world', max_tokens: 4, seed: 1, echo: true });
  assert.equal(echo.choices[0].text, 'Hello world' + one.choices[0].text);
});

test('stop strings are matched on the text across tokens; nothing of them is streamed', async () => {
  const req = { model: w.model, prompt: 'Once upon a time', max_tokens: 48, seed: 9, ignore_eos: true };
  const full = (await w.client.completions.create(req)).choices[0].text;
  // Characters in the middle of the output: they span token boundaries of the random text.
  const chars = [...full];
  const stop = chars.slice(10, 16).join('');
  assert.ok(stop.trim().length > 0, `a stop string from ${JSON.stringify(full)}`);
  const cut = full.slice(0, full.indexOf(stop));
  const r = await w.client.completions.create({ ...req, stop: [stop] });
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.equal(r.choices[0].text, cut);
  assert.ok(r.usage.completion_tokens < 48);
  const s = await streamText(w.client.completions.create({ ...req, stop: [stop], stream: true, stream_options: { include_usage: true } }));
  assert.equal(s.texts.get(0), cut);
  assert.equal(s.finish.get(0), 'stop');
  assert.equal(s.usage.completion_tokens, r.usage.completion_tokens);
  const inc = await w.client.completions.create({ ...req, stop: [stop], include_stop_str_in_output: true });
  assert.equal(inc.choices[0].text, cut + stop);
});

test('the end ids of generation_config.json reach the engine: <|end_of_text|> as end id, <|eot_id|> as a stop word', async () => {
  const seen = [];
  const engine = {
    generate(request) {
      seen.push(request);
      const chunks = [{ tokens: Int32Array.of(9906, 1917, 128009), isFinal: true, finishReason: 'stop_words', sequenceIndex: 0, requestId: 1 }];
      return { cancel() {}, async *[Symbol.asyncIterator]() { yield* chunks; } };
    },
  };
  let sent;
  const io = { signal: new AbortController().signal, res: null, sendJson: (status, body) => (sent = { status, body }), onStreamError() {}, addResponseBytes() {} };
  const deps = { engine, tokenizer: w.worker.tokenizer, modelName: w.model, defaultMaxTokens: { completion: 16, chat: 1024 }, maxModelLen: 8192 };
  await runGeneration(deps, 'chat', { model: w.model, messages: [{ role: 'user', content: 'Hi' }], skip_special_tokens: false }, io);
  assert.equal(seen[0].endId, 128001);
  assert.deepEqual(seen[0].stopWords.map((wd) => [...wd]), [[128009]]);
  assert.equal(sent.body.choices[0].message.content, 'Hello world', '<|eot_id|> ends the text and is not part of it');
  assert.equal(sent.body.choices[0].finish_reason, 'stop');
  assert.equal(sent.body.usage.completion_tokens, 3);
  await runGeneration(deps, 'completion', { model: w.model, prompt: 'Hi', ignore_eos: true, stop_token_ids: [13] }, io);
  assert.equal(seen[1].endId, undefined, 'ignore_eos: no end id');
  assert.deepEqual(seen[1].stopWords.map((wd) => [...wd]), [[13]], 'ignore_eos drops the model end ids, not the request stop ids');
});

test("max_model_len: prompt + max_tokens over the context is a 400 naming the numbers; a default max_tokens is clamped", async () => {
  const long = Array.from({ length: 8000 }, (_, i) => 1000 + (i % 5000));
  const e = errorOf(await post(`${w.api}/v1/completions`, { model: w.model, prompt: long, max_tokens: 500 }), assert, 400);
  assert.equal(e.code, 'context_length_exceeded');
  assert.match(e.message, /maximum context length is 8192 tokens\. However, you requested 8500 tokens \(8000 in the prompt, 500 in the completion\)/);
  const over = errorOf(await post(`${w.api}/v1/completions`, { model: w.model, prompt: [...long, ...long.slice(0, 500)] }), assert, 400);
  assert.match(over.message, /your request has 8500 input tokens/);
  const clamped = await w.client.chat.completions.create({ model: w.model, messages: [{ role: 'user', content: 'x '.repeat(7500) }], seed: 3, ignore_eos: true });
  assert.equal(clamped.usage.prompt_tokens + clamped.usage.completion_tokens, 8192, 'the default 1024 is clamped to what the context leaves');
  const vocab = errorOf(await post(`${w.api}/v1/completions`, { model: w.model, prompt: [5, 128256], max_tokens: 1 }), assert, 400);
  assert.equal(vocab.param, 'prompt[1]');
  assert.match(vocab.message, /128256 is out of vocabulary/);
});

test('/tokenize and /detokenize: forms, options, and 400/404 answers', async () => {
  const plain = await tokenize({ prompt: 'Hello world', return_token_strs: true });
  assert.deepEqual(plain, { count: 2, max_model_len: 8192, tokens: [9906, 1917], token_strs: ['Hello', 'Ġworld'] });
  const withModel = await tokenize({ model: w.model, prompt: '<|eot_id|>', add_special_tokens: false });
  assert.deepEqual(withModel.tokens, [128009]);
  const gen = await tokenize({ messages: [{ role: 'user', content: 'Hi' }], add_generation_prompt: false });
  assert.equal(gen.tokens.at(-1), 271, 'this Llama 3 template always ends with the assistant header');
  const cont = await tokenize({ messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello the' }], add_generation_prompt: false, continue_final_message: true });
  assert.equal(w.worker.tokenizer.decode(cont.tokens.slice(-2)), 'Hello the', 'continue_final_message ends inside the reply');
  const de = await post(`${w.api}/detokenize`, { tokens: [128000, 9906, 1917] });
  assert.deepEqual(de.json, { prompt: '<|begin_of_text|>Hello world' });
  assert.deepEqual((await post(`${w.api}/detokenize`, { tokens: [] })).json, { prompt: '' });
  const bad = [
    ['/tokenize', {}, 400, 'prompt'],
    ['/tokenize', { prompt: 5 }, 400, 'prompt'],
    ['/tokenize', { prompt: 'x', extra: 1 }, 400, 'extra'],
    ['/tokenize', { prompt: 'x', model: 'other' }, 404, 'model'],
    ['/tokenize', { messages: [] }, 400, 'messages'],
    ['/tokenize', { messages: [{ role: 'user', content: 'x' }], continue_final_message: true }, 400, 'continue_final_message'],
    ['/tokenize', { messages: [{ role: 'user', content: 'x' }], chat_template_kwargs: { messages: [] } }, 400, 'chat_template_kwargs.messages'],
    ['/detokenize', { tokens: [1, 128256] }, 400, 'tokens[1]'],
    ['/detokenize', { tokens: 'abc' }, 400, 'tokens'],
    ['/detokenize', {}, 400, 'tokens'],
    ['/detokenize', [1, 2], 400, null],
  ];
  for (const [path, body, status, param] of bad) {
    const e = errorOf(await post(`${w.api}${path}`, body), assert, status);
    assert.equal(e.param, param, `${path} ${JSON.stringify(body)}: ${e.message}`);
  }
  const get = await fetch(`${w.api}/tokenize`);
  assert.equal(get.status, 405);
});

test('a template that rejects the conversation is a 400 with its message; a folder without a template says so', async () => {
  const tmpl = join(folder.dir, 'strict.jinja');
  writeFileSync(tmpl, "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}[{{ m.role }}] {{ m.content }}\n{% endfor %}");
  const strict = await startWorker({ tokenizer: LLAMA2(), chatTemplate: tmpl });
  const bare = await startWorker({ tokenizer: LLAMA2() });
  try {
    const ok = await strict.client.chat.completions.create({ model: strict.model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    assert.equal(ok.usage.prompt_tokens, (await post(`${strict.api}/tokenize`, { messages: [{ role: 'user', content: 'hi' }] })).json.count);
    const e = errorOf(await post(`${strict.api}/v1/chat/completions`, { model: strict.model, messages: [{ role: 'system', content: 'rules' }] }), assert, 400);
    assert.match(e.message, /System role not supported/);
    assert.equal(e.param, 'messages');
    const none = errorOf(await post(`${bare.api}/v1/chat/completions`, { model: bare.model, messages: [{ role: 'user', content: 'hi' }] }), assert, 400);
    assert.match(none.message, /has no chat template/);
    const r = await bare.client.completions.create({ model: bare.model, prompt: 'Hello', max_tokens: 3 });
    assert.equal(r.usage.prompt_tokens, 2, 'completions work: <s> and ▁Hello');
  } finally {
    await strict.stop();
    await bare.stop();
  }
});

test('prefix reuse through the template: a shared system prompt is served from cached KV blocks', async () => {
  const system = `You are the support bot of shop ${Date.now()}. ${'Be polite and precise. '.repeat(30)}`;
  const ask = (q) => w.client.chat.completions.create({ model: w.model, messages: [{ role: 'system', content: system }, { role: 'user', content: q }], max_tokens: 4, seed: 1 });
  const sumOf = async () => sample(await scrape(w.metrics), 'trtllm_prompt_cached_tokens_per_request_sum');
  const before = await sumOf();
  const first = await ask('Where is my order?');
  const second = await ask('Can I return shoes?');
  assert.equal(first.usage.prompt_tokens_details.cached_tokens, 0);
  const cached = second.usage.prompt_tokens_details.cached_tokens;
  const shared = (await tokenize({ messages: [{ role: 'system', content: system }] })).count - 4; // minus the generation prompt
  assert.ok(cached > 0, 'the second request reuses the system prompt');
  assert.equal(cached % 32, 0, 'whole blocks');
  assert.ok(cached <= shared, `${cached} cached tokens of a ${shared}-token shared prefix`);
  assert.ok(shared - cached < 32 * 2, 'every whole block of the shared prefix but the last partial ones is reused');
  await eventually(async () => (await sumOf()) - before === cached, 5000, 'trtllm_prompt_cached_tokens_per_request to count them');
});
