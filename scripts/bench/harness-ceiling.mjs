#!/usr/bin/env node
// The benchmark harness must not be the bottleneck (docs/bench.md "The harness's own ceiling"). Against a
// zero-latency streaming server (scripts/bench/sse-fixture.mjs, its own process), this measures in one run:
//   1. the most streamed events/s one harness process takes in (256 streams of 1024 back-to-back events),
//   2. the most requests/s (256 in flight, one output event each),
//   3. the harness's TTFT error against the fixture's own timestamps at 256 concurrent streams, the fixture
//      pacing each stream at 20 ms per event (a server decoding 50 tokens/s per stream), and at saturation (1);
// and, as baselines on the same fixture in the same run: a bare node:http client that only counts events
// (the floor of Node's HTTP stack here), and the harness's previous design (fetch + WHATWG streams +
// TextDecoder + JSON.parse). Figures: events (or requests) per second of wall time, and per second of the
// harness's CPU time during the run (what one core sustains; the 2-core machine also runs the fixture).
//
// Usage: node scripts/bench/harness-ceiling.mjs [--quick] [--json FILE]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const { runBench } = require('../../dist/bench/cli.js');
const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false }, json: { type: 'string' } } });
const Q = args.quick;
const fixtureScript = new URL('./sse-fixture.mjs', import.meta.url).pathname;

async function startFixture(extra = []) {
  const child = spawn(process.execPath, [fixtureScript, ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const m = /listening (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`the fixture exited with ${code}`)));
  });
  return { url, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

const cpuS = (u) => (u.user + u.system) / 1e6;
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(((sorted.length - 1) * p) / 100)))];

/** One harness run (in this process): vLLM's result object, the report, wall and CPU seconds of the run. */
async function harness(url, argv) {
  const dir = mkdtempSync(join(tmpdir(), 'ceiling-'));
  try {
    let stdout = '';
    const reportFile = join(dir, 'report.json');
    const code = await runBench(
      ['--base-url', url, '--quiet', '--save-result', '--save-detailed', '--result-dir', dir, '--result-filename', 'result.json', '--json', reportFile, '--random-input-len', '16', ...argv],
      { stdout: (s) => (stdout += s), stderr: (s) => process.stderr.write(s) },
    );
    if (code !== 0) throw new Error(`bench exited ${code}\n${stdout}`);
    const result = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8'));
    const report = JSON.parse(readFileSync(reportFile, 'utf8'));
    return { result, report, wall: report.client.duration_s, cpu: report.client.cpu_s };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Per request, on the one steady clock both processes read (CLOCK_MONOTONIC): `first`, the harness's time
 * stamp of the first output minus the fixture's time of writing it (the harness's timing error on the first
 * token); `request`, the fixture's arrival of the request minus the harness's send stamp; and `ttft`, the
 * harness's TTFT minus the fixture's own (first written - arrival) = first + request.
 */
async function ttftErrors(url, run) {
  const log = await (await fetch(`${url}/fixture/log`)).json();
  const t0 = run.report.client.t0_steady_s;
  const first = [];
  const request = [];
  const ttft = [];
  run.result.ttfts.forEach((t, i) => {
    const f = log[`bench-${i}`];
    if (!f || !(t > 0)) return;
    const arrived = Number(BigInt(f[0])) / 1e9;
    const written = Number(BigInt(f[1])) / 1e9;
    const sent = t0 + run.result.start_times[i];
    first.push(sent + t - written);
    request.push(arrived - sent);
    ttft.push(t - (written - arrived));
  });
  const sort = (a) => a.sort((x, y) => x - y);
  return { first: sort(first), request: sort(request), ttft: sort(ttft) };
}

/** Runs `one(i)` for i < n, `concurrency` at a time; wall and CPU seconds. */
async function timed(n, concurrency, one) {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => { while (next < n) await one(next++); }));
  return { wall: (performance.now() - t0) / 1000, cpu: cpuS(process.cpuUsage(cpu0)) };
}

/**
 * Baseline: node:http, counting SSE events (blank lines) without parsing them; it stamps each request's send
 * and first read on the steady clock (`times`: x-request-id -> [sent, first read], s), the floor of the
 * harness's timing errors.
 */
async function bareClient(url, n, concurrency, maxTokens) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, noDelay: true });
  const target = new URL('/v1/completions', url);
  const steady = () => Number(process.hrtime.bigint()) / 1e9;
  const times = new Map();
  let events = 0;
  const one = (i) =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ model: 'fixture', prompt: [1, 2, 3], max_tokens: maxTokens, stream: true });
      const id = `bare-${i}`;
      const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': id };
      const stamp = [steady(), 0];
      times.set(id, stamp);
      const req = http.request(target, { method: 'POST', agent, headers }, (res) => {
        let prev = 0;
        res.on('data', (c) => {
          if (stamp[1] === 0) stamp[1] = steady();
          for (let k = 0; k < c.length; k++) {
            if (c[k] === 10 && prev === 10) events++;
            prev = c[k];
          }
        });
        res.on('end', resolve);
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  const t = await timed(n, concurrency, one);
  agent.destroy();
  // Each stream also ends with a finish event, a usage event and [DONE].
  return { outputs: events - 3 * n, requests: n, times, ...t };
}

/** The bare client's timing errors against the fixture's log: the same three as ttftErrors. */
async function bareErrors(url, times) {
  const log = await (await fetch(`${url}/fixture/log`)).json();
  const first = [];
  const request = [];
  const ttft = [];
  for (const [id, [sent, read]] of times) {
    const f = log[id];
    if (!f || read === 0) continue;
    const arrived = Number(BigInt(f[0])) / 1e9;
    const written = Number(BigInt(f[1])) / 1e9;
    first.push(read - written);
    request.push(arrived - sent);
    ttft.push(read - sent - (written - arrived));
  }
  const sort = (a) => a.sort((x, y) => x - y);
  return { first: sort(first), request: sort(request), ttft: sort(ttft) };
}

/** Baseline: the harness's previous client (fetch, WHATWG stream reader, TextDecoder, JSON.parse per event). */
async function fetchClient(url, n, concurrency, maxTokens) {
  let outputs = 0;
  const one = async (i) => {
    const res = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': `fetch-${i}` },
      body: JSON.stringify({ model: 'fixture', prompt: [1, 2, 3], max_tokens: maxTokens, stream: true }),
    });
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let pending = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      let at;
      while ((at = pending.indexOf('\n\n')) >= 0) {
        const ev = pending.slice(0, at);
        pending = pending.slice(at + 2);
        const data = ev.startsWith('data: ') ? ev.slice(6) : ev;
        if (data === '[DONE]') continue;
        const msg = JSON.parse(data);
        if (msg.choices?.[0]?.text) outputs++;
      }
    }
  };
  const t = await timed(n, concurrency, one);
  return { outputs, requests: n, ...t };
}

const rows = [];
const summary = {};
const k = (x) => Math.round(x).toLocaleString('en-US');
const fmtMs = (s) => (s * 1000).toFixed(3);
const stat = (a) => ({ p50_ms: pct(a, 50) * 1000, p99_ms: pct(a, 99) * 1000, max_ms: a[a.length - 1] * 1000 });
const line = (a) => `p50 ${fmtMs(pct(a, 50))} / p99 ${fmtMs(pct(a, 99))} ms`;

const fast = await startFixture();
const paced = await startFixture(['--itl-ms', '20']);
try {
  // 1. Events/s: 256 streams of 1024 back-to-back events.
  const evN = Q ? 256 : 1024;
  const ev = await harness(fast.url, ['--num-prompts', String(evN), '--max-concurrency', '256', '--random-output-len', '1024']);
  const evCount = ev.result.total_output_tokens;
  const satErr = await ttftErrors(fast.url, ev);
  const bareEv = await bareClient(fast.url, evN, 256, 1024);
  const fetchEv = await fetchClient(fast.url, evN, 256, 1024);
  summary.events = {
    harness: { events: evCount, wall_s: ev.wall, cpu_s: ev.cpu, per_s: evCount / ev.wall, per_cpu_s: evCount / ev.cpu },
    bare_http: { events: bareEv.outputs, wall_s: bareEv.wall, cpu_s: bareEv.cpu, per_s: bareEv.outputs / bareEv.wall, per_cpu_s: bareEv.outputs / bareEv.cpu },
    previous_fetch_client: { events: fetchEv.outputs, wall_s: fetchEv.wall, cpu_s: fetchEv.cpu, per_s: fetchEv.outputs / fetchEv.wall, per_cpu_s: fetchEv.outputs / fetchEv.cpu },
  };
  rows.push([
    'streamed events/s, 256 streams x 1024 back-to-back events',
    `**${k(evCount / ev.wall)}/s** wall, **${k(evCount / ev.cpu)}/CPU-s**`,
    `bare node:http ${k(bareEv.outputs / bareEv.wall)}/s, ${k(bareEv.outputs / bareEv.cpu)}/CPU-s; previous fetch client ${k(fetchEv.outputs / fetchEv.wall)}/s, ${k(fetchEv.outputs / fetchEv.cpu)}/CPU-s; target >= 150,000/s on one core`,
  ]);

  // 2. Requests/s: one output event each.
  const rqN = Q ? 4000 : 20000;
  const rq = await harness(fast.url, ['--num-prompts', String(rqN), '--max-concurrency', '256', '--random-output-len', '1']);
  const bareRq = await bareClient(fast.url, rqN, 256, 1);
  const fetchRq = await fetchClient(fast.url, rqN, 256, 1);
  summary.requests = {
    harness: { requests: rq.result.completed, wall_s: rq.wall, cpu_s: rq.cpu, per_s: rq.result.completed / rq.wall, per_cpu_s: rq.result.completed / rq.cpu },
    bare_http: { wall_s: bareRq.wall, cpu_s: bareRq.cpu, per_s: bareRq.requests / bareRq.wall, per_cpu_s: bareRq.requests / bareRq.cpu },
    previous_fetch_client: { wall_s: fetchRq.wall, cpu_s: fetchRq.cpu, per_s: fetchRq.requests / fetchRq.wall, per_cpu_s: fetchRq.requests / fetchRq.cpu },
  };
  rows.push([
    'requests/s, 256 in flight, 1 output event each',
    `**${k(rq.result.completed / rq.wall)}/s** wall, **${k(rq.result.completed / rq.cpu)}/CPU-s**`,
    `bare node:http ${k(bareRq.requests / bareRq.wall)}/s, ${k(bareRq.requests / bareRq.cpu)}/CPU-s; previous fetch client ${k(fetchRq.requests / fetchRq.wall)}/s, ${k(fetchRq.requests / fetchRq.cpu)}/CPU-s`,
  ]);

  // 3. TTFT error at 256 concurrent streams, the fixture decoding at 50 tokens/s per stream.
  const tN = Q ? 512 : 2048;
  const tt = await harness(paced.url, ['--num-prompts', String(tN), '--max-concurrency', '256', '--random-output-len', '64']);
  const err = await ttftErrors(paced.url, tt);
  const bareTt = await bareClient(paced.url, tN, 256, 64);
  const floor = await bareErrors(paced.url, bareTt.times);
  summary.ttft_error = {
    paced: { streams: 256, samples: err.ttft.length, events_per_s: tt.result.total_output_tokens / tt.wall, cpu_share: tt.cpu / tt.wall, ttft: stat(err.ttft), first_token: stat(err.first), request: stat(err.request) },
    paced_bare_http: { ttft: stat(floor.ttft), first_token: stat(floor.first), request: stat(floor.request) },
    saturated: { ttft: stat(satErr.ttft), first_token: stat(satErr.first), request: stat(satErr.request) },
  };
  rows.push([
    `TTFT error vs the fixture's timestamps, 256 streams at 20 ms per event (${k(tt.result.total_output_tokens / tt.wall)} events/s, ${err.ttft.length} requests)`,
    `TTFT ${line(err.ttft)}; first token received - written ${line(err.first)}; request arrived - sent ${line(err.request)}`,
    `bare node:http, same load: TTFT ${line(floor.ttft)}; first token ${line(floor.first)}; request ${line(floor.request)}; target: TTFT error p99 < 1 ms`,
  ]);
  rows.push(['the same at saturation (run 1)', `TTFT ${line(satErr.ttft)}; first token ${line(satErr.first)}; request ${line(satErr.request)}`, 'the client is the bottleneck there by design']);
} finally {
  await fast.stop();
  await paced.stop();
}

console.log('| what | figure | baseline / target |\n|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
if (args.json) writeFileSync(args.json, JSON.stringify(summary, null, 2));
