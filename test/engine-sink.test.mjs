// engine.generate(request, sink): a request's output handed to a GenerationSink as each delivery is routed
// (the worker's streaming path), with the same tokens, order, finish and errors as the async iterator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Engine, EngineClosedError, RequestFailedError, TrtllmMetricsError } = require('../dist/index.js');

async function open(t, sim = {}, extra = {}) {
  const engine = await Engine.create({ modelName: 'm', sim: { virtualClock: true, outputLengthMode: 'maxTokens', ...sim }, bridge: { statsIntervalMs: 5 }, ...extra });
  t.after(() => engine.shutdown());
  return engine;
}
const prompt = (n, start = 1) => Array.from({ length: n }, (_, i) => start + i);

/** A sink that records what it is given; `done` resolves with the outcome. */
function recorder() {
  const calls = [];
  let settle;
  const done = new Promise((r) => (settle = r));
  const sink = {
    calls,
    done,
    tokens: [],
    onTokens(tokens, start, end) {
      calls.push('tokens');
      sink.tokens.push(...tokens.subarray(start, end));
    },
    onFinish(tokens, start, end, reason, perfMetrics) {
      calls.push('finish');
      sink.tokens.push(...tokens.subarray(start, end));
      settle({ reason, perfMetrics });
    },
    onError(error) {
      calls.push('error');
      settle({ error });
    },
  };
  return sink;
}

test('a sink gets the tokens the iterator would, in order, then one finish with the perf metrics', async (t) => {
  const engine = await open(t);
  const req = { inputTokenIds: prompt(70), maxTokens: 40, streaming: true, returnPerfMetrics: true, samplingConfig: { seed: 9 } };
  const sink = recorder();
  const stream = engine.generate(req, sink);
  assert.equal(stream.sink, sink);
  assert.throws(() => stream[Symbol.asyncIterator](), (e) => e instanceof TrtllmMetricsError && e.code === 'ERR_TRTLLM_ALREADY_CONSUMED');
  const { reason, perfMetrics } = await sink.done;
  assert.equal(reason, 'length');
  assert.ok(perfMetrics.timingMetrics.lastTokenTime >= perfMetrics.timingMetrics.firstTokenTime);
  assert.ok(perfMetrics.kvCacheMetrics.numTotalAllocatedBlocks >= 1);
  assert.equal(sink.calls.at(-1), 'finish');
  assert.equal(sink.calls.filter((c) => c === 'finish').length, 1);
  const whole = await engine.complete({ ...req, streaming: false });
  assert.deepEqual(sink.tokens, [...whole.tokens]);
  assert.equal(engine.inflight, 0);
  // Non-streaming: every token in the final call.
  const one = recorder();
  engine.generate({ ...req, streaming: false }, one);
  await one.done;
  assert.deepEqual(one.calls, ['finish']);
  assert.deepEqual(one.tokens, [...whole.tokens]);
});

test('a cancelled request finishes its sink as cancelled; an invalid one fails it with RequestFailedError', async (t) => {
  const engine = await open(t, { virtualClock: false, speedupRatio: 1 });
  const sink = recorder();
  const stream = engine.generate({ inputTokenIds: prompt(8), maxTokens: 5000, streaming: true }, sink);
  stream.cancel();
  assert.equal((await sink.done).reason, 'cancelled');
  const bad = recorder();
  engine.generate({ inputTokenIds: [1, 10_000_000], maxTokens: 4 }, bad);
  const { error } = await bad.done;
  assert.ok(error instanceof RequestFailedError, String(error));
});

test('a sink that throws has its request cancelled and a warning; other requests are not disturbed', async (t) => {
  const engine = await open(t, { virtualClock: false, speedupRatio: 1 });
  const warning = once(process, 'warning');
  let calls = 0;
  engine.generate(
    { inputTokenIds: prompt(8), maxTokens: 5000, streaming: true },
    {
      onTokens() {
        calls++;
        throw new Error('sink bug');
      },
      onFinish() {
        calls++;
      },
      onError() {
        calls++;
      },
    },
  );
  const [w] = await warning;
  assert.equal(w.code, 'TRTLLM_METRICS_SINK');
  assert.match(w.message, /sink bug/);
  const other = recorder();
  engine.generate({ inputTokenIds: prompt(8, 50), maxTokens: 16, streaming: true }, other);
  assert.equal((await other.done).reason, 'length');
  await engine.flush();
  await new Promise((r) => setImmediate(r));
  assert.equal(engine.inflight, 0, 'the throwing sink\'s request was cancelled');
  assert.equal(calls, 1, 'a sink that threw is called no more');
});

test('shutdown fails the sinks of unfinished requests with EngineClosedError', async () => {
  const engine = await Engine.create({ modelName: 'm', sim: { speedupRatio: 0.001 }, shutdownGraceMs: 0 });
  const sink = recorder();
  engine.generate({ inputTokenIds: prompt(8), maxTokens: 100 }, sink);
  await engine.shutdown();
  const out = await sink.done;
  assert.ok(out.reason === 'cancelled' || out.error instanceof EngineClosedError, JSON.stringify(out));
});
