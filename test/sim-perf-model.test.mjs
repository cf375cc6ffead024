// The simulator's performance model through the package: --model-config NAME|FILE resolved in JS, the limits
// and KV capacity it picks (engine.simInfo()), its errors, and what bench reports with it. The formulas
// themselves are tested natively (native/tests/perf_model_test.cc); the calibration in sim-calibration.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { Engine } = require('../dist/index.js');
const { runBench } = require('../dist/bench/cli.js');
const { BUILTIN_MODEL_CONFIGS } = require('../dist/sim/model-config.js');

function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'perf-model-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function simInfo(perf, more = {}) {
  const engine = await Engine.create({ sim: { virtualClock: true, perf }, ...more });
  try {
    return engine.simInfo();
  } finally {
    await engine.shutdown();
  }
}

async function bench(args) {
  let stdout = '';
  let stderr = '';
  const code = await runBench(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

test('without --model-config the configured latencies run (REFERENCE.md section 5)', async () => {
  const engine = await Engine.create({ sim: { virtualClock: true } });
  const info = engine.simInfo();
  await engine.shutdown();
  assert.equal(info.timingModel, 'configured');
  assert.equal(info.numKvBlocks, 4096);
  assert.equal(info.maxBatchSize, 256);
  assert.equal(info.gpu, undefined);
});

test('a built-in model on a GPU: its limits, precisions and a KV capacity that grows with the GPU', async () => {
  const h100 = await simInfo({ modelConfig: 'llama-3.1-8b', quant: 'fp8' });
  assert.equal(h100.timingModel, 'perfModel');
  assert.equal(h100.gpu, 'h100');
  assert.equal(h100.tp, 1);
  assert.equal(h100.weightsPrecision, 'fp8');
  assert.equal(h100.kvCachePrecision, 'fp8', 'auto: fp8 with fp8 weights');
  // trtllm-bench's heuristic for the default target lengths (1024/1024).
  assert.equal(h100.maxBatchSize, 640);
  assert.equal(h100.maxNumTokens, 2048);
  assert.equal(h100.kvBytesPerBlock, 32 * 2 * 32 * 8 * 128, '32 tokens of 2 x 32 layers x 8 KV heads x 128 dims x 1 byte');
  const h200 = await simInfo({ modelConfig: 'llama-3.1-8b', quant: 'fp8', gpu: 'h200' });
  assert.ok(h200.numKvBlocks > 1.8 * h100.numKvBlocks, `${h200.numKvBlocks} vs ${h100.numKvBlocks}`);
  const bf16 = await simInfo({ modelConfig: 'llama-3.1-8b' });
  assert.equal(bf16.kvCachePrecision, 'bf16');
  assert.ok(bf16.numKvBlocks < h100.numKvBlocks / 1.8, 'a 16-bit cache holds half the tokens in less memory');
  const tp2 = await simInfo({ modelConfig: 'llama-3.1-70b', quant: 'fp8', tp: 2 });
  assert.equal(tp2.tp, 2);
  const given = await simInfo({ modelConfig: 'llama-3.1-8b', quant: 'fp8' }, { executorConfig: { maxBatchSize: 32, maxNumTokens: 4096 } });
  assert.equal(given.maxBatchSize, 32, 'given limits win over the heuristic');
  assert.equal(given.maxNumTokens, 4096);
});

test('a Hugging Face config.json gives the same model as the built-in name', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'config.json');
  // A config as Hugging Face publishes it (extra fields ignored; head_dim derived when absent).
  const { head_dim: _unused, ...hf } = BUILTIN_MODEL_CONFIGS['llama-3.1-8b'];
  writeFileSync(file, JSON.stringify({ architectures: ['LlamaForCausalLM'], torch_dtype: 'bfloat16', rope_theta: 500000, ...hf }));
  assert.deepEqual(await simInfo({ modelConfig: file, quant: 'fp8' }), await simInfo({ modelConfig: 'llama-3.1-8b', quant: 'fp8' }));
  // Multimodal configs keep the language model under text_config.
  writeFileSync(file, JSON.stringify({ model_type: 'mllama', text_config: BUILTIN_MODEL_CONFIGS['llama-3.1-8b'] }));
  assert.equal((await simInfo({ modelConfig: file, quant: 'fp8' })).numKvBlocks, (await simInfo({ modelConfig: 'llama-3.1-8b', quant: 'fp8' })).numKvBlocks);
});

test('bad models and settings are errors that name the problem', async (t) => {
  const dir = tempDir(t);
  const rejects = (options, pattern) => assert.rejects(Engine.create(options), (err) => pattern.test(err.message) || assert.fail(err.message));
  await rejects({ sim: { perf: { modelConfig: 'llama-9' } } }, /options\.sim\.perf\.modelConfig: "llama-9" is neither a built-in model \(llama-3\.1-8b, llama-3\.1-70b, llama-3\.1-405b\) nor a readable config\.json \(ENOENT\)/);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"hidden_size": 4096,');
  await rejects({ sim: { perf: { modelConfig: bad } } }, /is not valid JSON/);
  writeFileSync(bad, JSON.stringify({ ...BUILTIN_MODEL_CONFIGS['llama-3.1-8b'], intermediate_size: undefined }));
  await rejects({ sim: { perf: { modelConfig: bad } } }, /"intermediate_size" must be a positive integer \(missing\)/);
  writeFileSync(bad, JSON.stringify({ ...BUILTIN_MODEL_CONFIGS['llama-3.1-8b'], num_key_value_heads: 5 }));
  await rejects({ sim: { perf: { modelConfig: bad } } }, /must be a multiple of "num_key_value_heads" \(5\)/);
  await rejects({ sim: { perf: { gpu: 'h200' } } }, /options\.sim\.perf\.gpu needs options\.sim\.perf\.modelConfig/);
  await rejects({ sim: { perf: { modelConfig: 'llama-3.1-8b', gpu: 'h300' } } }, /options\.sim\.perf\.gpu must be one of/);
  // What only the model can tell: the executor's configuration error (ERR_TRTLLM_EXECUTOR).
  await assert.rejects(Engine.create({ sim: { perf: { modelConfig: 'llama-3.1-8b', quant: 'fp8', gpu: 'a100' } } }), {
    code: 'ERR_TRTLLM_EXECUTOR',
    message: /Invalid simulator configuration: a100 has no fp8 tensor cores/,
  });
  await assert.rejects(Engine.create({ sim: { perf: { modelConfig: 'llama-3.1-405b', quant: 'fp8', tp: 2 } } }), {
    message: /the model does not fit: .* GiB of weights/,
  });
});

test('bench: performance-model flags, the limits it picked in the notes, and usage errors', async (t) => {
  const dir = tempDir(t);
  const json = join(dir, 'report.json');
  const r = await bench(['--virtual-clock', '--gpu', 'h100', '--model-config', 'llama-3.1-8b', '--quant', 'fp8', '--tp', '1',
    '--input-len', 'fixed:1000', '--output-len', 'fixed:200', '--num-requests', '200', '--json', json, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(json, 'utf8'));
  assert.ok(report.engine.output_token_throughput > 0);
  assert.equal(report.engine.output_tokens, 200 * 200);
  const note = report.notes.find((n) => n.startsWith('performance model:'));
  // The heuristic sized for the workload's mean lengths (1000 / 200).
  assert.match(note, /^performance model: llama-3\.1-8b fp8 \(KV fp8\) on 1x h100: maxBatchSize \d+, maxNumTokens \d+, \d+ KV blocks of 32 tokens$/);
  const gpuOnly = await bench(['--gpu', 'h200', '--num-requests', '1']); // h100, the default, passes
  assert.equal(gpuOnly.code, 2);
  assert.equal(gpuOnly.stderr, 'trtllm-metrics bench: --gpu needs --model-config (the performance model needs a model)\n');
  const badQuant = await bench(['--model-config', 'llama-3.1-8b', '--quant', 'int3', '--num-requests', '1']);
  assert.equal(badQuant.code, 2);
  assert.match(badQuant.stderr, /^trtllm-metrics bench: --quant must be one of bf16, fp16, fp8, fp4/);
});

test('shapes that look like a GPU: throughput rises then saturates, TPOT and TTFT rise with load', async (t) => {
  const dir = tempDir(t);
  const points = [];
  for (const concurrency of [1, 16, 256, 1024]) {
    const json = join(dir, `c${concurrency}.json`);
    const r = await bench(['--virtual-clock', '--model-config', 'llama-3.1-8b', '--quant', 'fp8', '--concurrency', String(concurrency),
      '--input-len', 'fixed:512', '--output-len', 'fixed:128', '--num-requests', String(Math.max(64, 2 * concurrency)), '--json', json, '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const e = JSON.parse(readFileSync(json, 'utf8')).engine;
    points.push({ concurrency, throughput: e.output_token_throughput, tpot: e.tpot_s.mean, ttft: e.ttft_s.mean });
  }
  t.diagnostic(JSON.stringify(points));
  for (let i = 1; i < points.length; i++) {
    assert.ok(points[i].tpot > points[i - 1].tpot, `TPOT rises with the batch: ${JSON.stringify(points)}`);
    assert.ok(points[i].ttft > points[i - 1].ttft, `TTFT rises with load: ${JSON.stringify(points)}`);
  }
  assert.ok(points[1].throughput > 8 * points[0].throughput, 'batching multiplies throughput');
  const [, , c256, c1024] = points;
  assert.ok(c1024.throughput < 1.5 * c256.throughput, 'and saturates');
});
