// GET /dashboard on the metrics port (lib/dashboard): the routes, the JSON the page polls (rates from counter
// deltas, quantiles with Prometheus' interpolation, checked against promtool's histogram_quantile), and the
// page itself end to end in headless Chromium (Debian package `chromium`, driven by playwright-core; no
// browser download) while the simulator serves load: every chart must hold data. Screenshots go to
// test-artifacts/dashboard.png; with UPDATE_SCREENSHOT=1 also to docs/dashboard.png (the README's picture).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MetricsCollector } from '../dist/metrics/collector.js';
import { createDashboardHandler, DashboardSampler, histogramQuantile, SERIES } from '../dist/dashboard/index.js';
import { MetricsServer } from '../dist/server.js';
import { startWorker } from './helpers/worker-fixtures.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
import { CHROMIUM, PROMTOOL, skipWithout } from './helpers/tools.mjs';
const ARTIFACTS = join(ROOT, 'test-artifacts');

describe('histogramQuantile', () => {
  const bounds = [0.1, 0.5, 1, 2.5, Infinity];

  test('interpolates inside the bucket, as PromQL does', () => {
    const b = { bounds, counts: [10, 30, 40, 40, 40] };
    assert.ok(Math.abs(histogramQuantile(0.5, b) - 0.3) < 1e-12); // rank 20 of 40: 0.1 + 0.4 * (20 - 10) / 20
    assert.ok(Math.abs(histogramQuantile(0.25, b) - 0.1) < 1e-12); // rank 10: top of the first bucket
    assert.ok(Math.abs(histogramQuantile(0.125, b) - 0.05) < 1e-12); // first bucket starts at 0
    assert.ok(Math.abs(histogramQuantile(0.9, b) - (0.5 + 0.5 * (6 / 10))) < 1e-12);
  });

  test('edge cases: empty, +Inf bucket, q outside [0, 1]', () => {
    assert.ok(Number.isNaN(histogramQuantile(0.5, { bounds, counts: [0, 0, 0, 0, 0] })));
    assert.equal(histogramQuantile(0.99, { bounds, counts: [0, 0, 0, 1, 10] }), 2.5);
    assert.equal(histogramQuantile(-1, { bounds, counts: [1, 1, 1, 1, 1] }), -Infinity);
    assert.equal(histogramQuantile(2, { bounds, counts: [1, 1, 1, 1, 1] }), Infinity);
    assert.ok(Number.isNaN(histogramQuantile(0.5, { bounds: [Infinity], counts: [3] })));
  });

  test('equals promtool\'s histogram_quantile on the same buckets', { skip: skipWithout(PROMTOOL, 'apt-get install prometheus') }, () => {
    const cases = [
      [0, 4, 9, 9, 12],
      [3, 3, 3, 7, 7],
      [0, 0, 1, 50, 51],
      [5, 10, 20, 40, 80],
    ];
    const qs = [0.5, 0.9, 0.99];
    const series = [];
    const tests = [];
    cases.forEach((counts, ci) => {
      bounds.forEach((le, bi) => {
        series.push({ series: `h_bucket{case="${ci}",le="${le === Infinity ? '+Inf' : le}"}`, values: `0+${counts[bi]}x2` });
      });
      for (const q of qs) {
        // rate over [1m] of a series growing by `counts` per minute = counts / 60 per second; the quantile is the same.
        const expected = histogramQuantile(q, { bounds, counts });
        // promtool compares exactly; the rate's division may differ in the last bit, so compare within 1e-9.
        const expr = `abs(histogram_quantile(${q}, rate(h_bucket{case="${ci}"}[1m])) - ${expected}) < bool 1e-9`;
        tests.push({ expr, eval_time: '2m', exp_samples: [{ labels: `{case="${ci}"}`, value: 1 }] });
      }
    });
    const dir = mkdtempSync(join(tmpdir(), 'trtllm-q-'));
    try {
      writeFileSync(join(dir, 'rules.yml'), JSON.stringify({ groups: [] }));
      writeFileSync(join(dir, 'test.yml'), JSON.stringify({ rule_files: ['rules.yml'], evaluation_interval: '1m', tests: [{ interval: '1m', input_series: series, promql_expr_test: tests }] }));
      const r = spawnSync(PROMTOOL, ['test', 'rules', 'test.yml'], { cwd: dir, encoding: 'utf8' });
      assert.equal(r.status, 0, `promtool test rules:\n${r.stdout}\n${r.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('DashboardSampler', () => {
  test('rates from counter deltas, quantiles over the window, gauges as they are', async () => {
    const collector = new MetricsCollector({ model_name: 's' });
    let now = 1_000_000;
    const sampler = new DashboardSampler({ collector, now: () => now, windowSeconds: 10, minIntervalMs: 0 });
    const request = (ttft) => collector.logRequestMetrics({
      finishReason: 'stop', arrivalTime: 10, firstScheduledTime: 10, firstTokenTime: 10 + ttft, lastTokenTime: 10 + ttft + 0.5,
      promptTokens: 100, outputTokens: 11,
    });
    await sampler.sample(); // t = 1000 s, nothing yet
    for (let i = 0; i < 4; i++) request(0.03);
    now += 2000;
    await sampler.sample(); // t = 1002 s
    for (let i = 0; i < 6; i++) request(0.3);
    now += 1000;
    const d = await sampler.data(); // t = 1003 s
    assert.deepEqual(d.t, [1002, 1003]);
    assert.equal(d.model, 's');
    assert.deepEqual(d.series.requests_per_s, [2, 6]);
    assert.deepEqual(d.series.prompt_tokens_per_s, [200, 600]);
    assert.deepEqual(d.series.generation_tokens_per_s, [22, 66]);
    // window of 10 s: both points span from the first snapshot.
    assert.ok(Math.abs(d.series.ttft_p50[0] - (0.02 + 0.02 * 0.5)) < 1e-9, String(d.series.ttft_p50[0]));
    const all = { bounds: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560, Infinity],
      counts: [0, 0, 0, 0, 4, 4, 4, 4, 4, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10] };
    assert.ok(Math.abs(d.series.ttft_p90[1] - histogramQuantile(0.9, all)) < 1e-9);
    assert.equal(d.series.running[1], null, 'no iteration stats yet');
    assert.equal(d.latest.requests, 10);
    assert.equal(Object.keys(d.series).length, SERIES.length);
    // since: only newer points; no request in the window: null quantiles, rate 0.
    now += 20_000;
    const e = await sampler.data(1003);
    assert.deepEqual(e.t, [1023]);
    assert.equal(e.series.ttft_p50[0], null);
    assert.equal(e.series.requests_per_s[0], 0);
    collector.close();
  });
});

describe('routes', () => {
  const collector = new MetricsCollector({ model_name: 'r' });
  const server = new MetricsServer({ registry: collector.registry, host: '127.0.0.1', port: 0, extraRoutes: createDashboardHandler({ collector }) });
  let base;
  before(async () => {
    base = (await server.start()).url;
  });
  after(async () => {
    await server.close();
    collector.close();
  });

  test('GET /dashboard: the page, self-contained', async () => {
    const res = await fetch(`${base}/dashboard`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = await res.text();
    assert.match(html, /<script src="dashboard\/assets\/uplot\.iife\.min\.js"><\/script>/);
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'no external resource');
    const head = await fetch(`${base}/dashboard`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  test('assets come from the uplot package', async () => {
    const js = await fetch(`${base}/dashboard/assets/uplot.iife.min.js`);
    assert.equal(js.status, 200);
    assert.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.match(await js.text(), /uPlot/);
    const css = await fetch(`${base}/dashboard/assets/uplot.min.css`);
    assert.equal(css.status, 200);
    assert.match(await css.text(), /\.uplot/);
    assert.equal((await fetch(`${base}/dashboard/assets/../../package.json`)).status, 404);
    assert.equal((await fetch(`${base}/dashboard/assets/other.js`)).status, 404);
    // Names an object has by inheritance are not assets either (they were 500s).
    for (const name of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      assert.equal((await fetch(`${base}/dashboard/assets/${name}`)).status, 404, name);
    }
  });

  test('/dashboard/data: JSON; since must be a number', async () => {
    const res = await fetch(`${base}/dashboard/data`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const d = await res.json();
    assert.equal(d.model, 'r');
    assert.equal(d.profile, 'full');
    assert.deepEqual(Object.keys(d.series), [...SERIES]);
    assert.equal((await fetch(`${base}/dashboard/data?since=abc`)).status, 400);
    assert.equal((await fetch(`${base}/dashboard/data?since=${Date.now() / 1000}`)).status, 200);
  });

  test('other methods 405, /dashboard/ redirects, the server\'s own routes unchanged', async () => {
    const res = await fetch(`${base}/dashboard/data`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    const r = await fetch(`${base}/dashboard/`, { redirect: 'manual' });
    assert.equal(r.status, 308);
    assert.equal(new URL(r.headers.get('location'), `${base}/dashboard/`).pathname, '/dashboard');
    assert.equal((await fetch(`${base}/metrics`)).status, 200);
    assert.equal((await fetch(`${base}/dashboards`)).status, 404);
    assert.equal((await fetch(`${base}/nothing`)).status, 404);
  });
});

describe('the page in headless Chromium', { skip: skipWithout(CHROMIUM, 'apt-get install chromium') }, () => {
  let w;
  let context;
  let profile;
  let stopLoad = false;
  let load;

  before(async () => {
    // A small batch and KV cache, so that requests wait and the cache fills a little.
    w = await startWorker({
      model: 'dashboard-demo',
      engine: {
        modelName: 'dashboard-demo',
        sim: { speedupRatio: 1, numKvBlocks: 256, meanOutputTokens: 48 },
        executorConfig: { maxBatchSize: 8, kvCacheConfig: { eventBufferMaxSize: 1024 } },
        bridge: { statsIntervalMs: 10 },
      },
    });
    // Bounded load: 12 clients, starting one by one, in a loop until the test ends (at most 25 s, 60 s when
    // updating the README's screenshot).
    const deadline = Date.now() + (process.env.UPDATE_SCREENSHOT === '1' ? 60_000 : 25_000);
    const client = async (k) => {
      await new Promise((r) => setTimeout(r, k * 500));
      for (let i = 0; !stopLoad && Date.now() < deadline; i++) {
        const prompt = `${'You are a helpful assistant. Answer briefly. '.repeat(3 + (k % 3))}Question ${k}-${i}: ${'why '.repeat(i % 17)}?`;
        await w.client.completions.create({ model: w.model, prompt, max_tokens: 16 + ((i * 7 + k * 13) % 64) }).catch(() => undefined);
      }
    };
    load = Promise.all(Array.from({ length: 12 }, (_, k) => client(k)));
    const { chromium } = await import('playwright-core');
    profile = mkdtempSync(join(tmpdir(), 'trtllm-chromium-'));
    // Chromium is not ours to sanitize: under scripts/repeat-tests.sh's ASan runs, LD_PRELOAD is for Node only.
    const { LD_PRELOAD: _asan, ...env } = process.env;
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      env,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage'],
      viewport: { width: 1400, height: 1000 },
      deviceScaleFactor: 1,
    });
  });

  after(async () => {
    stopLoad = true;
    await context?.close();
    await load;
    await w?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const SHOT_POINTS = process.env.UPDATE_SCREENSHOT === '1' ? 40 : 6;

  test('every chart fills with live data; nothing is fetched from elsewhere', { timeout: 30_000 + SHOT_POINTS * 1000 }, async () => {
    const page = await context.newPage();
    const foreign = [];
    const errors = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(w.metrics)) foreign.push(r.url());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`${w.metrics}/dashboard`);
    await page.waitForFunction(
      (min) => {
        const d = window.__dashboard;
        return d && d.points >= min && d.nonNull.ttft_p99 >= 3 && d.nonNull.e2e_p50 >= 3 && d.nonNull.kv_hit_rate >= 3;
      },
      SHOT_POINTS,
      { timeout: SHOT_POINTS * 1000 + 10_000, polling: 250 },
    );
    const state = await page.evaluate(() => window.__dashboard);
    assert.equal(state.errors, 0, state.lastError);
    for (const key of ['ttft_p50', 'tpot_p90', 'e2e_p99', 'queue_p50', 'requests_per_s', 'generation_tokens_per_s', 'prompt_tokens_per_s', 'kv_utilization', 'kv_hit_rate', 'running', 'waiting']) {
      assert.ok(state.nonNull[key] >= 3, `${key}: ${state.nonNull[key]} values`);
    }
    const cards = await page.$$eval('section.card', (els) => els.map((e) => ({ id: e.id, points: Number(e.dataset.points), canvas: e.querySelectorAll('canvas').length })));
    assert.equal(cards.length, 8);
    for (const c of cards) {
      assert.ok(c.points > 0, `${c.id} holds data`);
      assert.equal(c.canvas, 1, `${c.id} drew a chart`);
    }
    // The throughput the page shows is the load we send: some requests and tokens per second.
    const rates = await page.evaluate(() => window.__dashboard.nonNull.requests_per_s);
    assert.ok(rates > 0);
    const tiles = await page.$$eval('.tile', (els) => Object.fromEntries(els.map((e) => [e.dataset.tile, e.lastChild.textContent])));
    assert.notEqual(tiles.requests, '\u2014');
    assert.ok(Number(tiles.requests.replace(/k$/, '')) > 0, JSON.stringify(tiles));
    assert.match(tiles.ttft, /(ms|s)$/);
    assert.equal(await page.textContent('#model'), 'dashboard-demo');
    assert.deepEqual(foreign, [], 'requests outside the worker');
    assert.deepEqual(errors, [], 'page errors');

    mkdirSync(ARTIFACTS, { recursive: true });
    if (!existsSync(join(ARTIFACTS, '.gitignore'))) writeFileSync(join(ARTIFACTS, '.gitignore'), '*\n');
    const shot = join(ARTIFACTS, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    if (process.env.UPDATE_SCREENSHOT === '1') copyFileSync(shot, join(ROOT, 'docs/dashboard.png'));
    await page.close();
  });
});
