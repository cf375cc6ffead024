#!/usr/bin/env node
// `npm run bench`: every benchmark of the package, one after another, each printing its own figures and ratios.
// Native benchmarks are built into build-native/ (the same CMake project as the native tests).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const buildDir = join(root, 'build-native');
const run = (title, cmd, args) => {
  console.log(`\n### ${title}\n$ ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`${title} failed (exit ${r.status})`);
    process.exitCode = 1;
  }
};

run('build native benchmarks', 'cmake', ['-S', root, '-B', buildDir, '-DTRTLLM_METRICS_NATIVE_TESTS=ON', '-DCMAKE_BUILD_TYPE=Release']);
run('build native benchmarks', 'cmake', ['--build', buildDir, '-j2']);
for (const name of ['sim_throughput', 'bridge_handoff']) {
  const bin = join(buildDir, name);
  if (existsSync(bin)) run(name, bin, []);
}
run('bridge firehose (batched vs one call per record)', process.execPath, ['scripts/bench/bridge-firehose.mjs']);
run('KV events into JS', process.execPath, ['scripts/bench/kv-events.mjs']);
run('KV events published out of process (ZeroMQ, vLLM format)', process.execPath, ['scripts/bench/kv-publish.mjs']);
run('metrics recording vs plain prom-client', process.execPath, ['scripts/bench/metrics-record.mjs']);
run('metrics scrape', process.execPath, ['scripts/bench/metrics-scrape.mjs']);
run('tokenizer libraries: tokenizers (Rust) vs @huggingface/tokenizers (JS)', process.execPath, ['scripts/bench/tokenizer-libraries.mjs']);
run("a real tokenizer's cost to the worker", process.execPath, ['scripts/bench/tokenizer-worker.mjs']);
run('bench harness ceiling (events/s, requests/s, TTFT error vs a zero-latency SSE server)', process.execPath, ['scripts/bench/harness-ceiling.mjs']);
run("the worker's cost per streamed token, next to a bare node:http server writing the same bytes (the floor)", process.execPath, ['scripts/bench/stream-cost.mjs']);
