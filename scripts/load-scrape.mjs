#!/usr/bin/env node
// Scrapes under load, on loopback, bounded in count and time. Starts `trtllm-metrics serve` (a child process),
// keeps its engine busy with streamed completions, holds slow clients open against every target the whole
// time (half send their headers a byte every 100 ms, half pipeline requests and never read the answers;
// those the server's timeouts close are replaced), and fires rounds of concurrent scrapes of /metrics with
// h2load, a C client (Debian: nghttp2-client), so that the client's own cost does not dominate the figures.
//
// The same rounds, under the same load, go to baselines that answer the same bytes with no metrics code at
// all: a static Node server and, when it is installed, nginx. Targets take turns round by round, so noise
// falls on all of them alike. Prints the latency percentiles of each (pooled over the rounds, and the median
// of the rounds' p99s), and the rate h2load measured (median over the rounds); exits 1 when a scrape of the worker
// failed, when it did not exit cleanly, or when its p99 is not under --target-ms (--no-fail waives only the
// last, for shared machines where a latency figure must not fail a build).
//
//   node scripts/load-scrape.mjs [--scrapes 1000] [--rounds 10] [--warmup 2] [--modes burst,sustained]
//       [--encodings plain,gzip] [--per-connection 5] [--slow 100] [--load 64] [--speedup 1]
//       [--baselines node,nginx] [--max-age-ms 0] [--target-ms 100] [--max-seconds 600] [--no-fail] [--json FILE]
//
// Modes: burst = every scrape on a new connection, all opened at once (h2load -n S -c S); sustained = S
// keep-alive connections each scraping --per-connection times back to back (h2load -n S*K -c S), the way a
// fleet of scrapers with persistent connections would. Encodings: plain, or gzip (Accept-Encoding: gzip,
// which Prometheus sends). Load: --load concurrent streamed completions of 64 tokens, on the simulator's
// GPU-calibrated timing divided by --speedup (1 = the pace of a real GPU; 10 streams ten times the tokens).
// --max-age-ms: the worker's --metrics-max-age-ms (0, its default: every scrape waits for a fresh render).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { spawnServe } from '../test/helpers/serve-process.mjs';

const { values } = parseArgs({
  options: {
    scrapes: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    modes: { type: 'string', default: 'burst,sustained' },
    encodings: { type: 'string', default: 'plain,gzip' },
    'per-connection': { type: 'string', default: '5' },
    slow: { type: 'string', default: '100' },
    load: { type: 'string', default: '64' },
    speedup: { type: 'string', default: '1' },
    baselines: { type: 'string', default: 'node,nginx' },
    'max-age-ms': { type: 'string', default: '0' },
    'target-ms': { type: 'string', default: '100' },
    'max-seconds': { type: 'string', default: '600' },
    'no-fail': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});

function positiveInt(name, min = 1) {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) {
    console.error(`load-scrape: --${name} must be an integer >= ${min}, got ${JSON.stringify(values[name])}`);
    process.exit(2);
  }
  return n;
}
function list(name, allowed) {
  const items = values[name].split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.filter((i) => !allowed.includes(i));
  if (bad.length > 0 || (items.length === 0 && name !== 'baselines')) {
    console.error(`load-scrape: --${name} takes a comma-separated subset of ${allowed.join(', ')}; got ${JSON.stringify(values[name])}`);
    process.exit(2);
  }
  return items;
}
const SCRAPES = positiveInt('scrapes');
const ROUNDS = positiveInt('rounds');
const WARMUP = positiveInt('warmup', 0);
const PER_CONNECTION = positiveInt('per-connection');
const SLOW = positiveInt('slow', 0);
const LOAD = positiveInt('load', 0);
const SPEEDUP = Number(values.speedup);
const MAX_AGE = positiveInt('max-age-ms', 0);
const TARGET = Number(values['target-ms']);
const MODES = list('modes', ['burst', 'sustained']);
const ENCODINGS = list('encodings', ['plain', 'gzip']);
let BASELINES = list('baselines', ['node', 'nginx']);
if (!(SPEEDUP > 0) || !(TARGET > 0)) {
  console.error('load-scrape: --speedup and --target-ms must be positive numbers');
  process.exit(2);
}
if (spawnSync('h2load', ['--version']).error) {
  console.error('load-scrape: needs h2load, the load client (Debian: apt-get install nghttp2-client)');
  process.exit(2);
}
const hasNginx = !spawnSync('nginx', ['-v']).error;
if (BASELINES.includes('nginx') && !hasNginx) {
  console.log('load-scrape: nginx is not installed (Debian: apt-get install nginx-light); that baseline is skipped');
  BASELINES = BASELINES.filter((b) => b !== 'nginx');
}

const cleanups = [];
const deadline = Date.now() + Number(values['max-seconds']) * 1000;
const watchdog = setInterval(() => {
  if (Date.now() > deadline) {
    console.error(`load-scrape: over --max-seconds ${values['max-seconds']}, stopping`);
    for (const c of cleanups) c(true);
    process.exit(1);
  }
}, 500);

// ---- the worker --------------------------------------------------------------------------------------------
const served = await spawnServe(
  ['--port', '0', '--http-port', '0', '--speedup-ratio', String(SPEEDUP), '--max-connections', String(SCRAPES + 2 * SLOW + LOAD + 256), '--shutdown-grace-ms', '0', ...(MAX_AGE > 0 ? ['--metrics-max-age-ms', String(MAX_AGE)] : [])],
  { stderr: 'inherit' },
);
if (served.exited) throw new Error(`serve exited with ${served.exited.code}`);
const { child } = served;
cleanups.push((hard) => child.kill(hard ? 'SIGKILL' : 'SIGTERM'));
const api = new URL(served.api);
const metrics = new URL(served.metrics);

// ---- engine load: LOAD concurrent streamed completions, back to back ---------------------------------------
let stopping = false;
let completions = 0;
let tokenEvents = 0;
const loadAgent = new http.Agent({ keepAlive: true, maxSockets: Math.max(1, LOAD) });
function completion() {
  return new Promise((resolve) => {
    const body = JSON.stringify({ model: 'sim-llama', prompt: 'load '.repeat(20), max_tokens: 64, stream: true, ignore_eos: true });
    const req = http.request({ host: api.hostname, port: api.port, path: '/v1/completions', method: 'POST', agent: loadAgent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      res.on('data', (d) => {
        for (let i = d.indexOf('data: '); i >= 0; i = d.indexOf('data: ', i + 6)) tokenEvents++;
      });
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
  while (!stopping) await completion();
});

// ---- baselines: the same bytes, no metrics code --------------------------------------------------------------
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'load-scrape-'));
fs.chmodSync(tmp, 0o755); // nginx workers may run as another user
cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
const sample = await new Promise((resolve, reject) => {
  http.get(`${metrics.origin}/metrics`, (res) => {
    const parts = [];
    res.on('data', (d) => parts.push(d));
    res.on('end', () => resolve(Buffer.concat(parts)));
  }).on('error', reject);
});
const bodies = { plain: sample, gzip: gzipSync(sample, { level: 1 }) };
for (const [enc, b] of Object.entries(bodies)) fs.writeFileSync(path.join(tmp, `metrics-${enc}`), b, { mode: 0o644 });

const targets = [{ name: 'trtllm-metrics', url: (enc) => `${metrics.origin}/metrics`, encHeader: true }];
if (BASELINES.includes('node')) {
  const code = `
    const fs = require('node:fs');
    const bodies = { plain: fs.readFileSync(${JSON.stringify(path.join(tmp, 'metrics-plain'))}), gzip: fs.readFileSync(${JSON.stringify(path.join(tmp, 'metrics-gzip'))}) };
    const s = require('node:http').createServer((q, r) => {
      const gz = /gzip/.test(q.headers['accept-encoding'] || '');
      const b = gz ? bodies.gzip : bodies.plain;
      const h = { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': b.length };
      if (gz) h['Content-Encoding'] = 'gzip';
      r.writeHead(200, h);
      r.end(b);
    });
    s.maxConnections = ${SCRAPES + 2 * SLOW + 256};
    s.listen(0, '127.0.0.1', 2048, () => console.log(s.address().port));`;
  const node = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => node.kill());
  const port = await new Promise((resolve) => node.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
  targets.push({ name: 'static node', url: () => `http://127.0.0.1:${port}/metrics`, encHeader: true });
}
if (BASELINES.includes('nginx')) {
  const port = await freePort();
  const conf = path.join(tmp, 'nginx.conf');
  fs.writeFileSync(
    conf,
    `worker_processes 1; daemon off; pid ${tmp}/nginx.pid; error_log ${tmp}/nginx-error.log;
events { worker_connections ${SCRAPES + 2 * SLOW + 512}; }
http {
  access_log off; client_body_temp_path ${tmp}/cb; proxy_temp_path ${tmp}/p; fastcgi_temp_path ${tmp}/f; uwsgi_temp_path ${tmp}/u; scgi_temp_path ${tmp}/s;
  server {
    listen 127.0.0.1:${port} backlog=2048; root ${tmp};
    location = /plain { default_type 'text/plain; version=0.0.4; charset=utf-8'; try_files /metrics-plain =404; }
    location = /gzip { default_type 'text/plain; version=0.0.4; charset=utf-8'; add_header Content-Encoding gzip; try_files /metrics-gzip =404; }
  }
}\n`,
  );
  const ngx = spawn('nginx', ['-p', tmp, '-c', conf, '-e', path.join(tmp, 'nginx-error.log')], { stdio: 'ignore' });
  cleanups.push(() => ngx.kill());
  await waitForPort(port);
  targets.push({ name: 'nginx', url: (enc) => `http://127.0.0.1:${port}/${enc}`, encHeader: false });
}

// ---- slow clients against every target, replaced when a server's timeouts close them --------------------
const slowSockets = new Set();
let slowReplaced = 0;
function slowClient(i, target, pathName) {
  if (stopping) return;
  const s = net.connect(target.port, target.hostname);
  slowSockets.add(s);
  s.on('error', () => undefined);
  s.on('close', () => {
    slowSockets.delete(s);
    if (!stopping) {
      slowReplaced++;
      setTimeout(() => slowClient(i, target, pathName), 50);
    }
  });
  if (i % 2 === 0) {
    // Slowloris: the request line and headers, one byte every 100 ms (the headers timeout ends it).
    const text = `GET ${pathName} HTTP/1.1\r\nHost: ${target.host}\r\nX-Slow: ${'s'.repeat(200)}\r\n\r\n`;
    let at = 0;
    const t = setInterval(() => {
      if (s.destroyed || at >= text.length) return clearInterval(t);
      s.write(text[at++]);
    }, 100);
    s.on('close', () => clearInterval(t));
  } else {
    // A reader that never reads: pipelined requests whose answers fill the socket buffers, unread.
    s.on('connect', () => {
      for (let k = 0; k < 20; k++) s.write(`GET ${pathName} HTTP/1.1\r\nHost: ${target.host}\r\n\r\n`);
      s.pause();
    });
  }
}
// Each target gets the same slow clients, so that they are compared under the same conditions.
for (const t of targets) {
  const u = new URL(t.url('plain'));
  for (let i = 0; i < SLOW; i++) slowClient(i, u, u.pathname);
}

// ---- the rounds --------------------------------------------------------------------------------------------
function h2load(url, mode, enc, target) {
  const log = path.join(tmp, 'h2load.log');
  fs.rmSync(log, { force: true });
  const n = mode === 'burst' ? SCRAPES : SCRAPES * PER_CONNECTION;
  const args = ['--h1', '-n', String(n), '-c', String(SCRAPES), '-t', '1', `--log-file=${log}`];
  if (enc === 'gzip' && target.encHeader) args.push('-H', 'Accept-Encoding: gzip');
  args.push(url);
  return new Promise((resolve) => {
    const p = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', () => {
      const ms = [];
      let bad = 0;
      for (const line of fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n') : []) {
        const [, status, us] = line.split('\t');
        if (status === undefined) continue;
        if (status === '200') ms.push(Number(us) / 1000);
        else bad++;
      }
      const m = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
      const failed = m ? Number(m[1]) - Number(m[3]) : n;
      const bytes = /traffic: [^(]*\((\d+)\) total/.exec(out);
      const rate = /finished in [^,]+, ([\d.]+) req\/s/.exec(out);
      resolve({ ms, failed: Math.max(failed, bad), requested: n, bytes: bytes ? Number(bytes[1]) : 0, rate: rate ? Number(rate[1]) : NaN, output: m ? '' : out });
    });
  });
}

function pct(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

function cpuTicks(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks
  } catch {
    return NaN;
  }
}
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;

await new Promise((r) => setTimeout(r, 2000)); // the load ramps up
const results = [];
let scrapesFailed = false;
let targetMissed = false;
for (const mode of MODES) {
  for (const enc of ENCODINGS) {
    const per = targets.map(() => ({ ms: [], failed: 0, requested: 0, warm: [], roundP99: [], rates: [] }));
    const t0 = Date.now();
    const cpu0 = cpuTicks(child.pid);
    const tokens0 = tokenEvents;
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      for (let t = 0; t < targets.length; t++) {
        const r = await h2load(targets[t].url(enc), mode, enc, targets[t]);
        if (r.output) console.error(`h2load against ${targets[t].name}:\n${r.output}`);
        if (round < WARMUP) {
          per[t].warm.push(pct(r.ms.sort((a, b) => a - b), 99));
          continue;
        }
        per[t].roundP99.push(pct([...r.ms].sort((a, b) => a - b), 99));
        per[t].rates.push(r.rate);
        per[t].ms.push(...r.ms);
        per[t].failed += r.failed;
        per[t].requested += r.requested;
        per[t].bytesPerScrape = r.bytes / Math.max(1, r.requested);
        await new Promise((res) => setTimeout(res, 100));
      }
    }
    const seconds = (Date.now() - t0) / 1000;
    const workerCpu = ((cpuTicks(child.pid) - cpu0) / CLK_TCK / seconds) * 100;
    const tokensPerS = (tokenEvents - tokens0) / seconds;
    const what = mode === 'burst' ? `${SCRAPES} scrapes at once, each on a new connection` : `${SCRAPES} keep-alive connections x ${PER_CONNECTION} scrapes back to back`;
    console.log(`\n${mode}, ${enc}: ${ROUNDS} rounds (after ${WARMUP} warm-up) of ${what}; ~${(per[0].bytesPerScrape / 1024).toFixed(1)} KiB per answer`);
    console.log(`  worker: --metrics-max-age-ms ${MAX_AGE}${MAX_AGE === 0 ? ' (every scrape answered with a render begun after it arrived)' : ''}`);
    console.log(`  while: ${LOAD} streams of engine load at speedup ${SPEEDUP} (${Math.round(tokensPerS).toLocaleString('en-US')} tokens/s streamed), ${SLOW} slow clients against each target (${slowSockets.size} open now), worker process at ${workerCpu.toFixed(0)}% of a core`);
    console.log(`  ${'target'.padEnd(16)}${['p50', 'p90', 'p99', 'max'].map((h) => h.padStart(9)).join('')}   round p99: median  (range)     scrapes/s   ok/requested   warm-up p99`);
    const row = { mode, encoding: enc, tokensPerS, workerCpuPercent: workerCpu, targets: {} };
    per.forEach((p, t) => {
      const s = p.ms.sort((a, b) => a - b);
      const rounds = [...p.roundP99].sort((a, b) => a - b);
      const rate = pct([...p.rates].sort((a, b) => a - b), 50);
      const fig = { p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99), max: s.at(-1), roundP99Median: pct(rounds, 50), roundP99: p.roundP99, scrapesPerS: rate, ok: s.length, requested: p.requested, failed: p.failed, warmupP99: p.warm };
      row.targets[targets[t].name] = fig;
      const range = `(${rounds[0].toFixed(0)}-${rounds.at(-1).toFixed(0)})`;
      console.log(`  ${targets[t].name.padEnd(16)}${[fig.p50, fig.p90, fig.p99, fig.max].map((v) => `${v.toFixed(1)}`.padStart(9)).join('')}   ${fig.roundP99Median.toFixed(1).padStart(16)}  ${range.padEnd(10)}${Math.round(rate).toLocaleString('en-US').padStart(10)}   ${`${fig.ok}/${fig.requested}`.padStart(12)}   ${p.warm.map((v) => v.toFixed(0)).join(', ')}`);
    });
    const ours = row.targets['trtllm-metrics'];
    const ratios = targets.slice(1).map((t) => `${(ours.p99 / row.targets[t.name].p99).toFixed(2)}x ${t.name}`);
    if (ratios.length > 0) console.log(`  p99 of trtllm-metrics: ${ratios.join(', ')}`);
    if (ours.ok !== ours.requested) scrapesFailed = true;
    if (!(ours.p99 < TARGET)) targetMissed = true;
    console.log(`  every scrape 200: ${ours.ok === ours.requested ? 'yes' : `NO (${ours.requested - ours.ok} failed)`}; target p99 < ${TARGET} ms: ${ours.p99 < TARGET ? 'met' : 'NOT met'}`);
    results.push(row);
  }
}

// ---- teardown ----------------------------------------------------------------------------------------------
stopping = true;
for (const s of slowSockets) s.destroy();
await Promise.race([Promise.all(loaders), new Promise((r) => setTimeout(r, 5000))]);
loadAgent.destroy();
child.kill('SIGTERM');
const exit = (await served.done).code;
for (const c of cleanups.slice(1)) c(false);
clearInterval(watchdog);
console.log(`\nload-scrape: ${completions.toLocaleString('en-US')} completions streamed, ${slowReplaced} slow clients replaced after the server closed them; serve exited ${exit}`);
if (values.json) fs.writeFileSync(values.json, `${JSON.stringify({ scrapes: SCRAPES, rounds: ROUNDS, warmup: WARMUP, slow: SLOW, load: LOAD, speedup: SPEEDUP, maxAgeMs: MAX_AGE, targetMs: TARGET, results }, null, 2)}\n`);
if (scrapesFailed || exit !== 0) {
  console.error(`load-scrape: FAILED (${scrapesFailed ? 'scrapes of the worker failed' : `serve exited ${exit}`})`);
  process.exit(1);
}
if (targetMissed && !values['no-fail']) {
  console.error(`load-scrape: FAILED (target p99 < ${TARGET} ms in every scenario)`);
  process.exit(1);
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx did not listen on ${port}`);
}
