// `trtllm-metrics serve` as a process: startup line, both ports, config file and DYN_SYSTEM_PORT, exit code 2
// with a one-line message for every bad input, and graceful SIGTERM (exit 0) with and without requests in flight.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const FAST = ['--port', '0', '--http-port', '0', '--speedup-ratio', '50'];

/** Runs the CLI; resolves with { code, signal, stdout, stderr } when it exits. `onLine` sees stdout lines. */
function run(args, { env = {}, onLine } = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, DYN_SYSTEM_PORT: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    const before = stdout.length;
    stdout += d;
    if (onLine) for (const line of stdout.slice(before).split('\n').filter(Boolean)) onLine(line, child);
  });
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

/** Starts serve and resolves with { child, api, metrics, done } once the startup line is printed. */
function serve(args, opts = {}) {
  return new Promise((resolve, reject) => {
    const r = run(args, {
      ...opts,
      onLine: (line, child) => {
        const m = /^trtllm-metrics serve: backend=(\S+) model=(\S+) api=(\S+) metrics=(\S+)$/.exec(line);
        if (m) resolve({ child, backend: m[1], model: m[2], api: m[3], metrics: m[4], done: r.done });
      },
    });
    r.done.then((res) => reject(new Error(`serve exited early: ${JSON.stringify(res)}`)));
  });
}

async function expectUsageError(args, pattern, opts) {
  const { code, stderr, stdout } = await run(args, opts).done;
  assert.equal(code, 2, `exit code of ${args.join(' ')}: ${stderr}`);
  const lines = stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line: ${stderr}`);
  assert.match(lines[0], pattern);
  assert.equal(stdout, '');
}

function occupyPort() {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

test('bad flags and values: one line naming the problem, exit code 2', async () => {
  await Promise.all([
    expectUsageError(['serve', '--bogus'], /--bogus/),
    expectUsageError(['serve', '--port', 'abc'], /--port must be an integer.*"abc"/),
    expectUsageError(['serve', '--port', '70000'], /--port/),
    expectUsageError(['serve', '--http-port'], /--http-port/),
    expectUsageError(['serve', '--backend', 'vllm'], /--backend must be one of sim, trtllm/),
    expectUsageError(['serve', '--speedup-ratio', '0'], /--speedup-ratio must be a number > 0/),
    expectUsageError(['serve', '--max-batch-size', '1.5'], /--max-batch-size must be an integer/),
    expectUsageError(['serve', '--metrics-profile', 'all'], /--metrics-profile/),
    expectUsageError(['serve', '--virtual-clock=yes'], /--virtual-clock/),
    expectUsageError(['serve', 'extra'], /unexpected argument "extra"/),
    expectUsageError(['frobnicate'], /unknown command "frobnicate" \(available: serve, bench, kv-events\)/),
    expectUsageError(['serve', '--enable-block-reuse', '--no-enable-block-reuse'], /contradict/),
    expectUsageError(['serve', '--model-config', 'nope'], /--model-config: "nope" is neither a built-in model/),
    expectUsageError(['serve', '--gpu', 'b200'], /--gpu needs --model-config/),
    expectUsageError(['serve', '--model-config', 'llama-3.1-8b', '--quant', 'fp8', '--gpu', 'a100'], /a100 has no fp8 tensor cores/),
    expectUsageError(['serve', '--lora-modules', 'sql'], /--lora-modules.*"sql" must be NAME=TASK_ID/),
    expectUsageError(['serve', '--host-cache-size', '1000', '--no-enable-block-reuse'], /--host-cache-size needs block reuse/),
  ]);
});

test('a missing engine directory, or trtllm without one: exit code 2', async () => {
  await Promise.all([
    expectUsageError(['serve', '--backend', 'trtllm'], /--engine-dir/),
    expectUsageError(['serve', '--backend', 'trtllm', '--engine-dir', '/nonexistent/engine'], /\/nonexistent\/engine does not exist/),
    expectUsageError(['serve', '--backend', 'trtllm', '--engine-dir', CLI], /is not a directory/),
    expectUsageError(['serve', '--engine-dir', tmpdir()], /--engine-dir applies only to --backend trtllm/),
    expectUsageError(['serve', '--backend', 'trtllm', '--engine-dir', tmpdir(), '--speedup-ratio', '2'], /--speedup-ratio applies only to --backend sim/),
  ]);
});

test('a port in use: exit code 2 naming the port (flags and DYN_SYSTEM_PORT)', async () => {
  const srv = await occupyPort();
  const port = String(srv.address().port);
  try {
    await expectUsageError(['serve', '--port', port, '--http-port', '0'], new RegExp(`metrics port \\(--port\\) ${port} is already in use`));
    await expectUsageError(['serve', '--port', '0', '--http-port', port], new RegExp(`API port \\(--http-port\\) ${port} is already in use`));
    await expectUsageError(['serve', '--http-port', '0'], new RegExp(`${port} is already in use`), { env: { DYN_SYSTEM_PORT: port } });
    await expectUsageError(['serve', '--http-port', '0'], /DYN_SYSTEM_PORT/, { env: { DYN_SYSTEM_PORT: 'eighty' } });
  } finally {
    srv.close();
  }
});

test('config file: same options, flags override, unknown keys are exit code 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'trtllm-cli-'));
  try {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ model: 'from-config', port: 0, httpPort: 0, 'speedup-ratio': 50, 'max-batch-size': 8 }));
    const s = await serve(['serve', '--config', good, '--model', 'from-flag']);
    assert.equal(s.model, 'from-flag');
    assert.equal(s.backend, 'sim');
    const models = await (await fetch(`${s.api}/v1/models`)).json();
    assert.equal(models.data[0].id, 'from-flag');
    s.child.kill('SIGTERM');
    assert.equal((await s.done).code, 0);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ 'max-batch-sise': 8 }));
    await expectUsageError(['serve', '--config', bad], /unknown option "max-batch-sise"/);
    for (const key of ['__proto__', 'constructor', 'toString']) {
      writeFileSync(bad, `{"${key}": 1}`);
      await expectUsageError(['serve', '--config', bad], new RegExp(`unknown option "${key}"`));
    }
    writeFileSync(bad, JSON.stringify({ port: '8081' }));
    await expectUsageError(['serve', '--config', bad], /"port" must be an integer/);
    writeFileSync(bad, '{ not json');
    await expectUsageError(['serve', '--config', bad], /not valid JSON/);
    await expectUsageError(['serve', '--config', join(dir, 'missing.json')], /does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('startup line, both ports answer, SIGTERM exits 0', async () => {
  const s = await serve(['serve', ...FAST, '--model', 'cli-model']);
  assert.equal(s.model, 'cli-model');
  assert.match(s.api, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(s.metrics, /^http:\/\/127\.0\.0\.1:\d+$/);
  const r = await fetch(`${s.api}/v1/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ model: 'cli-model', prompt: 'hi', max_tokens: 4 }),
  });
  assert.equal(r.status, 200);
  const health = await fetch(`${s.metrics}/health`);
  assert.equal(health.status, 200);
  const metrics = await (await fetch(`${s.metrics}/metrics`)).text();
  assert.match(metrics, /^trtllm_request_success_total\{model_name="cli-model",engine_type="trtllm",finished_reason="(stop|length)"\} 1$/m);
  s.child.kill('SIGTERM');
  const res = await s.done;
  assert.equal(res.code, 0);
  assert.match(res.stderr, /SIGTERM: shutting down \(in-flight requests get 5000 ms\)/, 'the default grace period, from the option table');
});

test('SIGTERM lets an in-flight stream finish within the grace period, then exits 0', async () => {
  const s = await serve(['serve', '--port', '0', '--http-port', '0', '--speedup-ratio', '20', '--output-length-mode', 'maxTokens']);
  const res = await fetch(`${s.api}/v1/completions`, {
    method: 'POST',
    body: JSON.stringify({ model: s.model, prompt: 'stream', max_tokens: 60, stream: true }),
  });
  const reader = res.body.getReader();
  await reader.read(); // the first event: the request is in flight
  s.child.kill('SIGTERM');
  let body = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    body += Buffer.from(value).toString();
  }
  assert.match(body, /"finish_reason":"length"/, 'completed normally');
  assert.match(body, /data: \[DONE\]\n\n$/);
  assert.equal((await s.done).code, 0);
});

test('SIGINT after the grace period cancels what is left and exits 0', async () => {
  const s = await serve(['serve', '--port', '0', '--http-port', '0', '--speedup-ratio', '5', '--output-length-mode', 'maxTokens', '--shutdown-grace-ms', '100']);
  const res = await fetch(`${s.api}/v1/completions`, {
    method: 'POST',
    body: JSON.stringify({ model: s.model, prompt: 'long', max_tokens: 5000, stream: true }),
  });
  const reader = res.body.getReader();
  await reader.read();
  s.child.kill('SIGINT');
  let body = '';
  for (;;) {
    const { value, done } = await reader.read().catch(() => ({ done: true }));
    if (done) break;
    body += Buffer.from(value).toString();
  }
  const out = await s.done;
  assert.equal(out.code, 0);
  assert.match(body, /"finish_reason":"cancelled"/, 'did not wait for the whole generation');
});
