// bench at parity with `vllm bench serve`: its command lines parse here, --save-result writes its keys,
// goodput counts as it does, ITL is timed per SSE event as received; and the rest of the harness:
// warm-up, cancellation, timed runs, the server-metrics timeline and sweeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import http from 'node:http';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const Ajv = require('ajv');
const { parseBenchArgs } = require('../dist/bench/options.js');
const { computeGoodput } = require('../dist/bench/goodput.js');
const { SseParser } = require('../dist/bench/sse.js');
const { Workload } = require('../dist/bench/workload.js');
const { parseDistribution } = require('../dist/bench/distributions.js');
const { parseExposition, sumSamples } = require('../dist/metrics/exposition-parse.js');
const { startWorker } = await import('./helpers/worker-fixtures.mjs');
const { tempDir, bench } = await import('./helpers/bench-fixtures.mjs');

const schema = JSON.parse(readFileSync(new URL('../docs/bench-report.schema.json', import.meta.url), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
const assertSchema = (report) => assert.ok(validate(report), JSON.stringify(validate.errors, null, 1));

/**
 * The keys of vLLM's result file (vllm/benchmarks/serve.py: main_async's result_json and benchmark()'s
 * result, for --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,99), in its order.
 */
const VLLM_KEYS = [
  'date', 'endpoint_type', 'backend', 'label', 'model_id', 'tokenizer_id', 'num_prompts',
  'request_rate', 'burstiness', 'max_concurrency',
  'duration', 'completed', 'failed', 'total_input_tokens', 'total_output_tokens', 'request_throughput', 'request_goodput',
  'output_throughput', 'total_token_throughput', 'latencies', 'queue_times', 'max_output_tokens_per_s', 'max_concurrent_requests', 'rtfx',
  'mean_ttft_ms', 'median_ttft_ms', 'std_ttft_ms', 'p50_ttft_ms', 'p99_ttft_ms',
  'mean_tpot_ms', 'median_tpot_ms', 'std_tpot_ms', 'p50_tpot_ms', 'p99_tpot_ms',
  'mean_itl_ms', 'median_itl_ms', 'std_itl_ms', 'p50_itl_ms', 'p99_itl_ms',
  'mean_e2el_ms', 'median_e2el_ms', 'std_e2el_ms', 'p50_e2el_ms', 'p99_e2el_ms',
];
/** --save-detailed adds these per-request arrays. */
const VLLM_DETAILED = ['input_lens', 'output_lens', 'ttfts', 'itls', 'start_times', 'generated_texts', 'errors'];


const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));

test("a vLLM command line parses: its spellings, nargs lists, aliases and its rules", () => {
  const o = parseBenchArgs([
    '--backend', 'openai-chat', '--endpoint', '/v1/chat/completions', '--base-url', 'http://127.0.0.1:8000', '--model', 'meta-llama/Llama-3.1-8B',
    '--dataset-name', 'random', '--random-input-len', '512', '--random-output-len', '64', '--num-prompts', '300', '--request-rate', '12',
    '--burstiness', '0.5', '--max-concurrency', '32', '--seed', '42', '--percentile-metrics', 'ttft,tpot,itl,e2el', '--metric-percentiles', '50,90,99.9',
    '--goodput', 'ttft:500', 'tpot:50', '--save-result', '--save-detailed', '--result-dir', '/tmp/r', '--metadata', 'tp=1', 'gpu=h200',
    '--label', 'lbl', '--temperature', '0', '--trust-remote-code', '--tokenizer', 'meta-llama/Llama-3.1-8B', '--disable-tqdm', '--num-warmups', '2',
    '--header', 'x-a=1', 'x-b=2', '--extra-body', '{"top_k": 5}',
  ]);
  assert.equal(o.backend, 'openai-chat');
  assert.equal(o.endpoint, '/v1/chat/completions');
  assert.equal(o.url, 'http://127.0.0.1:8000');
  assert.equal(o.numRequests, 300);
  assert.equal(o.requestRate, 12);
  assert.equal(o.burstiness, 0.5);
  assert.equal(o.concurrency, 32);
  assert.deepEqual(o.inputLen, { kind: 'fixed', value: 512 });
  assert.deepEqual(o.percentileMetrics, ['ttft', 'tpot', 'itl', 'e2el']);
  assert.deepEqual(o.metricPercentiles, [50, 90, 99.9]);
  assert.deepEqual(o.goodput, { ttft: 500, tpot: 50 });
  assert.deepEqual(o.metadata, [['tp', '1'], ['gpu', 'h200']]);
  assert.deepEqual(o.headers, { 'x-a': '1', 'x-b': '2' });
  assert.deepEqual(o.extraBody, { temperature: 0, top_k: 5 });
  assert.equal(o.quiet, true, '--disable-tqdm');
  assert.equal(o.warmups, 2);
  assert.equal(o.ignoreEos, true, 'vLLM ignores EOS on the random dataset');
  assert.equal(parseBenchArgs(['--base-url', 'http://x:1', '--dataset-name', 'prefix_repetition']).ignoreEos, false);
  // --host/--port, and this package's earlier spellings as aliases.
  assert.equal(parseBenchArgs(['--port', '8100']).url, 'http://127.0.0.1:8100');
  assert.equal(parseBenchArgs(['--url', 'http://h:9', '--concurrency', '3', '--num-requests', '7']).concurrency, 3);
  assert.equal(parseBenchArgs(['--warmup-requests', '4']).warmups, 4);
  const cases = [
    [['--max-concurrency', '2', '--concurrency', '3'], /--max-concurrency and --concurrency are the same option/],
    [['--goodput', 'ttft=5'], /--goodput: takes KEY:MS pairs/],
    [['--goodput', 'itl:5'], /--goodput: names an SLO of ttft, tpot, e2el/],
    [['--goodput'], /--goodput: takes KEY:MS pairs/],
    [['--percentile-metrics', 'ttft,bogus'], /--percentile-metrics: takes metrics of/],
    [['--metric-percentiles', '0'], /--metric-percentiles: takes percentiles in \(0, 100\]/],
    [['--ramp-up-strategy', 'linear', '--ramp-up-start-rps', '1', '--ramp-up-end-rps', '9', '--request-rate', '3'], /remove --request-rate/],
    [['--ramp-up-strategy', 'linear', '--ramp-up-start-rps', '9', '--ramp-up-end-rps', '1'], /must be <= --ramp-up-end-rps/],
    [['--ramp-up-strategy', 'exponential', '--ramp-up-start-rps', '0', '--ramp-up-end-rps', '1'], /must be > 0 for an exponential ramp/],
    [['--burstiness', '2'], /--burstiness shapes the gaps of --request-rate/],
    [['--duration', '5'], /--duration needs --request-rate, a ramp, a trace or --max-concurrency/],
    [['--request-cancel-after-ms', '5'], /needs --request-cancel-rate/],
    [['--request-cancel-rate', '0.1', '--virtual-clock'], /needs a real clock/],
    [['--backend', 'openai-chat', '--endpoint', '/v1/completions'], /--endpoint must be \/v1\/chat\/completions/],
    [['--dataset-name', 'sharegpt'], /--dataset-name sharegpt needs --dataset-path FILE/],
    [['--dataset-name', 'random', '--dataset-path', 'x.json'], /--dataset-path does not apply to --dataset-name random/],
    [['--dataset-name', 'hf'], /--dataset-name must be one of random, sharegpt, custom, prefix_repetition, mooncake_trace/],
    [['--random-input-len', '5', '--dataset-name', 'prefix_repetition'], /--random-input-len applies to --dataset-name random/],
    [['--save-detailed'], /--save-detailed applies with --save-result/],
    [['--temperature', '0'], /--temperature applies with a server/],
    [['--sweep', 'request-rate=1'], /needs at least two values/],
    [['--sweep', 'max-concurrency=1,2', '--max-concurrency', '4'], /--sweep varies --max-concurrency/],
    [['--profile'], /Unknown option '--profile'/],
  ];
  for (const [args, re] of cases) {
    assert.throws(() => parseBenchArgs(args), (e) => e.name === 'UsageError' && re.test(e.message), args.join(' '));
  }
});

test('goodput: the requests meeting every SLO, as vLLM counts them (hand-computed)', () => {
  // Five requests; SLOs ttft <= 100 ms, tpot <= 20 ms, e2el <= 1 s.
  const table = {
    source: 'client',
    clock: 'wall',
    n: 6,
    ok: Uint8Array.from([1, 1, 1, 1, 1, 0]),
    ttft: Float64Array.from([0.05, 0.15, 0.09, 0.1, NaN, 0.01]),
    ttst: new Float64Array(6),
    tpot: Float64Array.from([0.01, 0.01, 0.021, NaN, 0.01, 0.01]),
    e2el: Float64Array.from([0.5, 0.5, 0.5, 0.1, 0.5, 0.1]),
    outputLens: Int32Array.from([40, 40, 40, 1, 40, 0]),
    durationS: 2,
  };
  // Request 0 meets all; 1 misses TTFT; 2 misses TPOT; 3 has one output token (TPOT counts as 0) and TTFT
  // exactly at the SLO: good; 4 has no TTFT: not good; 5 failed: not counted.
  const g = computeGoodput(table, { ttft: 100, tpot: 20, e2el: 1000 });
  assert.deepEqual(g, { slos_ms: { ttft: 100, tpot: 20, e2el: 1000 }, reference: 'client', completed: 5, good: 2, fraction: 0.4, request_goodput: 1 });
  assert.equal(computeGoodput(table, { e2el: 400 }).good, 1);
  assert.equal(computeGoodput(table, { tpot: 10 }).good, 4, 'tpot 10 ms: requests 0, 1 and 4 (exactly 10), 3 (one token)');
});

test('the SSE reader: events as each read completes them, CRLF, and reads cut anywhere (UTF-8 too)', () => {
  const text = 'data: {"a":1}\n\n: comment\nevent: x\ndata: {"b":"é€"}\r\n\r\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n';
  const all = Buffer.from(text);
  const expected = ['{"a":1}', '{"b":"é€"}', 'line1\nline2', '[DONE]'];
  for (let cut = 1; cut < all.length; cut++) {
    const p = new SseParser();
    const got = [];
    p.push(all.subarray(0, cut), (d) => got.push(d));
    p.push(all.subarray(cut), (d) => got.push(d));
    p.end((d) => got.push(d));
    assert.deepEqual(got, expected, `cut at ${cut}`);
  }
  // Every event a read completes is delivered within that push (so they share its time stamp).
  const p = new SseParser();
  const calls = [];
  p.push(Buffer.from('data: 1\n\ndata: 2\n\ndata: 3'), (d) => calls.push(d));
  assert.deepEqual(calls, ['1', '2']);
  p.end((d) => calls.push(d));
  assert.deepEqual(calls, ['1', '2', '3'], 'an event without its blank line still counts at the end');
});

test('ITL per SSE event as received: events coalesced in one read give gaps of 0; TTST; usage counts tokens', async (t) => {
  // Three events in one write (one read), then two more after a timer, then the usage.
  const event = (text) => `data: ${JSON.stringify({ choices: [{ index: 0, text, finish_reason: null }] })}\n\n`;
  const server = http.createServer((req, res) => {
    if (req.url === '/v1/models') return res.end(JSON.stringify({ data: [{ id: 'f' }] }));
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(event('a') + event('b') + event('c'));
      setTimeout(() => {
        res.write(event('d'));
        setTimeout(() => {
          res.write(event('e'));
          res.end(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 8, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 3 } } })}\n\ndata: [DONE]\n\n`);
        }, 20);
      }, 20);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const dir = tempDir(t);
  const url = `http://127.0.0.1:${server.address().port}`;
  const r = await bench(['--base-url', url, '--num-prompts', '2', '--input-len', '8', '--quiet', '--save-result', '--save-detailed', '--result-dir', dir, '--result-filename', 'r.json', '--json', join(dir, 'report.json')]);
  assert.equal(r.code, 0, r.stderr);
  const result = readJson(join(dir, 'r.json'));
  for (const itl of result.itls) {
    assert.equal(itl.length, 4, 'five outputs, four gaps');
    assert.equal(itl[0], 0, 'b arrived in the read of a');
    assert.equal(itl[1], 0, 'c too');
    assert.ok(itl[2] > 0 && itl[3] > 0);
  }
  assert.deepEqual(result.output_lens, [7, 7], "the usage's completion_tokens");
  assert.deepEqual(result.generated_texts, ['abcde', 'abcde']);
  const report = readJson(join(dir, 'report.json'));
  assert.equal(report.client.ttst_s.count, 2);
  assert.equal(report.client.ttst_s.max, 0, 'the second output came in the first read');
  assert.equal(report.client.cached_tokens, 6);
  assert.ok(report.notes.some((n) => /50\.0% of the ITL gaps are 0/.test(n)), report.notes.join('\n'));
  // TPOT = (last output - first output) / (tokens - 1), vLLM's.
  const ttft = result.ttfts[0];
  const lastOutput = result.ttfts[0] + result.itls[0].reduce((a, x) => a + x, 0);
  assert.ok(Math.abs(result.latencies[0] - lastOutput) < 1e-9, 'E2EL ends at the last output');
  assert.ok(Math.abs((result.mean_tpot_ms / 1000) - ((result.latencies[0] - ttft) / 6 + (result.latencies[1] - result.ttfts[1]) / 6) / 2) < 1e-9);
});

test("--save-result against our server: vLLM's keys, --save-detailed arrays, its file name; --append-result", async (t) => {
  const dir = tempDir(t);
  const w = await startWorker();
  t.after(() => w.stop());
  const common = ['--base-url', w.api, '--num-prompts', '12', '--max-concurrency', '4', '--random-input-len', '32', '--random-output-len', '6', '--seed', '3', '--quiet',
    '--percentile-metrics', 'ttft,tpot,itl,e2el', '--metric-percentiles', '50,99', '--result-dir', dir];
  const r = await bench([...common, '--save-result', '--goodput', 'ttft:60000', '--metadata', 'tp=1', 'note=x=y']);
  assert.equal(r.code, 0, r.stderr);
  const files = readdirSync(dir);
  assert.equal(files.length, 1);
  assert.match(files[0], /^openai-infqps-concurrency4-test-model-\d{8}-\d{6}\.json$/);
  const result = readJson(join(dir, files[0]));
  for (const key of VLLM_KEYS) assert.ok(key in result, `vLLM key ${key}`);
  const order = Object.keys(result).filter((k) => VLLM_KEYS.includes(k));
  assert.deepEqual(order, VLLM_KEYS, "in vLLM's order");
  for (const key of VLLM_DETAILED) assert.ok(!(key in result), `${key} only with --save-detailed`);
  assert.equal(result.tp, '1');
  assert.equal(result.note, 'x=y');
  assert.equal(result.completed, 12);
  assert.equal(result.failed, 0);
  assert.equal(result.total_output_tokens, 72);
  assert.equal(result.request_goodput, result.request_throughput, 'every request met a 60 s TTFT');
  assert.equal(result.latencies.length, 12);
  assert.ok(result.max_concurrent_requests <= 4 && result.max_concurrent_requests >= 1);
  assert.ok(result.p99_ttft_ms >= result.p50_ttft_ms && result.p50_ttft_ms === result.median_ttft_ms);

  const d = await bench([...common, '--save-result', '--save-detailed', '--result-filename', 'd.json']);
  assert.equal(d.code, 0, d.stderr);
  const detailed = readJson(join(dir, 'd.json'));
  for (const key of VLLM_DETAILED) assert.equal(detailed[key].length, 12, key);
  assert.ok(detailed.itls.every((l) => l.length === 5), 'six outputs, five gaps each');
  assert.ok(detailed.errors.every((e) => e === ''));
  assert.equal(detailed.request_goodput, null, 'no --goodput');
  const a = await bench([...common, '--append-result', '--result-filename', 'd.json']);
  assert.equal(a.code, 0, a.stderr);
  const lines = readFileSync(join(dir, 'd.json'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 2);
  assert.equal(JSON.parse(lines[1]).completed, 12);
});

test('--num-warmups: sent first, counted nowhere (client, engine records, Prometheus)', async (t) => {
  const dir = tempDir(t);
  const r = await bench(['--num-prompts', '20', '--num-warmups', '5', '--max-concurrency', '4', '--input-len', '32', '--output-len', '4', '--virtual-clock', '--quiet', '--json', join(dir, 'r.json'), '--metrics-out', join(dir, 'm.txt')]);
  assert.equal(r.code, 0, r.stderr);
  const report = readJson(join(dir, 'r.json'));
  assertSchema(report);
  assert.equal(report.config.load.warmup_requests, 5);
  assert.equal(report.requests.completed, 20);
  assert.equal(report.engine.requests, 20);
  assert.equal(sumSamples(parseExposition(readFileSync(join(dir, 'm.txt'), 'utf8')), 'trtllm_request_success_total', { model_name: 'sim-llama' }), 20);
});

test('--request-cancel-rate: the chosen requests are cancelled after the delay and counted as cancelled', async (t) => {
  const dir = tempDir(t);
  const w = await startWorker({ sim: { speedupRatio: 1 } });
  t.after(() => w.stop());
  // At speedup 1 a 256-token output takes seconds: a request cancelled 50 ms after it was sent cannot finish first.
  const r = await bench(['--base-url', w.api, '--num-prompts', '16', '--max-concurrency', '16', '--random-input-len', '16', '--random-output-len', '256', '--request-cancel-rate', '0.5',
    '--request-cancel-after-ms', '50', '--seed', '1', '--quiet', '--json', join(dir, 'r.json'), '--save-result', '--save-detailed', '--result-dir', dir, '--result-filename', 'v.json']);
  assert.equal(r.code, 0, r.stderr);
  const report = readJson(join(dir, 'r.json'));
  assertSchema(report);
  const expected = new Workload({ numRequests: 16, seed: 1, requestRate: Infinity, inputLen: parseDistribution('16'), outputLen: parseDistribution('256'), cancelRate: 0.5 }).cancels.reduce((s, x) => s + x, 0);
  assert.ok(expected > 0 && expected < 16);
  assert.equal(report.requests.cancelled, expected);
  assert.equal(report.requests.errors_by_kind.cancelled, expected);
  assert.equal(report.requests.completed, 16 - expected);
  assert.equal(report.requests.failed, 0);
  const v = readJson(join(dir, 'v.json'));
  assert.equal(v.failed, expected, 'vLLM counts what did not complete as failed');
  assert.equal(v.errors.filter((e) => /cancelled/.test(e)).length, expected);
  // The server saw the disconnects: its cancelled requests.
  const samples = parseExposition(await (await fetch(`${w.metrics}/metrics`)).text());
  assert.equal(sumSamples(samples, 'trtllm_request_success_total', { finished_reason: 'cancelled' }), expected);
});

test('--duration on the virtual clock: the requests arriving within it, exactly', async (t) => {
  const dir = tempDir(t);
  const r = await bench(['--duration', '40', '--request-rate', '3', '--burstiness', '2', '--input-len', '16', '--output-len', '2', '--virtual-clock', '--quiet', '--json', join(dir, 'r.json')]);
  assert.equal(r.code, 0, r.stderr);
  const report = readJson(join(dir, 'r.json'));
  assertSchema(report);
  const w = new Workload({ numRequests: 1000, seed: 0, requestRate: 3, burstiness: 2, durationS: 40, inputLen: parseDistribution('16'), outputLen: parseDistribution('2') });
  const within = Array.from(w.arrivals).filter((a) => a < 40).length;
  assert.equal(report.requests.sent, within);
  assert.equal(report.engine.requests, within);
  assert.equal(report.config.load.duration_s, 40);
  // Closed loop: a timed run keeps the concurrency until the end.
  const c = await bench(['--duration', '30', '--max-concurrency', '3', '--input-len', '16', '--output-len', '8', '--virtual-clock', '--quiet', '--json', join(dir, 'c.json')]);
  assert.equal(c.code, 0, c.stderr);
  const closed = readJson(join(dir, 'c.json'));
  assert.ok(closed.requests.sent > 3);
  assert.equal(closed.engine.requests, closed.requests.sent);
  assert.ok(closed.engine.duration_s >= 30, `the last request ends after the duration: ${closed.engine.duration_s}`);
});

test('--metrics-url: the server timeline (gauges, counter rates) in the report and in --plot', async (t) => {
  const dir = tempDir(t);
  const w = await startWorker();
  t.after(() => w.stop());
  const r = await bench(['--base-url', w.api, '--num-prompts', '30', '--max-concurrency', '6', '--random-input-len', '64', '--random-output-len', '24', '--metrics-url', `${w.metrics}/metrics`,
    '--metrics-interval-ms', '20', '--quiet', '--json', join(dir, 'r.json'), '--plot', join(dir, 'p.svg')]);
  assert.equal(r.code, 0, r.stderr);
  const report = readJson(join(dir, 'r.json'));
  assertSchema(report);
  const tl = report.server_timeline;
  assert.equal(tl.source, 'metrics_url');
  assert.ok(tl.t_s.length >= 2, 'a scrape at the start and one at the end at least');
  for (const g of ['running', 'waiting', 'kv_cache_utilization', 'kv_cache_hit_rate']) assert.equal(tl.gauges[g].length, tl.t_s.length, g);
  assert.ok(tl.gauges.running.every((v) => v !== null && v >= 0 && v <= 6));
  assert.ok(tl.rates.generation_tokens.length === tl.t_s.length && tl.rates.generation_tokens[0] === null);
  // The rates integrate to the increase over the run: every output token was counted between two scrapes.
  const tokens = tl.rates.generation_tokens.reduce((a, v, k) => a + (v === null ? 0 : v * (tl.t_s[k] - tl.t_s[k - 1])), 0);
  assert.ok(Math.abs(tokens - 30 * 24) < 1e-6, `tokens from the rates: ${tokens}`);
  const svg = readFileSync(join(dir, 'p.svg'), 'utf8');
  assert.match(svg, /Server: requests/);
  assert.match(svg, /Server: token counters/);
});

test('--sweep: one result per point with the same seed, a table and the throughput-latency curve', async (t) => {
  const dir = tempDir(t);
  const r = await bench(['--sweep', 'max-concurrency=1,4,16', '--num-prompts', '48', '--input-len', '128', '--output-len', '16', '--virtual-clock', '--quiet',
    '--goodput', 'ttft:200', 'tpot:30', '--json', join(dir, 'r.json'), '--save-result', '--result-dir', dir, '--plot', join(dir, 'curve.svg')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Sweep of max-concurrency/);
  const reports = [1, 4, 16].map((c) => readJson(join(dir, `r.max-concurrency-${c}.json`)));
  reports.forEach((rep, k) => {
    assertSchema(rep);
    assert.equal(rep.config.concurrency, [1, 4, 16][k]);
    assert.equal(rep.config.seed, 0);
    assert.equal(rep.engine.input_tokens, 48 * 128, 'the same workload at every point');
  });
  assert.ok(reports[2].engine.request_throughput > reports[0].engine.request_throughput, 'more concurrency, more throughput');
  const results = readdirSync(dir).filter((f) => /^openai-infqps-concurrency\d+-sim-llama-.*\.json$/.test(f));
  assert.equal(results.length, 3);
  const svg = readFileSync(join(dir, 'curve.svg'), 'utf8');
  assert.match(svg, /TTFT against throughput/);
  assert.match(svg, /goodput SLO 200 ms/);
  assert.ok(!existsSync(join(dir, 'r.json')), 'no report without a point suffix');
});

test('--plot-timeline: the figure next to the result file', async (t) => {
  const dir = tempDir(t);
  const r = await bench(['--num-prompts', '8', '--input-len', '16', '--output-len', '2', '--virtual-clock', '--quiet', '--save-result', '--result-dir', dir, '--result-filename', 'x.json', '--plot-timeline']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(readFileSync(join(dir, 'x.timeline.svg'), 'utf8'), /^<svg /);
  assert.equal(readJson(join(dir, 'x.json')).completed, 8);
});
