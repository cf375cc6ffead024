// Units of the API layer without a server: the byte tokenizer, stop strings on the output, the ChatML template,
// request validation and the perf-metrics ring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteTokenizer, ALIAS_ALPHABET, BYTE_VOCAB_SIZE, EOS_ID } from '../dist/tokenizer.js';
import { OutputAssembler } from '../dist/openai/output.js';
import { chatMlTemplate } from '../dist/tokenizer/chat-template.js';
import { parseRequest } from '../dist/openai/validate.js';
import { ApiError } from '../dist/openai/errors.js';
import { PerfMetricsStore } from '../dist/openai/perf-store.js';
import { RecordField, REQUEST_RECORD_STRIDE, RECORD_FLAG_HAS_PERF, RECORD_FLAG_ERROR } from '../dist/records.js';

const tok = new ByteTokenizer();

test('byte tokenizer: id = byte + 3, lossless round trip, eos is 2', () => {
  assert.equal(tok.eosId, EOS_ID);
  assert.equal(tok.eosId, 2);
  assert.equal(tok.vocabSize, 259);
  assert.deepEqual([...tok.encode('Az')], [65 + 3, 122 + 3]);
  for (const s of ['', 'hello', 'é日本🙂', '\u0000\n\t']) assert.equal(tok.decode(tok.encode(s)), s);
  assert.equal(tok.encode('🙂').length, 4, 'one token per UTF-8 byte');
});

test('byte tokenizer: specials render as nothing; ids past the byte range as documented aliases', () => {
  assert.equal(tok.decode([0, 1, 2, 3 + 104, 3 + 105]), 'hi');
  assert.equal(tok.decode([BYTE_VOCAB_SIZE]), ALIAS_ALPHABET[0]);
  assert.equal(tok.decode([BYTE_VOCAB_SIZE + 33]), ALIAS_ALPHABET[1]);
  assert.equal(tok.decode([31999]), ALIAS_ALPHABET[(31999 - BYTE_VOCAB_SIZE) % 32]);
  assert.match(tok.decode(Array.from({ length: 500 }, (_, i) => BYTE_VOCAB_SIZE + i * 7)), /^[a-z .]+$/);
});

test('incremental decoding never splits a UTF-8 character; an unfinished one becomes U+FFFD at the end', () => {
  const ids = tok.encode('a€b🙂');
  const d = tok.createDecoder();
  const pieces = [...ids].map((id) => d.push([id]));
  assert.deepEqual(pieces, ['a', '', '', '€', 'b', '', '', '', '🙂']);
  assert.equal(d.flush(), '');
  const d2 = tok.createDecoder();
  assert.equal(d2.push(tok.encode('x€').subarray(0, 2)), 'x');
  assert.equal(d2.flush(), '\uFFFD');
});

test('output assembler: holds back what may begin a stop string, cuts before the match, counts to the stop', () => {
  const stop = ['END', '\n\n'];
  const out = new OutputAssembler(tok, { stop });
  let text = '';
  for (const ch of 'hello\nworldEN') text += out.push(tok.encode(ch));
  assert.equal(text, 'hello\nworld', 'the last 2 characters (longest stop - 1) are held back');
  text += out.push(tok.encode('D and more'));
  assert.equal(out.stopped, true);
  text += out.finish();
  assert.equal(text, 'hello\nworld');
  assert.equal(out.tokenCount, 'hello\nworldEND'.length, 'tokens after the one completing the stop string do not count');
  // The text ends without a match: everything comes out.
  const o2 = new OutputAssembler(tok, { stop });
  assert.equal(o2.push(tok.encode('abEN')) + o2.finish(), 'abEN');
  assert.equal(o2.stopped, false);
  // include_stop_str_in_output keeps it; no stop strings: nothing is held back.
  const o3 = new OutputAssembler(tok, { stop, includeStopStr: true });
  assert.equal(o3.push(tok.encode('xEND y')) + o3.finish(), 'xEND');
  const o4 = new OutputAssembler(tok, {});
  assert.equal(o4.push(tok.encode('abc')), 'abc');
  // A stop token id ends the text without its own.
  const o5 = new OutputAssembler(tok, { stopTokenIds: [tok.encode('!')[0]] });
  assert.equal(o5.push(tok.encode('hi!there')) + o5.finish(), 'hi');
  assert.equal(o5.tokenCount, 3);
});

test('chat template: ChatML layout, developer as system, generation prompt appended', () => {
  const messages = [
    { role: 'developer', content: 'rules' },
    { role: 'user', content: 'hi', name: 'bob' },
    { role: 'assistant', content: 'hello' },
  ];
  const body = '<|im_start|>system\nrules<|im_end|>\n<|im_start|>user name=bob\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>\n';
  assert.equal(tok.chatTemplate, chatMlTemplate());
  assert.equal(chatMlTemplate().render(messages), body + '<|im_start|>assistant\n');
  assert.equal(chatMlTemplate().render(messages, { addGenerationPrompt: false }), body);
  assert.equal(
    chatMlTemplate().render(messages, { addGenerationPrompt: false, continueFinalMessage: true }),
    body.slice(0, -'<|im_end|>\n'.length),
    'continue_final_message ends inside the last message',
  );
});

test('validation: defaults, prompt forms and the 404 for another model', () => {
  const p = parseRequest('completion', { model: 'm', prompt: 'x' }, 'm');
  assert.equal(p.maxTokens, undefined);
  assert.equal(p.stream, false);
  assert.deepEqual(p.stop, []);
  assert.equal(p.skipSpecialTokens, true);
  assert.equal(p.addSpecialTokens, true);
  assert.deepEqual(parseRequest('completion', { model: 'm', prompt: ['one'] }, 'm').prompts, [{ text: 'one' }]);
  assert.deepEqual([...parseRequest('completion', { model: 'm', prompt: [[4, 5]] }, 'm').prompts[0].tokens], [4, 5]);
  const batch = parseRequest('completion', { model: 'm', prompt: ['a', [7, 8]] }, 'm').prompts;
  assert.equal(batch.length, 2);
  assert.deepEqual(batch[0], { text: 'a' });
  assert.deepEqual([...batch[1].tokens], [7, 8]);
  assert.deepEqual(parseRequest('completion', { model: 'm', prompt: 'x', stop: 'z' }, 'm').stop, ['z']);
  const c = parseRequest('chat', { model: 'm', messages: [{ role: 'user', content: 'x' }], max_completion_tokens: 9, stream: true, stream_options: { include_usage: true } }, 'm');
  assert.equal(c.maxTokens, 9);
  assert.equal(c.includeUsage, true);
  assert.equal(c.chat.addGenerationPrompt, true);
  assert.equal(c.addSpecialTokens, false, 'chat prompts: the template writes the special tokens');
  assert.throws(
    () => parseRequest('completion', { model: 'other', prompt: 'x' }, 'm'),
    (e) => e instanceof ApiError && e.status === 404 && e.openaiCode === 'model_not_found' && e.code === 'ERR_TRTLLM_API',
  );
  assert.throws(
    () => parseRequest('completion', { model: 'm', prompt: [[1], 'x', 3] }, 'm'),
    (e) => e instanceof ApiError && e.status === 400 && e.param === 'prompt[2]',
  );
  assert.throws(
    () => parseRequest('chat', { model: 'm', messages: [{ role: 'user', content: 'x' }], continue_final_message: true }, 'm'),
    (e) => e instanceof ApiError && e.status === 400 && e.param === 'continue_final_message',
  );
});

test('perf-metrics ring: keeps the newest rows with perf metrics, converts on drain, empties', () => {
  const store = new PerfMetricsStore(2);
  const rows = new Float64Array(4 * REQUEST_RECORD_STRIDE);
  const set = (i, field, v) => (rows[i * REQUEST_RECORD_STRIDE + field] = v);
  for (let i = 0; i < 4; i++) {
    set(i, RecordField.REQUEST_ID, 10 + i);
    set(i, RecordField.FLAGS, i === 1 ? RECORD_FLAG_HAS_PERF | RECORD_FLAG_ERROR : RECORD_FLAG_HAS_PERF);
    set(i, RecordField.ARRIVAL_TIME_NS, 1e9);
    set(i, RecordField.FIRST_SCHEDULED_TIME_NS, 2e9);
    set(i, RecordField.FIRST_TOKEN_TIME_NS, 3e9);
    set(i, RecordField.LAST_TOKEN_TIME_NS, 4e9);
    set(i, RecordField.KV_REUSED_BLOCKS, i);
    set(i, RecordField.FIRST_ITER, 5);
    set(i, RecordField.LAST_ITER, 9);
  }
  store.onRecords({ data: rows, count: 4, epochNs: 1_000_000_000n });
  assert.equal(store.dropped, 1, 'three rows kept of which one is dropped (the error row is skipped)');
  const out = store.drain();
  assert.deepEqual(
    out.map((e) => e.request_id),
    [12, 13],
  );
  // Requests that did not come through the API server have no server times (null, as trtllm-serve writes them).
  assert.deepEqual(out[0].perf_metrics.timing_metrics, {
    server_arrival_time: null,
    arrival_time: 2,
    first_scheduled_time: 3,
    first_token_time: 4,
    server_first_token_time: null,
    last_token_time: 5,
  });
  assert.equal(out[0].perf_metrics.kv_cache_metrics.num_reused_blocks, 2);
  assert.equal(out[0].perf_metrics.first_iter, 5);
  assert.equal(out[0].perf_metrics.speculative_decoding, undefined);
  assert.deepEqual(store.drain(), []);
});

test('perf-metrics ring: server times of the API join their request at drain; forgotten with dropped rows; offset added', () => {
  const store = new PerfMetricsStore(1);
  const rows = new Float64Array(2 * REQUEST_RECORD_STRIDE);
  for (let i = 0; i < 2; i++) {
    rows[i * REQUEST_RECORD_STRIDE + RecordField.REQUEST_ID] = 20 + i;
    rows[i * REQUEST_RECORD_STRIDE + RecordField.FLAGS] = RECORD_FLAG_HAS_PERF;
    rows[i * REQUEST_RECORD_STRIDE + RecordField.ARRIVAL_TIME_NS] = 1e9;
  }
  store.serverArrival(20, 1.5);
  store.serverArrival(21, 1.75);
  store.serverFirstToken(21, 2.5);
  store.serverFirstToken(21, 9); // only the first one counts
  store.serverFirstToken(99, 1); // unknown request: ignored
  store.onRecords({ data: rows, count: 2, epochNs: 0n });
  assert.equal(store.dropped, 1);
  store.offsetSeconds = 100;
  const [e] = store.drain();
  assert.equal(e.request_id, 21);
  assert.equal(e.perf_metrics.timing_metrics.server_arrival_time, 101.75);
  assert.equal(e.perf_metrics.timing_metrics.server_first_token_time, 102.5);
  assert.equal(e.perf_metrics.timing_metrics.arrival_time, 101);
  // The dropped row's times are gone, and so are the drained row's.
  rows[RecordField.REQUEST_ID] = 20;
  store.onRecords({ data: rows, count: 1, epochNs: 0n });
  assert.equal(store.drain()[0].perf_metrics.timing_metrics.server_arrival_time, null);
});
