// trtllm-serve's side endpoints on the API port: same paths, methods and JSON key sets as upstream's
// (test/fixtures/trtllm-serve-shapes.json, read from tensorrt_llm/serve/openai_server.py and the executor's
// JSON serializer), plus log probabilities, the config-info gauges and exemplars that come with them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { OPENMETRICS_CONTENT_TYPE } from '../dist/metrics/exposition.js';
import { parseExpositionText } from '../dist/metrics/exposition-parse.js';
import { getJson, post, sample, scrape, startWorker } from './helpers/worker-fixtures.mjs';

const SHAPES = JSON.parse(readFileSync(new URL('./fixtures/trtllm-serve-shapes.json', import.meta.url), 'utf8'));
const PKG = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const keys = (o) => Object.keys(o).sort();
const sorted = (a) => [...a].sort();

describe('trtllm-serve endpoints', () => {
  let w;
  before(async () => {
    w = await startWorker({ sim: { specDraftLength: 2 } });
  });
  after(() => w.stop());

  const chat = (extra = {}, headers = {}) =>
    post(`${w.api}/v1/chat/completions`, { model: w.model, messages: [{ role: 'user', content: 'Hello there' }], max_tokens: 6, ...extra }, headers);

  test('every route of trtllm-serve answers on its methods', async () => {
    for (const { path, methods } of SHAPES.routes) {
      for (const method of methods) {
        const res = await fetch(`${w.api}${path}`, { method, ...(method === 'POST' ? { body: path === '/steady_clock_offset' ? '{"offset": 0}' : '{}', headers: { 'Content-Type': 'application/json' } } : {}) });
        assert.equal(res.status, 200, `${method} ${path}: ${await res.text()}`);
      }
    }
  });

  test('GET /metrics: the iteration stats in the executor JSON; /stats is the same; no crossKvCacheStats', async () => {
    assert.equal((await chat()).status, 200);
    await w.worker.engine.flush();
    const { status, json } = await getJson(`${w.api}/metrics`);
    assert.equal(status, 200);
    assert.ok(Array.isArray(json) && json.length > 0);
    const S = SHAPES.iterationStats;
    const expected = sorted([...S.keys.filter((k) => !(k in S.notProduced)), 'kvCacheIterationStats']);
    for (const s of json) {
      assert.deepEqual(keys(s), expected);
      assert.match(s.timestamp, new RegExp(S.timestampPattern));
      assert.deepEqual(keys(s.kvCacheStats), sorted(S.kvCacheStats));
      assert.deepEqual(keys(s.inflightBatchingStats), sorted(S.inflightBatchingStats));
      if (s.specDecodingStats !== null) assert.deepEqual(keys(s.specDecodingStats), sorted(S.specDecodingStats));
      assert.equal(s.staticBatchingStats, null);
    }
    assert.equal((await chat()).status, 200);
    await w.worker.engine.flush();
    const alias = await getJson(`${w.api}/stats`);
    assert.ok(alias.json.length > 0);
    assert.deepEqual(keys(alias.json[0]), expected);
    assert.deepEqual((await getJson(`${w.api}/metrics`)).json, [], 'each call drains');
  });

  test('GET /perf_metrics: upstream keys, with server_arrival_time and server_first_token_time on the steady clock', async () => {
    await getJson(`${w.api}/perf_metrics`);
    const before = (await getJson(`${w.api}/steady_clock_offset`)).json.receive_ts;
    assert.equal((await chat()).status, 200);
    const streamed = await fetch(`${w.api}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: w.model, prompt: 'abc', max_tokens: 5, stream: true }) });
    await streamed.text();
    const afterTs = (await getJson(`${w.api}/steady_clock_offset`)).json.receive_ts;
    const { json } = await getJson(`${w.api}/perf_metrics`);
    assert.equal(json.length, 2);
    const P = SHAPES.perfMetrics;
    for (const e of json) {
      assert.deepEqual(keys(e), sorted(P.entry));
      const optional = Object.keys(e.perf_metrics).filter((k) => P.perf_metrics_optional.includes(k));
      assert.deepEqual(keys(e.perf_metrics), sorted([...P.perf_metrics, ...optional]));
      assert.deepEqual(Object.keys(e.perf_metrics.timing_metrics), P.timing_metrics, 'keys in upstream order');
      assert.deepEqual(keys(e.perf_metrics.kv_cache_metrics), sorted(P.kv_cache_metrics));
      if (e.perf_metrics.speculative_decoding) assert.deepEqual(keys(e.perf_metrics.speculative_decoding), sorted(P.speculative_decoding));
      const t = e.perf_metrics.timing_metrics;
      // One clock: the server saw the request before the executor did, and its first token after.
      assert.ok(before <= t.server_arrival_time && t.server_arrival_time <= t.arrival_time, JSON.stringify(t));
      assert.ok(t.first_token_time <= t.server_first_token_time && t.server_first_token_time <= afterTs, JSON.stringify(t));
      assert.ok(t.arrival_time <= t.first_scheduled_time && t.first_token_time <= t.last_token_time);
    }
    assert.ok(json.some((e) => e.perf_metrics.speculative_decoding !== undefined), 'draft tokens were used');
  });

  test('POST /steady_clock_offset shifts every /perf_metrics time; a bad offset is a 400 naming it', async () => {
    const set = await post(`${w.api}/steady_clock_offset`, { offset: 1e6 });
    assert.equal(set.status, 200);
    assert.equal((await chat()).status, 200);
    const now = (await getJson(`${w.api}/steady_clock_offset`)).json.receive_ts;
    const { json } = await getJson(`${w.api}/perf_metrics`);
    const t = json[0].perf_metrics.timing_metrics;
    for (const k of SHAPES.perfMetrics.timing_metrics) assert.ok(t[k] > now + 1e6 - 1e5, `${k} ${t[k]}`);
    assert.equal((await post(`${w.api}/steady_clock_offset`, { offset: 0 })).status, 200);
    for (const bad of [{}, { offset: 'x' }, [1], { offset: null }]) {
      const r = await post(`${w.api}/steady_clock_offset`, bad);
      assert.equal(r.status, 400);
      assert.equal(r.json.error.param, 'offset');
    }
  });

  test('GET /steady_clock_offset, /version and /kv_cache_events answer with upstream keys', async () => {
    const clock = await getJson(`${w.api}/steady_clock_offset`);
    assert.deepEqual(keys(clock.json), sorted(SHAPES.steadyClockOffset.get));
    assert.ok(clock.json.receive_ts <= clock.json.transmit_ts);
    assert.deepEqual((await getJson(`${w.api}/version`)).json, { version: PKG.version });
    assert.equal((await chat()).status, 200);
    await w.worker.engine.flush();
    const ev = await post(`${w.api}/kv_cache_events`, '');
    assert.equal(ev.status, 200);
    assert.ok(ev.json.length > 0);
    for (const e of ev.json) for (const k of SHAPES.kvCacheEvent) assert.ok(k in e, k);
  });

  test('GET /health_generate runs a one-token generation through the engine', async () => {
    const beforeText = await scrape(w.metrics);
    const res = await fetch(`${w.api}/health_generate`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), SHAPES.healthGenerate.ok);
    await w.worker.engine.flush();
    const afterText = await scrape(w.metrics);
    const n = (t) => sample(t, 'trtllm_request_success_total', { model_name: w.model, finished_reason: 'length' });
    assert.equal(n(afterText) - n(beforeText), 1, 'one request that stopped at its one token');
  });

  test('GET /prometheus/metrics: the worker\'s exposition (OpenMetrics when asked for)', async () => {
    const res = await fetch(`${w.api}/prometheus/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    const own = await scrape(w.metrics);
    const names = (t) => parseExpositionText(t).families.map((f) => f.name).sort();
    assert.deepEqual(names(text), names(own));
    const om = await fetch(`${w.api}/prometheus/metrics/`, { headers: { Accept: 'application/openmetrics-text; version=1.0.0' } });
    assert.equal(om.headers.get('content-type'), OPENMETRICS_CONTENT_TYPE);
    assert.match(await om.text(), /# EOF\n$/);
  });
});

describe('log probabilities and generation perplexity', () => {
  let w;
  before(async () => {
    w = await startWorker();
  });
  after(() => w.stop());

  test('chat logprobs: one per generated token, and their perplexity in trtllm_generation_perplexity', async () => {
    const r = await post(`${w.api}/v1/chat/completions`, { model: w.model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 8, logprobs: true, top_logprobs: 0, ignore_eos: true });
    assert.equal(r.status, 200, r.text);
    const content = r.json.choices[0].logprobs.content;
    assert.equal(content.length, r.json.usage.completion_tokens);
    for (const c of content) {
      assert.deepEqual(keys(c), ['bytes', 'logprob', 'token', 'top_logprobs']);
      assert.ok(c.logprob < 0 && c.logprob >= Math.log(0.2) - 1e-6, String(c.logprob));
      assert.deepEqual(c.bytes, [...Buffer.from(c.token, 'utf8')]);
    }
    await w.worker.engine.flush();
    const text = await scrape(w.metrics);
    const L = { model_name: w.model };
    assert.equal(sample(text, 'trtllm_generation_perplexity_count', L), 1);
    const expected = Math.exp(-content.reduce((a, c) => a + c.logprob, 0) / content.length);
    assert.ok(Math.abs(sample(text, 'trtllm_generation_perplexity_sum', L) - expected) < 1e-6 * expected);
    // A request that did not ask records no perplexity.
    assert.equal((await post(`${w.api}/v1/chat/completions`, { model: w.model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3 })).status, 200);
    await w.worker.engine.flush();
    assert.equal(sample(await scrape(w.metrics), 'trtllm_generation_perplexity_count', L), 1);
  });

  test('completion logprobs: 0 gives the sampled tokens\' log probabilities in the legacy shape', async () => {
    const r = await post(`${w.api}/v1/completions`, { model: w.model, prompt: 'abc', max_tokens: 4, logprobs: 0, ignore_eos: true });
    assert.equal(r.status, 200, r.text);
    const lp = r.json.choices[0].logprobs;
    assert.deepEqual(keys(lp), ['text_offset', 'token_logprobs', 'tokens', 'top_logprobs']);
    assert.equal(lp.tokens.length, 4);
    assert.equal(lp.token_logprobs.length, 4);
    assert.equal(lp.top_logprobs, null);
    assert.deepEqual(lp.text_offset, lp.tokens.reduce((acc, t, i) => [...acc, i === 0 ? 0 : acc[i - 1] + lp.tokens[i - 1].length], []));
  });

  test('what the executor cannot give is a 400 naming the field', async () => {
    const cases = [
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], logprobs: true, top_logprobs: 2 }, 'top_logprobs'],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], logprobs: true, stream: true }, 'logprobs'],
      ['/v1/chat/completions', { messages: [{ role: 'user', content: 'x' }], logprobs: 'yes' }, 'logprobs'],
      ['/v1/completions', { prompt: 'x', logprobs: 2 }, 'logprobs'],
      ['/v1/completions', { prompt: 'x', logprobs: true }, 'logprobs'],
    ];
    for (const [path, body, param] of cases) {
      const r = await post(`${w.api}${path}`, { model: w.model, ...body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.error.param, param);
    }
  });
});

describe('config info and exemplars', () => {
  let w;
  before(async () => {
    w = await startWorker({ exemplars: 'request-id', sim: { perf: { modelConfig: 'llama-3.1-8b', gpu: 'h100', quant: 'fp8' } } });
  });
  after(() => w.stop());

  test('serve sets the four config-info gauges once, with trtllm-serve\'s label names', async () => {
    const fams = parseExpositionText(await scrape(w.metrics)).samples;
    const info = (name) => {
      const s = fams.filter((x) => x.name === `trtllm_${name}`);
      assert.equal(s.length, 1, name);
      assert.equal(s[0].value, 1);
      const { model_name, engine_type, ...rest } = s[0].labels;
      assert.equal(model_name, w.model);
      return rest;
    };
    const model = info('model_config_info');
    assert.deepEqual(keys(model), ['dtype', 'gpu_type', 'max_model_len', 'model', 'quantization', 'served_model_name']);
    assert.equal(model.model, 'llama-3.1-8b');
    assert.equal(model.served_model_name, w.model);
    assert.equal(model.quantization, 'FP8');
    assert.deepEqual(info('parallel_config_info'), { tensor_parallel_size: '1', pipeline_parallel_size: '1', context_parallel_size: '1', gpu_count: '1' });
    const kv = info('kv_cache_config_info');
    assert.deepEqual(keys(kv), ['cache_dtype', 'enable_block_reuse', 'enable_partial_reuse', 'free_gpu_memory_fraction', 'page_size']);
    assert.equal(kv.enable_block_reuse, 'True');
    assert.equal(kv.page_size, String(w.worker.engine.tokensPerBlock));
    assert.equal(fams.filter((x) => x.name === 'trtllm_speculative_config_info').length, 0, 'no speculative decoding, no section (as trtllm-serve)');
  });

  test('a traceparent puts its trace id on the TTFT and E2E buckets, in OpenMetrics only', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const r = await post(`${w.api}/v1/chat/completions`, { model: w.model, messages: [{ role: 'user', content: 'trace me' }], max_tokens: 4 }, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    assert.equal(r.status, 200);
    await w.worker.engine.flush();
    const om = await (await fetch(`${w.metrics}/metrics`, { headers: { Accept: 'application/openmetrics-text; version=1.0.0' } })).text();
    for (const family of ['trtllm_time_to_first_token_seconds', 'trtllm_e2e_request_latency_seconds']) {
      const lines = om.split('\n').filter((l) => l.startsWith(`${family}_bucket{`) && l.includes(`# {trace_id="${traceId}"}`));
      assert.equal(lines.length, 1, family);
      const m = / # \{trace_id="[0-9a-f]+"\} ([0-9.e+-]+) (\d+\.\d{3})$/.exec(lines[0]);
      assert.ok(m, lines[0]);
      const le = /le="([^"]+)"/.exec(lines[0])[1];
      assert.ok(Number(m[1]) > 0 && Number(m[1]) <= Number(le), lines[0]);
    }
    assert.ok(!(await scrape(w.metrics)).includes('trace_id'), 'the Prometheus text format has no exemplars');
    // --exemplars request-id: X-Request-Id when the request has no traceparent.
    assert.equal((await post(`${w.api}/v1/completions`, { model: w.model, prompt: 'x', max_tokens: 2 }, { 'X-Request-Id': 'req-42' })).status, 200);
    await w.worker.engine.flush();
    const om2 = await (await fetch(`${w.metrics}/metrics`, { headers: { Accept: 'application/openmetrics-text' } })).text();
    assert.ok(om2.includes('# {trace_id="req-42"}'));
  });
});
