// Property-based fuzzing (fast-check), a few hundred cases for CI; scripts/fuzz.mjs runs the same properties
// with >= 10,000 cases. Bad Engine options, generate() requests, collector inputs and HTTP requests to both
// servers get a clear error, never a crash, a hang or a corrupted metric; afterwards the exposition passes
// `promtool check metrics`. FUZZ_SEED=<n> replays a run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  check,
  collectorInputs,
  collectorState,
  engineCreate,
  engineOptionsValidation,
  generateRequests,
  httpAftercheck,
  httpRequests,
  httpWorker,
  promtoolCheck,
  rawHttp,
  requestEngine,
} from './helpers/fuzz-properties.mjs';
import { MetricsCollector } from '../dist/metrics/collector.js';
import { PROMTOOL, skipWithout } from './helpers/tools.mjs';

const NEEDS_PROMTOOL = { skip: skipWithout(PROMTOOL, 'apt-get install prometheus') };
import { renderRegistries } from '../dist/metrics/exposition.js';

const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const runs = (n) => Math.max(1, Math.round(n * SCALE));

test('Engine options: validation returns options or an InvalidArgumentError naming the field', async () => {
  await check(engineOptionsValidation(), runs(150));
});

test('Engine.create with broken options: starts or fails clearly, then shuts down with every request settled', async () => {
  await check(engineCreate(), runs(20));
});

test('generate() with broken requests: a synchronous InvalidArgumentError or a stream that settles', NEEDS_PROMTOOL, async () => {
  const engine = await requestEngine();
  const collector = new MetricsCollector({ model_name: 'fuzz-requests' });
  collector.attach(engine);
  try {
    await check(generateRequests(engine), runs(100));
    assert.equal(engine.inflight, 0);
  } finally {
    await engine.shutdown();
  }
  const text = await renderRegistries([collector.registry]);
  promtoolCheck(text);
  collector.close();
});

test('collector inputs (NaN, Infinity, negative, huge, missing, wrong types): clear errors, sane exposition', NEEDS_PROMTOOL, async () => {
  const state = collectorState();
  await check(collectorInputs(state), runs(150));
  promtoolCheck(state.last);
  for (const c of state.collectors) c.close();
});

test('HTTP requests to both servers (methods, paths, headers, bodies, credentials, raw garbage): no 500, no stack, no hang', NEEDS_PROMTOOL, async () => {
  const ctx = await httpWorker();
  try {
    await check(httpRequests(ctx), runs(120));
    await check(rawHttp(ctx), runs(40));
    await httpAftercheck(ctx);
  } finally {
    await ctx.worker.shutdown();
  }
});
