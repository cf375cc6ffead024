// Shutdown paths that fit in CI: a short shutdown loop under full load (scripts/shutdown-loop.mjs), process
// exit with a live engine (process.exit, the script just ending, an uncaught exception), and SIGTERM to
// `trtllm-metrics serve` while SSE streams are open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnServe } from './helpers/serve-process.mjs';
import { eventually } from './helpers/worker-fixtures.mjs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const INDEX = JSON.stringify(fileURLToPath(new URL('../dist/index.js', import.meta.url)));

/** Runs `node args` (or `node -e code`); resolves with { code, signal, stdout, stderr, ms }. */
function runNode(args, { timeoutMs = 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hang: node ${args.join(' ').slice(0, 80)} still running after ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** A child script: an engine with requests in flight (real time, slowed), then `tail`. */
function liveEngineScript(tail) {
  return `
    const { Engine } = require(${INDEX});
    (async () => {
      const engine = await Engine.create({ sim: { speedupRatio: 2, outputLengthMode: 'maxTokens' }, executorConfig: { maxBatchSize: 8 }, bridge: { statsIntervalMs: 5 } });
      const prompt = Array.from({ length: 32 }, (_, i) => 3 + i);
      let started = 0;
      for (let i = 0; i < 12; i++) {
        (async () => { for await (const c of engine.generate({ inputTokenIds: prompt, maxTokens: 2000, streaming: true })) started++; })().catch(() => {});
        engine.complete({ inputTokenIds: prompt, maxTokens: 2000 }).catch(() => {});
      }
      while (started < 8) await new Promise((r) => setTimeout(r, 5));
      ${tail}
    })();`;
}

test('shutdown loop: 10 engines loaded to full concurrency and shut down, nothing unsettled', async () => {
  const r = await runNode(['scripts/shutdown-loop.mjs', '--iterations', '10', '--batch', '16', '--queued', '16', '--quiet'], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /shutdown loop: 10\/10 iterations/);
  assert.match(r.stdout, /requests settled: 320 .*unsettled 0/);
  assert.doesNotMatch(r.stdout, /active resources left/);
});

test('process.exit() with a live engine and requests in flight: exit code 0, no crash', async () => {
  const r = await runNode(['-e', liveEngineScript('process.exit(0);')]);
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
});

test('an exit code set by the script is kept when the engine is torn down at exit', async () => {
  const r = await runNode(['-e', liveEngineScript('process.exitCode = 3; process.exit();')]);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.code, 3, r.stderr);
});

test('an uncaught exception with a live engine: Node exits 1 with the error, the addon does not crash', async () => {
  const r = await runNode(['-e', liveEngineScript(`throw new Error('boom in user code');`)]);
  assert.equal(r.signal, null, r.stderr);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /boom in user code/);
  assert.doesNotMatch(r.stderr, /Segmentation|Aborted|terminate called|FATAL/i);
});

test('a script that just ends: an idle live engine does not keep the process alive; requests in flight do, until done', async () => {
  const idle = await runNode([
    '-e',
    `const { Engine } = require(${INDEX});
     Engine.create({ sim: { virtualClock: true } }).then((e) => e.complete({ inputTokenIds: [5, 6, 7], maxTokens: 4 })).then((r) => console.log('done', r.tokens.length));`,
  ]);
  assert.equal(idle.code, 0, idle.stderr);
  assert.equal(idle.stdout.trim(), 'done 4', 'exited by itself (runNode fails on a hang)');

  const busy = await runNode([
    '-e',
    `const { Engine } = require(${INDEX});
     Engine.create({ sim: { speedupRatio: 20, outputLengthMode: 'maxTokens' } }).then((e) => {
       // Not awaited by anything: the in-flight requests keep the process alive until they finish.
       for (let i = 0; i < 4; i++) e.complete({ inputTokenIds: [5, 6, 7], maxTokens: 64 }).then((r) => console.log('finished', r.finishReason));
     });`,
  ]);
  assert.equal(busy.code, 0, busy.stderr);
  assert.deepEqual(busy.stdout.trim().split('\n'), Array(4).fill('finished length'));
});

/** Starts `trtllm-metrics serve`; resolves with { child, api, metrics, done } once its startup line is out. */
async function serve(args) {
  const s = await spawnServe(args);
  if (s.exited) throw new Error(`serve exited early: ${JSON.stringify(s.exited)}`);
  return s;
}

async function readAll(reader) {
  let body = '';
  for (;;) {
    const { value, done } = await reader.read().catch(() => ({ done: true }));
    if (done) return body;
    body += Buffer.from(value).toString();
  }
}

test('SIGTERM to serve with 8 SSE streams and 4 plain requests open: every stream ends, exit 0', async () => {
  const s = await serve(['--port', '0', '--http-port', '0', '--speedup-ratio', '5', '--output-length-mode', 'maxTokens', '--shutdown-grace-ms', '300']);
  const post = (body) => fetch(`${s.api}/v1/completions`, { method: 'POST', body: JSON.stringify({ model: 'sim-llama', prompt: 'long', max_tokens: 5000, ...body }) });
  const streams = await Promise.all(Array.from({ length: 8 }, () => post({ stream: true })));
  const readers = streams.map((r) => r.body.getReader());
  await Promise.all(readers.map((r) => r.read())); // every stream has started
  const plain = Array.from({ length: 4 }, () => post({}).then(async (r) => ({ status: r.status, json: await r.json() })));
  // Signal only once the worker has all 12 in flight: a request still connecting when the worker stops
  // accepting would fail to connect, which is not what this test is about (a fixed wait lost that race
  // under ASan).
  await eventually(async () => {
    const text = await (await fetch(`${s.metrics}/metrics`)).text();
    return Number(/^dynamo_component_inflight_requests\{[^}]*dynamo_endpoint="generate"[^}]*\} (\d+)$/m.exec(text)?.[1]) === 12;
  }, 30_000, 'the worker to have the 12 requests in flight');
  s.child.kill('SIGTERM');
  const bodies = await Promise.all(readers.map(readAll));
  const answers = await Promise.all(plain);
  const exit = await s.done;
  assert.equal(exit.signal, null, exit.stderr);
  assert.equal(exit.code, 0, exit.stderr);
  for (const body of bodies) {
    assert.match(body, /"finish_reason":"cancelled"/, 'the stream was cancelled after the grace period');
    assert.match(body, /data: \[DONE\]\n\n$/, 'and ended properly');
  }
  for (const a of answers) {
    assert.equal(a.status, 200);
    assert.equal(a.json.choices[0].finish_reason, 'cancelled');
  }
  assert.doesNotMatch(exit.stderr, /error|warning/i);
});

// How long shutdown takes with 1000 ms polls is measured by scripts/shutdown-loop.mjs --poll-ms 1000
// --max-shutdown-ms 4000 in CI, not timed here.
test('pump poll timeouts are bounded (at most 1000 ms); shutdown with the longest polls settles everything', async () => {
  const { Engine } = await import('../dist/index.js');
  // Found by the fuzzer: with responsePollMs 51696, shutdown() waited ~52 s for the response pump.
  for (const key of ['responsePollMs', 'eventPollMs']) {
    for (const value of [1001, 60_000]) {
      await assert.rejects(Engine.create({ bridge: { [key]: value } }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT', message: new RegExp(`bridge\\.${key}`) });
    }
  }
  const engine = await Engine.create({
    sim: { speedupRatio: 5, outputLengthMode: 'maxTokens' },
    bridge: { responsePollMs: 1000, eventPollMs: 1000 },
    shutdownGraceMs: 100,
  });
  const prompt = Array.from({ length: 16 }, (_, i) => 3 + i);
  const running = new Promise((resolve) => engine.onIterationStats((s) => s.some((x) => x.numActiveRequests > 0) && resolve()));
  const settled = Array.from({ length: 8 }, () => engine.complete({ inputTokenIds: prompt, maxTokens: 4000 }).then((r) => r.finishReason, (e) => e.code));
  await running;
  await engine.shutdown();
  const reasons = await Promise.all(settled);
  assert.ok(reasons.every((r) => r === 'cancelled' || r === 'ERR_TRTLLM_ENGINE_CLOSED'), reasons.join());
});
