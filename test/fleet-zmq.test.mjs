// KV events over ZeroMQ in vLLM's format (lib/fleet): 3-frame messages with a big-endian seq from 0, the
// replay socket, a subscriber restart whose gap the replay fills exactly, a subscriber that stops reading
// (drops counted, generation goes on), and a Python subscriber (python3-zmq) reading a live worker.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import zmq from 'zeromq';
import { pythonMissing, pythonSubscriber, stored, storedBlock } from './helpers/fleet-fixtures.mjs';
import { eventually, sample, scrape, startWorker } from './helpers/worker-fixtures.mjs';

const require = createRequire(import.meta.url);
const { Engine, KvEventPublisher, KvEventSubscriber, decodeBatch } = require('../dist/index.js');

/** One delivery of `n` stored blocks of 4 tokens, chained from `first`. */
function delivery(first, n = 1) {
  const blocks = [];
  for (let i = 0; i < n; i++) blocks.push(storedBlock(BigInt(first + i), [first + i, 1, 2, 3]));
  return [stored(first > 0 ? BigInt(first - 1) : null, blocks)];
}

const subscribed = (pub) => pub.counters().transports.zmq.subscriptions > 0;

async function take(iter, n, kinds = ['batch']) {
  const out = [];
  for await (const item of iter) {
    if (kinds.includes(item.kind)) out.push(item);
    if (out.filter((i) => i.kind === 'batch').length >= n) break;
  }
  return out;
}

describe('the ZeroMQ publisher', () => {
  test('every message is [topic, 8-byte big-endian seq from 0, EventBatch]; the topic template takes pod and model', async () => {
    const pub = await KvEventPublisher.start({ endpoint: 'tcp://127.0.0.1:*', blockSize: 4, topic: 'kv@{pod}@{model}', podId: 'pod-a', modelName: 'llama' });
    const sub = new zmq.Subscriber();
    sub.connect(pub.endpoint);
    sub.subscribe('kv@');
    try {
      await eventually(() => subscribed(pub), 5000, 'the subscription');
      for (let i = 0; i < 3; i++) pub.publish(delivery(i * 10, 2));
      for (let i = 0; i < 3; i++) {
        const frames = await sub.receive();
        assert.equal(frames.length, 3);
        assert.equal(frames[0].toString(), 'kv@pod-a@llama');
        assert.equal(frames[1].length, 8);
        assert.equal(frames[1].readBigUInt64BE(), BigInt(i));
        const batch = decodeBatch(frames[2]);
        assert.deepEqual(batch.events[0].blockHashes, [BigInt(i * 10), BigInt(i * 10 + 1)]);
      }
      await pub.flush();
      const c = pub.counters().transports.zmq;
      assert.deepEqual([c.produced, c.published, c.publishedBlocks, c.lastSeq, c.queued], [3, 3, 6, 2, 0]);
    } finally {
      sub.close();
      await pub.close();
    }
  });

  test('replay: [identity, "", seq, payload] per held batch from the start seq, then seq -1 with an empty payload', async () => {
    const pub = await KvEventPublisher.start({ endpoint: 'tcp://127.0.0.1:*', replayEndpoint: 'tcp://127.0.0.1:*', replayBuffer: 3, blockSize: 4 });
    const dealer = new zmq.Dealer();
    dealer.connect(pub.replayEndpoint);
    try {
      for (let i = 0; i < 5; i++) pub.publish(delivery(i));
      await dealer.send(['', Buffer.from([0, 0, 0, 0, 0, 0, 0, 3])]);
      const answers = [];
      for (;;) {
        const frames = await dealer.receive();
        assert.equal(frames.length, 3);
        assert.equal(frames[0].length, 0, 'the empty delimiter');
        answers.push(frames);
        if (frames[1].equals(Buffer.alloc(8, 0xff))) break;
      }
      assert.deepEqual(answers.map((f) => f[1].readBigInt64BE()), [3n, 4n, -1n]);
      assert.deepEqual(decodeBatch(answers[0][2]).events[0].blockHashes, [3n]);
      assert.equal(answers[2][2].length, 0);
      // Older than the buffer: what is held (seq 2..4 of a buffer of 3).
      await dealer.send(['', Buffer.alloc(8)]);
      const again = [];
      for (;;) {
        const [, seq] = await dealer.receive();
        again.push(seq.readBigInt64BE());
        if (again.at(-1) === -1n) break;
      }
      assert.deepEqual(again, [2n, 3n, 4n, -1n]);
      assert.equal(pub.counters().replay.served, 2);
    } finally {
      dealer.close();
      await pub.close();
    }
  });

  test('a subscriber restart: batches published while it was away are filled in exactly from the replay socket', async () => {
    const pub = await KvEventPublisher.start({ endpoint: 'tcp://127.0.0.1:*', replayEndpoint: 'tcp://127.0.0.1:*', blockSize: 4 });
    try {
      const first = await KvEventSubscriber.open({ subscribe: pub.endpoint, replay: pub.replayEndpoint });
      await eventually(() => subscribed(pub), 5000, 'the first subscription');
      for (let i = 0; i < 4; i++) pub.publish(delivery(i));
      const seen = await take(first.items(), 4);
      first.close();
      await eventually(() => !subscribed(pub), 5000, 'the unsubscription');
      for (let i = 4; i < 9; i++) pub.publish(delivery(i)); // nobody listens: only the replay buffer has them
      const lastSeen = seen.at(-1).seq;
      const second = await KvEventSubscriber.open({ subscribe: pub.endpoint, replay: pub.replayEndpoint });
      await eventually(() => subscribed(pub), 5000, 'the second subscription');
      const it = second.items(lastSeen + 1n);
      const resumed = [];
      const reading = (async () => resumed.push(...(await take(it, 7))))();
      await eventually(() => pub.counters().replay.served === 1, 5000, 'the replay');
      for (let i = 9; i < 11; i++) pub.publish(delivery(i));
      await reading;
      second.close();
      const all = [...seen, ...resumed];
      assert.deepEqual(all.map((b) => Number(b.seq)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'every seq once, in order');
      assert.deepEqual(all.map((b) => b.batch.events[0].blockHashes[0]), [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n]);
      assert.deepEqual(resumed.map((b) => b.replayed), [true, true, true, true, true, false, false]);
    } finally {
      await pub.close();
    }
  });

  test('batches the send queue dropped leave a gap in the live stream; the subscriber reports it and fills it from replay', async () => {
    const pub = await KvEventPublisher.start({ endpoint: 'tcp://127.0.0.1:*', replayEndpoint: 'tcp://127.0.0.1:*', blockSize: 4, sendQueue: 1 });
    const sub = await KvEventSubscriber.open({ subscribe: pub.endpoint, replay: pub.replayEndpoint });
    try {
      await eventually(() => subscribed(pub), 5000, 'the subscription');
      for (let i = 0; i < 5; i++) pub.publish(delivery(i)); // one in flight, one queued, three dropped
      await pub.flush();
      assert.equal(pub.counters().transports.zmq.dropped.queue_full, 3);
      pub.publish(delivery(5));
      const items = await take(sub.items(), 6, ['batch', 'gap']);
      assert.deepEqual(
        items.map((i) => (i.kind === 'gap' ? `gap ${i.first}-${i.last} recovered ${i.recovered}` : `${i.seq}${i.replayed ? ' replayed' : ''}`)),
        ['0', '1', 'gap 2-4 recovered 3', '2 replayed', '3 replayed', '4 replayed', '5'],
      );
    } finally {
      sub.close();
      await pub.close();
    }
  });

  test('a subscriber that stops reading: drops are counted, generation goes on, and the gap is recovered by replay', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trtllm-kv-'));
    const engine = await Engine.create({
      modelName: 'stall',
      executorConfig: { maxBatchSize: 64, kvCacheConfig: { eventBufferMaxSize: 100000 } },
      sim: { virtualClock: true, tokensPerBlock: 64, numKvBlocks: 2048, outputLengthMode: 'maxTokens' },
    });
    const pub = await KvEventPublisher.forEngine(engine, {
      endpoint: `ipc://${dir}/events`,
      replayEndpoint: `ipc://${dir}/replay`,
      replayBuffer: 1_000_000,
      sendQueue: 2,
      sendHighWaterMark: 1,
    });
    const stalled = new zmq.Subscriber({ receiveHighWaterMark: 1 });
    stalled.connect(pub.endpoint);
    stalled.subscribe();
    try {
      await eventually(() => subscribed(pub), 5000, 'the subscription');
      const done = [];
      // ~2 KB of events per request (16 blocks of 64 tokens): far more than the socket buffers hold.
      for (let round = 0; round < 30; round++) {
        const batch = [];
        for (let i = 0; i < 64; i++) {
          const prompt = Array.from({ length: 1024 }, (_, k) => ((round * 65536 + i * 1024 + k) % 30000) + 1);
          batch.push(engine.complete({ inputTokenIds: prompt, maxTokens: 8 }));
        }
        done.push(...(await Promise.all(batch)));
      }
      assert.equal(done.length, 1920, 'every request finished while nobody read the events');
      assert.ok(done.every((r) => r.finishReason === 'length'));
      await engine.flush();
      await eventually(() => pub.counters().transports.zmq.dropped.queue_full > 0, 5000, 'queue_full drops');
      // Resume reading: what arrives has gaps, and the replay socket fills every one of them.
      const sub = await KvEventSubscriber.open({ subscribe: pub.endpoint, replay: pub.replayEndpoint });
      stalled.close();
      await engine.shutdown();
      await pub.flush();
      const c = pub.counters();
      const z = c.transports.zmq;
      assert.equal(z.produced, c.events);
      assert.equal(z.produced, z.published + z.dropped.queue_full + z.dropped.transport_down + z.dropped.shutdown + z.queued, 'every event accounted for');
      assert.equal(z.queued, 0);
      const total = BigInt(c.batches);
      // Ask for the whole history through the replay socket and compare with a fresh mapping: nothing lost.
      const history = await sub.replayFrom(0n);
      assert.equal(BigInt(history.length), total);
      assert.deepEqual(history.map((h) => h.seq), [...Array(Number(total)).keys()].map(BigInt));
      sub.close();
    } finally {
      await pub.close();
      await engine.shutdown();
    }
  });
});

describe('serve --kv-events-endpoint', () => {
  test('a worker publishes its engine events; a Python subscriber (python3-zmq + msgpack) reads them; /metrics counts them', { skip: pythonMissing() }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trtllm-kv-'));
    const endpoint = `ipc://${dir}/pub`;
    const w = await startWorker({ kvEvents: { endpoint, topic: 'kv@{pod}@{model}', podId: 'w0', encoding: 'map' } });
    const py = pythonSubscriber(endpoint, 2);
    try {
      await py.ready;
      await eventually(() => subscribed(w.worker.kvPublisher), 5000, 'the Python subscription');
      const prompt = Array.from({ length: 70 }, (_, i) => i + 1);
      await w.client.completions.create({ model: w.model, prompt, max_tokens: 30 });
      await w.client.completions.create({ model: w.model, prompt: prompt.map((t) => t + 100), max_tokens: 30 });
      const got = await py.done;
      assert.deepEqual(got.map((m) => [m.topic, m.seq]), [
        ['kv@w0@test-model', 0],
        ['kv@w0@test-model', 1],
      ]);
      const first = got[0].batch.events.find((e) => e.type === 'BlockStored');
      assert.equal(first.block_size, 32);
      assert.deepEqual(first.token_ids.slice(0, 64), prompt.slice(0, 64));
      assert.equal(first.medium, 'GPU');
      assert.ok(first.block_hashes.every((h) => /^\d+$/.test(h)));
      await w.worker.engine.flush();
      await w.worker.kvPublisher.flush();
      const text = await scrape(w.metrics);
      const c = w.worker.kvPublisher.counters().transports.zmq;
      assert.equal(sample(text, 'trtllm_kv_events_published_total', { transport: 'zmq' }), c.published);
      assert.equal(sample(text, 'trtllm_kv_events_produced_total', { transport: 'zmq' }), c.produced);
      assert.equal(sample(text, 'trtllm_kv_events_last_seq', { transport: 'zmq' }), c.lastSeq);
      assert.ok(c.published >= 2);
    } finally {
      py.kill();
      await w.stop();
    }
  });
});
