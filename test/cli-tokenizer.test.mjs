// `trtllm-metrics serve --tokenizer DIR` as a process: a missing or malformed tokenizer file is one line naming
// the file and exit code 2; trtllm without a tokenizer says what to pass; on the simulator, the `openai` client
// streams and not against the Llama 3 tokenizer, and the prompt ids are the template's.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { spawnServe } from './helpers/serve-process.mjs';
import { llama3Folder, modelFolder } from './helpers/tokenizer-fixtures.mjs';

const FAST = ['--port', '0', '--http-port', '0', '--speedup-ratio', '50'];
const cleanups = [];
after(() => cleanups.forEach((c) => c()));
function folder(f) {
  cleanups.push(f.cleanup);
  return f.dir;
}

async function expectExit2(args, pattern, fast = FAST) {
  const r = await spawnServe([...fast, ...args]);
  assert.ok(r.exited, `serve should not start: ${args.join(' ')}`);
  const { code, stderr } = r.exited;
  assert.equal(code, 2, `exit code of ${args.join(' ')}: ${stderr}`);
  const lines = stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line: ${stderr}`);
  assert.match(lines[0], /^trtllm-metrics: error: /);
  assert.match(lines[0], pattern);
}

test('missing or malformed tokenizer files: one line naming the file, exit code 2', async () => {
  const engineDir = mkdtempSync(join(tmpdir(), 'engine-'));
  cleanups.push(() => rmSync(engineDir, { recursive: true, force: true }));
  await Promise.all([
    expectExit2(['--tokenizer', '/nonexistent/llama'], /tokenizer folder \/nonexistent\/llama does not exist/),
    expectExit2(['--tokenizer', folder(modelFolder('llama3', { 'tokenizer.json': null }))], /\/tokenizer\.json is missing/),
    expectExit2(['--tokenizer', folder(modelFolder('llama3', { 'tokenizer.json': '{"model": {' }))], /\/tokenizer\.json is not valid JSON/),
    expectExit2(['--tokenizer', folder(modelFolder('llama3', { 'tokenizer_config.json': '{]' }))], /\/tokenizer_config\.json is not valid JSON/),
    expectExit2(['--tokenizer', folder(modelFolder('llama3', { 'generation_config.json': { eos_token_id: 'x' } }))], /\/generation_config\.json: "eos_token_id"/),
    expectExit2(['--tokenizer', folder(llama3Folder()), '--chat-template', '/nonexistent/t.jinja'], /\/nonexistent\/t\.jinja is missing/),
    expectExit2(['--chat-template', '/nonexistent/t.jinja'], /--chat-template needs --tokenizer/),
    expectExit2(['--tokenizer', folder(llama3Folder()), '--vocab-size', '1000'], /--vocab-size\) 1000 differs from the tokenizer's vocabulary \(128256 ids\)/),
    expectExit2(['--max-model-len', '9000'], /--max-model-len\) 9000 exceeds the simulator's limit/),
    expectExit2(['--backend', 'trtllm', '--engine-dir', engineDir], /--backend trtllm needs the model's tokenizer: .* holds no tokenizer\.json; pass --tokenizer DIR/, ['--port', '0', '--http-port', '0']),
  ]);
});

test('serve --tokenizer on the simulator: the openai client, streaming and not, on Llama 3 text', async () => {
  const dir = folder(llama3Folder());
  const s = await spawnServe([...FAST, '--tokenizer', dir, '--model', 'llama-3']);
  assert.ok(!s.exited, `serve exited: ${JSON.stringify(s.exited)}`);
  try {
    const client = new OpenAI({ baseURL: `${s.api}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20_000 });
    const messages = [{ role: 'user', content: 'Say hello' }];
    const tk = await (await fetch(`${s.api}/tokenize`, { method: 'POST', body: JSON.stringify({ messages }) })).json();
    assert.deepEqual(tk.tokens.slice(0, 4), [128000, 128006, 882, 128007], '<|begin_of_text|><|start_header_id|>user<|end_header_id|>');
    const whole = await client.chat.completions.create({ model: 'llama-3', messages, max_tokens: 16, seed: 4 });
    assert.equal(whole.usage.prompt_tokens, tk.count);
    const stream = await client.chat.completions.create({ model: 'llama-3', messages, max_tokens: 16, seed: 4, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, whole.choices[0].message.content);
    const completion = await client.completions.create({ model: 'llama-3', prompt: 'Hello world', max_tokens: 3 });
    assert.equal(completion.usage.prompt_tokens, 2);
  } finally {
    s.child.kill('SIGTERM');
    const { code } = await s.done;
    assert.equal(code, 0);
  }
});
