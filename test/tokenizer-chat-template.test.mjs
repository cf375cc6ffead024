// Chat templates rendered as transformers' apply_chat_template renders them: the Llama 3 prompt format of a
// two-turn conversation (Meta's documented layout, written out by hand here), its token ids, the template
// variables (bos/eos tokens, tools, documents, extra kwargs), raise_exception, continue_final_message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChatTemplate, ChatTemplateError, loadTokenizer, TokenizerError } from '../dist/index.js';
import { LLAMA3 } from './helpers/tokenizer-fixtures.mjs';

const TWO_TURNS = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'What is the capital of France?' },
  { role: 'assistant', content: 'Paris.' },
  { role: 'user', content: 'And of Italy?' },
];

// Meta's Llama 3 prompt format: <|begin_of_text|>, then per message a header, two newlines, the trimmed
// content and <|eot_id|>; then the assistant header that prompts the reply.
const header = (role) => `<|start_header_id|>${role}<|end_header_id|>\n\n`;
const LLAMA3_PROMPT =
  '<|begin_of_text|>' +
  `${header('system')}You are a helpful assistant.<|eot_id|>` +
  `${header('user')}What is the capital of France?<|eot_id|>` +
  `${header('assistant')}Paris.<|eot_id|>` +
  `${header('user')}And of Italy?<|eot_id|>` +
  header('assistant');

test('Llama 3: the exact prompt of a two-turn conversation, and its ids', async () => {
  const tok = await loadTokenizer(LLAMA3());
  const text = tok.chatTemplate.render(TWO_TURNS);
  assert.equal(text, LLAMA3_PROMPT);
  const ids = [...(await tok.encode(text, { addSpecialTokens: false }))];
  // <|begin_of_text|> <|start_header_id|> "system" <|end_header_id|> "\n\n" ...
  assert.deepEqual(ids.slice(0, 5), [128000, 128006, 9125, 128007, 271]);
  assert.equal(ids.filter((id) => id === 128009).length, 4, 'one <|eot_id|> per message');
  assert.deepEqual(ids.slice(-4), [128006, 78191, 128007, 271], 'ends with the assistant header');
  assert.equal(tok.decode(ids, { skipSpecialTokens: false }), text, 'the ids decode back to the prompt');
  // The template trims contents, as its `| trim` says.
  assert.equal(tok.chatTemplate.render([{ role: 'user', content: '  padded \n' }]), `<|begin_of_text|>${header('user')}padded<|eot_id|>${header('assistant')}`);
});

test('variables: special tokens, tools and documents (None when absent), extra kwargs; defined-ness as in Python', () => {
  const t = new ChatTemplate(
    '{{ bos_token }}|{{ tools is none }}|{{ documents is none }}|{{ tools | length if tools else 0 }}|{{ flavor | default("plain") }}|{{ add_generation_prompt }}',
    { bos_token: '<s>', eos_token: '</s>' },
    'test.jinja',
  );
  assert.equal(t.render([]), '<s>|true|true|0|plain|true');
  assert.equal(t.render([], { tools: [{ type: 'function' }], documents: [{ title: 'a' }], variables: { flavor: 'spicy' }, addGenerationPrompt: false }), '<s>|false|false|1|spicy|false');
});

test('raise_exception and render failures are ChatTemplateErrors carrying the message; a bad template names its file', () => {
  const t = new ChatTemplate(
    "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{{ m.content | upper }}{% endfor %}",
    {},
    'x.jinja',
  );
  assert.equal(t.render([{ role: 'user', content: 'hi' }]), 'HI');
  assert.throws(() => t.render([{ role: 'system', content: 'rules' }]), (e) => e instanceof ChatTemplateError && /System role not supported/.test(e.message) && e.code === 'ERR_TRTLLM_CHAT_TEMPLATE');
  assert.throws(() => t.render([{ role: 'user', content: null }]), (e) => e instanceof ChatTemplateError);
  assert.throws(() => new ChatTemplate('{% for %}', {}, '/models/m/chat_template.jinja'), (e) => e instanceof TokenizerError && e.message.startsWith('/models/m/chat_template.jinja: the chat template does not parse'));
  const named = new ChatTemplate([{ name: 'a', template: 'A' }, { name: 'b', template: 'B' }], {}, 'cfg.json');
  assert.throws(() => named.render([]), /cfg\.json has several chat templates \(a, b\) and none is named "default"/);
});

test('continue_final_message: the prompt ends inside the last message, spacing kept or stripped as the template does', async () => {
  const keeps = new ChatTemplate("{% for m in messages %}<{{ m.role }}>{{ m.content }}</{{ m.role }}>{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}", {}, 'keep');
  const msgs = [
    { role: 'user', content: 'Write a haiku' },
    { role: 'assistant', content: 'Autumn moonlight ' },
  ];
  assert.equal(keeps.render(msgs, { addGenerationPrompt: false, continueFinalMessage: true }), '<user>Write a haiku</user><assistant>Autumn moonlight ');
  const tok = await loadTokenizer(LLAMA3());
  assert.equal(
    tok.chatTemplate.render(msgs, { addGenerationPrompt: false, continueFinalMessage: true }),
    `<|begin_of_text|>${header('user')}Write a haiku<|eot_id|>${header('assistant')}Autumn moonlight`,
    'the Llama 3 template trims the content, so the prompt stops after the trimmed text',
  );
  assert.throws(() => keeps.render(msgs, { addGenerationPrompt: true, continueFinalMessage: true }), ChatTemplateError);
  const drops = new ChatTemplate('{{ messages[0].content }}', {}, 'drops');
  assert.throws(() => drops.render([{ role: 'user', content: 'a' }, { role: 'assistant', content: 'zzz' }], { addGenerationPrompt: false, continueFinalMessage: true }), /does not appear/);
});
