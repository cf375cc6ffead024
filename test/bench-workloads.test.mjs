// bench workloads as vLLM and aiperf define them: random (--random-input-len, --random-range-ratio,
// --random-prefix-len), prefix_repetition, custom, and mooncake_trace, whose equal hash_ids are equal token
// blocks, so the trace's prefix sharing shows as cached tokens on the simulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { Workload, tokensToText } = require('../dist/bench/workload.js');
const { parseTrace } = require('../dist/bench/trace.js');
const { DatasetError } = require('../dist/bench/dataset.js');
const { parseDistribution } = require('../dist/bench/distributions.js');
const { parseBenchArgs } = require('../dist/bench/options.js');
const { startWorker } = await import('./helpers/worker-fixtures.mjs');
const { tempDir, bench } = await import('./helpers/bench-fixtures.mjs');


const fixed = parseDistribution('fixed:1');

test('random: vLLM lengths [floor(L (1 - r)), ceil(L (1 + r))], the general --input-len, a prefix on every prompt', () => {
  const o = parseBenchArgs(['--random-input-len', '1000', '--random-output-len', '100', '--random-range-ratio', '0.25', '--random-prefix-len', '64']);
  assert.deepEqual(o.inputLen, { kind: 'uniform', min: 750, max: 1250 });
  assert.deepEqual(o.outputLen, { kind: 'uniform', min: 75, max: 125 });
  assert.deepEqual(o.prefixShare, { fraction: 1, tokens: 64 });
  assert.equal(o.datasetName, 'random');
  // vLLM's general --input-len N is --random-input-len N; our distributions still work without a ratio.
  assert.deepEqual(parseBenchArgs(['--input-len', '333', '--random-range-ratio', '0.5']).inputLen, { kind: 'uniform', min: 166, max: 500 });
  assert.deepEqual(parseBenchArgs(['--input-len', 'normal:300:20']).inputLen, { kind: 'normal', mean: 300, stddev: 20 });
  assert.deepEqual(parseBenchArgs(['--random-output-len', '1', '--random-range-ratio', '0.9']).outputLen, { kind: 'uniform', min: 1, max: 2 }, 'at least 1 token');
  const w = new Workload({ numRequests: 3000, seed: 1, requestRate: Infinity, inputLen: o.inputLen, outputLen: o.outputLen, prefixShare: o.prefixShare });
  const lens = [...w.inputLens];
  assert.equal(Math.min(...lens), 64 + 750);
  assert.equal(Math.max(...lens), 64 + 1250);
  const p0 = w.promptTokens(0);
  for (const i of [1, 2, 2999]) assert.deepEqual(w.promptTokens(i).subarray(0, 64), p0.subarray(0, 64));
});

test('prefix_repetition: P prefixes of prefix_len tokens, num_prompts / P requests each, own suffixes', () => {
  const pr = { prefixLen: 96, suffixLen: 32, numPrefixes: 4, outputLen: 12 };
  const w = new Workload({ numRequests: 40, seed: 3, requestRate: Infinity, inputLen: fixed, outputLen: fixed, prefixRepetition: pr });
  assert.ok(w.inputLens.every((v) => v === 128));
  assert.ok(w.outputLens.every((v) => v === 12));
  const groups = new Map();
  for (let i = 0; i < 40; i++) {
    const p = w.promptTokens(i);
    const key = p.subarray(0, 96).join(',');
    groups.set(key, (groups.get(key) ?? []).concat(i));
  }
  assert.equal(groups.size, 4);
  for (const members of groups.values()) {
    assert.equal(members.length, 10);
    // Suffixes are each request's own.
    const suffixes = new Set(members.map((i) => w.promptTokens(i).subarray(96).join(',')));
    assert.equal(suffixes.size, 10);
  }
  // Shuffled: the first four requests are not simply one per prefix in order.
  assert.deepEqual(new Workload({ numRequests: 40, seed: 3, requestRate: Infinity, inputLen: fixed, outputLen: fixed, prefixRepetition: pr }).promptTokens(7), w.promptTokens(7));
  assert.throws(() => parseBenchArgs(['--dataset-name', 'prefix_repetition', '--num-prompts', '3']), /--prefix-repetition-num-prefixes \(10\) must be <= --num-prompts \(3\)/);
});

test('mooncake_trace: parsed and sorted by timestamp; equal hash_ids give equal blocks; timestamps are arrivals', () => {
  const text = [
    '{"timestamp": 500, "input_length": 100, "output_length": 5, "hash_ids": [7, 8]}',
    '{"timestamp": 0, "input_length": 130, "output_length": 3, "hash_ids": [7, 9, 10]}',
    '',
    '{"timestamp": 1500, "input_length": 40, "output_length": 2, "hash_ids": [7]}',
    '{"timestamp": 2000, "input_length": 200, "output_length": 2, "hash_ids": [11]}',
  ].join('\n');
  const trace = parseTrace(text, 't.jsonl');
  assert.deepEqual(trace.entries.map((e) => e.timestampMs), [0, 500, 1500, 2000]);
  const w = new Workload({ numRequests: 4, seed: 2, requestRate: Infinity, inputLen: fixed, outputLen: fixed, trace, traceBlockSize: 64 });
  assert.deepEqual(Array.from(w.arrivals), [0, 0.5, 1.5, 2]);
  assert.deepEqual(Array.from(w.inputLens), [130, 100, 40, 200]);
  assert.deepEqual(Array.from(w.outputLens), [3, 5, 2, 2]);
  const [a, b, c, d] = [0, 1, 2, 3].map((i) => w.promptTokens(i));
  assert.equal(a.length, 130);
  assert.deepEqual(a.subarray(0, 64), b.subarray(0, 64), 'hash id 7: the same 64 tokens');
  assert.notDeepEqual(a.subarray(64, 128), b.subarray(64, 100), 'hash ids 9 and 8 differ');
  assert.deepEqual(c, a.subarray(0, 40), 'a last block is cut to the input length');
  assert.equal(d.length, 200, 'tokens beyond the hash ids are the request own');
  // The same trace and seed give the same prompts; text prompts (chat) keep equal blocks equal.
  const again = new Workload({ numRequests: 4, seed: 2, requestRate: Infinity, inputLen: fixed, outputLen: fixed, trace, traceBlockSize: 64 });
  assert.deepEqual(again.promptTokens(3), d);
  assert.equal(tokensToText(a).slice(0, 64), tokensToText(b).slice(0, 64));
  // --no-self-timed: the arrival process instead of the timestamps.
  const untimed = new Workload({ numRequests: 4, seed: 2, requestRate: Infinity, inputLen: fixed, outputLen: fixed, trace, selfTimed: false });
  assert.deepEqual(Array.from(untimed.arrivals), [0, 0, 0, 0]);
  assert.throws(() => parseTrace('{"timestamp": 1, "input_length": 0}', 'bad.jsonl'), (e) => e instanceof DatasetError && /bad\.jsonl:1: input_length/.test(e.message));
  assert.throws(() => parseTrace('{"input_length": 5, "hash_ids": [1, -2]}', 'h.jsonl'), /h\.jsonl:1: hash_ids\[1\]/);
  assert.throws(() => parseTrace('{"input_length": 5, "timestamp": "soon"}', 'ts.jsonl'), /ts\.jsonl:1: timestamp/);
});

// Requests far apart on the simulated clock: each finds the blocks of the ones before it in the KV cache.
const TRACE = [
  '{"timestamp": 0, "input_length": 256, "output_length": 4, "hash_ids": [1, 2, 3, 4]}',
  '{"timestamp": 10000, "input_length": 256, "output_length": 4, "hash_ids": [1, 2, 3, 5]}',
  '{"timestamp": 20000, "input_length": 150, "output_length": 4, "hash_ids": [1, 2, 6]}',
  '{"timestamp": 30000, "input_length": 64, "output_length": 4, "hash_ids": [9]}',
].join('\n');
// Trace blocks of 64 tokens, simulator blocks of 32: request 2 reuses hash ids 1-3 (192 tokens), request 3
// hash ids 1-2 (128 tokens); requests 1 and 4 share nothing. Cached tokens: 192 + 128.
const EXPECTED_CACHED = 320;

test('mooncake_trace on the simulator: the trace prefix sharing is its cached tokens', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'trace.jsonl');
  writeFileSync(file, TRACE);
  const r = await bench(['--dataset-name', 'mooncake_trace', '--dataset-path', file, '--trace-block-size', '64', '--tokens-per-block', '32', '--virtual-clock', '--quiet', '--json', join(dir, 'r.json'), '--dump-records', join(dir, 'd.jsonl')]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
  assert.equal(report.config.dataset_name, 'mooncake_trace');
  assert.equal(report.requests.completed, 4, 'one request per trace entry');
  assert.equal(report.engine.cached_tokens, EXPECTED_CACHED);
  const lines = readFileSync(join(dir, 'd.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const arrivals = lines.map((l) => l.timing_metrics.arrival_time).sort((x, y) => x - y);
  assert.deepEqual(arrivals.map((a) => Math.round((a - arrivals[0]) * 1000)), [0, 10000, 20000, 30000], 'replayed on the timestamps (simulated clock)');
  assert.deepEqual(lines.map((l) => l.cached_tokens).sort((x, y) => x - y), [0, 0, 128, 192]);
  // A trace file is recognized without --dataset-name.
  const auto = await bench(['--dataset-path', file, '--trace-block-size', '64', '--virtual-clock', '--quiet', '--json', join(dir, 'a.json')]);
  assert.equal(auto.code, 2, 'the trace flags need --dataset-name mooncake_trace');
  assert.match(auto.stderr, /--trace-block-size applies to --dataset-name mooncake_trace/);
});

test('mooncake_trace against our server: cached_tokens in the usage, chat as well as completions', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'trace.jsonl');
  // On a real clock the gaps are scaled down: 10 s apart is long; 150 ms apart is enough at speedup 20.
  writeFileSync(file, TRACE.replace(/"timestamp": (\d+)/g, (_m, ts) => `"timestamp": ${Number(ts) / 100}`));
  const w = await startWorker({ sim: { tokensPerBlock: 32 } });
  t.after(() => w.stop());
  for (const endpoint of ['/v1/completions', '/v1/chat/completions']) {
    const r = await bench(['--base-url', w.api, '--endpoint', endpoint, '--dataset-name', 'mooncake_trace', '--dataset-path', file, '--trace-block-size', '64', '--quiet', '--json', join(dir, 'r.json')]);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
    assert.equal(report.requests.completed, 4);
    assert.equal(report.config.endpoint, endpoint);
    if (endpoint === '/v1/completions') assert.equal(report.client.cached_tokens, EXPECTED_CACHED);
    // Chat prompts are text behind the server's chat template (the same for every request), so the shared
    // blocks are shifted by the template's header: at least the whole blocks inside the shared text are cached.
    else assert.ok(report.client.cached_tokens >= 192, `chat cached tokens ${report.client.cached_tokens}`);
  }
});

test('custom: JSONL of {"prompt"} lines, --custom-output-len tokens each (vLLM default 256)', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'custom.jsonl');
  writeFileSync(file, '{"prompt": "What is the capital of India?"}\n{"prompt": "And of Iran?"}\n');
  const o = parseBenchArgs(['--dataset-name', 'custom', '--dataset-path', file]);
  assert.deepEqual(o.outputLen, { kind: 'fixed', value: 256 });
  assert.deepEqual(parseBenchArgs(['--dataset-name', 'custom', '--dataset-path', file, '--custom-output-len', '9']).outputLen, { kind: 'fixed', value: 9 });
  const r = await bench(['--dataset-name', 'custom', '--dataset-path', file, '--num-prompts', '4', '--custom-output-len', '3', '--virtual-clock', '--quiet', '--json', join(dir, 'r.json')]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
  assert.equal(report.engine.output_tokens, 12);
  // --no-oversample: each entry once.
  const once = await bench(['--dataset-name', 'custom', '--dataset-path', file, '--num-prompts', '4', '--no-oversample', '--virtual-clock', '--quiet', '--json', join(dir, 'o.json')]);
  assert.equal(once.code, 0, once.stderr);
  assert.equal(JSON.parse(readFileSync(join(dir, 'o.json'), 'utf8')).requests.completed, 2);
  writeFileSync(join(dir, 'lengths.jsonl'), '{"prompt_len": 4, "output_len": 2}\n');
  const bad = await bench(['--dataset-name', 'custom', '--dataset-path', join(dir, 'lengths.jsonl'), '--quiet']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /custom dataset is JSONL of \{"prompt"/);
});
