// Property-based fuzzing (fast-check) shared by test/hardening-fuzz.test.mjs (a few hundred cases in CI) and
// scripts/fuzz.mjs (>= 10,000). Each property feeds bad input to one surface and checks that it gets a clear
// error (a typed error or an HTTP 4xx with a message), never a crash, a hang or a corrupted metric.
// Not a test file (run-tests.mjs only runs test/*.test.mjs).
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { PROMTOOL, requireTool } from './tools.mjs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Engine } = require('../../dist/engine.js');
const { validateEngineOptions } = require('../../dist/engine-options.js');
const { InvalidArgumentError, TrtllmMetricsError, RequestFailedError, EngineClosedError } = require('../../dist/errors.js');
const { MetricsCollector } = require('../../dist/metrics/collector.js');
const { renderRegistries } = require('../../dist/metrics/exposition.js');
const { REQUEST_RECORD_STRIDE } = require('../../dist/records.js');
const { parseExpositionText, parseSampleValue } = require('../../dist/metrics/exposition-parse.js');
const { Worker } = require('../../dist/worker.js');

export { PROMTOOL };

// ---- arbitraries ------------------------------------------------------------------------------------------

/** Numbers that break naive code: NaN, infinities, -0, negatives, fractions, huge, beyond 2^53. */
export const weirdNumber = fc.oneof(
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, -1, 1, 0.5, 1e308, -1e308, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, 2 ** 53, 2 ** 53 + 2, Number.MIN_VALUE, Number.EPSILON),
  fc.integer({ min: -1000, max: 100_000 }),
  fc.double(),
);

/** Any value of a wrong type (or a weird number). */
export const weirdValue = fc.oneof(
  { weight: 4, arbitrary: weirdNumber },
  fc.string({ maxLength: 20 }),
  fc.constantFrom(null, undefined, true, false, '', '1', 'NaN', '__proto__', [], {}, [1, 2], { a: 1 }),
  fc.bigInt(),
  fc.array(fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 3 })), { maxLength: 5 }),
  fc.constant(() => 1),
  fc.constant(Symbol('x')),
);

function clone(v) {
  if (v instanceof Int32Array || v instanceof Float64Array) return v.slice();
  if (Array.isArray(v)) return v.map(clone);
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = clone(x);
    return o;
  }
  return v;
}

function applyMutation(root, path, op, value) {
  const keys = path.split('.');
  let o = root;
  for (const k of keys.slice(0, -1)) {
    if (o[k] === null || typeof o[k] !== 'object') o[k] = {};
    o = o[k];
  }
  const last = keys[keys.length - 1];
  if (op === 'delete') delete o[last];
  else o[last] = clone(value); // constants of weirdValue are shared objects: never mutate them
}

/** `base` with up to `max` fields (from `paths`) deleted or set to a weird value. */
export function mutated(base, paths, max = 3) {
  return fc
    .array(fc.record({ path: fc.constantFrom(...paths), op: fc.constantFrom('set', 'set', 'set', 'delete'), value: weirdValue }), { minLength: 0, maxLength: max })
    .map((muts) => {
      const o = clone(base);
      for (const m of muts) applyMutation(o, m.path, m.op, m.value);
      return { value: o, muts };
    });
}

// ---- checks -----------------------------------------------------------------------------------------------

/** A clear error: one of ours, with a code and a message that is one readable line. */
export function assertClearError(err, ...types) {
  const ok = types.length === 0 ? err instanceof TrtllmMetricsError : types.some((t) => err instanceof t);
  if (!ok) throw new Error(`expected ${types.map((t) => t.name).join('|') || 'TrtllmMetricsError'}, got ${err?.constructor?.name}: ${err?.stack ?? err}`);
  assert.equal(typeof err.code, 'string');
  assert.ok(typeof err.message === 'string' && err.message.length > 5 && err.message.length < 1000, `message: ${err.message}`);
}

const withTimeout = (p, ms, what) => {
  let t;
  return Promise.race([p, new Promise((_, rej) => (t = setTimeout(() => rej(new Error(`hang: ${what} > ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
};

/**
 * Parses a text exposition strictly (lib/metrics/exposition-parse.ts; a malformed line throws); returns
 * { samples: [{ name, key, labels, value, type }], types: Map(family -> type) }, `key` naming the series and
 * `type` that of the sample's family.
 */
export function parseExposition(text) {
  const parsed = parseExpositionText(text, { strict: true });
  const familyOf = new Map(parsed.families.flatMap((f) => f.samples.map((s) => [s, f])));
  const types = new Map(parsed.families.map((f) => [f.name, f.type]));
  const samples = parsed.samples.map((s) => {
    const f = familyOf.get(s);
    return { ...s, key: `${s.name}${JSON.stringify(s.labels)}`, family: f.name, type: f.type };
  });
  return { samples, types };
}

/**
 * Checks an exposition for corruption: every value finite (no NaN, no infinities) and >= 0 for counters and
 * histograms, histogram buckets cumulative with +Inf == _count, and (given the previous parse) counters never
 * decreasing. Returns the parse for the next call.
 */
export function assertSaneExposition(text, previous) {
  const parsed = parseExposition(text);
  const { samples } = parsed;
  const histos = new Map();
  for (const s of samples) {
    const { family, type } = s;
    assert.ok(Number.isFinite(s.value), `non-finite sample: ${s.key} ${s.value}`);
    if (type === 'counter' || type === 'histogram') assert.ok(s.value >= 0, `negative ${type}: ${s.key} ${s.value}`);
    if (type === 'histogram' && s.name.endsWith('_bucket')) {
      const { le, ...rest } = s.labels;
      const series = `${family}${JSON.stringify(rest)}`;
      if (!histos.has(series)) histos.set(series, []);
      histos.get(series).push({ le: parseSampleValue(le), value: s.value });
    }
    if (type === 'histogram' && s.name.endsWith('_count')) {
      const series = `${family}${JSON.stringify(s.labels)}`;
      histos.set(`${series}#count`, s.value);
    }
  }
  for (const [series, buckets] of histos) {
    if (series.endsWith('#count')) continue;
    for (let i = 1; i < buckets.length; i++) {
      assert.ok(buckets[i].le > buckets[i - 1].le, `${series}: bucket bounds out of order`);
      assert.ok(buckets[i].value >= buckets[i - 1].value, `${series}: buckets not cumulative`);
    }
    const last = buckets[buckets.length - 1];
    assert.equal(last.le, Infinity, `${series}: no +Inf bucket`);
    const count = histos.get(`${series}#count`);
    if (count !== undefined) assert.equal(last.value, count, `${series}: +Inf bucket != _count`);
  }
  if (previous) {
    const before = new Map(previous.samples.map((s) => [s.key, s]));
    for (const s of samples) {
      if (s.type !== 'counter' && s.type !== 'histogram') continue;
      if (s.name.endsWith('_sum')) continue;
      const b = before.get(s.key);
      if (b !== undefined) assert.ok(s.value >= b.value, `counter went down: ${s.key} ${b.value} -> ${s.value}`);
    }
  }
  return parsed;
}

/** `promtool check metrics` on an exposition (throws when promtool is missing: never a silent pass). */
export function promtoolCheck(text) {
  requireTool(PROMTOOL, 'apt-get install prometheus');
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool check metrics failed:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.stdout.trim(), '', `promtool reported:\n${r.stdout}`);
}

// ---- 1. Engine options ------------------------------------------------------------------------------------

const VALID_OPTIONS = {
  backend: 'sim',
  modelName: 'fuzz',
  executorConfig: {
    maxBatchSize: 8,
    maxNumTokens: 4096,
    maxQueueSize: 64,
    iterStatsMaxIterations: 100,
    requestStatsMaxIterations: 0,
    enableChunkedContext: true,
    capacitySchedulerPolicy: 'GUARANTEED_NO_EVICT',
    kvCacheConfig: { enableBlockReuse: true, maxTokens: 8192, freeGpuMemoryFraction: 0.9, eventBufferMaxSize: 64 },
  },
  sim: {
    tokensPerBlock: 16,
    numKvBlocks: 512,
    maxSeqLen: 512,
    vocabSize: 1000,
    outputLengthMode: 'maxTokens',
    meanOutputTokens: 8,
    seed: 1,
    speedupRatio: 1,
    virtualClock: true,
    modelSizeBytes: 1e9,
    kvBytesPerBlock: 1e5,
    specDraftLength: 0,
    specAcceptanceProbability: 0.5,
    timing: { prefillA: 1, prefillB: 0.01, prefillC: 0, decodeD2: 0, decodeD1: 0.01, decodeD0: 5, decodeMinMs: 1 },
  },
  bridge: { responseQueueCapacity: 64, recordQueueCapacity: 64, statsQueueCapacity: 16, eventQueueCapacity: 64, statsIntervalMs: 10, responsePollMs: 5, eventPollMs: 5 },
  shutdownGraceMs: 100,
  latestStatsCapacity: 10,
  latestEventsCapacity: 10,
};
const OPTION_PATHS = [
  'backend', 'modelName', 'engineDir', 'executorConfig', 'sim', 'bridge', 'shutdownGraceMs', 'latestStatsCapacity', 'latestEventsCapacity', 'bogus',
  ...Object.keys(VALID_OPTIONS.executorConfig).map((k) => `executorConfig.${k}`),
  ...Object.keys(VALID_OPTIONS.executorConfig.kvCacheConfig).map((k) => `executorConfig.kvCacheConfig.${k}`),
  ...Object.keys(VALID_OPTIONS.sim).map((k) => `sim.${k}`),
  ...Object.keys(VALID_OPTIONS.sim.timing).map((k) => `sim.timing.${k}`),
  ...Object.keys(VALID_OPTIONS.bridge).map((k) => `bridge.${k}`),
  'sim.bogus', 'bridge.bogus', 'executorConfig.kvCacheConfig.bogus',
];

/** validateEngineOptions over anything and over valid options with broken fields: a value or a clear error. */
export function engineOptionsValidation() {
  const input = fc.oneof({ weight: 1, arbitrary: fc.anything().map((value) => ({ value, muts: [] })) }, { weight: 4, arbitrary: mutated(VALID_OPTIONS, OPTION_PATHS, 3) });
  return fc.property(input, ({ value, muts }) => {
    let resolved;
    try {
      resolved = validateEngineOptions(value);
    } catch (err) {
      assertClearError(err, InvalidArgumentError);
      if (muts.length === 1 && muts[0].op === 'set') {
        // One broken field: the message names it (or the object it sits in).
        const parts = muts[0].path.split('.');
        assert.ok(parts.some((p) => err.message.includes(p)), `"${err.message}" does not name ${muts[0].path}`);
      }
      return;
    }
    assert.equal(typeof resolved.modelName, 'string');
    assert.ok(resolved.modelName.length > 0);
  });
}

/** Engine.create with small but otherwise arbitrary options (virtual clock): starts or fails clearly; shuts down. */
export function engineCreate() {
  const small = { ...VALID_OPTIONS, sim: { ...VALID_OPTIONS.sim } };
  const paths = OPTION_PATHS.filter((p) => !/Capacity$|numKvBlocks|maxTokens$|virtualClock|speedupRatio|^sim$|^bridge$|^executorConfig$|kvCacheConfig$/.test(p));
  return fc.asyncProperty(mutated(small, paths, 2), fc.integer({ min: 1, max: 64 }), async ({ value }, maxTokens) => {
    let engine;
    try {
      engine = await withTimeout(Engine.create(value), 20_000, 'Engine.create');
    } catch (err) {
      assertClearError(err);
      return;
    }
    const p = engine.complete({ inputTokenIds: [5, 6, 7, 8], maxTokens }).then(
      (r) => r,
      (err) => err,
    );
    await new Promise((r) => setTimeout(r, 5));
    await withTimeout(engine.shutdown(), 20_000, 'shutdown');
    const r = await withTimeout(p, 20_000, 'request after shutdown');
    if (r instanceof Error) assertClearError(r, RequestFailedError, EngineClosedError);
    const c = engine.counters();
    for (const s of ['responses', 'requestRecords', 'iterationStats', 'kvEvents']) assert.equal(c[s].produced, c[s].delivered + c[s].dropped, s);
  });
}

// ---- 2. generate() requests -------------------------------------------------------------------------------

const VALID_REQUEST = {
  inputTokenIds: [5, 6, 7, 8, 9],
  maxTokens: 8,
  streaming: false,
  returnPerfMetrics: true,
  endId: 2,
  padId: 0,
  stopWords: [[10, 11]],
  clientId: 1,
  priority: 0.5,
  allottedTimeMs: 60_000,
  samplingConfig: { beamWidth: 1, temperature: 1, topK: 10, topP: 0.9, seed: 1, numReturnSequences: 1 },
};
const REQUEST_PATHS = [
  ...Object.keys(VALID_REQUEST),
  'signal', 'bogus', 'inputTokenIds.0', 'inputTokenIds.3', 'stopWords.0', 'stopWords.0.0',
  ...Object.keys(VALID_REQUEST.samplingConfig).map((k) => `samplingConfig.${k}`),
  'samplingConfig.bogus',
];
const tokenArrays = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 1200 }), { minLength: 0, maxLength: 700 }),
  fc.array(fc.integer({ min: 0, max: 999 }), { minLength: 1, maxLength: 8 }).map((a) => Int32Array.from(a)),
  fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 4 }).map((a) => Int32Array.from(a)),
  fc.array(weirdValue, { minLength: 1, maxLength: 4 }),
);

/** The engine the generate() property drives (virtual clock: every accepted request finishes quickly). */
export function requestEngine() {
  return Engine.create({
    modelName: 'fuzz-requests',
    sim: { virtualClock: true, maxSeqLen: 512, vocabSize: 1000, outputLengthMode: 'maxTokens' },
    executorConfig: { maxBatchSize: 64, kvCacheConfig: { eventBufferMaxSize: 256 } },
    bridge: { statsIntervalMs: 5 },
  });
}

/** engine.generate() with broken requests: a synchronous InvalidArgumentError, or a stream that settles. */
export function generateRequests(engine) {
  const input = fc.oneof(
    { weight: 1, arbitrary: fc.anything().map((value) => ({ value })) },
    { weight: 5, arbitrary: mutated(VALID_REQUEST, REQUEST_PATHS, 3) },
    { weight: 2, arbitrary: fc.record({ inputTokenIds: tokenArrays, maxTokens: fc.oneof(weirdNumber, fc.integer({ min: 1, max: 600 })), streaming: fc.boolean() }).map((value) => ({ value })) },
  );
  return fc.asyncProperty(input, async ({ value }) => {
    let stream;
    try {
      stream = engine.generate(value);
    } catch (err) {
      assertClearError(err, InvalidArgumentError);
      return;
    }
    try {
      const r = await withTimeout(stream.collect(), 20_000, 'a generate() stream');
      assert.ok(['end_id', 'stop_words', 'length', 'timed_out', 'cancelled'].includes(r.finishReason), `finishReason ${r.finishReason}`);
      assert.ok(r.tokens.length <= value.maxTokens, 'no more tokens than maxTokens');
    } catch (err) {
      if (String(err?.message).startsWith('hang:')) throw err;
      assertClearError(err, RequestFailedError);
    }
  });
}

// ---- 3. collector inputs ----------------------------------------------------------------------------------

const VALID_REQUEST_METRICS = {
  finishReason: 'stop',
  enqueueTime: 10,
  arrivalTime: 10.001,
  firstScheduledTime: 10.01,
  firstTokenTime: 10.05,
  lastTokenTime: 10.5,
  promptTokens: 100,
  outputTokens: 20,
  cachedTokens: 32,
  numSequences: 1,
  specDraftTokens: 4,
  specAcceptedTokens: 2,
  error: false,
};
const VALID_STATS = {
  iter: 1,
  iterLatencyMS: 10,
  numActiveRequests: 4,
  numQueuedRequests: 1,
  numCompletedRequests: 2,
  maxNumActiveRequests: 64,
  maxBatchSizeStatic: 64,
  maxBatchSizeRuntime: 64,
  maxNumTokensRuntime: 8192,
  gpuMemUsage: 1e9,
  cpuMemUsage: 1e8,
  pinnedMemUsage: 1e7,
  kvCacheStats: { maxNumBlocks: 100, freeNumBlocks: 50, usedNumBlocks: 50, tokensPerBlock: 32, allocTotalBlocks: 10, allocNewBlocks: 8, reusedBlocks: 2, missedBlocks: 8, cacheHitRate: 0.2 },
  inflightBatchingStats: { numScheduledRequests: 4, numContextRequests: 1, numGenRequests: 3, numPausedRequests: 0, numCtxTokens: 100, microBatchId: 0, avgNumDecodedTokensPerIter: 1 },
  specDecodingStats: { numDraftTokens: 4, numAcceptedTokens: 2, numRequestsWithDraftTokens: 1, acceptanceLength: 1.5, iterLatencyMS: 1, draftOverhead: 0.1 },
};
const STATS_PATHS = [
  ...Object.keys(VALID_STATS),
  ...Object.keys(VALID_STATS.kvCacheStats).map((k) => `kvCacheStats.${k}`),
  ...Object.keys(VALID_STATS.inflightBatchingStats).map((k) => `inflightBatchingStats.${k}`),
  ...Object.keys(VALID_STATS.specDecodingStats).map((k) => `specDecodingStats.${k}`),
];
const VALID_EVENT = {
  event_id: 1,
  data: { type: 'stored', parent_hash: null, blocks: [{ type: 'stored_block', block_hash: 5n, tokens: [{ type: 'unique_token', token_id: 5, token_extra_id: 0n }], lora_id: null, cache_level: 0, priority: 35 }] },
  window_size: 4096,
  attention_dp_rank: 0,
};
const EVENT_PATHS = ['event_id', 'data', 'data.type', 'data.blocks', 'data.blocks.0', 'data.blocks.0.block_hash', 'data.block_hashes', 'data.parent_hash', 'window_size', 'attention_dp_rank'];

const collectorCall = fc.oneof(
  mutated(VALID_REQUEST_METRICS, [...Object.keys(VALID_REQUEST_METRICS), 'bogus'], 3).map(({ value }) => ['logRequestMetrics', value]),
  fc.record({
    rows: fc.array(fc.oneof(weirdNumber, fc.double({ min: 0, max: 1e12 })), { minLength: 0, maxLength: REQUEST_RECORD_STRIDE * 3 }),
    count: fc.oneof(fc.integer({ min: 0, max: 4 }), weirdValue),
    epochNs: fc.oneof(fc.bigInt(), weirdValue),
  }).map(({ rows, count, epochNs }) => ['logRequestRecords', { data: Float64Array.from(rows), count, epochNs }]),
  weirdValue.map((v) => ['logRequestRecords', v]),
  mutated(VALID_STATS, STATS_PATHS, 4).map(({ value }) => ['logIterationStats', value]),
  fc.array(mutated(VALID_STATS, STATS_PATHS, 2).map((x) => x.value), { maxLength: 3 }).map((a) => ['logIterationStats', a]),
  fc.array(mutated(VALID_EVENT, EVENT_PATHS, 3).map((x) => x.value), { maxLength: 4 }).map((a) => ['logKvCacheEvents', a]),
  weirdValue.map((v) => ['logKvCacheEvents', v]),
  weirdValue.map((v) => ['logRequestError', v]),
  fc.integer({ min: 100, max: 599 }).map((v) => ['logRequestError', v]),
  fc.record({ model: fc.oneof(weirdValue, fc.dictionary(fc.string({ maxLength: 8 }), weirdValue, { maxKeys: 3 })), kvCache: weirdValue }).map((v) => ['logConfigInfo', v]),
  weirdValue.map((v) => ['logIterationStats', v]),
  weirdValue.map((v) => ['setKvEventBufferCapacity', v]),
);

/** Sequences of collector calls with bad input: each returns or throws InvalidArgumentError; the exposition stays sane. */
export function collectorInputs(state) {
  return fc.asyncProperty(fc.array(collectorCall, { minLength: 1, maxLength: 8 }), async (calls) => {
    for (const [method, arg] of calls) {
      for (const c of state.collectors) {
        try {
          c[method](arg);
        } catch (err) {
          assertClearError(err, InvalidArgumentError);
        }
      }
    }
    const text = await renderRegistries([state.registry]);
    state.previous = assertSaneExposition(text, state.previous);
    state.last = text;
  });
}

export function collectorState() {
  const full = new MetricsCollector({ model_name: 'fuzz-full' });
  const basic = new MetricsCollector({ model_name: 'fuzz-basic' }, { registry: full.registry, profile: 'basic' });
  return { collectors: [full, basic], registry: full.registry, previous: undefined, last: '' };
}

// ---- 4. HTTP requests to both servers ---------------------------------------------------------------------

export const AUTH_TOKEN = 'fuzz-secret-token';

/** A worker with small limits and a bearer token, virtual clock. */
export async function httpWorker() {
  const worker = await Worker.start({
    engine: {
      modelName: 'fuzz-model',
      sim: { virtualClock: true, maxSeqLen: 256, outputLengthMode: 'maxTokens' },
      executorConfig: { maxBatchSize: 32, kvCacheConfig: { eventBufferMaxSize: 256 } },
      bridge: { statsIntervalMs: 10 },
    },
    host: '127.0.0.1',
    metricsPort: 0,
    httpPort: 0,
    shutdownGraceMs: 200,
    auth: { token: AUTH_TOKEN },
    limits: { maxBodyBytes: 64 * 1024, maxHeaderBytes: 8192, headersTimeoutMs: 2000, requestTimeoutMs: 4000, keepAliveTimeoutMs: 1000, maxConnections: 256 },
  });
  const api = new URL(worker.apiAddress.url);
  const metrics = new URL(worker.metricsAddress.url);
  return { worker, api: { host: api.hostname, port: Number(api.port) }, metrics: { host: metrics.hostname, port: Number(metrics.port) } };
}

const PATHS = ['/v1/completions', '/v1/chat/completions', '/v1/models', '/v1/models/fuzz-model', '/v1/models/%zz', '/stats', '/kv_cache_events', '/perf_metrics', '/health', '/metrics', '/live', '/', '/metrics?x=1', '/../etc/passwd', '//', '/v1/completions?stream=true'];
const METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'FOO'];
const headerToken = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}$/);
const headerValue = fc.oneof(fc.stringMatching(/^[\x20-\x7e]{0,40}$/), fc.constantFrom('', ' ', 'text/plain', 'application/openmetrics-text; version=1.0.0', 'application/json; charset=utf-16', '*/*;q=abc'));
const toJson = (value) => JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
const COMMON = { model: 'fuzz-model', max_tokens: 4, stream: true, temperature: 1, top_p: 1, stop: ['x'], seed: 1, n: 1, stream_options: { include_usage: true } };
const COMMON_PATHS = [...Object.keys(COMMON), 'stream_options.include_usage', 'logprobs', 'bogus'];
const completionBody = mutated({ ...COMMON, prompt: 'hello' }, [...COMMON_PATHS, 'prompt', 'prompt.0'], 2).map(({ value }) => toJson(value));
const chatBody = mutated({ ...COMMON, messages: [{ role: 'user', content: 'hi' }] }, [...COMMON_PATHS, 'messages', 'messages.0', 'messages.0.role', 'messages.0.content', 'messages.1'], 2).map(({ value }) =>
  toJson(value),
);
const body = fc.oneof(
  { weight: 2, arbitrary: completionBody },
  { weight: 2, arbitrary: chatBody },
  fc.constantFrom('', '{', '[]', 'null', '"x"', '{"model":', '{}', '{"prompt":"a","model":"fuzz-model","max_tokens":1e309}', '\u0000\u0001'),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.integer({ min: 60 * 1024, max: 200 * 1024 }).map((n) => `{"prompt":"${'a'.repeat(n)}"}`),
);

/** Sends one request over a raw socket; resolves with { status, headers, body } or { closed: true } (never hangs). */
export function rawRequest(target, bytes, timeoutMs = 8000, { halfClose = false } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(target.port, target.host);
    const chunks = [];
    let done = false;
    const finish = (v, err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(v);
    };
    const timer = setTimeout(() => finish(undefined, new Error(`hang: no answer within ${timeoutMs} ms to ${JSON.stringify(bytes.toString('latin1').slice(0, 120))}`)), timeoutMs);
    socket.on('error', () => finish(parse()));
    socket.on('data', (d) => {
      chunks.push(d);
      const r = parse();
      if (r.complete) finish(r);
    });
    socket.on('end', () => finish(parse()));
    socket.on('close', () => finish(parse()));
    // Half-closing right after the request (halfClose) makes Node end the connection as soon as it has
    // answered what it parsed; a well-formed request is sent without it (its Connection: close ends it).
    socket.on('connect', () => (halfClose ? socket.end(bytes) : socket.write(bytes)));
    function parse() {
      const buf = Buffer.concat(chunks);
      const text = buf.toString('latin1');
      const headEnd = text.indexOf('\r\n\r\n');
      if (headEnd < 0) return { closed: true, partial: text };
      const [statusLine, ...lines] = text.slice(0, headEnd).split('\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1]);
      const headers = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const bodyText = buf.subarray(Buffer.byteLength(text.slice(0, headEnd + 4), 'latin1')).toString('utf8');
      const len = headers['content-length'];
      const complete = len !== undefined ? Buffer.byteLength(bodyText) >= Number(len) : headers['transfer-encoding'] === 'chunked' ? /\r\n0\r\n\r\n$/.test(bodyText) : false;
      return { status, headers, body: bodyText, complete };
    }
  });
}

const STACK = /\n\s+at .+[(:]\d+|node:internal|\/dist\/|\.js:\d+:\d+|Error: .*\n\s+at /;

/** Counts the answers by status ('closed': Node closed the connection without one). */
function tally(ctx, r) {
  ctx.statuses ??= {};
  const key = r.closed ? 'closed' : String(r.status);
  ctx.statuses[key] = (ctx.statuses[key] ?? 0) + 1;
}

/** Checks one answer: a proper status, no stack trace, OpenAI error JSON on the API's own errors. */
function checkAnswer(r, { api, authorized }) {
  if (r.closed) return; // Node closed a connection it could not parse or that went over a limit
  assert.ok(Number.isInteger(r.status) && r.status >= 200 && r.status < 600, `status ${r.status}`);
  assert.ok(r.status !== 500, `500 answer: ${r.body.slice(0, 300)}`);
  assert.doesNotMatch(r.body, STACK, `stack trace in the answer: ${r.body.slice(0, 500)}`);
  if (!authorized && r.status === 200) {
    assert.ok(/\/health|\/live/.test(r.path), `200 without credentials on ${r.path}`);
  }
  if (api && r.status >= 400 && r.body.length > 0 && r.headers['content-type']?.startsWith('application/json')) {
    const e = JSON.parse(r.body).error;
    assert.ok(e && typeof e.message === 'string' && e.message.length > 0, `OpenAI error body: ${r.body}`);
  }
  if (r.headers['content-type']?.startsWith('text/event-stream') && r.status === 200 && r.complete) {
    assert.match(r.body, /data: \[DONE\]/);
  }
}

/** Structured HTTP requests (methods, paths, headers, bodies, credentials) to both servers. */
export function httpRequests(ctx) {
  // Plausible generation requests (right method, path and credentials; the body's fields fuzzed), so that
  // accepted requests and SSE streams are exercised too, and anything-goes requests.
  const plausible = fc.record({
    server: fc.constant('api'),
    method: fc.constant('POST'),
    route: fc.oneof(fc.tuple(fc.constant('/v1/completions'), completionBody), fc.tuple(fc.constant('/v1/chat/completions'), chatBody)),
    auth: fc.constant('good'),
    headers: fc.constant([]),
    chunked: fc.boolean(),
    contentLength: fc.constant('right'),
  }).map(({ route, ...q }) => ({ ...q, path: route[0], body: route[1] }));
  const anything = fc.record({
    server: fc.constantFrom('api', 'api', 'metrics'),
    method: fc.constantFrom(...METHODS),
    path: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...PATHS) }, fc.stringMatching(/^\/[\x21-\x7e]{0,30}$/)),
    auth: fc.constantFrom('good', 'good', 'none', 'bad', 'basic', 'lower'),
    headers: fc.array(fc.tuple(headerToken, headerValue), { maxLength: 4 }),
    body: fc.option(body, { nil: undefined }),
    chunked: fc.boolean(),
    contentLength: fc.constantFrom('right', 'right', 'right', 'missing', 'wrong', 'huge', 'negative'),
  });
  return fc.asyncProperty(fc.oneof(plausible, anything), async (q) => {
    const target = q.server === 'api' ? ctx.api : ctx.metrics;
    const lines = [`${q.method} ${q.path} HTTP/1.1`, `Host: ${target.host}:${target.port}`, 'Connection: close'];
    const authHeader = { good: `Bearer ${AUTH_TOKEN}`, bad: 'Bearer nope', basic: 'Basic Zm9vOmJhcg==', lower: `bearer ${AUTH_TOKEN}`, none: undefined }[q.auth];
    if (authHeader) lines.push(`Authorization: ${authHeader}`);
    for (const [k, v] of q.headers) if (!/^(host|connection|content-length|transfer-encoding|authorization)$/i.test(k)) lines.push(`${k}: ${v}`);
    let payload = Buffer.alloc(0);
    if (q.body !== undefined) {
      const b = Buffer.from(q.body, 'utf8');
      if (q.chunked) {
        lines.push('Transfer-Encoding: chunked');
        payload = Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n0\r\n\r\n')]);
      } else {
        if (q.contentLength === 'right') lines.push(`Content-Length: ${b.length}`);
        else if (q.contentLength === 'wrong') lines.push(`Content-Length: ${Math.max(0, b.length - 3)}`);
        else if (q.contentLength === 'huge') lines.push('Content-Length: 99999999999');
        else if (q.contentLength === 'negative') lines.push('Content-Length: -5');
        payload = b;
      }
    }
    const bytes = Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), payload]);
    const r = await rawRequest(target, bytes);
    tally(ctx, r);
    r.path = q.path;
    checkAnswer(r, { api: q.server === 'api', authorized: q.auth === 'good' || q.auth === 'lower' });
  });
}

/** Raw garbage and malformed HTTP to both servers: an error status or a closed connection, within the timeout. */
export function rawHttp(ctx) {
  const garbage = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a)),
    fc.stringMatching(/^[A-Z]{1,8} \S{0,20} HTTP\/[0-9.]{1,4}\r\n([\x20-\x7e]{0,30}\r\n){0,4}\r\n$/).map((s) => Buffer.from(s, 'latin1')),
    fc.constantFrom(
      'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab',
      'GET /metrics HTTP/1.1\r\nHost: x\r\nX: \u0000\r\n\r\n',
      'GET /metrics HTTP/1.1\r\nBad Header\r\n\r\n',
      'POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      `GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`,
      'GET /metrics HTTP/1.0\r\n\r\n',
      'GET http://evil/metrics HTTP/1.1\r\nHost: x\r\n\r\n',
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
      '\r\n\r\n\r\n',
    ).map((s) => Buffer.from(s, 'latin1')),
  );
  return fc.asyncProperty(fc.constantFrom('api', 'metrics'), garbage, async (server, bytes) => {
    const target = server === 'api' ? ctx.api : ctx.metrics;
    const r = await rawRequest(target, bytes, 8000, { halfClose: true });
    tally(ctx, r);
    r.path = '';
    if (!r.closed) {
      assert.ok(r.status !== 500, `500 on garbage: ${r.body.slice(0, 200)}`);
      assert.doesNotMatch(r.body, STACK);
    }
  });
}

/** After an HTTP fuzz run: both servers still answer, and the exposition is sane and passes promtool. */
export async function httpAftercheck(ctx) {
  const get = (target, path, auth = true) => rawRequest(target, Buffer.from(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${auth ? `Authorization: Bearer ${AUTH_TOKEN}\r\n` : ''}\r\n`));
  assert.equal((await get(ctx.metrics, '/health', false)).status, 200);
  assert.equal((await get(ctx.api, '/health', false)).status, 200);
  assert.equal((await get(ctx.metrics, '/metrics', false)).status, 401);
  const m = await get(ctx.metrics, '/metrics');
  assert.equal(m.status, 200);
  assertSaneExposition(m.body);
  promtoolCheck(m.body);
  const engine = ctx.worker.engine;
  const c = engine.counters();
  for (const s of ['responses', 'requestRecords', 'iterationStats', 'kvEvents']) assert.equal(c[s].produced, c[s].delivered + c[s].dropped + c[s].queued, s);
  return m.body;
}

/** fc.assert with a fixed seed when FUZZ_SEED is set; returns the number of runs. */
export async function check(property, numRuns) {
  const seed = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : undefined;
  await fc.assert(property, { numRuns, ...(seed !== undefined ? { seed } : {}), endOnFailure: true, includeErrorInReport: true });
  return numRuns;
}
