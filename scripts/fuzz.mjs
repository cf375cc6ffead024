#!/usr/bin/env node
// The long fuzz run: the properties of test/hardening-fuzz.test.mjs with >= 10,000 cases in all (default),
// printing the cases and time per property. Exit 0 when every property held.
//
//   node scripts/fuzz.mjs [--runs 10000] [--seed N]
//
// --runs is the total; it is split over the properties by weight (cheap properties get more cases).
import { parseArgs } from 'node:util';
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
} from '../test/helpers/fuzz-properties.mjs';
import { MetricsCollector } from '../dist/metrics/collector.js';
import { renderRegistries } from '../dist/metrics/exposition.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10000' }, seed: { type: 'string' } } });
if (values.seed !== undefined) process.env.FUZZ_SEED = values.seed;
const TOTAL = Number(values.runs);
const WEIGHTS = { options: 0.3, create: 0.01, generate: 0.19, collector: 0.25, http: 0.2, raw: 0.05 };
const n = (k) => Math.max(1, Math.round(TOTAL * WEIGHTS[k]));

const rows = [];
async function timed(name, fn) {
  const t0 = performance.now();
  const cases = await fn();
  rows.push({ property: name, cases, seconds: ((performance.now() - t0) / 1000).toFixed(1) });
  console.log(`  ${name}: ${cases} cases ok (${rows.at(-1).seconds} s)`);
}

const t0 = performance.now();
try {
  await timed('engine options (validation)', () => check(engineOptionsValidation(), n('options')));
  await timed('Engine.create with broken options', () => check(engineCreate(), n('create')));
  await timed('generate() requests', async () => {
    const engine = await requestEngine();
    const collector = new MetricsCollector({ model_name: 'fuzz-requests' });
    collector.attach(engine);
    try {
      return await check(generateRequests(engine), n('generate'));
    } finally {
      await engine.shutdown();
      promtoolCheck(await renderRegistries([collector.registry]));
      collector.close();
    }
  });
  await timed('collector inputs', async () => {
    const state = collectorState();
    const cases = await check(collectorInputs(state), n('collector'));
    promtoolCheck(state.last);
    return cases;
  });
  const ctx = await httpWorker();
  try {
    await timed('HTTP requests (both servers)', () => check(httpRequests(ctx), n('http')));
    await timed('raw HTTP garbage (both servers)', () => check(rawHttp(ctx), n('raw')));
    await httpAftercheck(ctx);
    console.log(`  HTTP answers by status: ${JSON.stringify(ctx.statuses)}`);
  } finally {
    await ctx.worker.shutdown();
  }
} catch (err) {
  console.error(`FAILED: ${err?.stack ?? err}`);
  process.exit(1);
}
const total = rows.reduce((a, r) => a + r.cases, 0);
console.log(`fuzz: ${total} cases over ${rows.length} properties in ${((performance.now() - t0) / 1000).toFixed(0)} s, all held; promtool check metrics ok`);
