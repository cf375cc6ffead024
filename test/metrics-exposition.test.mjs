// The fast families carry exactly what plain prom-client Histogram / Counter / Gauge objects carry after the
// same observations: exposition text byte for byte per family (through registry.metrics() and through our
// renderer), get() / getMetricsAsJSON() data, Registry.merge, prom-client's own recording methods, and the
// OpenMetrics output. Golden comparisons against prom-client in the same test.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { MetricsCollector } from '../dist/metrics/collector.js';
import { FastCounter, FastGauge, FastHistogram } from '../dist/metrics/fast-metrics.js';
import { negotiateFormat, renderFamily, renderRegistries } from '../dist/metrics/exposition.js';
import * as B from '../dist/metrics/buckets.js';
import { recordBatch } from './helpers/metrics-fixtures.mjs';

let seed = 12345;
function rnd() {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}

const BASE = { model_name: 'we"ird\\model\nname', engine_type: 'trtllm' };

async function assertSameFamily(ours, oursRegistry, plain, plainRegistry) {
  const name = plain.name;
  const expected = await plainRegistry.getSingleMetricAsString(name);
  assert.equal(await oursRegistry.getSingleMetricAsString(name), expected, `${name}: registry text`);
  assert.equal(renderFamily(ours), expected, `${name}: our renderer`);
  assert.deepStrictEqual(await ours.get(), await plain.get(), `${name}: get()`);
}

describe('fast families equal plain prom-client after the same observations', () => {
  test('histogram: several series, first-use order, values in and beyond the buckets', async () => {
    const rA = new Registry();
    const rB = new Registry();
    const spec = { name: 'h_seconds', help: 'A histogram\\ with "HELP"\nlines.', labelNames: ['model_name', 'engine_type'], buckets: [...B.TTFT_BUCKETS] };
    const ours = new FastHistogram(spec, rA);
    const plain = new Histogram({ ...spec, registers: [rB] });
    const labelSets = [{ ...BASE }, { model_name: 'b', engine_type: 'trtllm' }, { model_name: 'c', engine_type: 'x' }];
    const children = labelSets.map((l) => ours.child(l, {}));
    assert.equal(renderFamily(ours), await rB.getSingleMetricAsString('h_seconds'), 'empty family');
    for (let i = 0; i < 2000; i++) {
      const k = i < 10 ? 1 : Math.floor(rnd() * 3);
      const v = rnd() < 0.05 ? 5000 * rnd() : rnd() < 0.5 ? 0.001 * Math.floor(rnd() * 200) : rnd() * 30;
      children[k].observe(v);
      plain.observe(labelSets[k], v);
    }
    // exact bucket bounds and zero are edge values
    for (const v of [0, 0.001, 2560, 0.75]) {
      children[0].observe(v);
      plain.observe(labelSets[0], v);
    }
    await assertSameFamily(ours, rA, plain, rB);
    assert.deepStrictEqual(await rA.getMetricsAsJSON(), await rB.getMetricsAsJSON());
  });

  test('counter: finished_reason series in first-use order, fractional increments', async () => {
    const rA = new Registry();
    const rB = new Registry();
    const spec = { name: 'c_total', help: 'A counter.', labelNames: ['model_name', 'engine_type', 'finished_reason'] };
    const ours = new FastCounter(spec, rA);
    const plain = new Counter({ ...spec, registers: [rB] });
    const reasons = ['length', 'stop', 'cancelled', 'not_finished'];
    const children = reasons.map((r) => ours.child({ ...BASE, finished_reason: r }, {}));
    for (let i = 0; i < 500; i++) {
      const k = Math.floor(rnd() * reasons.length);
      const v = rnd() < 0.5 ? 1 : rnd() * 100;
      children[k].inc(v);
      plain.inc({ ...BASE, finished_reason: reasons[k] }, v);
    }
    await assertSameFamily(ours, rA, plain, rB);
  });

  test('gauge: set and add', async () => {
    const rA = new Registry();
    const rB = new Registry();
    const spec = { name: 'g', help: 'A gauge.', labelNames: ['model_name', 'engine_type'] };
    const ours = new FastGauge(spec, rA);
    const plain = new Gauge({ ...spec, registers: [rB] });
    const c = ours.child(BASE, {});
    c.set(0.1);
    plain.set(BASE, 0.1);
    c.add(0.2);
    plain.inc(BASE, 0.2);
    c.add(-1e-9);
    plain.dec(BASE, 1e-9);
    await assertSameFamily(ours, rA, plain, rB);
  });

  test("prom-client's own methods on our families record into the same series", async () => {
    const rA = new Registry();
    const rB = new Registry();
    const hs = { name: 'h2', help: 'h', labelNames: ['a', 'b'], buckets: [1, 2, 3] };
    const cs = { name: 'c2_total', help: 'c', labelNames: ['a'] };
    const gs = { name: 'g2', help: 'g', labelNames: ['a'] };
    const oh = new FastHistogram(hs, rA);
    const ph = new Histogram({ ...hs, registers: [rB] });
    const oc = new FastCounter(cs, rA);
    const pc = new Counter({ ...cs, registers: [rB] });
    const og = new FastGauge(gs, rA);
    const pg = new Gauge({ ...gs, registers: [rB] });
    for (const [h, c, g] of [[oh, oc, og], [ph, pc, pg]]) {
      h.observe({ a: 'x', b: 'y' }, 1.5);
      h.labels('x', 'y').observe(2.5);
      h.labels({ a: 'z', b: 'y' }).observe(9);
      h.observe({ a: 'x', b: 'y' }, 0.5);
      c.inc({ a: 'x' });
      c.inc({ a: 'x' }, 2);
      c.labels('q').inc(4);
      g.set({ a: 'x' }, 5);
      g.inc({ a: 'x' });
      g.dec({ a: 'x' }, 0.5);
      g.labels('w').set(3);
      g.labels('w').inc(2);
      g.remove('w');
    }
    assert.equal(await rA.metrics(), await rB.metrics());
    assert.equal(await renderRegistries([rA]), await rB.metrics());
    assert.throws(() => oh.observe({ nope: 'x' }, 1), /not included in initial labelset/);
    assert.throws(() => oh.observe({ a: 'x' }, NaN), TypeError);
    assert.throws(() => oc.inc({ a: 'x' }, -1), /not possible to decrease/);
    rA.resetMetrics();
    rB.resetMetrics();
    assert.equal(await rA.metrics(), await rB.metrics());
  });
});

describe('a collector equals plain prom-client fed with the documented formulas', () => {
  test('every per-request family, byte for byte', async () => {
    const rows = [];
    for (let i = 0; i < 300; i++) {
      const enqueue = 1e9 + Math.floor(rnd() * 1e9);
      const arrival = rnd() < 0.1 ? 0 : enqueue + Math.floor((rnd() - 0.3) * 1e6);
      const scheduled = rnd() < 0.05 ? 0 : Math.max(enqueue, arrival) + (rnd() < 0.2 ? 0 : Math.floor(rnd() * 3e9));
      const firstToken = rnd() < 0.05 ? 0 : scheduled + Math.floor(rnd() * 4e8);
      const output = Math.floor(rnd() * 300);
      const lastToken = rnd() < 0.05 ? 0 : firstToken + output * Math.floor(rnd() * 5e7);
      rows.push({
        enqueue, arrival, scheduled, firstToken, lastToken, output,
        prompt: Math.floor(rnd() * 2000), cached: 32 * Math.floor(rnd() * 30), sequences: rnd() < 0.1 ? 3 : 1,
        reason: [0, 1, 2, 3, 4, 5][Math.floor(rnd() * 6)], specDraft: rnd() < 0.3 ? Math.floor(rnd() * 20) : 0,
        specAccepted: rnd() < 0.3 ? Math.floor(rnd() * 10) : 0,
      });
    }
    const c = new MetricsCollector({ model_name: 'm' });
    c.logRequestRecords(recordBatch(rows));

    const reg = new Registry();
    const names = ['model_name', 'engine_type'];
    const labels = { model_name: 'm', engine_type: 'trtllm' };
    const hist = (n, buckets) => new Histogram({ name: `trtllm_${n}`, help: c.registry.getSingleMetric(`trtllm_${n}`).help, labelNames: names, buckets: [...buckets], registers: [reg] });
    const ctr = (n, extra = []) => new Counter({ name: `trtllm_${n}`, help: c.registry.getSingleMetric(`trtllm_${n}`).help, labelNames: [...names, ...extra], registers: [reg] });
    const success = ctr('request_success_total', ['finished_reason']);
    const e2e = hist('e2e_request_latency_seconds', B.E2E_LATENCY_BUCKETS);
    const ttft = hist('time_to_first_token_seconds', B.TTFT_BUCKETS);
    const tpot = hist('time_per_output_token_seconds', B.TPOT_BUCKETS);
    const queue = hist('request_queue_time_seconds', B.E2E_LATENCY_BUCKETS);
    const prefill = hist('request_prefill_time_seconds', B.PREFILL_TIME_BUCKETS);
    const decode = hist('request_decode_time_seconds', B.E2E_LATENCY_BUCKETS);
    const inference = hist('request_inference_time_seconds', B.E2E_LATENCY_BUCKETS);
    const promptT = ctr('prompt_tokens_total');
    const genT = ctr('generation_tokens_total');
    const cachedT = ctr('prompt_cached_tokens_total');
    const cachedH = hist('prompt_cached_tokens_per_request', B.CACHED_TOKENS_BUCKETS);
    const drafted = ctr('spec_decode_drafted_tokens_total', ['token_position']);
    const accepted = ctr('spec_decode_accepted_tokens_total', ['token_position']);
    const reasons = ['not_finished', 'stop', 'stop', 'length', 'timeout', 'cancelled'];
    for (const r of rows) {
      success.inc({ ...labels, finished_reason: reasons[r.reason] });
      let arrival = r.arrival;
      if (r.enqueue !== 0 && (arrival === 0 || r.enqueue < arrival)) arrival = r.enqueue;
      const ok = (v) => v > 0;
      if (arrival && r.firstToken && ok((r.firstToken - arrival) / 1e9)) ttft.observe(labels, (r.firstToken - arrival) / 1e9);
      if (arrival && r.lastToken && ok((r.lastToken - arrival) / 1e9)) e2e.observe(labels, (r.lastToken - arrival) / 1e9);
      if (arrival && r.scheduled && (r.scheduled - arrival) / 1e9 >= 0) queue.observe(labels, (r.scheduled - arrival) / 1e9);
      if (r.firstToken && r.lastToken) {
        const d = (r.lastToken - r.firstToken) / 1e9;
        if (r.output > 1 && r.sequences === 1 && ok(d / (r.output - 1))) tpot.observe(labels, d / (r.output - 1));
        if (ok(d)) decode.observe(labels, d);
      }
      if (r.scheduled && r.firstToken && ok((r.firstToken - r.scheduled) / 1e9)) prefill.observe(labels, (r.firstToken - r.scheduled) / 1e9);
      if (r.scheduled && r.lastToken && ok((r.lastToken - r.scheduled) / 1e9)) inference.observe(labels, (r.lastToken - r.scheduled) / 1e9);
      if (r.prompt > 0) promptT.inc(labels, r.prompt);
      if (r.output > 0) genT.inc(labels, r.output);
      if (r.cached > 0) cachedT.inc(labels, r.cached);
      cachedH.observe(labels, r.cached);
      if (r.specDraft > 0) drafted.inc({ ...labels, token_position: 'all' }, r.specDraft);
      if (r.specAccepted > 0) accepted.inc({ ...labels, token_position: 'all' }, r.specAccepted);
    }
    for (const m of reg.getMetricsAsArray()) {
      const expected = await reg.getSingleMetricAsString(m.name);
      const ours = c.registry.getSingleMetric(m.name);
      assert.equal(await c.registry.getSingleMetricAsString(m.name), expected, m.name);
      assert.equal(renderFamily(ours), expected, `${m.name} (our renderer)`);
    }
  });
});

describe('registry-level behaviour', () => {
  async function mixedRegistry(type) {
    const r = new Registry(type);
    const c = new MetricsCollector({ model_name: 'm' }, { registry: r });
    c.logRequestRecords(recordBatch([{ enqueue: 1e9, scheduled: 1.2e9, firstToken: 1.5e9, lastToken: 3e9, output: 4, prompt: 9 }]));
    c.logRequestError(503);
    new Counter({ name: 'user_requests_total', help: 'user counter', labelNames: ['route'], registers: [r] }).inc({ route: '/x' }, 3);
    new Gauge({
      name: 'user_async_gauge', help: 'set by an async collect', registers: [r],
      async collect() {
        await new Promise((res) => setTimeout(res, 1));
        this.set(42);
      },
    });
    const s = new Summary({ name: 'user_summary', help: 'summary', percentiles: [0.5], registers: [r] });
    s.observe(1);
    s.observe(3);
    new Histogram({ name: 'user_hist', help: 'h', buckets: [1], registers: [r] }).observe(0.5);
    return { r, c };
  }

  test('renderRegistries equals registry.metrics() with foreign metrics, and with default labels', async () => {
    const { r } = await mixedRegistry();
    assert.equal(await renderRegistries([r]), await r.metrics());
    r.setDefaultLabels({ instance: 'w-1', model_name: 'ignored-by-own-label' });
    assert.equal(await renderRegistries([r]), await r.metrics());
  });

  test('OpenMetrics output equals prom-client with an OpenMetrics registry', async () => {
    const { r: prom } = await mixedRegistry();
    const { r: om, c: omCollector } = await mixedRegistry(Registry.OPENMETRICS_CONTENT_TYPE);
    const ours = await renderRegistries([prom], 'openmetrics');
    assert.equal(ours, await om.metrics());
    assert.match(ours, /^# TYPE trtllm_request_success counter$/m);
    assert.match(ours, /^trtllm_request_success_total\{model_name="m",engine_type="trtllm",finished_reason="stop"\} 1$/m);
    assert.ok(ours.endsWith('\n# EOF\n'));
    // our families in the OpenMetrics registry also render themselves correctly after prom-client renamed them
    assert.equal(await renderRegistries([om], 'openmetrics'), ours);
    // a series created after that rename still carries the registered name
    omCollector.logRequestRecords(recordBatch([{ reason: 3 }]));
    assert.match(
      await renderRegistries([om], 'prometheus'),
      /^trtllm_request_success_total\{model_name="m",engine_type="trtllm",finished_reason="length"\} 1$/m,
    );
  });

  test('getMetricsAsJSON and Registry.merge see the collector families', async () => {
    const { r, c } = await mixedRegistry();
    const json = await r.getMetricsAsJSON();
    const success = json.find((m) => m.name === 'trtllm_request_success_total');
    assert.deepEqual(success.values, [{ value: 1, labels: { model_name: 'm', engine_type: 'trtllm', finished_reason: 'stop' } }]);
    const user = new Registry();
    new Counter({ name: 'other_total', help: 'o', registers: [user] }).inc();
    const merged = Registry.merge([user, c.registry]);
    const text = await merged.metrics();
    assert.match(text, /^other_total 1$/m);
    assert.match(text, /^trtllm_e2e_request_latency_seconds_count\{model_name="m",engine_type="trtllm"\} 1$/m);
    assert.equal(merged.getSingleMetric('trtllm_request_success_total'), r.getSingleMetric('trtllm_request_success_total'));
    assert.ok(merged.getSingleMetric('trtllm_request_success_total') instanceof Counter);
    assert.ok(merged.getSingleMetric('trtllm_e2e_request_latency_seconds') instanceof Histogram);
  });
});

test('negotiateFormat', () => {
  const prometheusAccept = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
  assert.equal(negotiateFormat(prometheusAccept), 'openmetrics');
  assert.equal(negotiateFormat('application/openmetrics-text'), 'openmetrics');
  assert.equal(negotiateFormat('application/openmetrics-text; version=1.0.0; charset=utf-8'), 'openmetrics');
  assert.equal(negotiateFormat(undefined), 'prometheus');
  assert.equal(negotiateFormat(''), 'prometheus');
  assert.equal(negotiateFormat('*/*'), 'prometheus');
  assert.equal(negotiateFormat('text/plain;version=0.0.4'), 'prometheus');
  assert.equal(negotiateFormat('text/plain;q=1,application/openmetrics-text;q=0.5'), 'prometheus');
  assert.equal(negotiateFormat('application/openmetrics-text;q=0'), 'prometheus');
  assert.equal(negotiateFormat('application/openmetrics-text;version=0.0.1'), 'prometheus');
});
