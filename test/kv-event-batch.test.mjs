// KV-cache events cross into JS packed (native/bridge/kv_event_layout.h) and become objects only when asked:
// the objects of every event type, slices, the bounded buffer of getLatestKvCacheEvents(), and the metrics
// counted from the packed form agreeing with the objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Registry } from 'prom-client';

const require = createRequire(import.meta.url);
const { KvEventBatch } = require('../dist/kv-event-batch.js');
const { KvEventBuffer } = require('../dist/kv-event-buffer.js');
const { KV_EVENT_STRIDE, KV_BLOCK_STRIDE, KvEventField: E, KvBlockField: B, KvEventType } = require('../dist/native.js');
const { Engine, MetricsCollector } = require('../dist/index.js');

const BIG = 0xfedcba9876543210n;

/** A delivery of four events, one of each type, written the way native/napi/kv_events_to_js.h writes them. */
function packed({ extra = false } = {}) {
  const meta = new Float64Array(4 * KV_EVENT_STRIDE).fill(NaN);
  const row = (i, fields) => {
    for (const [k, v] of Object.entries(fields)) meta[i * KV_EVENT_STRIDE + E[k]] = v;
  };
  row(0, { EVENT_ID: 1, TYPE: KvEventType.created, WINDOW_SIZE: 4096, DP_RANK: -1, PARENT_HASH: -1, FIRST: 0, COUNT: 2 });
  row(1, { EVENT_ID: 2, TYPE: KvEventType.stored, WINDOW_SIZE: 4096, DP_RANK: 3, PARENT_HASH: 0, FIRST: 0, COUNT: 2 });
  row(2, { EVENT_ID: 3, TYPE: KvEventType.removed, WINDOW_SIZE: 4096, DP_RANK: -1, PARENT_HASH: -1, FIRST: 4, COUNT: 2 });
  row(3, { EVENT_ID: 4, TYPE: KvEventType.updated, WINDOW_SIZE: 4096, DP_RANK: -1, PARENT_HASH: -1, FIRST: 6, COUNT: 1, PRIORITY_OLD: 35, PRIORITY_NEW: 90 });
  const blocks = new Float64Array(2 * KV_BLOCK_STRIDE);
  blocks.set([1, 0, 2, 2, 0, 35], 0); // hash 1, tokens [0, 2), LoRA id at 2
  blocks.set([3, 2, 1, -1, 1, 50], KV_BLOCK_STRIDE); // hash 3, tokens [2, 3), no LoRA
  return {
    meta,
    blocks,
    hashes: BigUint64Array.of(7n, BIG, 5n, 11n, 21n, 22n, 31n),
    tokens: Int32Array.of(100, 101, 102),
    extraIds: extra ? BigUint64Array.of(0n, 9n, 0n) : new BigUint64Array(0),
    levels: Float64Array.of(4096, 0),
  };
}

test('every event type becomes the Python event JSON shape, hashes and LoRA ids as BigInt', () => {
  const b = new KvEventBatch(packed({ extra: true }));
  assert.equal(b.length, 4);
  assert.deepEqual(b.toEvents(), [
    { event_id: 1, data: { type: 'created', num_blocks_per_cache_level: [4096, 0] }, window_size: 4096 },
    {
      event_id: 2,
      data: {
        type: 'stored',
        parent_hash: 7n,
        blocks: [
          {
            type: 'stored_block',
            block_hash: BIG,
            tokens: [
              { type: 'unique_token', token_id: 100, token_extra_id: 0n },
              { type: 'unique_token', token_id: 101, token_extra_id: 9n },
            ],
            lora_id: 5n,
            cache_level: 0,
            priority: 35,
          },
          { type: 'stored_block', block_hash: 11n, tokens: [{ type: 'unique_token', token_id: 102, token_extra_id: 0n }], lora_id: null, cache_level: 1, priority: 50 },
        ],
      },
      window_size: 4096,
      attention_dp_rank: 3,
    },
    { event_id: 3, data: { type: 'removed', block_hashes: [21n, 22n] }, window_size: 4096 },
    { event_id: 4, data: { type: 'updated', block_hash: 31n, cache_level: null, priority: { type: 'event_diff', old_value: 35, new_value: 90 } }, window_size: 4096 },
  ]);
  assert.equal(new KvEventBatch(packed()).toEvents()[1].data.blocks[0].tokens[1].token_extra_id, 0n, 'no extra ids: all 0');
  assert.deepEqual([0, 1, 2, 3].map((i) => [b.eventId(i), b.type(i), b.blockCount(i), b.dpRank(i)]), [
    [1, 'created', 0, undefined],
    [2, 'stored', 2, 3],
    [3, 'removed', 2, undefined],
    [4, 'updated', 1, undefined],
  ]);
  assert.equal(b.toEvents(), b.toEvents(), 'built once, then shared');
  const tail = b.slice(2);
  assert.deepEqual(tail.toEvents(), b.toEvents().slice(2));
  assert.equal(tail.toEvents()[0], b.toEvents()[2], 'a slice shares the objects of its delivery');
  assert.equal(tail.eventId(0), 3);
});

test('the buffer keeps the newest events up to its capacity, counts what it drops, and builds objects on drain', () => {
  const buf = new KvEventBuffer(5);
  buf.push(new KvEventBatch(packed()));
  buf.push(new KvEventBatch(packed()));
  assert.equal(buf.size, 5);
  assert.equal(buf.dropped, 3);
  const events = buf.drain();
  assert.deepEqual(events.map((e) => e.event_id), [4, 1, 2, 3, 4]);
  assert.equal(buf.size, 0);
  assert.deepEqual(buf.drain(), []);
});

test("the engine's packed events, their objects and the metrics counted from either agree", async (t) => {
  const engine = await Engine.create({ modelName: 'm', sim: { virtualClock: true, outputLengthMode: 'maxTokens' }, executorConfig: { kvCacheConfig: { eventBufferMaxSize: 10_000 } } });
  t.after(() => engine.shutdown());
  const packedSeen = [];
  const objectsSeen = [];
  engine.onKvCacheEventBatch((b) => packedSeen.push(b));
  engine.onKvCacheEvents((events) => objectsSeen.push(...events));
  // A collector fed the engine (packed) and one fed the same events as objects (a source without batches).
  const viaBatches = new MetricsCollector({ model_name: 'm' }, { registry: new Registry() });
  viaBatches.attach(engine);
  let objectListener;
  const objectSource = { modelName: 'm', kvEventBufferCapacity: 0, ready: true, onRequestFinished: () => () => {}, onIterationStats: () => () => {}, onKvCacheEvents: (l) => ((objectListener = l), () => {}), counters: () => engine.counters() };
  const viaObjects = new MetricsCollector({ model_name: 'm' }, { registry: new Registry() });
  viaObjects.attach(objectSource);
  await Promise.all(Array.from({ length: 20 }, (_, i) => engine.complete({ inputTokenIds: Array.from({ length: 100 }, (_, k) => 1 + ((i * 7 + k) % 50)), maxTokens: 40 })));
  await engine.flush();
  objectListener(objectsSeen);
  assert.ok(objectsSeen.some((e) => e.data.type === 'stored'));
  assert.deepEqual(packedSeen.flatMap((b) => b.toEvents()), objectsSeen);
  // The buffer holds every event since the start; the listeners may have missed the first delivery ('created').
  const all = await engine.getLatestKvCacheEvents();
  assert.equal(all[0].data.type, 'created');
  assert.deepEqual(all.slice(all.length - objectsSeen.length), objectsSeen);
  const stored = objectsSeen.filter((e) => e.data.type === 'stored').reduce((n, e) => n + e.data.blocks.length, 0);
  const count = async (c) => (await c.registry.getSingleMetric('trtllm_kv_cache_blocks_stored_total').get()).values[0]?.value;
  assert.equal(await count(viaBatches), stored);
  assert.equal(await count(viaObjects), stored);
});

test('the fleet mapper makes the same wire batches from packed deliveries as from their objects (host tier, LoRA, removals)', async (t) => {
  const { KvEventMapper } = require('../dist/fleet/event-mapping.js');
  const blockBytes = 1 << 20;
  const e = await Engine.create({
    sim: { virtualClock: true, outputLengthMode: 'maxTokens', tokensPerBlock: 4, vocabSize: 100000, numKvBlocks: 16, kvBytesPerBlock: blockBytes, lora: { maxAdapters: 2 } },
    executorConfig: { kvCacheConfig: { eventBufferMaxSize: 10000, hostCacheSize: 8 * blockBytes } },
  });
  t.after(() => e.shutdown());
  const deliveries = [];
  e.onKvCacheEventBatch((batch) => deliveries.push(batch));
  const tokens = (n, base) => Array.from({ length: n }, (_, i) => base + i);
  const a = tokens(48, 0);
  await e.complete({ inputTokenIds: a, maxTokens: 1 });
  await e.complete({ inputTokenIds: tokens(48, 5000), maxTokens: 1 }); // evicts a's blocks to the host
  await e.complete({ inputTokenIds: a, maxTokens: 1 }); // onboards them
  await e.complete({ inputTokenIds: tokens(21, 9000), maxTokens: 2, loraConfig: { taskId: 1 } });
  await e.complete({ inputTokenIds: tokens(30, 20000), maxTokens: 2, loraConfig: { taskId: 2 } });
  await e.flush();
  const fromPacked = new KvEventMapper(4);
  const fromObjects = new KvEventMapper(4);
  const kinds = new Set();
  let wire = 0;
  for (const batch of deliveries) {
    const packedOut = fromPacked.map(batch, 1.5);
    assert.deepEqual(packedOut, fromObjects.map(batch.toEvents(), 1.5));
    for (const b of packedOut) for (const ev of b.events) kinds.add(`${ev.type}${ev.medium ? `:${ev.medium}` : ''}${ev.loraId ? ':lora' : ''}`);
    for (const b of packedOut) wire += b.events.length;
  }
  assert.deepEqual(fromPacked.counts, fromObjects.counts);
  for (const k of ['AllBlocksCleared', 'BlockStored:GPU', 'BlockStored:CPU', 'BlockRemoved:GPU', 'BlockRemoved:CPU', 'BlockStored:GPU:lora']) {
    assert.ok(kinds.has(k), `${k} among ${[...kinds].join(', ')}`);
  }
  assert.ok(wire >= 10, `${wire} wire events`);
});
