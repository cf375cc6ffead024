#!/usr/bin/env node
// Shutdown under load, in a loop: create an engine, load it to full concurrency (maxBatchSize requests running
// and more waiting, streamed and non-streamed), shut it down, and check that nothing crashed, hung or was left
// unsettled. Prints the count and the timing. Exit 0 when every iteration passed.
//
//   node scripts/shutdown-loop.mjs [--iterations 100] [--batch 32] [--queued 32] [--timeout-ms 15000]
//                                  [--poll-ms N] [--max-shutdown-ms MS]
//
// --poll-ms sets the bridge's response and event poll timeouts (the longest a pump blocked in its poll can
// hold shutdown); --max-shutdown-ms fails the run when any shutdown() took longer (CI: 1000 ms polls must not
// make shutdown wait for more than the grace period plus about one poll: the ~52 s hang the fuzzer found).
//
// Every 4th iteration uses shutdownGraceMs 0 (settled with EngineClosedError instead of 'cancelled'), every
// 5th calls shutdown() twice at once, every 7th also starts a request at the moment shutdown begins.
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Engine } = require('../dist/index.js');
const { EngineClosedError } = require('../dist/errors.js');

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '100' },
    batch: { type: 'string', default: '32' },
    queued: { type: 'string', default: '32' },
    'timeout-ms': { type: 'string', default: '15000' },
    'poll-ms': { type: 'string' },
    'max-shutdown-ms': { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
});
const ITERATIONS = Number(values.iterations);
const BATCH = Number(values.batch);
const QUEUED = Number(values.queued);
const TIMEOUT = Number(values['timeout-ms']);
const POLL_MS = values['poll-ms'] === undefined ? undefined : Number(values['poll-ms']);
const MAX_SHUTDOWN_MS = values['max-shutdown-ms'] === undefined ? Infinity : Number(values['max-shutdown-ms']);
for (const [k, v] of Object.entries({ ITERATIONS, BATCH, QUEUED, TIMEOUT, ...(POLL_MS !== undefined ? { POLL_MS } : {}), ...(Number.isFinite(MAX_SHUTDOWN_MS) ? { MAX_SHUTDOWN_MS } : {}) })) {
  if (!Number.isInteger(v) || v < 0) throw new Error(`bad ${k}: ${v}`);
}

function within(promise, ms, what) {
  let timer;
  return Promise.race([promise, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`hang: ${what} did not settle in ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

const outcomes = { cancelled: 0, closed: 0, finished: 0, rejectedAfterShutdown: 0 };
const shutdownMs = [];
const iterationMs = [];
const rssStart = process.memoryUsage().rss;

async function iteration(i) {
  const t0 = performance.now();
  const graceMs = i % 4 === 3 ? 0 : 2000;
  let peakActive = 0;
  const engine = await within(
    Engine.create({
      modelName: 'shutdown-loop',
      // Real time, slowed: requests stay in flight until shutdown.
      sim: { speedupRatio: 2, outputLengthMode: 'maxTokens', seed: i },
      executorConfig: { maxBatchSize: BATCH, kvCacheConfig: { eventBufferMaxSize: 256 } },
      bridge: { statsIntervalMs: 5, ...(POLL_MS !== undefined ? { responsePollMs: POLL_MS, eventPollMs: POLL_MS } : {}) },
      shutdownGraceMs: graceMs,
    }),
    TIMEOUT,
    'Engine.create',
  );
  engine.onIterationStats((stats) => {
    for (const s of stats) peakActive = Math.max(peakActive, s.numActiveRequests);
  });
  const prompt = Array.from({ length: 64 }, (_, k) => 3 + ((k * 7 + i) % 250));
  const settled = [];
  for (let r = 0; r < BATCH + QUEUED; r++) {
    const request = { inputTokenIds: prompt, maxTokens: 4000, streaming: r % 2 === 0 };
    if (r % 2 === 0) {
      settled.push(
        (async () => {
          let last;
          for await (const chunk of engine.generate(request)) last = chunk;
          return last?.finishReason;
        })(),
      );
    } else settled.push(engine.complete(request).then((res) => res.finishReason));
  }
  // Full concurrency: the executor reports maxBatchSize active requests.
  const deadline = Date.now() + TIMEOUT;
  while (peakActive < BATCH) {
    if (Date.now() > deadline) throw new Error(`iteration ${i}: only ${peakActive} of ${BATCH} requests became active`);
    await new Promise((r) => setTimeout(r, 2));
  }

  const s0 = performance.now();
  const shutdowns = [engine.shutdown()];
  if (i % 5 === 4) shutdowns.push(engine.shutdown());
  if (i % 7 === 6) {
    try {
      engine.generate({ inputTokenIds: prompt, maxTokens: 4 });
      throw new Error('generate() after shutdown() began was accepted');
    } catch (err) {
      if (!(err instanceof EngineClosedError)) throw err;
      outcomes.rejectedAfterShutdown++;
    }
  }
  await within(Promise.all(shutdowns), TIMEOUT, `shutdown() of iteration ${i}`);
  shutdownMs.push(performance.now() - s0);
  if (shutdownMs.at(-1) > MAX_SHUTDOWN_MS) throw new Error(`iteration ${i}: shutdown() took ${shutdownMs.at(-1).toFixed(0)} ms > --max-shutdown-ms ${MAX_SHUTDOWN_MS}`);

  const results = await within(Promise.allSettled(settled), TIMEOUT, `the requests of iteration ${i}`);
  for (const r of results) {
    if (r.status === 'fulfilled') {
      if (r.value === 'cancelled') outcomes.cancelled++;
      else outcomes.finished++;
    } else if (r.reason instanceof EngineClosedError) outcomes.closed++;
    else throw new Error(`iteration ${i}: a request failed with ${r.reason?.stack ?? r.reason}`);
  }
  if (engine.inflight !== 0) throw new Error(`iteration ${i}: ${engine.inflight} requests still registered`);
  const c = engine.counters();
  for (const s of ['responses', 'requestRecords', 'iterationStats', 'kvEvents']) {
    const x = c[s];
    if (x.queued !== 0 || x.produced !== x.delivered + x.dropped) throw new Error(`iteration ${i}: ${s} counters ${JSON.stringify(x)}`);
  }
  try {
    engine.generate({ inputTokenIds: prompt, maxTokens: 1 });
    throw new Error('generate() after shutdown was accepted');
  } catch (err) {
    if (!(err instanceof EngineClosedError)) throw err;
  }
  iterationMs.push(performance.now() - t0);
  globalThis.gc?.();
}

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

const t0 = performance.now();
let failed;
for (let i = 0; i < ITERATIONS; i++) {
  try {
    await iteration(i);
  } catch (err) {
    failed = err;
    break;
  }
  if (!values.quiet && (i + 1) % 10 === 0) {
    process.stdout.write(`  ${i + 1}/${ITERATIONS}: shutdown p50 ${pct(shutdownMs, 50).toFixed(1)} ms, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB\n`);
  }
}
const totalS = (performance.now() - t0) / 1000;
const total = outcomes.cancelled + outcomes.closed + outcomes.finished;
console.log(
  `shutdown loop: ${shutdownMs.length}/${ITERATIONS} iterations in ${totalS.toFixed(1)} s ` +
    `(${BATCH} running + ${QUEUED} queued each); shutdown() p50 ${pct(shutdownMs, 50).toFixed(1)} ms, ` +
    `p99 ${pct(shutdownMs, 99).toFixed(1)} ms, max ${Math.max(0, ...shutdownMs).toFixed(1)} ms; iteration p50 ${pct(iterationMs, 50).toFixed(0)} ms`,
);
console.log(
  `requests settled: ${total} (${outcomes.cancelled} cancelled, ${outcomes.closed} EngineClosedError, ${outcomes.finished} finished), ` +
    `${outcomes.rejectedAfterShutdown} generate() calls during shutdown rejected; unsettled 0; ` +
    `RSS ${(rssStart / 2 ** 20).toFixed(0)} -> ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
);
if (failed) {
  console.error(`FAILED: ${failed.stack ?? failed}`);
  process.exit(1);
}
// Nothing may keep the process alive: every engine released its thread-safe function.
await new Promise((r) => setTimeout(r, 50));
const left = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap' && r !== 'FSReqCallback');
if (left.length > 0) console.log(`active resources left: ${left.join(', ')}`);
