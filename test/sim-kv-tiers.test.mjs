// The simulator's host KV tier, LoRA adapters and attention data parallelism through the package: the KV events
// and iteration stats TensorRT-LLM emits for them (cache_level diffs, lora_id, attention_dp_rank,
// kvCacheIterationStats), engine.simInfo(), and what the metrics make of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { sample } from './helpers/metrics-fixtures.mjs';

const require = createRequire(import.meta.url);
const { Engine, MetricsCollector } = require('../dist/index.js');

const tokens = (n, base) => Array.from({ length: n }, (_, i) => base + i);

async function engine(t, sim, executorConfig = {}) {
  const e = await Engine.create({
    sim: { virtualClock: true, outputLengthMode: 'maxTokens', tokensPerBlock: 4, vocabSize: 100000, ...sim },
    executorConfig: { ...executorConfig, kvCacheConfig: { eventBufferMaxSize: 10000, ...executorConfig.kvCacheConfig } },
    bridge: { statsIntervalMs: 10 },
  });
  t.after(() => e.shutdown());
  return e;
}

const storedBlocks = (events) => events.filter((e) => e.data.type === 'stored').flatMap((e) => e.data.blocks);
const levelMoves = (events) =>
  events.filter((e) => e.data.type === 'updated' && e.data.cache_level !== null).map((e) => [e.data.cache_level.old_value, e.data.cache_level.new_value]);

test('host tier: evicted blocks are offloaded and onboarded again, with the events and stats TensorRT-LLM emits', async (t) => {
  const blockBytes = 1 << 20;
  const e = await engine(t, { numKvBlocks: 16, kvBytesPerBlock: blockBytes }, { kvCacheConfig: { hostCacheSize: 8 * blockBytes } });
  const collector = new MetricsCollector({ model_name: 'm' });
  collector.attach(e);
  t.after(() => collector.close());
  assert.equal(e.simInfo().numHostKvBlocks, 8);
  const a = tokens(48, 0);
  await e.complete({ inputTokenIds: a, maxTokens: 1 });
  await e.complete({ inputTokenIds: tokens(48, 5000), maxTokens: 1 }); // evicts a's blocks to the host
  const again = await e.complete({ inputTokenIds: a, maxTokens: 1, returnPerfMetrics: true });
  assert.equal(again.perfMetrics.kvCacheMetrics.numReusedBlocks, 11);
  await e.flush();
  const events = await e.getLatestKvCacheEvents();
  assert.deepEqual(events[0].data, { type: 'created', num_blocks_per_cache_level: [16, 8] });
  const moves = levelMoves(events);
  assert.ok(moves.filter(([o, n]) => o === 0 && n === 1).length >= 8, 'offloads: cache_level 0 -> 1');
  assert.equal(moves.filter(([o, n]) => o === 1 && n === 0).length, 7, 'onboards: cache_level 1 -> 0');
  for (const block of storedBlocks(events)) assert.equal(block.cache_level, 0, 'blocks are stored on the GPU');
  const stats = await e.getLatestIterationStats();
  const tier = stats.map((s) => s.kvCacheIterationStats['8192']);
  assert.equal(tier.reduce((n, k) => n + k.iterOnboardBlocks, 0), 7);
  assert.ok(tier.every((k) => k.iterOnboardBytes === k.iterOnboardBlocks * blockBytes && k.secondaryMaxNumBlocks === 8));
  assert.ok(tier.some((k) => k.secondaryUsedNumBlocks === 8), 'the host tier filled up');
  assert.ok(stats.every((s) => s.pinnedMemUsage === 256 * 2 ** 20 + 8 * blockBytes), 'the host tier is pinned memory');
  // The metrics count every block-level move (issue 17 adds the onboard/offload byte families).
  const text = await collector.registry.metrics();
  assert.equal(sample(text, 'trtllm_kv_cache_blocks_updated_total', { model_name: 'm' }), moves.length);
  assert.equal(sample(text, 'trtllm_kv_event_id_gap_events_total', { model_name: 'm' }) ?? 0, 0);
});

test('host tier: it needs block reuse', async () => {
  await assert.rejects(
    Engine.create({ executorConfig: { kvCacheConfig: { hostCacheSize: 1 << 30, enableBlockReuse: false } } }),
    { code: 'ERR_TRTLLM_INVALID_ARGUMENT', message: /options\.executorConfig\.kvCacheConfig\.hostCacheSize needs block reuse/ },
  );
});

test('LoRA: the adapter is part of the block identity, events carry lora_id, the cache is listed', async (t) => {
  const e = await engine(t, { numKvBlocks: 256, lora: { maxAdapters: 2 } });
  const prompt = tokens(16, 100);
  await e.complete({ inputTokenIds: prompt, maxTokens: 2, loraConfig: { taskId: 1 } });
  await e.complete({ inputTokenIds: prompt, maxTokens: 2, loraConfig: { taskId: 2 } });
  const third = await e.complete({ inputTokenIds: [...prompt, 7], maxTokens: 2, loraConfig: { taskId: 1 }, returnPerfMetrics: true });
  assert.equal(third.perfMetrics.kvCacheMetrics.numReusedBlocks, 4, 'reuse under the same adapter');
  const base = await e.complete({ inputTokenIds: [...prompt, 7], maxTokens: 2, returnPerfMetrics: true });
  assert.equal(base.perfMetrics.kvCacheMetrics.numReusedBlocks, 0, 'none without it');
  await e.flush();
  const blocks = storedBlocks(await e.getLatestKvCacheEvents());
  const byLora = (id) => blocks.filter((b) => b.lora_id === id);
  assert.equal(byLora(1n).length, 4);
  assert.equal(byLora(2n).length, 4);
  assert.equal(byLora(null).length, 4);
  assert.notEqual(byLora(1n)[0].block_hash, byLora(2n)[0].block_hash, 'the same tokens under two adapters are two blocks');
  assert.deepEqual(e.simInfo().loraAdapters, [{ rank: 0, taskId: 1 }, { rank: 0, taskId: 2 }]);
  assert.throws(() => e.generate({ inputTokenIds: prompt, maxTokens: 1, loraConfig: { taskId: -1 } }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT', message: /request\.loraConfig\.taskId/ });
  assert.throws(() => e.generate({ inputTokenIds: prompt, maxTokens: 1, loraConfig: {} }), { message: /request\.loraConfig\.taskId is required/ });
});

test('attention DP: ranks with their own pools, per-rank stats and event ids, engine totals in the metrics', async (t) => {
  const e = await engine(t, { numKvBlocks: 64, attentionDp: 2 });
  const collector = new MetricsCollector({ model_name: 'm' });
  collector.attach(e);
  t.after(() => collector.close());
  assert.equal(e.simInfo().attentionDp, 2);
  // Held while enqueueing: the first iteration sees all four requests.
  e.holdSimClock();
  const runs = [];
  for (let i = 0; i < 4; i++) runs.push(e.complete({ inputTokenIds: tokens(16, 1000 * i), maxTokens: 50 }));
  e.resumeSimClock();
  await Promise.all(runs);
  await e.flush();
  const text = await collector.registry.metrics();
  // One stats row per rank and iteration; the gauges add the ranks up.
  const stats = await e.getLatestIterationStats();
  assert.ok(stats.length > 0 && stats.every((s) => s.attentionDpRank === 0 || s.attentionDpRank === 1));
  const byIter = new Map();
  for (const s of stats) byIter.set(s.iter, [...(byIter.get(s.iter) ?? []), s.attentionDpRank]);
  for (const ranks of byIter.values()) assert.deepEqual(ranks.sort(), [0, 1]);
  assert.equal(stats[0].numActiveRequests, 2, 'two requests per rank');
  assert.equal(sample(text, 'trtllm_kv_cache_max_blocks', { model_name: 'm' }), 128, 'both ranks\' pools');
  const events = await e.getLatestKvCacheEvents();
  for (const rank of [0, 1]) {
    const ids = events.filter((ev) => ev.attention_dp_rank === rank).map((ev) => ev.event_id);
    assert.deepEqual(ids, ids.map((_, i) => i), `rank ${rank}: its own ids from 0`);
  }
  assert.equal(sample(text, 'trtllm_kv_event_id_gap_events_total', { model_name: 'm' }) ?? 0, 0);
  assert.equal(sample(text, 'trtllm_num_requests_completed_total', { model_name: 'm' }), 4);
  assert.equal(sample(text, 'trtllm_kv_cache_missed_blocks_total', { model_name: 'm' }), 16, 'each rank\'s cumulative counter, added once');
});
