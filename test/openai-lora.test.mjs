// LoRA adapters on the OpenAI API: `serve --lora-modules NAME=TASK_ID,...` serves them as models (vLLM's way),
// `lora_request` (trtllm-serve's extension) names one by task id, and /v1/models lists them; the KV events of
// their requests carry the task id as lora_id.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getJson, post, startWorker } from './helpers/worker-fixtures.mjs';
import { parseLoraModules } from '../dist/openai/lora.js';

test('--lora-modules syntax: NAME=TASK_ID pairs, errors name the entry', () => {
  assert.deepEqual([...parseLoraModules('sql=1, chat=22')], [['sql', 1], ['chat', 22]]);
  assert.throws(() => parseLoraModules('sql'), /--lora-modules: "sql" must be NAME=TASK_ID/);
  assert.throws(() => parseLoraModules('sql=-1'), /"sql=-1" must be NAME=TASK_ID/);
  assert.throws(() => parseLoraModules('a=1,a=2'), /adapter "a" is listed twice/);
});

test('adapters as models: /v1/models, requests by name or lora_request, lora_id in the KV events', async (t) => {
  const w = await startWorker({ loraModules: 'sql=1,chat=2' });
  t.after(() => w.stop());
  const models = await getJson(`${w.api}/v1/models`);
  assert.deepEqual(models.json.data.map((m) => [m.id, m.parent ?? null]), [['test-model', null], ['sql', 'test-model'], ['chat', 'test-model']]);
  assert.equal((await getJson(`${w.api}/v1/models/sql`)).json.root, 'lora:1');
  assert.equal((await getJson(`${w.api}/v1/models/nope`)).status, 404);

  const prompt = 'x'.repeat(80);
  for (const body of [
    { model: 'sql', prompt, max_tokens: 2 },
    { model: 'test-model', prompt, max_tokens: 2, lora_request: { lora_name: 'other', lora_int_id: 5, lora_path: '/unused' } },
    { model: 'test-model', prompt, max_tokens: 2 },
  ]) {
    const r = await post(`${w.api}/v1/completions`, body);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.model, body.model);
  }
  const events = (await getJson(`${w.api}/kv_cache_events`)).json;
  const loras = new Set(events.filter((e) => e.data.type === 'stored').flatMap((e) => e.data.blocks.map((b) => b.lora_id)));
  assert.deepEqual([...loras].sort(), ['1', '5', null].sort(), 'the task ids (decimal strings, like hashes) and none for the base model');

  const wrongId = await post(`${w.api}/v1/completions`, { model: 'test-model', prompt, lora_request: { lora_name: 'sql', lora_int_id: 9 } });
  assert.equal(wrongId.status, 400);
  assert.match(wrongId.json.error.message, /adapter "sql" has task id 1, not 9/);
  const unknownField = await post(`${w.api}/v1/completions`, { model: 'test-model', prompt, lora_request: { lora_int_id: 1, scale: 2 } });
  assert.equal(unknownField.status, 400);
  assert.equal(unknownField.json.error.param, 'lora_request.scale');
  const unknownModel = await post(`${w.api}/v1/completions`, { model: 'sqlx', prompt });
  assert.equal(unknownModel.status, 404);
});
