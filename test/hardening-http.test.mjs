// The HTTP surface of both servers (metrics/health and the OpenAI API): body and header size limits, header /
// request / keep-alive timeouts, the connection cap, bearer-token and basic auth (options, CLI flags and env),
// the bind address, and no stack traces in answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnServe } from './helpers/serve-process.mjs';
import net from 'node:net';
import OpenAI from 'openai';
import { Gauge, Registry } from 'prom-client';
import { Worker } from '../dist/worker.js';
import { MetricsServer } from '../dist/server.js';
import { ApiServer } from '../dist/openai/server.js';
import { ByteTokenizer } from '../dist/tokenizer.js';
import { rawRequest } from './helpers/fuzz-properties.mjs';
import { eventually } from './helpers/worker-fixtures.mjs';

const TOKEN = 'test-token-123';
const LIMITS = { maxHeaderBytes: 4096, headersTimeoutMs: 600, requestTimeoutMs: 1200, keepAliveTimeoutMs: 400, maxConnections: 8 };

async function startWorker({ sim = {}, ...extra } = {}) {
  const worker = await Worker.start({
    engine: { modelName: 'http-model', sim: { speedupRatio: 20, outputLengthMode: 'maxTokens', ...sim }, bridge: { statsIntervalMs: 10 } },
    host: '127.0.0.1',
    metricsPort: 0,
    httpPort: 0,
    shutdownGraceMs: 100,
    limits: { ...LIMITS, maxBodyBytes: 2048 },
    ...extra,
  });
  const addr = (u) => ({ host: '127.0.0.1', port: Number(new URL(u).port), url: u });
  return { worker, api: addr(worker.apiAddress.url), metrics: addr(worker.metricsAddress.url) };
}

const req = (target, head, body = '') => rawRequest(target, Buffer.from(`${head}\r\nHost: x\r\nConnection: close\r\n${body ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : ''}\r\n${body}`, 'latin1'));

/**
 * Opens a socket, writes `bytes` and resolves with what the server sent and when it closed (ms). `waitMs` only
 * bounds a failing test (a server that never closes): the assertions are on order and lower bounds, which a
 * loaded machine cannot break.
 */
function slowClient(target, bytes, { waitMs = 30_000 } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const s = net.connect(target.port, target.host, () => s.write(bytes));
    let data = '';
    s.on('data', (d) => (data += d));
    s.on('error', () => undefined);
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ data, ms: Date.now() - t0, open: true });
    }, waitMs);
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ data, ms: Date.now() - t0, open: false });
    });
  });
}

test('body size limits: the API answers 413 over maxBodyBytes, the metrics server over its 16 KiB', async () => {
  const { worker, api, metrics } = await startWorker();
  try {
    const big = JSON.stringify({ model: 'http-model', prompt: 'x'.repeat(3000) });
    const r = await req(api, 'POST /v1/completions HTTP/1.1', big);
    assert.equal(r.status, 413);
    assert.equal(JSON.parse(r.body).error.code, 'payload_too_large');
    assert.equal(r.headers.connection, 'close');
    const m = await req(metrics, 'GET /metrics HTTP/1.1', 'y'.repeat(17 * 1024));
    assert.equal(m.status, 413);
    // A chunked body with no length: read and discarded up to the limit, then the connection is dropped.
    const chunked = await slowClient(metrics, `GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${'4000\r\n' + 'z'.repeat(0x4000) + '\r\n'}${'4000\r\n' + 'z'.repeat(0x4000) + '\r\n'}`, { waitMs: 3000 });
    assert.equal(chunked.open, false, 'the connection was closed');
  } finally {
    await worker.shutdown();
  }
});

test('header size limit: 431 on both servers', async () => {
  const { worker, api, metrics } = await startWorker();
  try {
    for (const target of [api, metrics]) {
      const r = await rawRequest(target, Buffer.from(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(5000)}\r\n\r\n`));
      assert.equal(r.status, 431, JSON.stringify(r));
      assert.equal(r.body, '');
    }
  } finally {
    await worker.shutdown();
  }
});

test('headers timeout (slowloris) and request timeout (slow body): 408 and the connection closed, on both servers', async () => {
  const { worker, api, metrics } = await startWorker();
  try {
    for (const target of [api, metrics]) {
      const slowHeaders = await slowClient(target, 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      assert.equal(slowHeaders.open, false);
      assert.match(slowHeaders.data, /^HTTP\/1\.1 408/);
      assert.ok(slowHeaders.ms >= 500, `closed after ${slowHeaders.ms} ms: not before the headers timeout (600 ms)`);
    }
    const slowBody = await slowClient(api, 'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"model":');
    assert.equal(slowBody.open, false);
    assert.ok(slowBody.ms >= 1000, `closed after ${slowBody.ms} ms: not before the request timeout (1200 ms)`);
  } finally {
    await worker.shutdown();
  }
});

test('the request timeout does not cut a response: an SSE stream outlives it', async () => {
  const { worker, api } = await startWorker({ auth: { token: TOKEN }, sim: { speedupRatio: 1 } });
  try {
    const t0 = Date.now();
    const res = await fetch(`${api.url}/v1/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ model: 'http-model', prompt: 'hi', max_tokens: 300, stream: true }),
    });
    const text = await res.text();
    assert.ok(Date.now() - t0 > LIMITS.requestTimeoutMs, `the stream ran ${Date.now() - t0} ms`);
    assert.match(text, /"finish_reason":"length"/);
    assert.match(text, /data: \[DONE\]\n\n$/);
  } finally {
    await worker.shutdown();
  }
});

test('keep-alive timeout: an idle keep-alive connection is closed', async () => {
  const { worker, metrics } = await startWorker();
  try {
    const r = await slowClient(metrics, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(r.data, /^HTTP\/1\.1 200/);
    assert.equal(r.open, false);
    assert.ok(r.ms >= 350, `closed after ${r.ms} ms: not before the keep-alive timeout (400 ms)`);
  } finally {
    await worker.shutdown();
  }
});

test('connection cap: connections beyond maxConnections are closed at once; others keep working', async () => {
  // Long idle timeouts: the held connections stay open until the test closes them.
  const { worker, api, metrics } = await startWorker({ limits: { ...LIMITS, keepAliveTimeoutMs: 600_000, headersTimeoutMs: 600_000, requestTimeoutMs: 0 } });
  try {
    for (const target of [api, metrics]) {
      // Each held connection has been answered once (keep-alive): the server has accepted and counts it.
      const held = await Promise.all(
        Array.from({ length: LIMITS.maxConnections }, () => new Promise((resolve) => {
          const s = net.connect(target.port, target.host, () => s.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'));
          s.once('data', () => resolve(s));
        })),
      );
      const extra = await slowClient(target, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      assert.equal(extra.open, false, 'the connection over the cap was closed');
      assert.equal(extra.data, '', 'without an answer');
      held[0].destroy();
      // Room again once the server has seen the close: retry until a connection is answered.
      const again = await eventually(async () => {
        const r = await req(target, 'GET /health HTTP/1.1').catch(() => null);
        return r?.status === 200 ? r : null;
      }, 30_000, 'room after one held connection closed');
      assert.equal(again.status, 200, 'room again after one closed');
      for (const s of held) s.destroy();
    }
  } finally {
    await worker.shutdown();
  }
});

test('bearer token: /metrics and the API need it, /health and /live do not; 401 with a challenge', async () => {
  const { worker, api, metrics } = await startWorker({ auth: { token: TOKEN } });
  try {
    const m401 = await req(metrics, 'GET /metrics HTTP/1.1');
    assert.equal(m401.status, 401);
    assert.match(m401.headers['www-authenticate'], /^Bearer realm=/);
    assert.equal((await req(metrics, 'GET /metrics HTTP/1.1\r\nAuthorization: Bearer wrong')).status, 401);
    assert.equal((await req(metrics, `GET /metrics HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}`)).status, 200);
    assert.equal((await req(metrics, `GET /metrics HTTP/1.1\r\nAuthorization: bearer ${TOKEN}`)).status, 200, 'the scheme is case-insensitive');
    assert.equal((await req(metrics, 'GET /health HTTP/1.1')).status, 200);
    assert.equal((await req(metrics, 'GET /live HTTP/1.1')).status, 200);
    assert.equal((await req(api, 'GET /health HTTP/1.1')).status, 200);
    for (const head of ['GET /v1/models HTTP/1.1', 'GET /stats HTTP/1.1', 'GET /perf_metrics HTTP/1.1', 'POST /kv_cache_events HTTP/1.1', 'GET /nope HTTP/1.1']) {
      const r = await req(api, head);
      assert.equal(r.status, 401, head);
      assert.equal(JSON.parse(r.body).error.code, 'invalid_api_key');
    }
    const noKey = new OpenAI({ baseURL: `${api.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(noKey.models.list(), (err) => err.status === 401);
    const client = new OpenAI({ baseURL: `${api.url}/v1`, apiKey: TOKEN, maxRetries: 0 });
    const c = await client.completions.create({ model: 'http-model', prompt: 'hi', max_tokens: 3 });
    assert.equal(c.choices[0].finish_reason, 'length');
    const text = (await req(metrics, `GET /metrics HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}`)).body;
    assert.match(text, /^trtllm_request_error_total\{[^}]*http_code="401"\} [1-9]/m, '401s are counted');
  } finally {
    await worker.shutdown();
  }
});

test('basic auth (and both kinds at once)', async () => {
  const { worker, api, metrics } = await startWorker({ auth: { basic: 'prom:s3cret', token: TOKEN } });
  try {
    const basic = (s) => `Authorization: Basic ${Buffer.from(s).toString('base64')}`;
    const challenge = (await req(metrics, 'GET /metrics HTTP/1.1')).headers['www-authenticate'];
    assert.match(challenge, /Bearer realm=.*Basic realm=/);
    assert.equal((await req(metrics, `GET /metrics HTTP/1.1\r\n${basic('prom:s3cret')}`)).status, 200);
    assert.equal((await req(metrics, `GET /metrics HTTP/1.1\r\n${basic('prom:wrong')}`)).status, 401);
    assert.equal((await req(metrics, `GET /metrics HTTP/1.1\r\n${basic('prom')}`)).status, 401);
    assert.equal((await req(metrics, 'GET /metrics HTTP/1.1\r\nAuthorization: Basic !!!notbase64')).status, 401);
    assert.equal((await req(api, `GET /v1/models HTTP/1.1\r\n${basic('prom:s3cret')}`)).status, 200);
    assert.equal((await req(api, `GET /v1/models HTTP/1.1\r\nAuthorization: Bearer ${TOKEN}`)).status, 200);
  } finally {
    await worker.shutdown();
  }
  assert.throws(() => new MetricsServer({ auth: { basic: 'no-colon' } }), /user:password/);
  assert.throws(() => new MetricsServer({ auth: { token: 'has space' } }), /visible ASCII/);
  assert.throws(() => new MetricsServer({ limits: { maxConnections: -1 } }), /maxConnections/);
  assert.throws(() => new MetricsServer({ limits: { bogus: 1 } }), /bogus/);
});

test('no stack traces: a failing render and a throwing engine answer a bare 500', async () => {
  const registry = new Registry();
  new Gauge({ name: 'broken', help: 'x', registers: [registry], collect() { throw new Error('collect failed'); } });
  const server = new MetricsServer({ registry, host: '127.0.0.1', port: 0 });
  const a = await server.start();
  try {
    const r = await req({ host: '127.0.0.1', port: a.port }, 'GET /metrics HTTP/1.1');
    assert.equal(r.status, 500);
    assert.equal(r.body, 'metrics rendering failed: collect failed\n', 'the message, not the stack');
  } finally {
    await server.close();
  }
  const apiServer = new ApiServer({
    tokenizer: new ByteTokenizer(),
    modelName: 'm',
    engine: { ready: true, generate() { throw new TypeError('boom at /srv/engine.js:42:7'); }, getLatestIterationStats: async () => [], getLatestKvCacheEvents: async () => [] },
  });
  const addr = await apiServer.listen(0, '127.0.0.1');
  try {
    const r = await req({ host: '127.0.0.1', port: addr.port }, 'POST /v1/completions HTTP/1.1', JSON.stringify({ model: 'm', prompt: 'x' }));
    assert.equal(r.status, 500);
    assert.deepEqual(JSON.parse(r.body).error, { message: 'Internal server error', type: 'server_error', param: null, code: 'internal_error' });
  } finally {
    apiServer.close();
  }
});

/** Runs the CLI until its startup line (or exit): { child, api, metrics, done } or { exited }. */
function cli(args, env = {}) {
  return spawnServe(args, { env });
}

test('CLI: --auth-token, TRTLLM_METRICS_BASIC_AUTH, limit flags, --host; bad values exit 2', async () => {
  const s = await cli(['--port', '0', '--http-port', '0', '--auth-token', TOKEN, '--max-connections', '4', '--max-body-bytes', '100', '--headers-timeout-ms', '500'], { TRTLLM_METRICS_BASIC_AUTH: 'u:p' });
  try {
    assert.equal((await fetch(`${s.metrics}/metrics`)).status, 401);
    assert.equal((await fetch(`${s.metrics}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status, 200);
    assert.equal((await fetch(`${s.metrics}/metrics`, { headers: { Authorization: `Basic ${Buffer.from('u:p').toString('base64')}` } })).status, 200);
    const r = await fetch(`${s.api}/v1/completions`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ model: 'sim-llama', prompt: 'x'.repeat(200) }) });
    assert.equal(r.status, 413);
    assert.match(s.api, /^http:\/\/127\.0\.0\.1:/, 'binds to loopback by default');
  } finally {
    s.child.kill('SIGTERM');
    assert.equal((await s.done).code, 0);
  }
  for (const [args, pattern] of [
    [['--auth-token', 'two words'], /--auth-token/],
    [['--basic-auth', 'nocolon'], /--basic-auth/],
    [['--max-connections', '-1'], /--max-connections/],
    [['--max-header-bytes', '10'], /--max-header-bytes/],
    [['--host', '203.0.113.7'], /--host 203\.0\.113\.7 is not an address of this machine/],
  ]) {
    const r = await cli(['--port', '0', '--http-port', '0', ...args]);
    assert.ok(r.exited, `${args.join(' ')} should not start`);
    assert.equal(r.exited.code, 2, `${args.join(' ')}: ${r.exited.stderr}`);
    assert.match(r.exited.stderr, pattern);
  }
});
