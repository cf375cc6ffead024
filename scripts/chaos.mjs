#!/usr/bin/env node
// Chaos: runs `trtllm-metrics serve` (the simulator, with injected faults) under a mixed load with clients that
// stop reading, clients that disconnect mid-stream, requests the engine fails, an executor stall and canary health
// checks, for a bounded time; then a second worker whose executor fails for good. It checks at the end:
//   - every request settled (completed, cancelled or errored), none left hanging;
//   - the counters add up: sent = completed + errored + cancelled on the client, and the worker's own counts agree
//     (dynamo_component_requests_total, _errors_total by type, one engine record per engine request);
//   - the worker's RSS stayed within --max-rss-growth-mib of its idle RSS;
//   - /health told the truth at every phase: ready under load, 503 with the stall as the reason while the executor
//     hung (and only then), ready again after it, 503 (or gone) once the executor failed, and serve exits 3 then.
//
//   node scripts/chaos.mjs [--seconds 15] [--concurrency 12] [--stuck 6] [--seed 1] [--max-rss-growth-mib 200]
//                          [--json FILE]
//
// CI runs the defaults (about 30 s). Exit code 0 when every check held, 1 otherwise (each failed check printed).
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { spawnServe } from '../test/helpers/serve-process.mjs';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '12' },
    stuck: { type: 'string', default: '6' },
    seed: { type: 'string', default: '1' },
    'max-rss-growth-mib': { type: 'string', default: '200' },
    json: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const STUCK = Number(values.stuck);
const SEED = Number(values.seed);
const MAX_RSS_GROWTH = Number(values['max-rss-growth-mib']);
for (const [name, v] of [['seconds', SECONDS], ['concurrency', CONCURRENCY], ['stuck', STUCK], ['seed', SEED], ['max-rss-growth-mib', MAX_RSS_GROWTH]]) {
  if (!Number.isFinite(v) || v < 0) {
    process.stderr.write(`chaos: --${name} must be a number >= 0\n`);
    process.exit(2);
  }
}

const STALL_TIMEOUT_MS = 500;
const STALL_MS = 2500;
/** How long after the last request every request must have settled. */
const SETTLE_MS = 30_000;
const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
};

/** A small seeded generator (mulberry32): the same --seed, the same mix of requests. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Client-side ledger of one run: every request is in exactly one of these once it settles. */
class Ledger {
  sent = 0;
  completed = 0;
  errored = 0;
  cancelled = 0;
  /** Refused before the worker saw it (connection refused after the worker exited). */
  refused = 0;
  pending = new Set();
  /** performance.now() of the last token any reading client received, and how many reading streams are open. */
  lastTokenAt = performance.now();
  readingStreams = 0;

  /** performance.now() when the first request settled as errored. */
  firstErrorAt = null;

  settle(id, outcome) {
    if (!this.pending.delete(id)) return;
    this[outcome]++;
    if (outcome === 'errored') this.firstErrorAt ??= performance.now();
  }
}

let nextId = 0;

/**
 * One completion or chat, streamed or not. kind: 'read' reads to the end; 'disconnect' destroys the connection
 * after `after` events; 'stuck' never reads until release() is called. Resolves when the request settled.
 */
function request(base, ledger, { chat = false, stream = true, maxTokens = 64, kind = 'read', after = 3 } = {}) {
  const id = nextId++;
  const body = JSON.stringify(
    chat
      ? { model: 'sim-llama', messages: [{ role: 'user', content: `chaos ${id}` }], max_tokens: maxTokens, stream, ignore_eos: true }
      : { model: 'sim-llama', prompt: `chaos request ${id}`, max_tokens: maxTokens, stream, ignore_eos: true },
  );
  let release = () => undefined;
  const done = new Promise((resolve) => {
    ledger.pending.add(id);
    ledger.sent++;
    let counted = false;
    const settle = (outcome) => {
      if (counted) return;
      counted = true;
      if (stream && kind !== 'stuck') ledger.readingStreams--;
      ledger.settle(id, outcome);
      resolve(outcome);
    };
    if (stream && kind !== 'stuck') ledger.readingStreams++;
    const req = http.request(
      { host: base.hostname, port: base.port, path: chat ? '/v1/chat/completions' : '/v1/completions', method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }, agent: false },
      (res) => {
        let text = '';
        let events = 0;
        if (kind === 'stuck') {
          res.pause();
          release = () => res.resume();
        }
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
          if (!stream) return;
          const n = d.split('\n\n').length - 1;
          if (n > 0 && kind !== 'stuck') ledger.lastTokenAt = performance.now();
          events += n;
          if (kind === 'disconnect' && events >= after) {
            req.destroy();
            // An error event may have come with the last events: then the worker answered with an error first.
            settle(text.includes('data: {"error"') ? 'errored' : 'cancelled');
          }
        });
        res.on('end', () => {
          if (res.statusCode !== 200) return settle('errored');
          if (!stream) return settle('completed');
          if (text.includes('data: {"error"')) return settle('errored');
          settle(text.endsWith('data: [DONE]\n\n') ? 'completed' : 'cancelled');
        });
        // Closed before its end: the worker cut it (a client that does not read), or it went away.
        res.on('close', () => settle(res.complete ? 'completed' : 'cancelled'));
      },
    );
    req.on('error', (err) => {
      if (counted) return;
      // Never reached the worker: not sent after all.
      if (err.code === 'ECONNREFUSED') {
        counted = true;
        if (stream && kind !== 'stuck') ledger.readingStreams--;
        ledger.pending.delete(id);
        ledger.sent--;
        ledger.refused++;
        resolve('refused');
        return;
      }
      settle('cancelled');
    });
    req.end(body);
  });
  return { done, release: () => release() };
}

function getJson(url) {
  return new Promise((resolve) => {
    http
      .get(url, { agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode, body: JSON.parse(text) });
          } catch {
            resolve({ status: res.statusCode, body: null });
          }
        });
      })
      .on('error', (err) => resolve({ status: 0, error: err.code }));
  });
}

function getText(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
}

/** Sum of the samples of `name` whose labels include `match`, from the text exposition. */
function metric(text, name, match = {}) {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(match).every(([k, v]) => labels[k] === v)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const rssMiBOf = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls /health every 100 ms until stop(); records each answer with the client's view of token activity. */
function healthMonitor(metricsBase, ledger) {
  const samples = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = performance.now();
      const h = await getJson(new URL('/health', metricsBase));
      samples.push({ at, status: h.status, reasons: h.body?.reasons ?? [], silentMs: at - ledger.lastTokenAt, streams: ledger.readingStreams });
      await sleep(100);
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Waits until every request settled (or the deadline): returns how many are left hanging. */
async function settleAll(ledger, promises) {
  const deadline = performance.now() + SETTLE_MS;
  while (ledger.pending.size > 0 && performance.now() < deadline) await sleep(50);
  await Promise.race([Promise.all(promises), sleep(0)]);
  return ledger.pending.size;
}

/** The mixed load: CONCURRENCY loops issuing requests of seeded kinds until `until()` is false. */
function mixedLoad(api, ledger, random, until) {
  const all = [];
  const loops = Array.from({ length: CONCURRENCY }, async () => {
    while (until()) {
      const r = random();
      const opts =
        r < 0.35 ? { stream: true }
        : r < 0.55 ? { stream: false }
        : r < 0.7 ? { chat: true, stream: true }
        : r < 0.8 ? { chat: true, stream: false }
        : { stream: true, kind: 'disconnect', after: 1 + Math.floor(random() * 8) };
      // A client disconnects from a long stream, so that the worker surely sees it go before the stream ends.
      opts.maxTokens = opts.kind === 'disconnect' ? 4000 : 16 + Math.floor(random() * 112);
      const { done } = request(api, ledger, opts);
      all.push(done);
      await done;
    }
  });
  return { loops: Promise.all(loops), all };
}

// ---- run A: mixed load, stuck clients, request errors, a stall, canaries ------------------------------------
async function runFaults() {
  console.log(`\n== run A: ${SECONDS} s of mixed load (${CONCURRENCY} clients, ${STUCK} stuck), request errors, a stall, canaries`);
  const args = [
    '--port', '0', '--http-port', '0', '--speedup-ratio', '20', '--max-batch-size', '64', '--shutdown-grace-ms', '1000',
    '--sim-fault-seed', String(SEED), '--sim-fault-request-error-probability', '0.05',
    '--sim-fault-stall-ms', String(STALL_MS), '--sim-fault-stall-at-iteration', '3000', '--stall-timeout-ms', String(STALL_TIMEOUT_MS),
    '--health-check-interval-ms', '1000', '--health-check-timeout-ms', '1000',
  ];
  const served = await spawnServe(args, { stderr: 'inherit' });
  if (served.exited) throw new Error(`serve exited with ${served.exited.code}`);
  const api = new URL(served.api);
  const metricsBase = new URL(served.metrics);
  const pid = served.child.pid;
  const ledger = new Ledger();
  const random = rng(SEED);
  await sleep(300);
  const idleRss = rssMiBOf(pid);
  let peakRss = idleRss;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, rssMiBOf(pid))), 250);
  const health = healthMonitor(metricsBase, ledger);
  const initial = await getJson(new URL('/health', metricsBase));
  check(initial.status === 200, `idle worker: /health 200 (${initial.status})`);

  const stuck = Array.from({ length: STUCK }, (_, i) => request(api, ledger, { stream: true, kind: 'stuck', maxTokens: 2000 + i }));
  const end = performance.now() + SECONDS * 1000;
  const load = mixedLoad(api, ledger, random, () => performance.now() < end);
  await load.loops;
  for (const s of stuck) s.release();
  const hanging = await settleAll(ledger, [...load.all, ...stuck.map((s) => s.done)]);
  await sleep(1500); // the last canary, and the gauges settle
  await health.stop();
  clearInterval(rssTimer);
  const text = await getText(new URL('/metrics', metricsBase));
  const final = await getJson(new URL('/health', metricsBase));
  served.child.kill('SIGTERM');
  const exit = await served.done;

  const samples = health.samples;
  const stallSamples = samples.filter((s) => s.reasons.some((r) => r.startsWith('the executor stalled')));
  const other503 = samples.filter((s) => s.status !== 200 && !s.reasons.some((r) => r.startsWith('the executor stalled') || r.startsWith('the last health check')));
  const canaries = ['ok', 'failed', 'timeout'].map((o) => metric(text, 'trtllm_health_checks_total', { outcome: o }));
  const canaryTotal = canaries.reduce((a, b) => a + b, 0);
  const gen = { dynamo_endpoint: 'generate' };
  const figures = {
    sent: ledger.sent,
    completed: ledger.completed,
    errored: ledger.errored,
    cancelled: ledger.cancelled,
    hanging,
    idleRssMiB: +idleRss.toFixed(1),
    peakRssMiB: +peakRss.toFixed(1),
    healthSamples: samples.length,
    stallSamples: stallSamples.length,
    /** The silence (no token on any stream) when /health first reported the stall, and how long it reported it. */
    stallDetectedAfterMs: stallSamples.length > 0 ? Math.round(Math.min(...stallSamples.map((x) => x.silentMs))) : null,
    stallReportedForMs: stallSamples.length > 0 ? Math.round(stallSamples.at(-1).at - stallSamples[0].at) : null,
    canaries: { ok: canaries[0], failed: canaries[1], timeout: canaries[2] },
    server: {
      requests: metric(text, 'dynamo_component_requests_total', gen),
      inflight: metric(text, 'dynamo_component_inflight_requests', gen),
      errorsGenerate: metric(text, 'dynamo_component_errors_total', { ...gen, error_type: 'generate' }),
      errorsCancelled: metric(text, 'dynamo_component_errors_total', { ...gen, error_type: 'cancelled' }),
      engineRecords: metric(text, 'trtllm_bridge_produced_total', { stream: 'request_records' }),
      engineSuccesses: metric(text, 'trtllm_request_success_total'),
      stalls: metric(text, 'trtllm_engine_stalls_total'),
    },
  };
  console.log(JSON.stringify(figures));
  const s = figures.server;
  check(hanging === 0, `every request settled (${hanging} left hanging)`);
  check(ledger.sent === ledger.completed + ledger.errored + ledger.cancelled, `sent ${ledger.sent} = completed ${ledger.completed} + errored ${ledger.errored} + cancelled ${ledger.cancelled}`);
  check(ledger.errored > 0 && ledger.cancelled > 0 && ledger.completed > 0, 'the load met every outcome (injected errors, disconnects, completions)');
  check(s.requests === ledger.sent, `the worker counted every request: ${s.requests} = ${ledger.sent}`);
  check(s.inflight === 0, `nothing in flight at the end (${s.inflight})`);
  check(s.errorsGenerate === ledger.errored, `errors of type generate ${s.errorsGenerate} = the client's errored ${ledger.errored}`);
  check(s.errorsCancelled === ledger.cancelled, `errors of type cancelled ${s.errorsCancelled} = the client's cancelled ${ledger.cancelled}`);
  check(s.engineRecords === ledger.sent + canaryTotal, `one engine record per engine request: ${s.engineRecords} = ${ledger.sent} requests + ${canaryTotal} canaries`);
  check(s.engineSuccesses <= s.engineRecords, `finished (not errored) engine requests ${s.engineSuccesses} <= records ${s.engineRecords}`);
  check(peakRss - idleRss <= MAX_RSS_GROWTH, `RSS ${idleRss.toFixed(0)} MiB idle, ${peakRss.toFixed(0)} MiB peak: growth ${(peakRss - idleRss).toFixed(0)} <= ${MAX_RSS_GROWTH} MiB`);
  check(s.stalls === 1 && stallSamples.length > 0, `the injected stall was detected (stalls_total ${s.stalls}) and /health said so (${stallSamples.length} samples)`);
  check(stallSamples.every((x) => x.status === 503), 'every stall sample was a 503');
  check(stallSamples.every((x) => x.silentMs >= STALL_TIMEOUT_MS - 250), `a stall was reported only when no token had arrived for ~${STALL_TIMEOUT_MS} ms (shortest silence ${Math.min(...stallSamples.map((x) => x.silentMs)).toFixed(0)} ms)`);
  const falseHealthy = samples.filter((x) => x.status === 200 && x.streams > 0 && x.silentMs > STALL_TIMEOUT_MS + 1500);
  check(falseHealthy.length === 0, `/health never said ready while streams were silent for ${STALL_TIMEOUT_MS + 1500} ms (${falseHealthy.length} samples)`);
  check(other503.length === 0, `no other unhealthy answer (${other503.length}: ${JSON.stringify(other503.slice(0, 2).map((x) => x.reasons))})`);
  const lastStall = stallSamples.at(-1)?.at ?? 0;
  const after = samples.filter((x) => x.at > lastStall + 1500);
  check(after.length > 0 && after.every((x) => x.status === 200 || x.reasons.every((r) => r.startsWith('the last health check'))), 'ready again after the stall');
  check(final.status === 200, `/health 200 at the end (${final.status} ${JSON.stringify(final.body?.reasons)})`);
  check(exit.code === 0, `SIGTERM: exit code 0 (${exit.code})`);
  return figures;
}

// ---- run B: the executor fails for good ---------------------------------------------------------------------
async function runFatal() {
  console.log('\n== run B: the executor fails under load');
  const args = ['--port', '0', '--http-port', '0', '--speedup-ratio', '20', '--shutdown-grace-ms', '2000', '--sim-fault-fatal-at-iteration', '1500'];
  const served = await spawnServe(args);
  if (served.exited) throw new Error(`serve exited with ${served.exited.code}`);
  const api = new URL(served.api);
  const ledger = new Ledger();
  const health = healthMonitor(new URL(served.metrics), ledger);
  let exited = false;
  let exitedAt = null;
  const exitP = served.done.then((r) => {
    exited = true;
    exitedAt = performance.now();
    return r;
  });
  const load = mixedLoad(api, ledger, rng(SEED + 1), () => !exited);
  const exit = await Promise.race([exitP, sleep(20_000).then(() => null)]);
  await load.loops;
  const hanging = await settleAll(ledger, load.all);
  await health.stop();
  if (exit === null) served.child.kill('SIGKILL');
  const samples = health.samples;
  const firstBad = samples.findIndex((x) => x.status !== 200);
  const figures = {
    sent: ledger.sent,
    completed: ledger.completed,
    errored: ledger.errored,
    cancelled: ledger.cancelled,
    refused: ledger.refused,
    hanging,
    exitCode: exit?.code ?? null,
    /** From the first request that got the executor's error to the worker's exit. */
    failureToExitMs: exitedAt !== null && ledger.firstErrorAt !== null ? Math.round(exitedAt - ledger.firstErrorAt) : null,
  };
  console.log(JSON.stringify(figures));
  check(exit !== null && exit.code === 3, `serve exited with code 3 (${exit?.code})`);
  check(exit !== null && /the executor failed: Encountered an error in forwardAsync function/.test(exit.stderr), 'serve named the failure on stderr');
  check(hanging === 0, `every request settled (${hanging} left hanging)`);
  check(ledger.sent === ledger.completed + ledger.errored + ledger.cancelled, `sent ${ledger.sent} = completed ${ledger.completed} + errored ${ledger.errored} + cancelled ${ledger.cancelled}`);
  check(ledger.errored > 0, `requests in flight got errors (${ledger.errored})`);
  check(firstBad >= 0 && samples.slice(firstBad).every((x) => x.status !== 200), '/health never said ready again after the failure');
  const failedSample = samples.find((x) => x.status === 503);
  check(failedSample === undefined || failedSample.reasons.some((r) => r.startsWith('the executor failed')), `the 503 named the failure (${JSON.stringify(failedSample?.reasons)})`);
  return figures;
}

const started = performance.now();
const report = { seed: SEED, seconds: SECONDS, concurrency: CONCURRENCY, stuck: STUCK };
report.faults = await runFaults();
report.fatal = await runFatal();
report.wallSeconds = +((performance.now() - started) / 1000).toFixed(1);
report.failures = failures;
if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2) + '\n');
console.log(`\nchaos: ${failures.length === 0 ? 'every check held' : `${failures.length} check(s) failed`} in ${report.wallSeconds} s`);
process.exit(failures.length === 0 ? 0 : 1);
