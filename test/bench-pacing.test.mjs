// Pacing of the simulator on its virtual clock (docs/simulator.md "Pacing", docs/bench.md "The virtual clock"):
// the Engine's scheduled arrivals, clock hold and lockstep, and the load shapes `bench --virtual-clock` gets
// from them: --request-rate is a Poisson process on the simulated clock, --concurrency N keeps N in the batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './helpers/worker-fixtures.mjs';

const require = createRequire(import.meta.url);
const { Engine, InvalidArgumentError, RecordField, REQUEST_RECORD_STRIDE } = require('../dist/index.js');
const { validateEngineOptions } = require('../dist/engine-options.js');
const { runBench } = require('../dist/bench/cli.js');
const { Workload } = require('../dist/bench/workload.js');
const { parseDistribution } = require('../dist/bench/distributions.js');

function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-pacing-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function bench(args) {
  let stdout = '';
  let stderr = '';
  const code = await runBench(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

const readJsonl = (path) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const prompt = (n, start = 1) => Array.from({ length: n }, (_, i) => start + i);

async function open(t, sim = {}) {
  const engine = await Engine.create({ sim: { virtualClock: true, outputLengthMode: 'maxTokens', ...sim } });
  t.after(() => engine.shutdown());
  return engine;
}

test('Engine: a scheduled arrival is the request\'s enqueue and arrival time; the held clock does not move', async (t) => {
  const engine = await open(t);
  const base = engine.holdSimClock();
  assert.equal(engine.simClockNs(), base);
  // A flush is a round trip through the executor's and the bridge's threads: real time passes (ns clock).
  await engine.flush();
  assert.equal(engine.simClockNs(), base, 'a held virtual clock does not run at real speed');
  const rows = [];
  engine.onRequestFinished((b) => {
    for (let i = 0; i < b.count; i++) rows.push(b.data.slice(i * REQUEST_RECORD_STRIDE, (i + 1) * REQUEST_RECORD_STRIDE));
  });
  const at = base + 3600e9; // an hour later: the idle clock jumps there
  const stream = engine.generate({ inputTokenIds: prompt(64), maxTokens: 8, simArrivalTimeNs: at });
  assert.equal(engine.simClockState().scheduled, 1);
  engine.resumeSimClock();
  const result = await stream.collect();
  assert.equal(result.finishReason, 'length'); // a real-time hour would hang the test: the virtual clock jumped
  await engine.shutdown();
  assert.equal(rows.length, 1);
  const r = rows[0];
  assert.equal(r[RecordField.ENQUEUE_TIME_NS], at);
  assert.equal(r[RecordField.ARRIVAL_TIME_NS], at);
  assert.equal(r[RecordField.FIRST_SCHEDULED_TIME_NS], at, 'idle: it ran at once');
  assert.ok(r[RecordField.LAST_TOKEN_TIME_NS] > at);
});

test('Engine: lockstep pauses after a finish until resumeSimClock(), visibly', async (t) => {
  const engine = await open(t, { lockstep: true });
  const base = engine.holdSimClock();
  const short = engine.generate({ inputTokenIds: prompt(32), maxTokens: 2, simArrivalTimeNs: base, returnPerfMetrics: true });
  const long = engine.generate({ inputTokenIds: prompt(32, 100), maxTokens: 40, simArrivalTimeNs: base });
  engine.resumeSimClock();
  const first = await short.collect();
  const lastNs = Math.round((first.perfMetrics.timingMetrics.lastTokenTime - Number(engine.epochNs) / 1e9) * 1e9);
  const s = await eventually(() => (engine.simClockState().paused ? engine.simClockState() : null), 10_000, 'the lockstep pause');
  await eventually(() => engine.simClockState().pausedForMs > s.pausedForMs, 10_000, 'the pause to be timed');
  assert.ok(Math.abs(s.holdNs - lastNs) < 1000 && s.nowNs === s.holdNs, 'held at the finished request\'s last token');
  // The replacement arrives then; resuming lets both run. Each later finish pauses again.
  const next = engine.generate({ inputTokenIds: prompt(32, 200), maxTokens: 2, simArrivalTimeNs: s.holdNs });
  let done = false;
  const both = Promise.all([next.collect(), long.collect()]).finally(() => (done = true));
  // Each finish pauses the clock again: resume whenever it waits, until both are done.
  while (!done) {
    engine.resumeSimClock();
    await eventually(() => done || engine.simClockState().paused, 10_000, 'the next pause or the end');
  }
  const [a, b] = await both;
  assert.equal(a.finishReason, 'length');
  assert.equal(b.finishReason, 'length');
  assert.ok(engine.simClockState().pauses >= 2);
  // Shutdown works while paused (it cancels what is left).
  const stuck = engine.generate({ inputTokenIds: prompt(8), maxTokens: 1000 });
  const stuckDone = stuck.collect().then((r) => r.finishReason, (e) => e.code);
  await engine.shutdown();
  assert.ok(['cancelled', 'ERR_TRTLLM_ENGINE_CLOSED'].includes(await stuckDone));
  engine.resumeSimClock(); // a no-op once closed
});

test('pacing options and fields are validated and rejected for backend "trtllm"', () => {
  assert.throws(() => validateEngineOptions({ sim: { lockstep: true } }), /options\.sim\.lockstep needs options\.sim\.virtualClock/);
  assert.throws(() => validateEngineOptions({ sim: { lockstep: 1, virtualClock: true } }), InvalidArgumentError);
  assert.throws(() => validateEngineOptions({ backend: 'trtllm', engineDir: '/tmp', sim: { lockstep: true, virtualClock: true } }), /applies only to backend "sim"/);
  // An Engine of backend trtllm cannot be built here; the checks run before the addon is touched.
  const fake = Object.assign(Object.create(Engine.prototype), { backend: 'trtllm', state: 'running' });
  assert.throws(() => fake.generate({ inputTokenIds: [1], maxTokens: 1, simArrivalTimeNs: 1e9 }), (e) => e instanceof InvalidArgumentError && /simArrivalTimeNs/.test(e.message));
  for (const m of ['simClockNs', 'holdSimClock', 'resumeSimClock', 'simClockState']) {
    assert.throws(() => fake[m](), (e) => e.code === 'ERR_TRTLLM_UNSUPPORTED', m);
  }
});

test('request.simArrivalTimeNs and holdSimClock(atNs) take positive finite ns', async (t) => {
  const engine = await open(t);
  for (const bad of [0, -1, Number.NaN, Infinity, '5']) {
    assert.throws(() => engine.generate({ inputTokenIds: [1], maxTokens: 1, simArrivalTimeNs: bad }), InvalidArgumentError);
    assert.throws(() => engine.holdSimClock(bad), InvalidArgumentError);
  }
});

test('bench --virtual-clock --request-rate 5: the arrivals are the Poisson schedule on the simulated clock', async (t) => {
  const dir = tempDir(t);
  const n = 2000;
  const args = ['--virtual-clock', '--request-rate', '5', '--num-requests', String(n), '--seed', '11', '--input-len', 'uniform:64:512',
    '--output-len', 'uniform:8:96', '--quiet', '--json', join(dir, 'r.json'), '--dump-records', join(dir, 'd.jsonl')];
  const r = await bench(args);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
  assert.equal(report.requests.completed, n);
  // ~5 requests/s over the simulated span (Poisson: 1/sqrt(2000) = 2.2% relative noise; this seed's
  // schedule gives 4.85).
  const rps = report.engine.request_throughput;
  assert.ok(Math.abs(rps - 5) < 0.3, `engine-side requests/s ${rps}`);
  assert.ok(report.engine.duration_s > 350 && report.engine.duration_s < 450, `simulated span ${report.engine.duration_s} s`);
  // Lightly loaded: queueing is at most about an iteration, not the client's enqueue backlog.
  assert.ok(report.engine.queue_s.p99 < 0.2, `queue p99 ${report.engine.queue_s.p99}`);
  assert.ok(!report.notes.some((note) => /not Poisson/.test(note)));

  // Exactly the workload's schedule: arrival i - arrival 0 = the i-th Poisson offset (requests go in order).
  const w = new Workload({ numRequests: n, seed: 11, requestRate: 5, inputLen: parseDistribution('uniform:64:512'), outputLen: parseDistribution('uniform:8:96') });
  const lines = readJsonl(join(dir, 'd.jsonl')).sort((a, b) => a.request_id - b.request_id);
  assert.equal(lines.length, n);
  const a0 = lines[0].timing_metrics.arrival_time;
  for (let i = 0; i < n; i++) {
    const tm = lines[i].timing_metrics;
    assert.ok(Math.abs(tm.arrival_time - a0 - w.arrivals[i]) < 1e-6, `request ${i}: ${tm.arrival_time - a0} vs ${w.arrivals[i]}`);
    assert.ok(tm.first_scheduled_time >= tm.arrival_time);
  }
});

test('bench --virtual-clock --concurrency 8: 8 requests in the batch at every instant while work remains, never more', async (t) => {
  const dir = tempDir(t);
  const n = 600;
  const c = 8;
  const r = await bench(['--virtual-clock', '--concurrency', String(c), '--num-requests', String(n), '--seed', '3',
    '--input-len', 'uniform:32:384', '--output-len', 'uniform:1:64', '--quiet', '--json', join(dir, 'r.json'), '--dump-records', join(dir, 'd.jsonl')]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8'));
  assert.equal(report.requests.completed, n);
  assert.ok(!report.notes.some((note) => /watchdog/.test(note)), report.notes.join('; '));
  const lines = readJsonl(join(dir, 'd.jsonl'));
  assert.equal(lines.length, n);
  // A request is in the batch from its first scheduling to its last token. Sweep the instants in order,
  // ends before starts at the same instant (a replacement joins the iteration after its predecessor's last).
  const events = [];
  const lastTokens = new Set();
  for (const l of lines) {
    const tm = l.timing_metrics;
    assert.equal(tm.first_scheduled_time, tm.arrival_time, 'no queueing: the batch has room for the N in flight');
    events.push([tm.first_scheduled_time, +1], [tm.last_token_time, -1]);
    lastTokens.add(tm.last_token_time);
  }
  // Every request after the first N arrived exactly when an earlier one produced its last token.
  const firstArrival = Math.min(...lines.map((l) => l.timing_metrics.arrival_time));
  const late = lines.filter((l) => l.timing_metrics.arrival_time !== firstArrival);
  assert.equal(late.length, n - c);
  for (const l of late) assert.ok(lastTokens.has(l.timing_metrics.arrival_time), 'a replacement arrives at a last token time');
  events.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let inBatch = 0;
  let finished = 0;
  let max = 0;
  for (let k = 0; k < events.length; ) {
    const time = events[k][0];
    for (; k < events.length && events[k][0] === time; k++) {
      inBatch += events[k][1];
      if (events[k][1] < 0) finished++;
    }
    max = Math.max(max, inBatch);
    assert.equal(inBatch, Math.min(c, n - finished), `at ${time}: ${inBatch} in the batch, ${finished} finished`);
  }
  assert.equal(max, c);
  // c in flight from start to end: requests/s = c / mean E2E.
  const rps = report.engine.request_throughput;
  const expected = c / report.engine.e2e_s.mean;
  assert.ok(Math.abs(rps - expected) / expected < 0.05, `${rps} vs ${expected}`);
});
