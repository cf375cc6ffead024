// Injected faults at the Engine and in-process Worker: failing requests settle as RequestFailedError (500 on the
// API), a fatal executor error puts the engine in its failed state (every request in flight and every new one gets
// ExecutorFailedError; the API answers 503, /health says why, the metrics count it), a KV-event burst is dropped
// and counted, and the options that cannot fire as given are refused with a message naming them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { eventually, post, sample, scrape, startWorker } from './helpers/worker-fixtures.mjs';

const require = createRequire(import.meta.url);
const { Engine, ExecutorError, ExecutorFailedError, InvalidArgumentError, RequestFailedError } = require('../dist/index.js');

test('requestErrorProbability: the drawn requests fail mid-stream as RequestFailedError, the others finish', async () => {
  const engine = await Engine.create({ sim: { virtualClock: true, outputLengthMode: 'maxTokens', faults: { seed: 3, requestErrorProbability: 0.3 } } });
  try {
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, async (_, i) => {
        let tokens = 0;
        try {
          for await (const c of engine.generate({ inputTokenIds: [5, 6, i], maxTokens: 30, streaming: true })) tokens += c.tokens.length;
        } catch (err) {
          err.tokens = tokens;
          throw err;
        }
        return tokens;
      }),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    assert.ok(failed.length > 5 && failed.length < 35, `failed ${failed.length} of 60`);
    for (const r of failed) {
      assert.ok(r.reason instanceof RequestFailedError, String(r.reason));
      const m = /^injected fault \(sim\.faults\.requestErrorProbability\): request (\d+) failed at output token (\d+)$/.exec(r.reason.message);
      assert.ok(m, r.reason.message);
      assert.equal(r.reason.tokens, Number(m[2]), 'the tokens before the failing position were streamed');
    }
    for (const r of results.filter((x) => x.status === 'fulfilled')) assert.equal(r.value, 30);
    assert.equal(engine.status, 'running', 'one request failing does not fail the engine');
  } finally {
    await engine.shutdown();
  }
});

test('a fatal executor error: status failed, ExecutorFailedError for in-flight and new requests, onFailure once', async () => {
  const engine = await Engine.create({ sim: { speedupRatio: 100, faults: { fatalAtIteration: 10 } } });
  const failures = [];
  engine.onFailure((err) => failures.push(err));
  const inflight = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => engine.complete({ inputTokenIds: [1, 2, i], maxTokens: 100 })));
  for (const r of inflight) {
    assert.equal(r.status, 'rejected');
    assert.ok(r.reason instanceof ExecutorFailedError && r.reason instanceof ExecutorError);
    assert.equal(r.reason.code, 'ERR_TRTLLM_EXECUTOR_FAILED');
    assert.match(r.reason.message, /^the executor failed: Encountered an error in forwardAsync function: injected fatal fault \(sim\.faults\.fatalAtIteration 10\)/);
  }
  assert.equal(engine.status, 'failed');
  assert.equal(engine.ready, false);
  assert.equal(failures.length, 1);
  assert.equal(engine.failure, failures[0]);
  assert.equal(engine.inflight, 0);
  assert.throws(() => engine.generate({ inputTokenIds: [1], maxTokens: 2 }), (err) => err instanceof ExecutorFailedError && err.message === failures[0].message);
  await engine.shutdown();
  assert.equal(engine.status, 'closed');
  assert.equal(engine.failure, failures[0], 'the failure is kept after shutdown');
});

test('a KV-event burst overflows the executor buffer: dropped and counted, ids stay consecutive', async () => {
  const engine = await Engine.create({
    sim: { virtualClock: true, faults: { kvEventBurstAtIteration: 1, kvEventBurstSize: 500 } },
    executorConfig: { kvCacheConfig: { eventBufferMaxSize: 64 } },
  });
  try {
    await engine.complete({ inputTokenIds: [1, 2, 3], maxTokens: 4 });
    await engine.flush();
    const events = await engine.getLatestKvCacheEvents();
    assert.ok(events.length <= 64 + 1, `at most a buffer (and Created) delivered: ${events.length}`);
    for (let i = 1; i < events.length; i++) if (events[i - 1].event_id !== 0) assert.equal(events[i].event_id, events[i - 1].event_id + 1);
    const dropped = engine.counters().kvEventsDroppedByExecutor;
    assert.ok(dropped >= 500 - 64, `dropped by the executor: ${dropped}`);
  } finally {
    await engine.shutdown();
  }
});

test('fault options that cannot fire as given are refused, naming them', async () => {
  const cases = [
    [{ stallMs: 100 }, /options\.sim\.faults\.stallMs needs options\.sim\.faults\.stallAtIteration or options\.sim\.faults\.stallProbability/],
    [{ stallAtIteration: 3 }, /options\.sim\.faults\.stallAtIteration needs options\.sim\.faults\.stallMs above 0/],
    [{ slowIterationProbability: 0.5 }, /slowIterationProbability needs options\.sim\.faults\.slowIterationFactor other than 1/],
    [{ kvEventBurstAtIteration: 2 }, /kvEventBurstAtIteration and options\.sim\.faults\.kvEventBurstSize \(above 0\) go together/],
    [{ kvEventBurstAtIteration: 2, kvEventBurstSize: 10 }, /kvEventBurstSize needs KV events on/],
    [{ requestErrorProbability: 1.5 }, /options\.sim\.faults\.requestErrorProbability must be/],
    [{ stallMs: -1, stallAtIteration: 1 }, /options\.sim\.faults\.stallMs must be/],
  ];
  for (const [faults, pattern] of cases) {
    await assert.rejects(Engine.create({ sim: { faults } }), (err) => err instanceof InvalidArgumentError && pattern.test(err.message), JSON.stringify(faults));
  }
  await assert.rejects(Engine.create({ backend: 'trtllm', engineDir: '/x', sim: { faults: { seed: 1 } } }), /sim/);
});

test('a failed engine in a worker: in-flight requests 503, new ones 503, /health says why, counted', async () => {
  const w = await startWorker({ sim: { speedupRatio: 20, faults: { fatalAtIteration: 6 } } });
  try {
    const inflight = await post(`${w.api}/v1/completions`, { model: w.model, prompt: 'hello', max_tokens: 50 });
    assert.equal(inflight.status, 503);
    assert.match(inflight.json.error.message, /^The engine failed; retry on another worker \(the executor failed: Encountered an error in forwardAsync function/);
    const fresh = await post(`${w.api}/v1/chat/completions`, { model: w.model, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(fresh.status, 503);
    const h = await fetch(`${w.metrics}/health`);
    assert.equal(h.status, 503);
    const body = await h.json();
    assert.equal(body.engine.status, 'failed');
    assert.match(body.reasons[0], /^the executor failed: Encountered an error in forwardAsync function/);
    assert.equal((await fetch(`${w.metrics}/live`)).status, 503, 'a failed engine is not live either (it is not ready)');
    assert.equal((await fetch(`${w.api}/health`)).status, 503);
    const probe = await fetch(`${w.api}/health_generate`);
    assert.equal(probe.status, 500, "trtllm-serve's answer to a failed generation health check");
    assert.match(await probe.text(), /^Generation health check failed: error: the executor failed: /);
    const text = await eventually(async () => {
      const t = await scrape(w.metrics);
      return sample(t, 'trtllm_health_checks_total', { outcome: 'failed' }) === 1 ? t : null;
    }, 5000, 'the failed canary counted');
    assert.equal(sample(text, 'trtllm_engine_failed'), 1);
    assert.equal(sample(text, 'trtllm_executor_failures_total'), 1);
    assert.equal(sample(text, 'trtllm_worker_healthy'), 0);
    // /health_generate answers its 500 itself, as trtllm-serve does: an error of the route, not of a request.
    assert.equal(sample(text, 'trtllm_request_error_total', { http_code: '503' }), 3, 'two generations and /health');
  } finally {
    await w.stop();
  }
});
