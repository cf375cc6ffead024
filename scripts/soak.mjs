#!/usr/bin/env node
// Soak: runs `trtllm-metrics serve` (a child process, virtual clock: the engine runs as fast as the CPU allows)
// at its maximum rate for N minutes with a mixed load (streamed and plain completions and chats, clients that
// disconnect mid-stream, malformed requests, scrapes of /metrics and drains of /stats, /kv_cache_events and
// /perf_metrics), samples the worker's RSS, and fails when RSS after the warm-up drifts beyond the tolerance.
//
//   node scripts/soak.mjs [--minutes 10] [--warmup-minutes W] [--concurrency 16] [--sample-seconds 5]
//                         [--tolerance 0.10]
//
// W defaults to 20% of the run, at least 0.5 and at most 2 minutes. The baseline is the median of the first
// three samples after the warm-up; every later sample, smoothed as the median of three, must stay within
// baseline * (1 +- tolerance).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { spawnServe } from '../test/helpers/serve-process.mjs';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'warmup-minutes': { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    'sample-seconds': { type: 'string', default: '5' },
    tolerance: { type: 'string', default: '0.10' },
  },
});
const MINUTES = Number(values.minutes);
const WARMUP = values['warmup-minutes'] !== undefined ? Number(values['warmup-minutes']) : Math.min(2, Math.max(0.5, MINUTES * 0.2));
const CONCURRENCY = Number(values.concurrency);
const SAMPLE_S = Number(values['sample-seconds']);
const TOLERANCE = Number(values.tolerance);
if (!(MINUTES > WARMUP)) throw new Error(`--minutes (${MINUTES}) must exceed the warm-up (${WARMUP})`);

const served = await spawnServe(['--port', '0', '--http-port', '0', '--virtual-clock', '--max-batch-size', '64', '--shutdown-grace-ms', '1000'], { stderr: 'inherit' });
if (served.exited) throw new Error(`serve exited with ${served.exited.code}`);
const { child } = served;
const api = new URL(served.api);
const metrics = new URL(served.metrics);
const rssMiB = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) / 1024;

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY + 4 });
const counts = { requests: 0, ok: 0, errors: 0, aborted: 0, badRequests: 0, scrapes: 0 };
let stop = false;
let seq = 0;

function call(url, { method = 'GET', body, abortAfterBytes } = {}) {
  return new Promise((resolve) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method, agent, headers: body ? { 'Content-Length': Buffer.byteLength(body) } : {} }, (res) => {
      let seen = 0;
      res.on('data', (d) => {
        seen += d.length;
        if (abortAfterBytes !== undefined && seen >= abortAfterBytes) {
          req.destroy();
          counts.aborted++;
          resolve(res.statusCode);
        }
      });
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

const words = ['alpha', 'beta', 'gamma', 'delta', 'kv', 'cache', 'token', 'prefix', 'stream', 'metrics'];
async function client(id) {
  while (!stop) {
    const n = seq++;
    counts.requests++;
    const prompt = Array.from({ length: 8 + (n % 40) }, (_, k) => words[(n * 7 + k * (id + 1)) % words.length]).join(' ');
    let status;
    if (n % 20 === 0) {
      status = await call(new URL('/v1/completions', api), { method: 'POST', body: '{"model": "sim-llama", "prompt": ' });
      counts.badRequests++;
      if (status === 400) continue;
    } else if (n % 10 === 5) {
      const body = JSON.stringify({ model: 'sim-llama', prompt, max_tokens: 512, stream: true });
      status = await call(new URL('/v1/completions', api), { method: 'POST', body, abortAfterBytes: 600 });
    } else if (n % 3 === 0) {
      const body = JSON.stringify({ model: 'sim-llama', messages: [{ role: 'system', content: 'terse' }, { role: 'user', content: prompt }], max_tokens: 32, stream: n % 2 === 0, stream_options: n % 2 === 0 ? { include_usage: true } : undefined });
      status = await call(new URL('/v1/chat/completions', api), { method: 'POST', body });
    } else {
      const body = JSON.stringify({ model: 'sim-llama', prompt, max_tokens: 16 + (n % 48), stream: n % 2 === 1 });
      status = await call(new URL('/v1/completions', api), { method: 'POST', body });
    }
    if (status === 200) counts.ok++;
    else counts.errors++;
  }
}
async function sideTraffic() {
  while (!stop) {
    await call(new URL('/metrics', metrics));
    counts.scrapes++;
    await call(new URL('/stats', api));
    await call(new URL('/kv_cache_events', api), { method: 'POST' });
    await call(new URL('/perf_metrics', api));
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const t0 = Date.now();
const workers = [...Array.from({ length: CONCURRENCY }, (_, i) => client(i)), sideTraffic()];
const samples = [];
console.log(`soak: ${MINUTES} min (warm-up ${WARMUP} min), ${CONCURRENCY} clients, RSS every ${SAMPLE_S} s`);
console.log('   t(s)   RSS MiB   req/s   ok      errors  aborted');
let lastRequests = 0;
await new Promise((resolve) => {
  const timer = setInterval(() => {
    const t = (Date.now() - t0) / 1000;
    const rss = rssMiB();
    const rate = (counts.requests - lastRequests) / SAMPLE_S;
    lastRequests = counts.requests;
    samples.push({ t, rss, warm: t >= WARMUP * 60 });
    console.log(`${t.toFixed(0).padStart(7)} ${rss.toFixed(1).padStart(9)} ${rate.toFixed(0).padStart(7)}   ${String(counts.ok).padEnd(7)} ${String(counts.errors).padEnd(7)} ${counts.aborted}`);
    if (t >= MINUTES * 60) {
      clearInterval(timer);
      resolve();
    }
  }, SAMPLE_S * 1000);
});
stop = true;
await Promise.race([Promise.all(workers), new Promise((r) => setTimeout(r, 10_000))]);
agent.destroy();
child.kill('SIGTERM');
const exit = (await served.done).code;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const after = samples.filter((s) => s.warm);
const baseline = median(after.slice(0, 3).map((s) => s.rss));
let worst = 0;
for (let i = 1; i + 1 < after.length; i++) {
  const smoothed = median([after[i - 1].rss, after[i].rss, after[i + 1].rss]);
  const dev = smoothed / baseline - 1;
  if (Math.abs(dev) > Math.abs(worst)) worst = dev;
}
// Least-squares slope of RSS over time after the warm-up, MiB per minute.
const n = after.length;
const mt = after.reduce((a, s) => a + s.t, 0) / n;
const mr = after.reduce((a, s) => a + s.rss, 0) / n;
const slope = (after.reduce((a, s) => a + (s.t - mt) * (s.rss - mr), 0) / after.reduce((a, s) => a + (s.t - mt) ** 2, 0)) * 60;
const minRss = Math.min(...after.map((s) => s.rss));
const maxRss = Math.max(...after.map((s) => s.rss));
console.log(
  `soak: ${counts.requests} requests in ${MINUTES} min (${(counts.requests / (MINUTES * 60)).toFixed(0)} req/s; ${counts.ok} ok, ${counts.errors} errors, ` +
    `${counts.aborted} aborted mid-stream, ${counts.badRequests} malformed, ${counts.scrapes} scrapes); RSS after warm-up: baseline ${baseline.toFixed(1)} MiB, ` +
    `range ${minRss.toFixed(1)}..${maxRss.toFixed(1)} MiB, worst smoothed drift ${(worst * 100).toFixed(1)}%, slope ${slope.toFixed(2)} MiB/min; serve exited ${exit}`,
);
if (Math.abs(worst) > TOLERANCE || exit !== 0 || counts.ok === 0) {
  console.error(`soak: FAILED (RSS drift beyond +-${TOLERANCE * 100}%, or an unclean exit)`);
  process.exit(1);
}
console.log(`soak: OK (RSS within +-${TOLERANCE * 100}% after warm-up)`);
