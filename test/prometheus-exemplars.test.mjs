// Exemplars end to end with a real Prometheus (Debian's `prometheus`, --enable-feature=exemplar-storage): a
// request sent to `serve` with a W3C traceparent header puts its trace id on the TTFT and E2E buckets it lands
// in; Prometheus scrapes the OpenMetrics exposition and its /api/v1/query_exemplars returns that trace id.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from './helpers/fleet-fixtures.mjs';
import { PROMETHEUS, requireTool } from './helpers/tools.mjs';
import { eventually, post, startWorker } from './helpers/worker-fixtures.mjs';

test('Prometheus stores our exemplar and /api/v1/query_exemplars returns the trace id we sent', { timeout: 120_000 }, async (t) => {
  requireTool(PROMETHEUS, 'apt-get install prometheus');
  const w = await startWorker();
  t.after(() => w.stop());
  const traceId = 'a3ce929d0e0e47364bf92f3577b34da6';
  const r = await post(`${w.api}/v1/chat/completions`, { model: w.model, messages: [{ role: 'user', content: 'exemplar' }], max_tokens: 5 }, { traceparent: `00-${traceId}-b7ad6b7169203331-01` });
  assert.equal(r.status, 200, r.text);
  await w.worker.engine.flush();

  const dir = mkdtempSync(join(tmpdir(), 'trtllm-exemplars-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const promPort = await freePort();
  const target = new URL(w.metrics).host;
  writeFileSync(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: trtllm\n    static_configs:\n      - targets: ['${target}']\n`);
  const prom = spawn(
    PROMETHEUS,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--enable-feature=exemplar-storage', '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  prom.stderr.on('data', (d) => (log += d));
  t.after(() => prom.kill('SIGTERM'));

  const base = `http://127.0.0.1:${promPort}`;
  const query = async (metric) => {
    const now = Date.now() / 1000;
    const res = await fetch(`${base}/api/v1/query_exemplars?query=${encodeURIComponent(metric)}&start=${now - 3600}&end=${now + 3600}`);
    const body = await res.json();
    return body.status === 'success' ? body.data : null;
  };
  for (const metric of ['trtllm_time_to_first_token_seconds_bucket', 'trtllm_e2e_request_latency_seconds_bucket']) {
    const data = await eventually(
      async () => {
        try {
          const d = await query(metric);
          return d && d.some((series) => series.exemplars.some((e) => e.labels.trace_id === traceId)) ? d : null;
        } catch {
          return null; // Prometheus still starting
        }
      },
      60_000,
      `${metric} exemplars in Prometheus (its log: ${log.slice(-300)})`,
    );
    const series = data.find((s) => s.exemplars.some((e) => e.labels.trace_id === traceId));
    assert.equal(series.seriesLabels.model_name, w.model);
    const ex = series.exemplars.find((e) => e.labels.trace_id === traceId);
    assert.ok(Number(ex.value) > 0 && Number(ex.value) <= Number(series.seriesLabels.le), JSON.stringify(series));
  }
});
