// Fuzzing the real-text surfaces (fast-check) against a worker with the Llama 3 tokenizer: /tokenize,
// /detokenize, chat completions with the template's options and completions with batches and the
// detokenization options, each a valid body with up to three fields deleted or set to weird values, plus
// random messages. Every answer is a 200 with a well-formed body or a 4xx with OpenAI's error JSON and a
// message; never a 500, a hang or a crash. FUZZ_SEED=<n> replays a run, FUZZ_SCALE=<x> scales it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { check, mutated } from './helpers/fuzz-properties.mjs';
import { startWorker } from './helpers/worker-fixtures.mjs';
import { llama3Folder } from './helpers/tokenizer-fixtures.mjs';

const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
let w;
let folder;
before(async () => {
  folder = llama3Folder();
  w = await startWorker({ tokenizer: folder.dir, sim: { virtualClock: true, speedupRatio: 1 } });
});
after(async () => {
  await w?.stop();
  folder?.cleanup();
});

const MESSAGES = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: [{ type: 'text', text: 'Hi ' }, { type: 'text', text: 'there' }] },
  { role: 'assistant', content: 'Hello', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
  { role: 'tool', content: '42', tool_call_id: 'c1' },
  { role: 'user', content: 'And now?' },
];
const BODIES = {
  '/tokenize': [
    [{ prompt: 'Hello 🙂 world', add_special_tokens: true, return_token_strs: true }, ['prompt', 'add_special_tokens', 'return_token_strs', 'model', 'extra']],
    [
      { messages: MESSAGES, add_generation_prompt: true, continue_final_message: false, tools: [{ type: 'function', function: { name: 'f' } }], documents: [{ title: 't', text: 'x' }], chat_template_kwargs: { a: 1 } },
      ['messages', 'messages.0', 'messages.1.content', 'messages.2.tool_calls', 'messages.3.tool_call_id', 'add_generation_prompt', 'continue_final_message', 'tools', 'documents', 'chat_template_kwargs', 'chat_template_kwargs.tools', 'add_special_tokens'],
    ],
  ],
  '/detokenize': [[{ tokens: [128000, 9906, 1917, 128009] }, ['tokens', 'tokens.0', 'tokens.2', 'model']]],
  '/v1/chat/completions': [
    [
      { model: 'test-model', messages: MESSAGES, max_tokens: 8, seed: 1, stream: false, echo: true, stop: ['e', 'xyz'], skip_special_tokens: true, include_stop_str_in_output: false, add_generation_prompt: true },
      ['messages', 'messages.4', 'messages.4.role', 'max_tokens', 'stream', 'echo', 'stop', 'skip_special_tokens', 'spaces_between_special_tokens', 'include_stop_str_in_output', 'stop_token_ids', 'add_generation_prompt', 'continue_final_message', 'tools', 'documents', 'chat_template_kwargs', 'ignore_eos'],
    ],
  ],
  '/v1/completions': [
    [
      { model: 'test-model', prompt: ['Hello', [9906, 1917]], max_tokens: 8, seed: 2, stream: true, echo: false, stop: ['o w'], stop_token_ids: [13], add_special_tokens: true },
      ['prompt', 'prompt.0', 'prompt.1', 'prompt.1.0', 'max_tokens', 'stream', 'echo', 'stop', 'stop_token_ids', 'stop_token_ids.0', 'add_special_tokens', 'skip_special_tokens', 'spaces_between_special_tokens', 'include_stop_str_in_output', 'ignore_eos'],
    ],
  ],
};

const requests = fc.oneof(
  ...Object.entries(BODIES).flatMap(([path, list]) => list.map(([base, paths]) => mutated(base, paths).map(({ value }) => ({ path, body: value })))),
  // Random conversations: any roles, contents and extra keys.
  fc
    .tuple(
      fc.constantFrom('/tokenize', '/v1/chat/completions'),
      fc.record({
        messages: fc.array(fc.record({ role: fc.constantFrom('system', 'user', 'assistant', 'tool', 'developer', 'robot'), content: fc.oneof(fc.string(), fc.constant(null), fc.integer()) }), { maxLength: 4 }),
        continue_final_message: fc.boolean(),
        add_generation_prompt: fc.boolean(),
      }),
    )
    .map(([path, body]) => ({ path, body: { model: 'test-model', max_tokens: 4, ...body } })),
);

/** JSON has no BigInt: the weird values' big integers go out as (huge or imprecise) numbers. */
const json = (body) => JSON.stringify(body, (_, v) => (typeof v === 'bigint' ? Number(v) : v));

async function send(path, body) {
  const res = await fetch(`${w.api}${path}`, { method: 'POST', body: json(body), signal: AbortSignal.timeout(20_000) });
  return { status: res.status, text: await res.text() };
}

test('the new endpoints and request fields: 200 or a 4xx with a message, never a 500', async () => {
  let ok = 0;
  let rejected = 0;
  await check(
    fc.asyncProperty(requests, async ({ path, body }) => {
      const r = await send(path, body);
      assert.ok(r.status < 500, `${path} ${json(body)} -> ${r.status} ${r.text}`);
      if (r.status === 200) {
        ok++;
        if (!r.text.startsWith('data:')) JSON.parse(r.text);
        else assert.match(r.text, /data: \[DONE\]\n\n$/);
      } else {
        rejected++;
        const e = JSON.parse(r.text).error;
        assert.ok(typeof e.message === 'string' && e.message.length > 0 && !e.message.includes('    at '), `${path}: ${r.text}`);
      }
    }),
    Math.max(1, Math.round(200 * SCALE)),
  );
  assert.ok(ok > 0 && rejected > 0, `both outcomes exercised: ${ok} ok, ${rejected} rejected`);
  if (SCALE > 1) console.log(`tokenizer fuzz: ${ok + rejected} requests, ${ok} answered 200, ${rejected} answered 4xx, 0 answered 5xx`);
});
