// engine.flush(): the pumps poll the executor at once, and the promise resolves once everything the executor had
// produced before the call has reached JS. Iteration stats then arrive without waiting for statsIntervalMs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Engine } = require('../dist/index.js');

const prompt = (n, start) => Array.from({ length: n }, (_, i) => start + i);
const REQUESTS = 6;

async function open(t, bridge = {}) {
  const engine = await Engine.create({
    modelName: 'flush-test',
    executorConfig: { kvCacheConfig: { eventBufferMaxSize: 10_000 } },
    sim: { virtualClock: true, outputLengthMode: 'maxTokens', tokensPerBlock: 16 },
    // The stats pump would read the executor once a minute.
    bridge: { statsIntervalMs: 60_000, ...bridge },
  });
  t.after(() => engine.shutdown());
  return engine;
}

test('flush() delivers the iteration stats and KV events a 60 s statsIntervalMs would hold back', async (t) => {
  const engine = await open(t);
  const seenStats = [];
  const seenEvents = [];
  engine.onIterationStats((batch) => seenStats.push(...batch));
  engine.onKvCacheEvents((batch) => seenEvents.push(...batch));
  const results = await Promise.all(
    Array.from({ length: REQUESTS }, (_, i) => engine.complete({ inputTokenIds: prompt(48, 1 + i * 100), maxTokens: 4 })),
  );
  assert.equal(results.length, REQUESTS);
  assert.equal(engine.counters().iterationStats.produced, 0, 'no stats were read from the executor yet');

  await engine.flush();
  const stats = await engine.getLatestIterationStats();
  assert.ok(stats.length > 0, 'stats were delivered');
  assert.deepEqual(seenStats, stats, 'the listeners had them when flush() resolved');
  const completed = stats.reduce((n, s) => n + s.numCompletedRequests, 0);
  assert.equal(completed, REQUESTS, 'the stats of every iteration that ran before the flush');
  // The 'created' event may have been delivered before the listener was attached; the buffer has them all.
  const events = await engine.getLatestKvCacheEvents();
  assert.equal(events[0].data.type, 'created');
  assert.deepEqual(seenEvents, events.slice(events.length - seenEvents.length));
  const stored = events.filter((e) => e.data.type === 'stored').flatMap((e) => e.data.blocks);
  assert.equal(stored.length, REQUESTS * 3, 'three full 16-token blocks per 48-token prompt');
  const c = engine.counters();
  for (const s of ['responses', 'requestRecords', 'iterationStats', 'kvEvents']) {
    assert.equal(c[s].queued, 0, `${s}: nothing left in the bridge`);
    assert.equal(c[s].dropped, 0, s);
  }
});

test('flush() waits at most for the pumps\' polls in progress, never for the stats interval', async (t) => {
  const engine = await open(t, { responsePollMs: 200, eventPollMs: 200 });
  await engine.complete({ inputTokenIds: prompt(20, 1), maxTokens: 2 });
  const t0 = performance.now();
  await engine.flush();
  const ms = performance.now() - t0;
  assert.ok(ms < 5_000, `flush took ${ms.toFixed(0)} ms`);
  assert.ok((await engine.getLatestIterationStats()).length > 0);
  await Promise.all([engine.flush(), engine.flush()]); // concurrent flushes both settle
});

test('flush() during and after shutdown resolves: the final delivery carries everything', async () => {
  const engine = await Engine.create({ modelName: 'flush-test', sim: { virtualClock: true }, bridge: { statsIntervalMs: 60_000 } });
  await engine.complete({ inputTokenIds: prompt(20, 1), maxTokens: 2 });
  const closing = engine.shutdown();
  await engine.flush();
  await closing;
  await engine.flush();
  assert.ok((await engine.getLatestIterationStats()).length > 0, 'shutdown read the stats one last time');
});

test('a pending flush() keeps Node alive until it settles', () => {
  const script = `
    const { Engine } = require(${JSON.stringify(require.resolve('../dist/index.js'))});
    (async () => {
      const engine = await Engine.create({ sim: { virtualClock: true }, bridge: { statsIntervalMs: 60000, responsePollMs: 500, eventPollMs: 500 } });
      await engine.complete({ inputTokenIds: [1, 2, 3], maxTokens: 2 });
      await engine.flush();
      const stats = await engine.getLatestIterationStats();
      console.log('flushed ' + stats.length);
      await engine.shutdown();
    })();`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^flushed [1-9]/m);
});
