// lib/request-timings.ts: the one copy of the per-request formulas and skip rules (REFERENCE.md section 1)
// that the collector, the bench and the perf-metrics endpoints share, table by table; and the record
// conversion every consumer reads through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { recordBatch } from './helpers/metrics-fixtures.mjs';

const require = createRequire(import.meta.url);
const T = require('../dist/request-timings.js');
const { RecordField: F, REQUEST_RECORD_STRIDE: STRIDE, RECORD_FLAG_ERROR } = require('../dist/records.js');
const { Timing, newTimings, requestTimings, recordTimings, isErrorRecord, perfMetricsFromRecord, recordSeconds, TIMING_COUNT } = T;

const NAMES = ['TTFT', 'E2E', 'QUEUE', 'TPOT', 'PREFILL', 'DECODE', 'INFERENCE'];

/** requestTimings as an object {TTFT: v | null, ...} (null = skipped). */
function timings({ enq = 0, arr = 0, sched = 0, first = 0, last = 0, out = 1, nseq = 1 }, { div = 1, keepZeroQueue = true, extended = true } = {}) {
  const t = newTimings();
  t.fill(12345); // every slot is written
  requestTimings(t, enq, arr, sched, first, last, out, nseq, div, keepZeroQueue, extended);
  return Object.fromEntries(NAMES.map((n) => [n, Number.isNaN(t[Timing[n]]) ? null : t[Timing[n]]]));
}

test('slots: seven, the four seed histograms first', () => {
  assert.equal(TIMING_COUNT, 7);
  assert.deepEqual(NAMES.map((n) => Timing[n]), [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(newTimings().length, TIMING_COUNT);
});

test('formulas', () => {
  const r = { enq: 10, arr: 10.5, sched: 11, first: 13, last: 21, out: 5 };
  assert.deepEqual(timings(r), { TTFT: 3, E2E: 11, QUEUE: 1, TPOT: 2, PREFILL: 2, DECODE: 8, INFERENCE: 10 });
  // Nanoseconds in, seconds out: (t1 - t0) / div, the division last.
  const ns = timings({ enq: 1000, arr: 1500, sched: 123456789, first: 987654321, last: 5555555555, out: 7 }, { div: 1e9 });
  assert.equal(ns.TTFT, (987654321 - 1000) / 1e9);
  assert.equal(ns.TPOT, (5555555555 - 987654321) / 1e9 / 6);
  assert.equal(ns.INFERENCE, (5555555555 - 123456789) / 1e9);
});

test('arrival: the earlier of enqueue and executor arrival among those set', () => {
  assert.equal(timings({ enq: 1, arr: 2, first: 5 }).TTFT, 4);
  assert.equal(timings({ enq: 2, arr: 1, first: 5 }).TTFT, 4);
  assert.equal(timings({ enq: 0, arr: 2, first: 5 }).TTFT, 3);
  assert.equal(timings({ enq: 2, arr: 0, first: 5 }).TTFT, 3);
  // Neither set: every value that needs the arrival is skipped, the others are not.
  assert.deepEqual(timings({ sched: 2, first: 3, last: 5, out: 3 }), { TTFT: null, E2E: null, QUEUE: null, TPOT: 1, PREFILL: 1, DECODE: 2, INFERENCE: 3 });
});

test('0 = unset: every value that needs an unset timestamp is skipped', () => {
  const all = { enq: 1, sched: 2, first: 3, last: 5, out: 3 };
  assert.deepEqual(timings({ ...all, sched: 0 }), { TTFT: 2, E2E: 4, QUEUE: null, TPOT: 1, PREFILL: null, DECODE: 2, INFERENCE: null });
  assert.deepEqual(timings({ ...all, first: 0 }), { TTFT: null, E2E: 4, QUEUE: 1, TPOT: null, PREFILL: null, DECODE: null, INFERENCE: 3 });
  assert.deepEqual(timings({ ...all, last: 0 }), { TTFT: 2, E2E: null, QUEUE: 1, TPOT: null, PREFILL: 1, DECODE: null, INFERENCE: null });
});

test('values <= 0 or NaN are skipped; a queue time of exactly 0 only when keepZeroQueue', () => {
  // Out of order: first token before arrival, last before first, scheduled after the first token.
  assert.deepEqual(timings({ enq: 5, sched: 4.5, first: 4, last: 3, out: 9 }), { TTFT: null, E2E: null, QUEUE: null, TPOT: null, PREFILL: null, DECODE: null, INFERENCE: null });
  // All equal: only the queue time (exactly 0) survives, and only in the full profile.
  const same = { enq: 2, sched: 2, first: 2, last: 2, out: 9 };
  assert.deepEqual(timings(same), { TTFT: null, E2E: null, QUEUE: 0, TPOT: null, PREFILL: null, DECODE: null, INFERENCE: null });
  assert.equal(timings(same, { keepZeroQueue: false }).QUEUE, null);
  assert.equal(timings({ enq: 1, sched: 2 }, { keepZeroQueue: false }).QUEUE, 1);
  // NaN timestamps skip what they touch.
  assert.deepEqual(timings({ enq: 1, sched: NaN, first: 3, last: 5, out: 3 }), { TTFT: 2, E2E: 4, QUEUE: null, TPOT: 1, PREFILL: null, DECODE: 2, INFERENCE: null });
});

test('TPOT needs more than one output token and one sequence', () => {
  const r = { enq: 1, first: 2, last: 4 };
  assert.equal(timings({ ...r, out: 0 }).TPOT, null);
  assert.equal(timings({ ...r, out: 1 }).TPOT, null);
  assert.equal(timings({ ...r, out: 2 }).TPOT, 2);
  assert.equal(timings({ ...r, out: 5, nseq: 2 }).TPOT, null);
  assert.equal(timings({ ...r, out: 5, nseq: 2 }).DECODE, 2, 'decode does not depend on the sequences');
});

test('extended = false leaves prefill and inference out (the basic profile)', () => {
  const r = { enq: 1, sched: 2, first: 3, last: 5, out: 3 };
  assert.deepEqual(timings(r, { extended: false }), { TTFT: 2, E2E: 4, QUEUE: 1, TPOT: 1, PREFILL: null, DECODE: 2, INFERENCE: null });
});

test('recordTimings reads a row in nanoseconds; isErrorRecord; recordSeconds', () => {
  const { data: d } = recordBatch([{}, { enqueue: 1e9, arrival: 1.5e9, scheduled: 2e9, firstToken: 3e9, lastToken: 7e9, output: 5 }]);
  const o = STRIDE;
  const t = newTimings();
  recordTimings(t, d, o, true, true);
  assert.deepEqual([...t], [2, 6, 1, 1, 1, 4, 5]);
  assert.equal(isErrorRecord(0, 3), false);
  assert.equal(isErrorRecord(RECORD_FLAG_ERROR, 3), true);
  assert.equal(isErrorRecord(2, 6), true);
  assert.equal(recordSeconds(0, 100), 0);
  assert.equal(recordSeconds(5e8, 100), 100.5);
});

test('perfMetricsFromRecord: one function, exported by the package, the engine module and request-timings', () => {
  const pkg = require('../dist/index.js');
  const engine = require('../dist/engine.js');
  assert.equal(pkg.perfMetricsFromRecord, perfMetricsFromRecord);
  assert.equal(engine.perfMetricsFromRecord, perfMetricsFromRecord);
  const d = new Float64Array(STRIDE);
  d[F.ARRIVAL_TIME_NS] = 5e8;
  d[F.KV_REUSED_BLOCKS] = 3;
  d[F.FIRST_ITER] = -1;
  d[F.LAST_ITER] = 7;
  const m = perfMetricsFromRecord(d, 0, 2_000_000_000n);
  assert.equal(m.timingMetrics.arrivalTime, 2.5);
  assert.equal(m.timingMetrics.enqueueTime, 0, 'unset stays 0');
  assert.equal(m.kvCacheMetrics.numReusedBlocks, 3);
  assert.equal(m.firstIter, null);
  assert.equal(m.lastIter, 7);
});
