// Faults end to end through `trtllm-metrics serve` on the simulator (its injected faults, --sim-fault-*): a stalled
// executor (/health 503 with the reason and the time since the last iteration, /live unchanged, the stall metrics,
// recovery; --exit-on-stall exits 4), a fatal executor error (the stream's error event, exit code 3) and the canary
// health check (a canary that times out makes /health 503 until the engine moves again; GET /health_generate).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnServe } from './helpers/serve-process.mjs';
import { eventually, sample } from './helpers/worker-fixtures.mjs';

const PORTS = ['--port', '0', '--http-port', '0'];

async function serve(args) {
  const s = await spawnServe([...PORTS, ...args]);
  assert.ok(!s.exited, `serve exited early: ${JSON.stringify(s.exited)}`);
  return s;
}

async function health(base, path = '/health') {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: await res.json() };
}

async function metricsText(base) {
  return (await fetch(`${base}/metrics`)).text();
}

/** Starts a completion and returns its promise of { status, text } (the text of a stream is every event). */
function complete(api, body) {
  return fetch(`${api}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'sim-llama', prompt: 'hi', ...body }) }).then(
    async (res) => ({ status: res.status, text: await res.text() }),
  );
}

test('a stalled executor: /health 503 with the reason while /live stays 200, counted, then healthy again', async () => {
  const s = await serve(['--speedup-ratio', '50', '--sim-fault-stall-ms', '2500', '--sim-fault-stall-at-iteration', '5', '--stall-timeout-ms', '300']);
  try {
    assert.equal((await health(s.metrics)).status, 200);
    const request = complete(s.api, { max_tokens: 40 });
    const stalled = await eventually(async () => {
      const h = await health(s.metrics);
      return h.status === 503 ? h : null;
    }, 10_000, '/health 503 during the stall');
    assert.equal(stalled.body.status, 'notready');
    assert.equal(stalled.body.reasons.length, 1, JSON.stringify(stalled.body));
    assert.match(stalled.body.reasons[0], /^the executor stalled: no iteration for \d+\.\d s with 1 request\(s\) in flight$/);
    assert.equal(stalled.body.engine.stalled, true);
    assert.equal(stalled.body.engine.inflight, 1);
    assert.ok(stalled.body.engine.seconds_since_progress >= 0.3, JSON.stringify(stalled.body.engine));
    const live = await health(s.metrics, '/live');
    assert.equal(live.status, 200, '/live keeps its meaning: the process serves and the engine is loaded');
    assert.equal(live.body.status, 'ready');
    const api = await fetch(`${s.api}/health`);
    assert.equal(api.status, 503);
    assert.match((await api.json()).error.message, /stalled/);
    const during = await metricsText(s.metrics);
    assert.equal(sample(during, 'trtllm_engine_stalled'), 1);
    assert.equal(sample(during, 'trtllm_engine_stalls_total'), 1);
    assert.equal(sample(during, 'trtllm_worker_healthy'), 0);
    assert.ok(sample(during, 'trtllm_engine_seconds_since_progress') >= 0.3);

    // The stall ends: the request completes and the worker is healthy again; the counter keeps the episode.
    const done = await request;
    assert.equal(done.status, 200);
    assert.equal(JSON.parse(done.text).usage.completion_tokens, 40);
    const recovered = await eventually(async () => {
      const h = await health(s.metrics);
      return h.status === 200 ? h : null;
    }, 10_000, '/health 200 after the stall');
    assert.deepEqual(recovered.body.reasons, []);
    assert.equal(recovered.body.engine.stalls, 1);
    const after = await metricsText(s.metrics);
    assert.equal(sample(after, 'trtllm_engine_stalled'), 0);
    assert.equal(sample(after, 'trtllm_engine_stalls_total'), 1);
    assert.equal(sample(after, 'trtllm_worker_healthy'), 1);
  } finally {
    s.child.kill('SIGTERM');
    assert.equal((await s.done).code, 0);
  }
});

test('--exit-on-stall: a stall ends serve with exit code 4 and one line naming it', async () => {
  const s = await serve([
    '--speedup-ratio', '50', '--sim-fault-stall-ms', '600000', '--sim-fault-stall-at-iteration', '3',
    '--stall-timeout-ms', '300', '--exit-on-stall', '--shutdown-grace-ms', '200',
  ]);
  const request = complete(s.api, { max_tokens: 20, stream: true }).catch((err) => ({ status: 'closed', text: String(err) }));
  const exit = await s.done;
  assert.equal(exit.code, 4, exit.stderr);
  const lines = exit.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, exit.stderr);
  assert.match(lines[0], /^trtllm-metrics: the executor stalled: no iteration for \d+\.\d s with 1 request\(s\) in flight; shutting down \(exit code 4; in-flight requests get 200 ms\)$/);
  // The client's stream ended (cancelled by the shutdown), it did not hang.
  const r = await request;
  assert.ok(r.status === 200 || r.status === 'closed', JSON.stringify(r));
});

test('a fatal executor error: the stream gets an error event and ends, /health says why, serve exits 3', async () => {
  const s = await serve(['--speedup-ratio', '20', '--sim-fault-fatal-at-iteration', '8', '--shutdown-grace-ms', '300']);
  const r = await complete(s.api, { max_tokens: 50, stream: true });
  assert.equal(r.status, 200);
  const events = r.text.split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));
  assert.equal(events.at(-1), '[DONE]');
  const error = JSON.parse(events.at(-2)).error;
  assert.equal(error.code, 'service_unavailable');
  assert.match(error.message, /^The engine failed; retry on another worker \(the executor failed: Encountered an error in forwardAsync function: injected fatal fault/);
  const tokens = events.slice(0, -2).map((e) => JSON.parse(e).choices[0].text);
  assert.ok(tokens.length > 0 && tokens.length <= 8, `tokens streamed before the failure: ${tokens.length}`);
  const exit = await s.done;
  assert.equal(exit.code, 3, exit.stderr);
  assert.match(exit.stderr, /^trtllm-metrics: the executor failed: Encountered an error in forwardAsync function: .*; shutting down \(exit code 3; in-flight requests get 300 ms\)\n$/);
});

test('canary health checks: an idle worker probes its engine; a canary that times out makes /health 503 until it moves', async () => {
  // The watchdog is off: only the canary can notice. Its first request stalls in iteration 0 for 2 s.
  const s = await serve([
    '--speedup-ratio', '50', '--stall-timeout-ms', '0', '--health-check-interval-ms', '200', '--health-check-timeout-ms', '300',
    '--sim-fault-stall-ms', '2000', '--sim-fault-stall-at-iteration', '0',
  ]);
  try {
    const failing = await eventually(async () => {
      const h = await health(s.metrics);
      return h.status === 503 ? h : null;
    }, 10_000, 'a canary timeout');
    assert.deepEqual(failing.body.reasons, ['the last health check timed out: no token within 300 ms']);
    assert.equal(failing.body.engine.health_check.outcome, 'timeout');
    assert.equal(failing.body.engine.stalled, false);
    assert.equal((await health(s.metrics, '/live')).status, 200);
    assert.ok(sample(await metricsText(s.metrics), 'trtllm_health_checks_total', { outcome: 'timeout' }) >= 1);
    const probe = await fetch(`${s.api}/health_generate`);
    assert.equal(probe.status, 500);
    assert.equal(await probe.text(), 'Generation health check failed: timed out: no token within 300 ms');

    // The stall ends; the engine moves (the cancelled canary finishes), and the next canaries succeed.
    await eventually(async () => sample(await metricsText(s.metrics), 'trtllm_health_checks_total', { outcome: 'ok' }) >= 1, 15_000, 'a canary that succeeds');
    const healthy = await eventually(async () => {
      const h = await health(s.metrics);
      return h.status === 200 ? h : null;
    }, 10_000, '/health 200 again');
    assert.equal(healthy.body.engine.health_check.outcome, 'ok');
    const ok = await fetch(`${s.api}/health_generate`);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'Generation health check OK');
  } finally {
    s.child.kill('SIGTERM');
    assert.equal((await s.done).code, 0);
  }
});
