#!/usr/bin/env node
// Slow readers: what clients that stop reading cost everyone else. Starts `trtllm-metrics serve` as the issue
// that found it did (--speedup-ratio 1000 --max-batch-size 256 --max-seq-len 65536), then per round:
//   baseline  a benchmark alone: 1,000 streamed completions at concurrency 32 (`trtllm-metrics bench --url`,
//             input 1024, output 128 tokens, ignore_eos, client timeout 40 s);
//   together  N clients (default 100) each open a streamed completion (max_tokens 60000, ignore_eos) with a 4 KiB
//             receive buffer and never read (Python sockets: Node cannot shrink SO_RCVBUF); once all N are sent,
//             the same benchmark runs alongside. Afterwards the stuck clients read what they can and say how their
//             stream ended (completed, or cut by the worker);
//   spread    the same N stuck clients arriving one by one over the baseline's duration, while the benchmark runs;
//   memory    the N stuck clients alone, no benchmark: the worker's RSS while they are connected (until the worker
//             has cut them all, or 20 s), against its idle RSS.
// Each scenario gets a fresh worker; rounds run the three in turn. It prints per round: output tokens/s, TTFT p99,
// failed requests, the worker's RSS (idle, peak, after), and the ratios of the stuck scenario to the baseline of the
// same round (targets: throughput >= 90%, TTFT p99 <= 1.5x, no failed request; the memory scenario's peak RSS within
// 100 MiB of idle). `--serve-args` adds flags to every worker (e.g. --stream-max-unsent-bytes 32768).
//
//   node scripts/bench/slow-readers.mjs [--stuck 100] [--rounds 2] [--requests 1000] [--concurrency 32]
//                                      [--serve-args '...'] [--json FILE]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { spawnServe } from '../../test/helpers/serve-process.mjs';

const { values } = parseArgs({
  options: {
    stuck: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '2' },
    requests: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '32' },
    'serve-args': { type: 'string', default: '' },
    json: { type: 'string' },
  },
});
const STUCK = Number(values.stuck);
const ROUNDS = Number(values.rounds);
const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const SERVE = ['--port', '0', '--http-port', '0', '--speedup-ratio', '1000', '--max-batch-size', '256', '--max-seq-len', '65536', ...values['serve-args'].split(' ').filter(Boolean)];

// The stuck clients: Python, so that each socket's receive buffer can be 4 KiB (set before connect, so that the
// window is small from the start). They send, then wait for a line on stdin; then they read to the end and print
// how each stream ended.
const STUCK_CLIENTS = `
import json, socket, sys, time
host, port, n, every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
socks = []
if every > 0:
    print("sent", flush=True)
for i in range(n):
    if every > 0 and i > 0:
        time.sleep(every)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((host, port))
    body = json.dumps({"model": "sim-llama", "prompt": "stuck %d" % i, "max_tokens": 60000, "stream": True, "ignore_eos": True}).encode()
    s.sendall(b"POST /v1/completions HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\nContent-Length: %d\\r\\n\\r\\n" % len(body) + body)
    socks.append(s)
if every == 0:
    print("sent", flush=True)
sys.stdin.readline()
ends = {"completed": 0, "cut": 0}
for s in socks:
    s.settimeout(30)
    tail = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            tail = (tail + d)[-64:]
    except (ConnectionResetError, socket.timeout, OSError):
        pass
    ends["completed" if b"data: [DONE]" in tail else "cut"] += 1
    s.close()
print(json.dumps(ends), flush=True)
`;

const rssMiB = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** N stuck clients: all at once (everySeconds 0: `sent` once all are sent), or one every everySeconds (`sent` at once). */
function startStuck(api, n, everySeconds = 0) {
  const u = new URL(api);
  const child = spawn('python3', ['-c', STUCK_CLIENTS, u.hostname, u.port, String(n), String(everySeconds)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const lines = [];
  let wake = () => undefined;
  child.stdout.on('data', (d) => {
    out += d;
    let i;
    while ((i = out.indexOf('\n')) >= 0) {
      lines.push(out.slice(0, i));
      out = out.slice(i + 1);
      wake();
    }
  });
  const nextLine = async () => {
    while (lines.length === 0) await new Promise((r) => (wake = r));
    return lines.shift();
  };
  return {
    sent: nextLine(),
    /** Lets them read: resolves with how their streams ended. */
    release: async () => {
      child.stdin.write('go\n');
      return JSON.parse(await nextLine());
    },
  };
}

/** Runs the benchmark in a child process (this one keeps sampling the worker's RSS meanwhile). */
async function bench(api, metrics, dir, tag) {
  const file = join(dir, `${tag}.json`);
  const args = [CLI, 'bench', '--url', api, '--metrics-url', `${metrics}/metrics`, '--num-requests', values.requests, '--concurrency', values.concurrency, '--ignore-eos', '--request-timeout', '40', '--quiet', '--json', file];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((r) => child.on('close', r));
  if (code !== 0 && code !== 1) throw new Error(`bench failed (${code}): ${stderr}`);
  const report = JSON.parse(readFileSync(file, 'utf8'));
  return {
    outputTokensPerS: report.client.output_token_throughput,
    ttftP99S: report.client.ttft_s.p99,
    ttftP50S: report.client.ttft_s.p50,
    completed: report.requests.completed,
    failed: report.requests.failed,
    durationS: report.client.duration_s,
  };
}

async function metricSum(metrics, name, match = {}) {
  const text = await (await fetch(`${metrics}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    if (Object.entries(match).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

let baselineSeconds = null;

async function scenario(kind, dir, round) {
  const s = await spawnServe(SERVE);
  if (s.exited) throw new Error(`serve exited: ${JSON.stringify(s.exited)}`);
  const pid = s.child.pid;
  await sleep(500);
  const idle = rssMiB(pid);
  let peak = idle;
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 100);
  let stuck = null;
  if (kind !== 'baseline') {
    // spread: the stuck clients arrive one by one over the baseline's duration, while the benchmark runs.
    const every = kind === 'spread' ? (baselineSeconds ?? 5) / STUCK : 0;
    stuck = startStuck(s.api, STUCK, every);
    await stuck.sent;
  }
  let result = {};
  if (kind === 'memory') {
    const until = performance.now() + 20_000;
    const cutSoFar = async () => (await metricSum(s.metrics, 'trtllm_slow_stream_cancellations_total')) >= STUCK;
    while (performance.now() < until && !(await cutSoFar())) await sleep(200);
    await sleep(500);
  } else {
    result = await bench(s.api, s.metrics, dir, `${kind}-${round}`);
    if (kind === 'baseline') baselineSeconds = result.durationS;
  }
  const during = peak;
  let ends = null;
  if (stuck !== null) ends = await stuck.release();
  await sleep(1000);
  const after = rssMiB(pid);
  clearInterval(timer);
  const cut = {
    unsentBytes: await metricSum(s.metrics, 'trtllm_slow_stream_cancellations_total', { reason: 'unsent_bytes' }),
    stall: await metricSum(s.metrics, 'trtllm_slow_stream_cancellations_total', { reason: 'stall' }),
  };
  s.child.kill('SIGTERM');
  await s.done;
  return { kind, round, ...result, rssIdleMiB: +idle.toFixed(1), rssPeakMiB: +Math.max(during, peak).toFixed(1), rssAfterMiB: +after.toFixed(1), stuckEnds: ends, serverCancellations: cut };
}

const dir = mkdtempSync(join(tmpdir(), 'slow-readers-'));
const rows = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const kind of ['baseline', 'together', 'spread', 'memory']) {
      const row = await scenario(kind, dir, round);
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\nslow readers: ${STUCK} stuck clients (4 KiB receive buffer, max_tokens 60000) beside ${values.requests} requests at concurrency ${values.concurrency}`);
console.log('round  scenario   out tok/s   TTFT p50   TTFT p99   failed   RSS idle/peak/after MiB   stuck streams');
for (const r of rows) {
  if (r.kind === 'memory') {
    console.log(`${String(r.round).padEnd(6)} memory     (no benchmark)                               ${r.rssIdleMiB.toFixed(0)} / ${r.rssPeakMiB.toFixed(0)} / ${r.rssAfterMiB.toFixed(0)}`.padEnd(96) + `${r.stuckEnds.completed} completed, ${r.stuckEnds.cut} cut (${r.serverCancellations.unsentBytes} unsent_bytes, ${r.serverCancellations.stall} stall)`);
    continue;
  }
  console.log(
    `${String(r.round).padEnd(6)} ${r.kind.padEnd(10)} ${r.outputTokensPerS.toFixed(0).padStart(9)} ${(r.ttftP50S * 1000).toFixed(0).padStart(8)} ms ${(r.ttftP99S * 1000).toFixed(0).padStart(7)} ms ${String(r.failed).padStart(7)}   ${r.rssIdleMiB.toFixed(0)} / ${r.rssPeakMiB.toFixed(0)} / ${r.rssAfterMiB.toFixed(0)}`.padEnd(96) +
      (r.stuckEnds ? `${r.stuckEnds.completed} completed, ${r.stuckEnds.cut} cut (${r.serverCancellations.unsentBytes} unsent_bytes, ${r.serverCancellations.stall} stall)` : ''),
  );
}
for (let round = 1; round <= ROUNDS; round++) {
  const b = rows.find((r) => r.round === round && r.kind === 'baseline');
  const m = rows.find((r) => r.round === round && r.kind === 'memory');
  for (const kind of ['together', 'spread']) {
    const s = rows.find((r) => r.round === round && r.kind === kind);
    console.log(
      `round ${round} ${kind}: throughput ${((s.outputTokensPerS / b.outputTokensPerS) * 100).toFixed(1)}% of the baseline (target >= 90%), TTFT p99 ${(s.ttftP99S / b.ttftP99S).toFixed(2)}x (target <= 1.5x), ` +
        `${s.failed} failed (target 0); RSS peak ${(s.rssPeakMiB - s.rssIdleMiB).toFixed(0)} MiB above idle (the baseline's ${(b.rssPeakMiB - b.rssIdleMiB).toFixed(0)} MiB)`,
    );
  }
  console.log(`round ${round} memory: RSS with the stuck clients alone ${(m.rssPeakMiB - m.rssIdleMiB).toFixed(0)} MiB above idle (target <= 100)`);
}
if (values.json) writeFileSync(values.json, JSON.stringify({ stuck: STUCK, serve: SERVE, rows }, null, 2) + '\n');
