// loadTokenizer(dir) on real tokenizer folders (Llama 3: byte-level BPE; Llama 2: SentencePiece with byte
// fallback): known ids, special and end ids, and a TokenizerError naming the file for every broken folder.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer, TokenizerError } from '../dist/index.js';
import { LLAMA2, LLAMA3, llama3Folder, modelFolder } from './helpers/tokenizer-fixtures.mjs';

const cleanups = [];
after(() => cleanups.forEach((c) => c()));
function folder(make) {
  const f = make();
  cleanups.push(f.cleanup);
  return f.dir;
}

test('Llama 3: known ids, special tokens, every eos of generation_config.json ends a request', async () => {
  const tok = await loadTokenizer(folder(() => llama3Folder()));
  assert.equal(tok.vocabSize, 128256);
  assert.deepEqual([...(await tok.encode('Hello world', { addSpecialTokens: false }))], [9906, 1917]);
  assert.equal(tok.tokenToId('<|begin_of_text|>'), 128000);
  assert.equal(tok.bosId, 128000);
  assert.equal(tok.eosId, 128001, "tokenizer_config.json's eos_token <|end_of_text|> is the engine's end id");
  assert.deepEqual(tok.extraEndIds, [128009], '<|eot_id|> ends a request too (a stop word)');
  assert.equal(tok.idToToken(128009), '<|eot_id|>');
  assert.deepEqual([...(await tok.encode('<|eot_id|>', { addSpecialTokens: false }))], [128009], 'special tokens in text are their own id');
  assert.equal(tok.idToToken(1917), 'Ġworld');
  assert.equal(tok.idToToken(128256), null);
  assert.equal(tok.decoderKind, 'byte-level');
  assert.equal(tok.decode([128000, 9906, 1917, 128009]), 'Hello world', 'special tokens skipped by default');
  assert.equal(tok.decode([128000, 9906, 1917], { skipSpecialTokens: false }), '<|begin_of_text|>Hello world');
  assert.ok(tok.chatTemplate, 'tokenizer_config.json carries the chat template');
  assert.equal(tok.modelMaxLength, null, 'model_max_length 1e30 means none');
});

test('Llama 2 (SentencePiece, byte fallback): bos added, ▁ is a space, <0xNN> tokens are bytes, no chat template', async () => {
  const tok = await loadTokenizer(LLAMA2());
  assert.equal(tok.vocabSize, 32000);
  assert.equal(tok.bosId, 1);
  assert.equal(tok.eosId, 2);
  assert.deepEqual(tok.extraEndIds, []);
  const ids = await tok.encode('Hello world');
  assert.equal(ids[0], 1, 'add_bos_token: <s> first');
  assert.deepEqual([...ids.subarray(1)], [...(await tok.encode('Hello world', { addSpecialTokens: false }))]);
  assert.equal(tok.idToToken(ids[1]), '▁Hello');
  assert.equal(tok.decode(ids), 'Hello world', 'the leading space of ▁Hello is stripped');
  assert.equal(tok.decode(ids, { skipSpecialTokens: false }), '<s> Hello world', "the library's own rendering of <s>");
  const nl = tok.tokenToId('<0x0A>');
  assert.equal(tok.decode([nl]), '\n');
  const rare = await tok.encode('\u{1F9EC}', { addSpecialTokens: false }); // 🧬, not in this vocabulary
  assert.deepEqual(
    [...rare].map((id) => tok.idToToken(id)),
    ['▁', '<0xF0>', '<0x9F>', '<0xA7>', '<0xAC>'],
    'a character outside the vocabulary is its UTF-8 bytes',
  );
  assert.equal(tok.decode(rare), '\u{1F9EC}');
  assert.equal(tok.decoderKind, 'pieces');
  assert.equal(tok.chatTemplate, null);
});

test('add_bos_token in tokenizer_config.json overrides what the post-processor adds', async () => {
  const cfg = JSON.parse(readFileSync(join(LLAMA2(), 'tokenizer_config.json'), 'utf8'));
  const noBos = await loadTokenizer(folder(() => modelFolder('llama2', { 'tokenizer_config.json': { ...cfg, add_bos_token: false } })));
  assert.notEqual((await noBos.encode('Hello'))[0], 1);
  const cfg3 = JSON.parse(readFileSync(join(LLAMA3(), 'tokenizer_config.json'), 'utf8'));
  const bos3 = await loadTokenizer(folder(() => modelFolder('llama3', { 'tokenizer_config.json': { ...cfg3, add_bos_token: true } })));
  assert.deepEqual([...(await bos3.encode('Hello world'))], [128000, 9906, 1917]);
  assert.deepEqual([...(await bos3.encode('Hello world', { addSpecialTokens: false }))], [9906, 1917]);
});

test('chat templates: chat_template.jinja wins over tokenizer_config.json, a --chat-template file over both', async () => {
  const dir = folder(() => llama3Folder({ 'chat_template.jinja': 'JINJA:{{ messages[0].content }}' }));
  const tok = await loadTokenizer(dir);
  assert.equal(tok.chatTemplate.render([{ role: 'user', content: 'x' }]), 'JINJA:x');
  const file = join(dir, 'mine.jinja');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, 'FILE:{{ bos_token }}{{ messages[0].content }}');
  const tok2 = await loadTokenizer(dir, { chatTemplate: file });
  assert.equal(tok2.chatTemplate.render([{ role: 'user', content: 'x' }]), 'FILE:<|begin_of_text|>x');
  const listForm = folder(() => llama3Folder({ 'chat_template.json': { chat_template: [{ name: 'default', template: 'D' }, { name: 'tool_use', template: 'T{{ tools | length }}' }] } }));
  const tok3 = await loadTokenizer(listForm);
  assert.deepEqual(tok3.chatTemplate.names, ['default', 'tool_use']);
  assert.equal(tok3.chatTemplate.render([{ role: 'user', content: 'x' }]), 'D');
  assert.equal(tok3.chatTemplate.render([{ role: 'user', content: 'x' }], { tools: [{ type: 'function' }] }), 'T1', 'tool_use when tools are given');
});

test('broken folders: a TokenizerError whose one line names the file and the problem', async () => {
  const cases = [
    [() => ({ dir: '/nonexistent/model', cleanup() {} }), /tokenizer folder \/nonexistent\/model does not exist/],
    [() => modelFolder('llama3', { 'tokenizer.json': null }), /\/tokenizer\.json is missing/],
    [() => modelFolder('llama3', { 'tokenizer.json': '{"model": ' }), /\/tokenizer\.json is not valid JSON/],
    [() => modelFolder('llama3', { 'tokenizer.json': '[]' }), /\/tokenizer\.json must hold a JSON object/],
    [() => modelFolder('llama3', { 'tokenizer.json': { version: '1.0' } }), /\/tokenizer\.json has no "model" object/],
    [() => modelFolder('llama3', { 'tokenizer.json': { model: { type: 'Nope' } } }), /\/tokenizer\.json cannot be loaded by the tokenizers library/],
    [() => modelFolder('llama3', { 'tokenizer_config.json': 'not json' }), /\/tokenizer_config\.json is not valid JSON/],
    [() => modelFolder('llama3', { 'tokenizer_config.json': { chat_template: 5 } }), /\/tokenizer_config\.json: "chat_template" must be a string/],
    [() => modelFolder('llama3', { 'tokenizer_config.json': { eos_token: '<|no-such-token|>' } }), /\/tokenizer_config\.json: eos_token "<\|no-such-token\|>" is not in the vocabulary/],
    [() => modelFolder('llama3', { 'tokenizer_config.json': { eos_token: '<|end_of_text|>', chat_template: '{% if %}' } }), /\/tokenizer_config\.json: the chat template does not parse/],
    [() => modelFolder('llama3', { 'tokenizer_config.json': {} }), /names no end-of-sequence token/],
    [() => modelFolder('llama3', { 'generation_config.json': '{"eos_token_id": ' }), /\/generation_config\.json is not valid JSON/],
    [() => modelFolder('llama3', { 'generation_config.json': { eos_token_id: ['x'] } }), /\/generation_config\.json: "eos_token_id" must be a token id or a list/],
    [() => modelFolder('llama3', { 'generation_config.json': { eos_token_id: 999999 } }), /\/generation_config\.json: eos_token_id 999999 is outside the vocabulary/],
    [() => modelFolder('llama3', { 'special_tokens_map.json': '{' }), /\/special_tokens_map\.json is not valid JSON/],
    [() => modelFolder('llama3', { 'chat_template.jinja': '{{' }), /\/chat_template\.jinja: the chat template does not parse/],
  ];
  for (const [make, pattern] of cases) {
    const dir = folder(make);
    await assert.rejects(loadTokenizer(dir), (err) => {
      assert.ok(err instanceof TokenizerError, `${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.code, 'ERR_TRTLLM_TOKENIZER');
      assert.match(err.message, pattern);
      assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
      return true;
    });
  }
  await assert.rejects(loadTokenizer(LLAMA3(), { chatTemplate: '/nonexistent/t.jinja' }), /\/nonexistent\/t\.jinja is missing/);
});
