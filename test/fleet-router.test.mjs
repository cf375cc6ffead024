// Proof that a KV-aware router can use the stream: three `serve` workers (simulator) connect their publishers
// to one SUB socket the test binds (llm-d's topology: the indexer binds, workers connect, topic
// kv@<pod>@<model>). The test indexes every worker's stored blocks by their tokens and parent chain, as llm-d's
// indexer does (never by the engine's own hash function), warms the workers with requests sharing prefixes,
// then for new prompts predicts each worker's cached prefix from the index alone and checks the prediction
// against the cached_tokens each worker reports in `usage` when the prompt is sent there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import zmq from 'zeromq';
import { createRequire } from 'node:module';
import { eventually, startWorker } from './helpers/worker-fixtures.mjs';

const require = createRequire(import.meta.url);
const { decodeBatch } = require('../dist/index.js');

const B = 16; // tokens per block

/** A router's view: per pod, blocks by hash and by (parent, tokens). Fed only by the events on the wire. */
class Indexer {
  pods = new Map();
  lastSeq = new Map();
  gaps = [];

  pod(name) {
    let p = this.pods.get(name);
    if (!p) this.pods.set(name, (p = { byHash: new Map(), byChain: new Map() }));
    return p;
  }

  apply(topic, seq, payload) {
    const [, pod, model] = topic.split('@');
    assert.equal(model, 'router-model');
    const last = this.lastSeq.get(pod);
    if (last !== undefined && seq !== last + 1n) this.gaps.push({ pod, last, seq });
    this.lastSeq.set(pod, seq);
    const p = this.pod(pod);
    for (const e of decodeBatch(payload).events) {
      if (e.type === 'AllBlocksCleared') {
        p.byHash.clear();
        p.byChain.clear();
      } else if (e.type === 'BlockStored') {
        assert.equal(e.blockSize, B);
        assert.equal(e.tokenIds.length, e.blockHashes.length * B, 'token_ids holds every stored block');
        let parent = e.parentBlockHash;
        e.blockHashes.forEach((h, i) => {
          const key = `${parent}|${e.tokenIds.slice(i * B, (i + 1) * B).join(',')}`;
          p.byHash.set(h, key);
          p.byChain.set(key, h);
          parent = h;
        });
      } else if (e.type === 'BlockRemoved') {
        for (const h of e.blockHashes) {
          p.byChain.delete(p.byHash.get(h));
          p.byHash.delete(h);
        }
      }
    }
  }

  /**
   * Cached prompt tokens a pod would report: the longest chain of indexed blocks matching the prompt's full
   * blocks. TensorRT-LLM (and the simulator) leave at least one prompt token to compute, so only the blocks
   * within the first L - 1 tokens count: that is the engine's rule, the rest comes from the index alone.
   */
  predict(pod, prompt) {
    const p = this.pod(pod);
    let parent = null;
    let matched = 0;
    for (let b = 0; b < Math.floor((prompt.length - 1) / B); b++) {
      const h = p.byChain.get(`${parent}|${prompt.slice(b * B, (b + 1) * B).join(',')}`);
      if (h === undefined) break;
      matched++;
      parent = h;
    }
    return matched * B;
  }
}

const range = (from, n) => Array.from({ length: n }, (_, i) => from + i);

test('three workers, one indexer: the index predicts every worker\'s cached tokens for every probe prompt', async () => {
  const sub = new zmq.Subscriber();
  await sub.bind('tcp://127.0.0.1:*');
  sub.subscribe('kv@');
  const indexer = new Indexer();
  const reading = (async () => {
    try {
      for await (const [topic, seq, payload] of sub) indexer.apply(topic.toString(), seq.readBigUInt64BE(), payload);
    } catch {
      // closed
    }
  })();
  const workers = [];
  try {
    for (const pod of ['w0', 'w1', 'w2']) {
      workers.push(
        await startWorker({
          model: 'router-model',
          sim: { tokensPerBlock: B, numKvBlocks: 4096, outputLengthMode: 'maxTokens', speedupRatio: 1000 },
          kvEvents: { endpoint: sub.lastEndpoint, topic: 'kv@{pod}@{model}', podId: pod },
        }),
      );
    }
    const pods = ['w0', 'w1', 'w2'];
    // llm-d's topology: the workers connect; nothing is sent before each one's subscription has arrived.
    await eventually(() => workers.every((w) => w.worker.kvPublisher.counters().transports.zmq.subscriptions > 0), 10_000, 'the subscriptions');

    /** Everything each worker produced is on the wire and in the index. */
    const sync = async () => {
      for (const [i, w] of workers.entries()) {
        await w.worker.engine.flush();
        await w.worker.kvPublisher.flush();
        const last = BigInt(w.worker.kvPublisher.counters().transports.zmq.lastSeq);
        if (last >= 0n) await eventually(() => indexer.lastSeq.get(pods[i]) === last, 10_000, `${pods[i]}'s events`);
      }
    };
    const send = async (w, prompt) => {
      const r = await w.client.completions.create({ model: 'router-model', prompt, max_tokens: 4 });
      return r.usage.prompt_tokens_details.cached_tokens;
    };

    // Shared prefixes: a system prompt all three see, two half-shared documents, one private history.
    const system = range(1, 3 * B);
    const docA = range(1000, 5 * B + 7);
    const docB = range(2000, 2 * B);
    const hist = range(3000, 4 * B);
    await send(workers[0], [...system, ...docA, 9001]);
    await send(workers[1], [...system, ...docA.slice(0, 2 * B), 9002, 9003]);
    await send(workers[1], [...system, ...docB, ...range(9100, B)]);
    await send(workers[2], [...system, ...docB, 9004]);
    await send(workers[2], [...hist, ...range(9200, 3)]);
    await sync();
    assert.ok([...indexer.pods.values()].every((p) => p.byHash.size > 0), 'every worker published blocks');

    const probes = [
      [...system, ...docA, 7001, 7002], // w0 has it all; w1 part of docA; w2 the system prompt
      [...system, ...docB, ...range(7100, 2 * B)], // w1 and w2
      [...hist, ...range(7200, B)], // w2 only
      [...system], // block-aligned: the last block is never reused
      [...system, 7300], // one token past the aligned prefix
      range(8000, 3 * B + 5), // nobody
      [...system, ...docA.slice(0, 2 * B + 3)], // a prefix of a prefix
    ];
    const predictions = [];
    for (const prompt of probes) {
      const predicted = pods.map((pod) => indexer.predict(pod, prompt));
      predictions.push(predicted);
      const reported = [];
      for (const w of workers) reported.push(await send(w, prompt));
      assert.deepEqual(reported, predicted, `probe of ${prompt.length} tokens starting ${prompt.slice(0, 3)}`);
      await sync();
    }
    assert.deepEqual(indexer.gaps, [], 'no seq gap on any topic');
    // The probes were not trivial: the workers differ on most of them, and there are hits and misses.
    assert.deepEqual(predictions, [
      [3 * B + 5 * B, 3 * B + 2 * B, 3 * B],
      [3 * B, 3 * B + 2 * B, 3 * B + 2 * B],
      [0, 0, 4 * B],
      [2 * B, 2 * B, 2 * B],
      [3 * B, 3 * B, 3 * B],
      [0, 0, 0],
      [3 * B + 2 * B, 3 * B + 2 * B, 3 * B + 2 * B],
    ]);
  } finally {
    for (const w of workers) await w.stop();
    sub.close();
    await reading;
  }
});
