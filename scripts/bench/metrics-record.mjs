#!/usr/bin/env node
// Recording cost per finished request: MetricsCollector (basic = the five seed metrics; full = the whole
// per-request set) against plain prom-client Histogram.observe / Counter.inc with label objects, on the same
// synthetic records, in the same run. Prints ns/request and the ratios. Build first: npx tsc -p tsconfig.json
// Exemplars: the full set with a TraceIds that holds nothing, and with every request traced (its trace id set
// before its record arrives, as the API server does at enqueue; the set is inside the measured time).
// --baseline DIST measures another build's collector in the same run (e.g. the commit before a change:
// `git archive REV | tar -x -C /tmp/base && cd /tmp/base && ln -s $PWD/node_modules && npx tsc`), on the
// same records in its own row layout, and prints the ratios against it.
//
//   node scripts/bench/metrics-record.mjs [--records 8192] [--batch 64] [--ms 300] [--rounds 3] [--baseline DIST] [--cpu-time]
//   ONLY=collector node scripts/bench/metrics-record.mjs   (only the variants whose name contains ONLY)
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { Counter, Histogram, Registry } from 'prom-client';
import { MetricsCollector } from '../../dist/metrics/collector.js';
import { TraceIds } from '../../dist/metrics/exemplars.js';
import * as B from '../../dist/metrics/buckets.js';
import { RecordField as F, REQUEST_RECORD_STRIDE as STRIDE, FINISHED_REASON_LABELS } from '../../dist/records.js';
import { newTimings, recordTimings, Timing as T } from '../../dist/request-timings.js';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const N = Number(args.records ?? 8192);
const BATCH = Number(args.batch ?? 64);
const MS = Number(args.ms ?? 300);
const ROUNDS = Number(args.rounds ?? 3);

// Deterministic pseudo-random numbers (xorshift32).
let seed = 0x9e3779b9;
function rnd() {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 0x100000000;
}
const uni = (a, b) => a + (b - a) * rnd();

function makeRecords(n) {
  const d = new Float64Array(n * STRIDE);
  let t = 5e9;
  for (let i = 0; i < n; i++) {
    const o = i * STRIDE;
    t += uni(0, 2e6);
    const enq = Math.round(t);
    const arr = enq + Math.round(uni(1e4, 2e6));
    const sched = arr + Math.round(rnd() < 0.1 ? 0 : uni(0, 5e8));
    const first = sched + Math.round(uni(1e7, 3e8));
    const out = rnd() < 0.05 ? 1 : Math.round(uni(2, 1000));
    const last = out === 1 ? first : first + Math.round(out * uni(8e6, 4e7));
    const prompt = Math.round(uni(10, 4000));
    d[o + F.REQUEST_ID] = i;
    d[o + F.ENQUEUE_TIME_NS] = enq;
    d[o + F.ARRIVAL_TIME_NS] = arr;
    d[o + F.FIRST_SCHEDULED_TIME_NS] = sched;
    d[o + F.FIRST_TOKEN_TIME_NS] = first;
    d[o + F.LAST_TOKEN_TIME_NS] = last;
    d[o + F.PROMPT_TOKENS] = prompt;
    d[o + F.OUTPUT_TOKENS] = out;
    d[o + F.CACHED_TOKENS] = Math.min(prompt, 32 * Math.floor(uni(0, 40)));
    d[o + F.NUM_SEQUENCES] = rnd() < 0.05 ? 2 : 1;
    const r = rnd();
    d[o + F.FINISH_REASON] = r < 0.7 ? 1 : r < 0.8 ? 2 : r < 0.95 ? 3 : r < 0.98 ? 5 : 4;
    d[o + F.SPEC_DRAFT_TOKENS] = rnd() < 0.2 ? Math.round(uni(1, 50)) : 0;
    d[o + F.SPEC_ACCEPTED_DRAFT_TOKENS] = d[o + F.SPEC_DRAFT_TOKENS] > 0 ? Math.round(d[o + F.SPEC_DRAFT_TOKENS] * 0.6) : 0;
    d[o + F.FLAGS] = 2; // RECORD_FLAG_HAS_PERF
  }
  return d;
}

const data = makeRecords(N);
const batches = [];
for (let i = 0; i < N; i += BATCH) {
  batches.push({ data: data.subarray(i * STRIDE, Math.min(N, i + BATCH) * STRIDE), count: Math.min(BATCH, N - i), epochNs: 0n });
}

/** The same values (lib/request-timings.ts), recorded through plain prom-client objects with label objects. */
function plainPromClient(full) {
  const registers = [new Registry()];
  const labels = { model_name: 'bench-model', engine_type: 'trtllm' };
  const names = Object.keys(labels);
  const reasonLabels = FINISHED_REASON_LABELS.map((r) => ({ ...labels, finished_reason: r }));
  const success = new Counter({ name: 'trtllm_request_success_total', help: 'x', labelNames: [...names, 'finished_reason'], registers });
  const h = (name, buckets) => new Histogram({ name, help: 'x', labelNames: names, buckets: [...buckets], registers });
  const e2e = h('trtllm_e2e_request_latency_seconds', B.E2E_LATENCY_BUCKETS);
  const ttft = h('trtllm_time_to_first_token_seconds', B.TTFT_BUCKETS);
  const tpot = h('trtllm_time_per_output_token_seconds', B.TPOT_BUCKETS);
  const queue = h('trtllm_request_queue_time_seconds', B.E2E_LATENCY_BUCKETS);
  let prefill, decode, inference, cachedHist, promptC, genC, cachedC, drafted, accepted, posLabels;
  if (full) {
    prefill = h('trtllm_request_prefill_time_seconds', B.PREFILL_TIME_BUCKETS);
    decode = h('trtllm_request_decode_time_seconds', B.E2E_LATENCY_BUCKETS);
    inference = h('trtllm_request_inference_time_seconds', B.E2E_LATENCY_BUCKETS);
    cachedHist = h('trtllm_prompt_cached_tokens_per_request', B.CACHED_TOKENS_BUCKETS);
    const c = (name, extra = []) => new Counter({ name, help: 'x', labelNames: [...names, ...extra], registers });
    promptC = c('trtllm_prompt_tokens_total');
    genC = c('trtllm_generation_tokens_total');
    cachedC = c('trtllm_prompt_cached_tokens_total');
    drafted = c('trtllm_spec_decode_drafted_tokens_total', ['token_position']);
    accepted = c('trtllm_spec_decode_accepted_tokens_total', ['token_position']);
    posLabels = { ...labels, token_position: 'all' };
  }
  const t = newTimings();
  return (batch) => {
    const d = batch.data;
    for (let o = 0, end = batch.count * STRIDE; o < end; o += STRIDE) {
      success.inc(reasonLabels[d[o + F.FINISH_REASON]], 1);
      recordTimings(t, d, o, full, full);
      const out = d[o + F.OUTPUT_TOKENS];
      if (t[T.TTFT] === t[T.TTFT]) ttft.observe(labels, t[T.TTFT]);
      if (t[T.E2E] === t[T.E2E]) e2e.observe(labels, t[T.E2E]);
      if (t[T.QUEUE] === t[T.QUEUE]) queue.observe(labels, t[T.QUEUE]);
      if (t[T.TPOT] === t[T.TPOT]) tpot.observe(labels, t[T.TPOT]);
      if (full) {
        if (t[T.DECODE] === t[T.DECODE]) decode.observe(labels, t[T.DECODE]);
        if (t[T.PREFILL] === t[T.PREFILL]) prefill.observe(labels, t[T.PREFILL]);
        if (t[T.INFERENCE] === t[T.INFERENCE]) inference.observe(labels, t[T.INFERENCE]);
        const prompt = d[o + F.PROMPT_TOKENS];
        if (prompt > 0) promptC.inc(labels, prompt);
        if (out > 0) genC.inc(labels, out);
        const cached = d[o + F.CACHED_TOKENS];
        if (cached > 0) cachedC.inc(labels, cached);
        cachedHist.observe(labels, cached);
        const dr = d[o + F.SPEC_DRAFT_TOKENS];
        if (dr > 0) drafted.inc(posLabels, dr);
        const ac = d[o + F.SPEC_ACCEPTED_DRAFT_TOKENS];
        if (ac > 0) accepted.inc(posLabels, ac);
      }
    }
  };
}

function collectorVariant(profile, traceIds) {
  const c = new MetricsCollector({ model_name: 'bench-model' }, { profile, ...(traceIds ? { traceIds } : {}) });
  return (batch) => c.logRequestRecords(batch);
}

/** Every request of a batch gets a trace id just before its record is recorded. */
function tracedVariant() {
  const traceIds = new TraceIds();
  const ids = Array.from({ length: N }, (_, i) => (0x4bf92f3577b34da6n + BigInt(i)).toString(16).padStart(32, '0'));
  const record = collectorVariant('full', traceIds);
  return (batch) => {
    const d = batch.data;
    for (let o = 0, end = batch.count * STRIDE; o < end; o += STRIDE) traceIds.set(d[o + F.REQUEST_ID], ids[d[o + F.REQUEST_ID]]);
    record(batch);
  };
}

/** Another build's collector (--baseline DIST), on the same records in its row layout (a prefix of ours). */
function baselineVariant(dist, profile) {
  const req = createRequire(import.meta.url);
  const { MetricsCollector: Base } = req(resolve(dist, 'metrics/collector.js'));
  const stride = req(resolve(dist, 'records.js')).REQUEST_RECORD_STRIDE;
  if (stride > STRIDE) throw new Error(`--baseline ${dist}: its records have ${stride} slots, more than ours (${STRIDE})`);
  const rows = new Float64Array(N * stride);
  for (let i = 0; i < N; i++) rows.set(data.subarray(i * STRIDE, i * STRIDE + stride), i * stride);
  const own = batches.map((b, k) => ({ data: rows.subarray(k * BATCH * stride, (k * BATCH + b.count) * stride), count: b.count, epochNs: 0n }));
  const c = new Base({ model_name: 'bench-model' }, { profile });
  let k = 0;
  // measure() passes our batches in order; record the matching batch of the baseline layout.
  return () => c.logRequestRecords(own[k++ % own.length]);
}

/**
 * Runs `fn` over all batches repeatedly for about MS milliseconds; returns ns per record. With --cpu-time,
 * the process's CPU time instead of the wall clock: on a shared machine the wall clock also counts the time
 * the process waited for a core.
 */
const CPU_TIME = process.argv.includes('--cpu-time');
function clockNs() {
  if (!CPU_TIME) return process.hrtime.bigint();
  const u = process.cpuUsage();
  return BigInt(u.user + u.system) * 1000n;
}
function measure(fn) {
  for (const b of batches) fn(b); // warm-up pass
  let records = 0;
  const start = clockNs();
  const budget = BigInt(MS) * 1000000n;
  let elapsed = 0n;
  do {
    for (let i = 0; i < batches.length; i++) fn(batches[i]);
    records += N;
    elapsed = clockNs() - start;
  } while (elapsed < budget);
  return Number(elapsed) / records;
}

const ONLY = process.env.ONLY;
const variants0 = {
  'collector five (basic)': () => collectorVariant('basic'),
  'prom-client five': () => plainPromClient(false),
  'collector full set': () => collectorVariant('full'),
  'prom-client full set': () => plainPromClient(true),
  'full, exemplars idle': () => collectorVariant('full', new TraceIds()),
  'full, all traced': () => tracedVariant(),
};
if (args.baseline) {
  variants0['baseline five (basic)'] = () => baselineVariant(args.baseline, 'basic');
  variants0['baseline full set'] = () => baselineVariant(args.baseline, 'full');
}
const variants = ONLY ? Object.fromEntries(Object.entries(variants0).filter(([k]) => k.includes(ONLY))) : variants0;
const results = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, make] of Object.entries(variants)) results[name].push(measure(make()));
}
const best = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Math.min(...v)]));
console.log(`records=${N} batch=${BATCH} rounds=${ROUNDS} (best of rounds, ~${MS} ms ${CPU_TIME ? 'CPU time' : 'wall clock'} each)  node ${process.version}`);
for (const [k, v] of Object.entries(best)) console.log(`${k.padEnd(24)} ${v.toFixed(1).padStart(8)} ns/request`);
const five = best['collector five (basic)'];
const full = best['collector full set'];
console.log(`ratio five (prom-client / collector): ${(best['prom-client five'] / five).toFixed(1)}x   target collector <= 100 ns: ${five <= 100 ? 'met' : 'MISSED'}`);
console.log(`ratio full (prom-client / collector): ${(best['prom-client full set'] / full).toFixed(1)}x   target collector <= 250 ns: ${full <= 250 ? 'met' : 'MISSED'}`);
const pct = (a, b) => `${(((a - b) / b) * 100).toFixed(1)}%`;
if (best['full, all traced'] !== undefined) console.log(`exemplars: idle ${pct(best['full, exemplars idle'], full)}, every request traced ${pct(best['full, all traced'], full)} vs the full set without`);
if (args.baseline) {
  const bf = best['baseline full set'];
  const b5 = best['baseline five (basic)'];
  console.log(`vs baseline (${args.baseline}): five ${pct(five, b5)}, full ${pct(full, bf)}, full with exemplars idle ${pct(best['full, exemplars idle'], bf)}, every request traced ${pct(best['full, all traced'], bf)}   target within 10%: ${Math.max(full, best['full, exemplars idle']) <= bf * 1.1 ? 'met' : 'MISSED'}`);
}
