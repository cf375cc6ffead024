// The Engine API over the bridge and the simulator: streaming, cancellation, shutdown, counters, hashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { eventually } from './helpers/worker-fixtures.mjs';

const require = createRequire(import.meta.url);
const { Engine, InvalidArgumentError, RequestFailedError, EngineClosedError, BackendUnavailableError, REQUEST_RECORD_STRIDE, RecordField } = require('../dist/index.js');
const { loadAddon } = require('../dist/native.js');
const { loadTestingAddon } = require('../dist/testing.js');

// Node 20 has no `await using`: shut the engine down when the test ends.
async function open(t, options) {
  const engine = await Engine.create(options);
  t.after(() => engine.shutdown());
  return engine;
}
const prompt = (n, start = 1) => Array.from({ length: n }, (_, i) => start + i);
const fast = (extra = {}) => ({
  modelName: 'test-model',
  sim: { virtualClock: true, outputLengthMode: 'maxTokens', ...extra.sim },
  executorConfig: extra.executorConfig,
  bridge: { statsIntervalMs: 5, ...extra.bridge },
  ...(extra.shutdownGraceMs !== undefined ? { shutdownGraceMs: extra.shutdownGraceMs } : {}),
});

test('streaming delivers tokens in order and equals the non-streaming result for a seed', async (t) => {
  const engine = await open(t, fast());
  const req = { inputTokenIds: prompt(70), maxTokens: 24, samplingConfig: { seed: 42 } };
  const chunks = [];
  for await (const chunk of engine.generate({ ...req, streaming: true })) chunks.push(chunk);
  assert.ok(chunks.length >= 2, 'several chunks');
  assert.ok(chunks.slice(0, -1).every((c) => !c.isFinal && c.finishReason === null));
  const last = chunks.at(-1);
  assert.equal(last.isFinal, true);
  assert.equal(last.finishReason, 'length');
  const streamed = chunks.flatMap((c) => [...c.tokens]);
  assert.equal(streamed.length, 24);
  const whole = await engine.complete(req);
  assert.deepEqual([...whole.tokens], streamed);
  const other = await engine.complete({ ...req, samplingConfig: { seed: 43 } });
  assert.notDeepEqual([...other.tokens], streamed);
});

test('1,000 concurrent generate() calls all complete, each recorded once', async (t) => {
  const engine = await open(t, fast({ executorConfig: { maxBatchSize: 256 } }));
  const finished = new Map();
  engine.onRequestFinished(({ data, count }) => {
    for (let i = 0; i < count; i++) {
      const id = data[i * REQUEST_RECORD_STRIDE + RecordField.REQUEST_ID];
      finished.set(id, (finished.get(id) ?? 0) + 1);
    }
  });
  const results = await Promise.all(
    Array.from({ length: 1000 }, (_, i) => engine.complete({ inputTokenIds: prompt(16 + (i % 50), i), maxTokens: 4 + (i % 8), streaming: i % 2 === 0 })),
  );
  results.forEach((r, i) => {
    assert.equal(r.tokens.length, 4 + (i % 8));
    assert.equal(r.finishReason, 'length');
  });
  await engine.flush();
  assert.equal(finished.size, 1000);
  assert.ok([...finished.values()].every((n) => n === 1));
  assert.equal(engine.inflight, 0);
});

test('cancel mid-stream ends the stream with finishReason cancelled', async (t) => {
  const engine = await open(t, { modelName: 'm', sim: { speedupRatio: 50, outputLengthMode: 'maxTokens' } });
  const stream = engine.generate({ inputTokenIds: prompt(10), maxTokens: 5000, streaming: true });
  let received = 0;
  let last;
  for await (const chunk of stream) {
    received += chunk.tokens.length;
    last = chunk;
    if (received >= 3 && !chunk.isFinal) engine.cancel(stream.requestId);
  }
  assert.equal(last.finishReason, 'cancelled');
  assert.ok(received >= 3 && received < 5000, `got ${received} tokens`);
});

test('an AbortSignal cancels the request; leaving the loop early cancels too', async (t) => {
  const engine = await open(t, { modelName: 'm', sim: { speedupRatio: 50, outputLengthMode: 'maxTokens' } });
  const ac = new AbortController();
  let last;
  for await (const chunk of engine.generate({ inputTokenIds: prompt(10), maxTokens: 5000, streaming: true, signal: ac.signal })) {
    if (chunk.tokens.length > 0 && !ac.signal.aborted) ac.abort(); // the request is running: abort it
    last = chunk;
  }
  assert.equal(last.finishReason, 'cancelled');
  const reasons = [];
  engine.onRequestFinished(({ data, count }) => {
    for (let i = 0; i < count; i++) reasons.push(data[i * REQUEST_RECORD_STRIDE + RecordField.FINISH_REASON]);
  });
  for await (const chunk of engine.generate({ inputTokenIds: prompt(10), maxTokens: 5000, streaming: true })) {
    if (chunk.tokens.length > 0) break;
  }
  await eventually(() => engine.inflight === 0, 10_000, 'the abandoned request to finish');
  await engine.flush();
  assert.deepEqual(reasons, [5]);
});

test('shutdown with requests in flight settles every one of them', async () => {
  const engine = await Engine.create({ modelName: 'm', sim: { speedupRatio: 20, outputLengthMode: 'maxTokens' }, shutdownGraceMs: 200 });
  const running = new Promise((resolve) => engine.onIterationStats((s) => s.some((x) => x.numActiveRequests > 0) && resolve()));
  const pending = Array.from({ length: 50 }, (_, i) => engine.complete({ inputTokenIds: prompt(20, i), maxTokens: 8000, streaming: i % 2 === 0 }));
  await running;
  await engine.shutdown();
  const settled = await Promise.allSettled(pending);
  for (const s of settled) {
    if (s.status === 'fulfilled') assert.equal(s.value.finishReason, 'cancelled');
    else assert.ok(s.reason instanceof EngineClosedError, String(s.reason));
  }
  assert.throws(() => engine.generate({ inputTokenIds: [1], maxTokens: 1 }), EngineClosedError);
  await engine.shutdown(); // idempotent
});

test('a throwing listener does not crash the process or stop delivery', async (t) => {
  const engine = await open(t, fast());
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  engine.onRequestFinished(() => {
    throw new Error('consumer bug');
  });
  engine.onIterationStats(() => {
    throw new Error('stats consumer bug');
  });
  const results = await Promise.all([1, 2, 3].map((s) => engine.complete({ inputTokenIds: prompt(40), maxTokens: 5, samplingConfig: { seed: s } })));
  assert.equal(results.length, 3);
  await engine.flush();
  await eventually(() => warnings.some((w) => /stats consumer bug/.test(w.message)) && warnings.some((w) => /Error: consumer bug/.test(w.message)), 10_000, 'both warnings');
  process.off('warning', onWarning);
});

test('KV event hashes above 2^53 reach JS bit-exact', async (t) => {
  const engine = await open(t, fast({ executorConfig: { kvCacheConfig: { eventBufferMaxSize: 10_000 } }, sim: { tokensPerBlock: 16 } }));
  const tokens = prompt(16 * 20, 1000);
  await engine.complete({ inputTokenIds: tokens, maxTokens: 2 });
  await engine.flush();
  const events = await engine.getLatestKvCacheEvents();
  assert.equal(events[0].event_id, 0);
  assert.equal(events[0].data.type, 'created');
  const stored = events.filter((e) => e.data.type === 'stored').flatMap((e) => e.data.blocks.map((b, i) => ({ e, b, i })));
  assert.ok(stored.length >= 19, `stored ${stored.length} blocks`);
  const { simBlockHash } = loadTestingAddon();
  let parent = null;
  let big = 0;
  for (const { b } of stored.slice(0, 19)) {
    const ids = Int32Array.from(b.tokens.map((t) => t.token_id));
    const expected = simBlockHash(parent, ids);
    assert.equal(typeof b.block_hash, 'bigint');
    assert.equal(b.block_hash, expected);
    if (b.block_hash > 2n ** 53n) big++;
    parent = b.block_hash;
  }
  assert.ok(big > 0, 'some hashes exceed 2^53');
  for (let i = 1; i < events.length; i++) assert.equal(events[i].event_id, events[i - 1].event_id + 1);
});

test('with a slow consumer and tiny queues, produced == delivered + dropped for every stream', async () => {
  const engine = await Engine.create(
    fast({
      executorConfig: { kvCacheConfig: { eventBufferMaxSize: 100_000 } },
      bridge: { responseQueueCapacity: 4, recordQueueCapacity: 4, statsQueueCapacity: 4, eventQueueCapacity: 4, statsIntervalMs: 1 },
      sim: { tokensPerBlock: 4 },
    }),
  );
  engine.onKvCacheEvents(() => {
    const until = Date.now() + 3;
    while (Date.now() < until); // a deliberately slow consumer
  });
  await Promise.all(Array.from({ length: 300 }, (_, i) => engine.complete({ inputTokenIds: prompt(64, i * 7), maxTokens: 16, streaming: true })));
  await engine.shutdown();
  const c = engine.counters();
  let dropped = 0;
  for (const name of ['responses', 'requestRecords', 'iterationStats', 'kvEvents']) {
    const s = c[name];
    assert.equal(s.queued, 0, name);
    assert.equal(s.produced, s.delivered + s.dropped, `${name}: ${JSON.stringify(s)}`);
    dropped += s.dropped;
  }
  assert.equal(c.responses.dropped, 0, 'token chunks are never dropped');
  assert.ok(dropped > 0, 'the tiny queues did drop something');
});

test('request errors: bad input is rejected synchronously; executor-side errors reject the stream', async (t) => {
  const engine = await open(t, fast({ sim: { vocabSize: 1000, maxSeqLen: 256 } }));
  assert.throws(() => engine.generate({ inputTokenIds: [], maxTokens: 4 }), InvalidArgumentError);
  assert.throws(() => engine.generate({ inputTokenIds: [1, 2], maxTokens: 0 }), /request.maxTokens must be an integer/);
  assert.throws(() => engine.generate({ inputTokenIds: [1, -2], maxTokens: 4 }), /inputTokenIds\[1\]/);
  assert.throws(() => engine.generate({ inputTokenIds: [1], maxTokens: 4, temprature: 1 }), /request.temprature is not a known option/);
  await assert.rejects(engine.complete({ inputTokenIds: [1, 5000], maxTokens: 4 }), (e) => e instanceof RequestFailedError && e.code === 'ERR_TRTLLM_REQUEST_FAILED');
  await assert.rejects(engine.complete({ inputTokenIds: prompt(200), maxTokens: 100 }), RequestFailedError);
  const ok = await engine.complete({ inputTokenIds: [1, 2, 3], maxTokens: 2 });
  assert.equal(ok.tokens.length, 2);
});

test('perf metrics are on the steady clock of process.hrtime and ordered', async (t) => {
  const engine = await open(t, { modelName: 'm', sim: { speedupRatio: 10, outputLengthMode: 'maxTokens' } });
  const before = Number(process.hrtime.bigint()) / 1e9;
  const r = await engine.complete({ inputTokenIds: prompt(300), maxTokens: 6, returnPerfMetrics: true });
  const after = Number(process.hrtime.bigint()) / 1e9;
  const tm = r.perfMetrics.timingMetrics;
  assert.ok(tm.enqueueTime >= before && tm.enqueueTime <= after, 'enqueue stamp within the call');
  assert.ok(tm.enqueueTime <= tm.arrivalTime, 'the executor stamps arrival no earlier than our enqueue');
  assert.ok(tm.arrivalTime <= tm.firstScheduledTime && tm.firstScheduledTime < tm.firstTokenTime && tm.firstTokenTime < tm.lastTokenTime);
  assert.ok(tm.lastTokenTime <= after);
  assert.equal(r.perfMetrics.kvCacheMetrics.numTotalAllocatedBlocks > 0, true);
});

test('getLatestIterationStats drains: a second call returns only newer iterations', async (t) => {
  const engine = await open(t, fast());
  await engine.complete({ inputTokenIds: prompt(50), maxTokens: 10 });
  await engine.flush();
  const first = await engine.getLatestIterationStats();
  assert.ok(first.length >= 10);
  const s = first.at(-1);
  for (const key of ['timestamp', 'iter', 'iterLatencyMS', 'numActiveRequests', 'numQueuedRequests', 'maxNumActiveRequests', 'gpuMemUsage', 'kvCacheStats', 'inflightBatchingStats']) {
    assert.ok(key in s, key);
  }
  assert.deepEqual(await engine.getLatestIterationStats(), []);
  await engine.complete({ inputTokenIds: prompt(50, 9), maxTokens: 3 });
  await engine.flush();
  const second = await engine.getLatestIterationStats();
  assert.ok(second.length > 0 && second[0].iter > s.iter);
});

test('iterationStats() and kvCacheEvents() iterate until shutdown; one consumer each', async () => {
  const engine = await Engine.create(fast({ executorConfig: { kvCacheConfig: { eventBufferMaxSize: 1000 } } }));
  const stats = engine.iterationStats();
  assert.throws(() => engine.iterationStats(), /already has a consumer/);
  const events = engine.kvCacheEvents();
  await engine.complete({ inputTokenIds: prompt(100), maxTokens: 3 });
  await engine.flush();
  await engine.shutdown();
  let n = 0;
  for await (const s of stats) n += s.iter >= 0 ? 1 : 0;
  let m = 0;
  for await (const e of events) m += e.event_id >= 0 ? 1 : 0;
  assert.ok(n > 0 && m > 0);
});

test('bad engine options name the option; trtllm without the build says how to build it', async () => {
  await assert.rejects(Engine.create({ executorConfig: { maxBatchSize: 0 } }), /executorConfig.maxBatchSize must be an integer/);
  await assert.rejects(Engine.create({ sim: { speedupRatio: -1 } }), /sim.speedupRatio/);
  await assert.rejects(Engine.create({ backnd: 'sim' }), /options.backnd is not a known option/);
  await assert.rejects(Engine.create({ backend: 'trtllm' }), /engineDir is required/);
  if (!loadAddon().TrtllmEngine) {
    await assert.rejects(Engine.create({ backend: 'trtllm', engineDir: '/tmp/engine' }), (e) => e instanceof BackendUnavailableError && /TRTLLM_ROOT/.test(e.message));
  }
});
