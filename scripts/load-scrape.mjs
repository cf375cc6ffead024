#!/usr/bin/env node
// Scrape under load, on loopback, bounded in count and time: starts `trtllm-metrics serve` (a child process),
// keeps its engine busy with streamed completions, holds 100 slow clients open against the metrics port (half
// send their headers a byte at a time, half never read their answer), and fires rounds of 1,000 concurrent
// scrapes of /metrics, each on its own connection. Prints the scrape latency percentiles; exits 1 when the p99
// is over the target.
//
//   node scripts/load-scrape.mjs [--scrapes 1000] [--rounds 5] [--slow 100] [--load 32] [--target-ms 100]
//                                [--keep-alive] [--floor] [--max-seconds 120] [--no-fail]
//
// --keep-alive: each of the 1,000 scrapers keeps its connection between rounds, as Prometheus does with its
// targets (the first round, which opens them, is reported but not counted). Without it every scrape opens a
// new connection, and the burst of 1,000 connects dominates. --floor: also measures the same client burst
// against a static Node server answering a body of the same size, for reference (what the machine and the
// client cost with no metrics code at all).
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { spawnServe } from '../test/helpers/serve-process.mjs';

const { values } = parseArgs({
  options: {
    scrapes: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '5' },
    slow: { type: 'string', default: '100' },
    load: { type: 'string', default: '32' },
    'target-ms': { type: 'string', default: '100' },
    'max-seconds': { type: 'string', default: '120' },
    'no-fail': { type: 'boolean', default: false },
    'keep-alive': { type: 'boolean', default: false },
    floor: { type: 'boolean', default: false },
  },
});
const SCRAPES = Number(values.scrapes);
const ROUNDS = Number(values.rounds);
const SLOW = Number(values.slow);
const LOAD = Number(values.load);
const TARGET = Number(values['target-ms']);
const deadline = Date.now() + Number(values['max-seconds']) * 1000;

const served = await spawnServe(['--port', '0', '--http-port', '0', '--speedup-ratio', '10', '--max-connections', String(SCRAPES + SLOW + LOAD + 256), '--shutdown-grace-ms', '0'], { stderr: 'inherit' });
if (served.exited) throw new Error(`serve exited with ${served.exited.code}`);
const { child } = served;
const api = new URL(served.api);
const metrics = new URL(served.metrics);
const watchdog = setInterval(() => {
  if (Date.now() > deadline) {
    console.error(`load-scrape: over --max-seconds ${values['max-seconds']}, stopping`);
    child.kill('SIGKILL');
    process.exit(1);
  }
}, 500);

// ---- engine load: LOAD concurrent streamed completions, back to back -------------------------------------
let stopLoad = false;
let completions = 0;
const loadAgent = new http.Agent({ keepAlive: true, maxSockets: LOAD });
function completion() {
  return new Promise((resolve) => {
    const body = JSON.stringify({ model: 'sim-llama', prompt: 'load '.repeat(20), max_tokens: 64, stream: true });
    const req = http.request({ host: api.hostname, port: api.port, path: '/v1/completions', method: 'POST', agent: loadAgent, headers: { 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => {
        completions++;
        resolve();
      });
    });
    req.on('error', () => resolve());
    req.end(body);
  });
}
const loaders = Array.from({ length: LOAD }, async () => {
  while (!stopLoad) await completion();
});

// ---- slow clients ----------------------------------------------------------------------------------------
const slowSockets = [];
let slowDrips = 0;
for (let i = 0; i < SLOW; i++) {
  const s = net.connect(metrics.port, metrics.hostname);
  s.on('error', () => undefined);
  slowSockets.push(s);
  if (i % 2 === 0) {
    // Slowloris: the request line and headers, one byte every 100 ms (the headers timeout ends it).
    const text = `GET /metrics HTTP/1.1\r\nHost: ${metrics.host}\r\nX-Slow: ${'s'.repeat(200)}\r\n\r\n`;
    let at = 0;
    const t = setInterval(() => {
      if (s.destroyed || at >= text.length) return clearInterval(t);
      s.write(text[at++]);
      slowDrips++;
    }, 100);
    s.on('close', () => clearInterval(t));
  } else {
    // A reader that never reads: keep-alive requests whose answers sit unread in the socket buffers.
    s.on('connect', () => {
      for (let k = 0; k < 20; k++) s.write(`GET /metrics HTTP/1.1\r\nHost: ${metrics.host}\r\n\r\n`);
      s.pause();
    });
  }
}

// ---- the scrapes -----------------------------------------------------------------------------------------
const scrapeAgent = values['keep-alive'] ? new http.Agent({ keepAlive: true, maxSockets: SCRAPES, maxFreeSockets: SCRAPES }) : false;
function scrape(target = metrics) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.get({ host: target.hostname, port: target.port, path: '/metrics', agent: scrapeAgent }, (res) => {
      let bytes = 0;
      res.on('data', (d) => (bytes += d.length));
      res.on('end', () => resolve({ ms: performance.now() - t0, status: res.statusCode, bytes }));
    });
    req.on('error', (err) => resolve({ ms: performance.now() - t0, status: 0, error: err.code }));
  });
}

await new Promise((r) => setTimeout(r, 1000)); // the load ramps up
const latencies = [];
const failures = {};
let bytes = 0;
const warmRounds = values['keep-alive'] ? 1 : 0;
for (let round = 0; round < ROUNDS + warmRounds; round++) {
  const results = await Promise.all(Array.from({ length: SCRAPES }, () => scrape()));
  if (round < warmRounds) {
    const sorted = results.map((r) => r.ms).sort((a, b) => a - b);
    console.log(`  opening ${SCRAPES} keep-alive connections (not counted): p99 ${pct(sorted, 99).toFixed(1)} ms`);
    continue;
  }
  for (const r of results) {
    if (r.status === 200) {
      latencies.push(r.ms);
      bytes = r.bytes;
    } else failures[r.error ?? r.status] = (failures[r.error ?? r.status] ?? 0) + 1;
  }
  const sorted = results.map((r) => r.ms).sort((a, b) => a - b);
  console.log(`  round ${round + 1 - warmRounds}/${ROUNDS}: ${SCRAPES} concurrent scrapes, p50 ${pct(sorted, 50).toFixed(1)} ms, p99 ${pct(sorted, 99).toFixed(1)} ms, max ${sorted.at(-1).toFixed(1)} ms`);
  await new Promise((r) => setTimeout(r, 200));
}
const slowOpen = slowSockets.filter((s) => !s.destroyed).length;
if (scrapeAgent) scrapeAgent.destroy();
stopLoad = true;
for (const s of slowSockets) s.destroy();
await Promise.race([Promise.all(loaders), new Promise((r) => setTimeout(r, 5000))]);
loadAgent.destroy();
child.kill('SIGTERM');
const exit = (await served.done).code;
clearInterval(watchdog);

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
latencies.sort((a, b) => a - b);
const p99 = pct(latencies, 99);
console.log(
  `load-scrape: ${latencies.length}/${SCRAPES * ROUNDS} scrapes ok (${ROUNDS} rounds of ${SCRAPES} concurrent, ${(bytes / 1024).toFixed(0)} KiB each) ` +
    `with ${SLOW} slow clients (${slowOpen} still open at the end) and ${LOAD} streams of load (${completions} completions): ` +
    `/metrics p50 ${pct(latencies, 50).toFixed(1)} ms, p90 ${pct(latencies, 90).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(1)} ms; ` +
    `failures ${JSON.stringify(failures)}; serve exited ${exit}`,
);
if (values.floor) {
  // The same bursts against a static server with a body of the same size: the cost of the machine and the client.
  const floorChild = spawn(
    process.execPath,
    ['-e', `const b = Buffer.alloc(${bytes}, 97); const s = require('node:http').createServer((q, r) => { r.writeHead(200, { 'Content-Length': b.length }); r.end(b); }); s.listen(0, '127.0.0.1', 2048, () => console.log(s.address().port));`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise((r) => floorChild.stdout.once('data', (d) => r(Number(String(d).trim()))));
  const floorLat = [];
  const target = { hostname: '127.0.0.1', port };
  for (let round = 0; round < ROUNDS + warmRounds; round++) {
    const results = await Promise.all(Array.from({ length: SCRAPES }, () => scrape(target)));
    if (round >= warmRounds) floorLat.push(...results.map((r) => r.ms));
  }
  floorChild.kill();
  floorLat.sort((a, b) => a - b);
  console.log(`floor (static Node server, same client bursts, no load): p50 ${pct(floorLat, 50).toFixed(1)} ms, p99 ${pct(floorLat, 99).toFixed(1)} ms, max ${floorLat.at(-1).toFixed(1)} ms`);
}
const ok = latencies.length === SCRAPES * ROUNDS && p99 < TARGET && exit === 0;
if (!ok && !values['no-fail']) {
  console.error(`load-scrape: FAILED (target p99 < ${TARGET} ms, every scrape 200, clean exit)`);
  process.exit(1);
}
