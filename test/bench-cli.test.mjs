// `trtllm-metrics bench` end to end: flag errors, the report against its documented schema, and the
// agreement of --dump-records with --metrics-out; in-process (simulator) and --url (our own server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const Ajv = require('ajv');
const { runBench } = require('../dist/bench/cli.js');
const { parseExposition, histogramFromSamples, sumSamples } = require('../dist/metrics/exposition-parse.js');
const { Worker } = require('../dist/worker.js');

const schema = JSON.parse(readFileSync(new URL('../docs/bench-report.schema.json', import.meta.url), 'utf8'));
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function bench(args, tty = false) {
  let stdout = '';
  let stderr = '';
  const code = await runBench(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), tty });
  return { code, stdout, stderr };
}

function assertSchema(report) {
  const ok = validate(report);
  assert.ok(ok, JSON.stringify(validate.errors, null, 1));
}

const readJsonl = (path) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const relClose = (a, b, tol, what) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('bad flags and values: one line naming the flag, exit code 2', async () => {
  const cases = [
    [['--bogus'], /--bogus/],
    [['--num-requests', '0'], /--num-requests/],
    [['--num-requests', 'ten'], /--num-requests/],
    [['--concurrency'], /--concurrency/],
    [['--request-rate', '-3'], /--request-rate/],
    [['--input-len', 'uniform:9:3'], /--input-len/],
    [['--output-len', 'gauss:3'], /--output-len/],
    [['--prefix-share', '0.5'], /--prefix-share/],
    [['--prefix-share', '1.5:10'], /--prefix-share/],
    [['--url', 'ftp://x'], /--url/],
    [['--url', 'http://127.0.0.1:1', '--kv-blocks', '10'], /--kv-blocks/],
    [['--metrics-url', 'http://127.0.0.1:1/metrics'], /--metrics-url/],
    [['--stream', '--no-stream'], /--stream/],
    [['--plot', 'out.png'], /--plot/],
    [['--dataset', '/nonexistent/file.jsonl'], /--dataset/],
    [['--dataset', 'x.jsonl', '--input-len', 'fixed:3'], /--input-len/],
    [['positional'], /positional|argument/i],
  ];
  for (const [args, re] of cases) {
    const r = await bench(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stdout, '');
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^trtllm-metrics bench: /);
    assert.match(lines[0], re);
  }
  const help = await bench(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--prefix-share F:T/);
});

test('in-process, virtual clock: report matches the schema; --dump-records agrees with --metrics-out', async (t) => {
  const dir = tempDir(t);
  const f = (n) => join(dir, n);
  const r = await bench([
    '--num-requests', '400', '--virtual-clock', '--concurrency', '64', '--seed', '5',
    '--input-len', 'uniform:32:256', '--output-len', 'uniform:1:48', '--prefix-share', '0.5:64',
    '--json', f('r.json'), '--dump-records', f('d.jsonl'), '--metrics-out', f('m.txt'), '--plot', f('p.svg'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Engine side \(perf metrics, simulated clock\)/);
  assert.match(r.stdout, /histogram_quantile/);
  assert.match(r.stderr, /^bench: 400\/400 requests/m, 'a plain progress line when not a TTY');

  const report = JSON.parse(readFileSync(f('r.json'), 'utf8'));
  assertSchema(report);
  assert.equal(report.requests.completed, 400);
  assert.equal(report.engine.requests, 400);
  assert.equal(report.engine.clock, 'simulated');
  assert.equal(report.config.concurrency, 64);
  assert.equal(report.config.request_rate, null);
  assert.ok(report.engine.cached_tokens > 0, 'the shared prefix is reused');
  assert.ok(report.engine.kv_cache.reused_blocks > 0);
  assert.equal(report.client.ttft_s.count, 0, 'non-streaming by default with the virtual clock');
  assert.equal(report.client.e2e_s.count, 400);

  const lines = readJsonl(f('d.jsonl'));
  const samples = parseExposition(readFileSync(f('m.txt'), 'utf8'));
  const match = { model_name: 'sim-llama' };
  assert.equal(lines.length, 400);
  assert.equal(lines.length, sumSamples(samples, 'trtllm_request_success_total', match));
  for (const l of lines) {
    assert.deepEqual(Object.keys(l), ['request_id', 'timing_metrics', 'kv_cache_metrics', 'prompt_tokens', 'output_tokens', 'cached_tokens', 'n', 'finish_reason']);
    assert.deepEqual(Object.keys(l.timing_metrics), ['arrival_time', 'first_scheduled_time', 'first_token_time', 'last_token_time']);
    assert.deepEqual(Object.keys(l.kv_cache_metrics), ['num_total_allocated_blocks', 'num_new_allocated_blocks', 'num_reused_blocks', 'num_missed_blocks']);
    assert.equal(l.finish_reason, 'length');
    assert.equal(l.n, 1);
  }
  const sum = (fn) => lines.reduce((a, l) => a + fn(l), 0);
  assert.equal(sum((l) => l.output_tokens), sumSamples(samples, 'trtllm_generation_tokens_total', match));
  assert.equal(sum((l) => l.prompt_tokens), sumSamples(samples, 'trtllm_prompt_tokens_total', match));
  assert.equal(sum((l) => l.cached_tokens), sumSamples(samples, 'trtllm_prompt_cached_tokens_total', match));
  assert.equal(sum((l) => l.output_tokens), report.engine.output_tokens);
  const tm = (l) => l.timing_metrics;
  const checks = [
    ['trtllm_e2e_request_latency_seconds', (l) => tm(l).last_token_time - tm(l).arrival_time],
    ['trtllm_time_to_first_token_seconds', (l) => tm(l).first_token_time - tm(l).arrival_time],
    ['trtllm_request_queue_time_seconds', (l) => tm(l).first_scheduled_time - tm(l).arrival_time],
  ];
  for (const [name, value] of checks) {
    const h = histogramFromSamples(samples, name, match);
    assert.equal(h.count, lines.length, name);
    relClose(sum(value), h.sum, 1e-9, `${name} sum`);
  }
  const tpot = histogramFromSamples(samples, 'trtllm_time_per_output_token_seconds', match);
  const multi = lines.filter((l) => l.output_tokens > 1);
  assert.equal(tpot.count, multi.length);
  relClose(multi.reduce((a, l) => a + (tm(l).last_token_time - tm(l).first_token_time) / (l.output_tokens - 1), 0), tpot.sum, 1e-9, 'tpot sum');

  // The Prometheus section read the same histograms, and its exact values are the engine-side percentiles.
  const pe = report.prometheus.metrics.e2e_s;
  assert.equal(report.prometheus.source, 'collector');
  assert.equal(pe.count, 400);
  relClose(pe.sum, histogramFromSamples(samples, 'trtllm_e2e_request_latency_seconds', match).sum, 1e-12, 'e2e sum');
  assert.equal(pe.quantiles[0].exact, report.engine.e2e_s.p50);
  assert.equal(pe.quantiles[2].exact, report.engine.e2e_s.p99);
  for (const q of pe.quantiles) relClose(q.relative_error, (q.prometheus - q.exact) / q.exact, 1e-12, 'relative error');

  const svg = readFileSync(f('p.svg'), 'utf8');
  assert.match(svg, /^<svg /);
  assert.match(svg, /Latency CDFs/);
  assert.match(svg, /Output throughput over time/);
});

test('in-process, real clock with streaming: client-side TTFT/ITL measured and bracket the engine side', async (t) => {
  const dir = tempDir(t);
  const r = await bench([
    '--num-requests', '60', '--speedup-ratio', '50', '--request-rate', '300', '--seed', '2',
    '--input-len', 'normal:96:32', '--output-len', 'fixed:16', '--json', join(dir, 'r.json'), '--quiet',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', '--quiet: no progress');
  const report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
  assertSchema(report);
  assert.equal(report.config.stream, true);
  assert.equal(report.config.request_rate, 300);
  assert.equal(report.engine.clock, 'steady');
  const c = report.client;
  assert.equal(c.ttft_s.count, 60);
  assert.equal(c.tpot_s.count, 60);
  assert.ok(c.itl_s.count >= 60 * 14, `itl samples ${c.itl_s.count}`);
  assert.equal(c.output_tokens, 60 * 16);
  // The client sends before the engine's arrival and sees the last token after it is produced.
  assert.ok(c.e2e_s.min >= 0);
  assert.ok(c.e2e_s.mean >= report.engine.e2e_s.mean, `${c.e2e_s.mean} < ${report.engine.e2e_s.mean}`);
  assert.ok(c.ttft_s.mean >= report.engine.ttft_s.mean);
  assert.equal(report.timeseries.clock, 'steady');
  assert.equal(report.timeseries.output_tokens_per_s.length, 100);
  const tokens = report.timeseries.output_tokens_per_s.reduce((a, v) => a + v * report.timeseries.bin_s, 0);
  relClose(tokens, 60 * 16, 1e-9, 'time series total');
});

test('--url against our server: streaming client side, /perf_metrics engine side, /metrics histograms', async (t) => {
  const dir = tempDir(t);
  const worker = await Worker.start({
    engine: { modelName: 'bench-model', sim: { speedupRatio: 50 }, bridge: { statsIntervalMs: 10 } },
    host: '127.0.0.1',
    metricsPort: 0,
    httpPort: 0,
  });
  t.after(() => worker.shutdown());
  const api = worker.apiAddress.url;
  const metrics = `${worker.metricsAddress.url}/metrics`;
  // Some traffic before the run: the histograms' increase over the run must exclude it.
  await bench(['--url', api, '--num-requests', '5', '--output-len', 'fixed:4', '--input-len', 'fixed:16', '--quiet']);
  const f = (n) => join(dir, n);
  const r = await bench([
    '--url', `${api}/v1`, '--num-requests', '40', '--concurrency', '8', '--input-len', 'uniform:16:96', '--output-len', 'fixed:24',
    '--prefix-share', '0.5:64', '--metrics-url', metrics, '--perf-metrics', '--quiet',
    '--json', f('r.json'), '--dump-records', f('d.jsonl'), '--metrics-out', f('m.txt'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(f('r.json'), 'utf8'));
  assertSchema(report);
  assert.equal(report.config.target, 'url');
  assert.equal(report.config.model, 'bench-model', 'the model comes from /v1/models');
  assert.equal(report.requests.completed, 40);
  assert.equal(report.client.ttft_s.count, 40);
  assert.ok(report.client.itl_s.count > 0);
  assert.ok(report.client.cached_tokens > 0, 'usage.prompt_tokens_details.cached_tokens');
  assert.equal(report.engine.source, 'perf_metrics');
  assert.equal(report.engine.requests, 40);
  assert.equal(report.engine.output_tokens, null);
  assert.equal(report.prometheus.source, 'metrics_url');
  assert.equal(report.prometheus.metrics.e2e_s.count, 40, 'the increase over the run only');
  const lines = readJsonl(f('d.jsonl'));
  assert.equal(lines.length, 40);
  assert.equal(lines[0].output_tokens, null);
  assert.ok(lines.every((l) => l.timing_metrics.last_token_time >= l.timing_metrics.arrival_time));
  const samples = parseExposition(readFileSync(f('m.txt'), 'utf8'));
  assert.equal(sumSamples(samples, 'trtllm_request_success_total', { model_name: 'bench-model' }), 45);
});

test('--url: an unreachable server is one line and exit code 1', async () => {
  const r = await bench(['--url', 'http://127.0.0.1:9', '--num-requests', '3']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1);
  assert.match(r.stderr, /cannot reach http:\/\/127\.0\.0\.1:9/);
});
