// Shared fixtures of the metrics and server tests: hand-built record rows, a synthetic MetricsSource, and
// readers of the text exposition (over the package's parser). Not a test file (run-tests.mjs only runs
// test/*.test.mjs).
import { RecordField as F, REQUEST_RECORD_STRIDE as STRIDE } from '../../dist/records.js';
import { parseExpositionText } from '../../dist/metrics/exposition-parse.js';

export const HAS_PERF = 2;
export const ERROR = 1;

const FIELD = {
  requestId: F.REQUEST_ID,
  enqueue: F.ENQUEUE_TIME_NS,
  arrival: F.ARRIVAL_TIME_NS,
  scheduled: F.FIRST_SCHEDULED_TIME_NS,
  firstToken: F.FIRST_TOKEN_TIME_NS,
  lastToken: F.LAST_TOKEN_TIME_NS,
  prompt: F.PROMPT_TOKENS,
  output: F.OUTPUT_TOKENS,
  cached: F.CACHED_TOKENS,
  sequences: F.NUM_SEQUENCES,
  reason: F.FINISH_REASON,
  kvTotal: F.KV_TOTAL_ALLOCATED_BLOCKS,
  kvNew: F.KV_NEW_ALLOCATED_BLOCKS,
  kvReused: F.KV_REUSED_BLOCKS,
  kvMissed: F.KV_MISSED_BLOCKS,
  kvHitRate: F.KV_HIT_RATE,
  specRate: F.SPEC_ACCEPTANCE_RATE,
  specAccepted: F.SPEC_ACCEPTED_DRAFT_TOKENS,
  specDraft: F.SPEC_DRAFT_TOKENS,
  firstIter: F.FIRST_ITER,
  lastIter: F.LAST_ITER,
  kvStart: F.KV_TRANSFER_START_NS,
  kvEnd: F.KV_TRANSFER_END_NS,
  flags: F.FLAGS,
};

/** Default row: a request with perf metrics, finished by end id, one sequence. Times in ns. */
export const DEFAULT_ROW = Object.freeze({
  sequences: 1,
  reason: 1,
  flags: HAS_PERF,
  firstIter: -1,
  lastIter: -1,
});

/** A RequestRecordBatch of the given rows (objects keyed by FIELD names; unset fields are 0). */
export function recordBatch(rows, { pad = 0 } = {}) {
  const data = new Float64Array((rows.length + pad) * STRIDE);
  rows.forEach((row, i) => {
    const r = { ...DEFAULT_ROW, ...row };
    for (const [k, v] of Object.entries(r)) {
      if (!(k in FIELD)) throw new Error(`unknown record field ${k}`);
      data[i * STRIDE + FIELD[k]] = v;
    }
  });
  return { data, count: rows.length, epochNs: 123456789n };
}

/** Parses the text exposition into samples: [{ name, labels, value }] (strict: lib/metrics/exposition-parse.ts). */
export function parseSamples(text) {
  return parseExpositionText(text, { strict: true }).samples;
}

/** The value of the one sample of that name whose labels include `labels`; undefined if none; throws if several. */
export function sample(text, name, labels = {}) {
  const hits = parseSamples(text).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === String(v)),
  );
  if (hits.length > 1) throw new Error(`${hits.length} samples match ${name} ${JSON.stringify(labels)}`);
  return hits.length === 1 ? hits[0].value : undefined;
}

/** All samples of a name (e.g. every bucket of a histogram). */
export function samples(text, name, labels = {}) {
  return parseSamples(text).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === String(v)),
  );
}

/** Non-cumulative bucket counts of a histogram series, keyed by the `le` text. */
export function bucketCounts(text, name, labels = {}) {
  const rows = samples(text, `${name}_bucket`, labels);
  const out = {};
  let prev = 0;
  for (const r of rows) {
    out[r.labels.le] = r.value - prev;
    prev = r.value;
  }
  return out;
}

/** The family names (from # TYPE lines), in order. */
export function familyNames(text) {
  return text
    .split('\n')
    .filter((l) => l.startsWith('# TYPE '))
    .map((l) => l.split(' ')[2]);
}

export function streamCounters(p = 0, d = 0, x = 0, q = 0, cap = 0) {
  return { produced: p, delivered: d, dropped: x, queued: q, capacity: cap };
}

/** A synthetic MetricsSource: push data with emitRecords / emitStats / emitEvents; counters are settable. */
export function fakeSource({ modelName = 'fake-model', capacity = 0 } = {}) {
  const listeners = { records: new Set(), stats: new Set(), events: new Set() };
  const src = {
    modelName,
    ready: false,
    kvEventBufferCapacity: capacity,
    counterValues: {
      responses: streamCounters(),
      requestRecords: streamCounters(),
      iterationStats: streamCounters(),
      kvEvents: streamCounters(),
      kvEventsDroppedByExecutor: 0,
    },
    countersCalls: 0,
    onRequestFinished(fn) {
      listeners.records.add(fn);
      return () => listeners.records.delete(fn);
    },
    onIterationStats(fn) {
      listeners.stats.add(fn);
      return () => listeners.stats.delete(fn);
    },
    onKvCacheEvents(fn) {
      listeners.events.add(fn);
      return () => listeners.events.delete(fn);
    },
    counters() {
      src.countersCalls++;
      return structuredClone(src.counterValues);
    },
    emitRecords(batch) {
      for (const fn of listeners.records) fn(batch);
    },
    emitStats(stats) {
      for (const fn of listeners.stats) fn(stats);
    },
    emitEvents(events) {
      for (const fn of listeners.events) fn(events);
    },
    listenerCount() {
      return listeners.records.size + listeners.stats.size + listeners.events.size;
    },
  };
  return src;
}

/** A complete IterationStats object (every field set, distinct values); override what you need. */
export function iterationStats(overrides = {}) {
  return {
    timestamp: '11-28-2026 12:00:00',
    iter: 42,
    iterLatencyMS: 12.5,
    newActiveRequestsQueueLatencyMS: 0.25,
    numNewActiveRequests: 2,
    numActiveRequests: 7,
    numQueuedRequests: 3,
    numCompletedRequests: 4,
    maxNumActiveRequests: 64,
    maxBatchSizeStatic: 128,
    maxBatchSizeTunerRecommended: 96,
    maxBatchSizeRuntime: 80,
    maxNumTokensStatic: 8192,
    maxNumTokensTunerRecommended: 4096,
    maxNumTokensRuntime: 6144,
    gpuMemUsage: 70000000000,
    cpuMemUsage: 1500000000,
    pinnedMemUsage: 250000000,
    kvCacheStats: {
      maxNumBlocks: 1000,
      freeNumBlocks: 750,
      usedNumBlocks: 250,
      tokensPerBlock: 32,
      allocTotalBlocks: 900,
      allocNewBlocks: 800,
      reusedBlocks: 100,
      missedBlocks: 800,
      cacheHitRate: 0.111,
    },
    crossKvCacheStats: null,
    staticBatchingStats: null,
    inflightBatchingStats: {
      numScheduledRequests: 21,
      numContextRequests: 8,
      numGenRequests: 5,
      numPausedRequests: 1,
      numCtxTokens: 700,
      microBatchId: 0,
      avgNumDecodedTokensPerIter: 1.75,
    },
    specDecodingStats: {
      numDraftTokens: 30,
      numAcceptedTokens: 18,
      numRequestsWithDraftTokens: 6,
      acceptanceLength: 2.5,
      iterLatencyMS: 1.2,
      draftOverhead: 0.15,
    },
    ...overrides,
  };
}
