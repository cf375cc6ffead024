// End to end with a real Prometheus server (Debian's `prometheus`): it scrapes our /metrics while the simulator
// serves load; its HTTP API must return the request count we made and the TTFT quantile our buckets imply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Engine, MetricsCollector, MetricsServer } = require('../dist/index.js');
const { histogramQuantile } = require('../dist/metrics/histogram-quantile.js');
const { histogramFromSamples, parseExposition } = require('../dist/metrics/exposition-parse.js');

import { PROMETHEUS, PROMTOOL, requireTool } from './helpers/tools.mjs';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function query(base, expr) {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = await res.json();
  assert.equal(body.status, 'success', JSON.stringify(body));
  return body.data.result;
}

test('Prometheus scrapes the endpoint and computes the expected count and TTFT quantile', { timeout: 90_000 }, async (t) => {
  requireTool(PROMETHEUS, 'apt-get install prometheus');
  const engine = await Engine.create({ modelName: 'e2e-model', sim: { speedupRatio: 20, outputLengthMode: 'maxTokens' }, bridge: { statsIntervalMs: 20 } });
  t.after(() => engine.shutdown());
  const collector = new MetricsCollector({ model_name: 'e2e-model' });
  collector.attach(engine);
  const server = new MetricsServer({ registry: collector.registry, host: '127.0.0.1', port: 0, ready: engine });
  const addr = await server.start();
  t.after(() => server.close());

  const dir = mkdtempSync(join(tmpdir(), 'trtllm-prom-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const promPort = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: trtllm\n    static_configs:\n      - targets: ['127.0.0.1:${addr.port}']\n`,
  );
  const prom = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let promLog = '';
  prom.stderr.on('data', (d) => (promLog += d));
  t.after(() => prom.kill('SIGTERM'));
  const base = `http://127.0.0.1:${promPort}`;

  // Load: 120 requests of mixed prompt lengths while Prometheus scrapes.
  const N = 120;
  const results = await Promise.all(Array.from({ length: N }, (_, i) => engine.complete({ inputTokenIds: Array.from({ length: 32 + (i % 7) * 100 }, (_, k) => k + i), maxTokens: 4 + (i % 5), streaming: i % 2 === 0 })));
  assert.equal(results.length, N);
  await engine.flush(); // the last records reach the collector

  // Wait until Prometheus has scraped the final state.
  const deadline = Date.now() + 45_000;
  let total = 0;
  while (Date.now() < deadline) {
    try {
      const r = await query(base, 'sum(trtllm_request_success_total{model_name="e2e-model"})');
      total = r.length ? Number(r[0].value[1]) : 0;
      if (total === N) break;
    } catch {
      // Prometheus still starting
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.equal(total, N, `Prometheus saw ${total} successes; its log: ${promLog.slice(-500)}`);
  const byReason = await query(base, 'sum by (finished_reason) (trtllm_request_success_total)');
  assert.deepEqual(byReason.map((s) => s.metric.finished_reason), ['length']);

  // The expected quantile, from the buckets we serve right now (nothing changes any more).
  const text = await (await fetch(`${addr.url}/metrics`)).text();
  const { buckets } = histogramFromSamples(parseExposition(text), 'trtllm_time_to_first_token_seconds');
  assert.ok(buckets.length >= 20);
  // promtool's linter accepts the exposition of a loaded engine.
  const lint = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(lint.status, 0, `promtool check metrics: ${lint.stdout}${lint.stderr}`);
  for (const q of [0.5, 0.9]) {
    const expected = histogramQuantile(q, buckets);
    const r = await query(base, `histogram_quantile(${q}, sum by (le) (trtllm_time_to_first_token_seconds_bucket{model_name="e2e-model"}))`);
    assert.equal(r.length, 1);
    const got = Number(r[0].value[1]);
    assert.ok(Math.abs(got - expected) <= 1e-9 * Math.max(1, expected), `q=${q}: Prometheus ${got}, expected ${expected}`);
    assert.ok(got > 0 && got < 10, `TTFT quantile ${got} s is plausible for the simulated load`);
  }
});
