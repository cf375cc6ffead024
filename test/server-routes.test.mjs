// MetricsServer routes: GET/HEAD /metrics in both formats, /health and /live (Dynamo JSON, 503 then 200),
// 404, 405 with Allow, concurrent scrapes sharing one render, several registries, start/close.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { MetricsCollector } from '../dist/metrics/collector.js';
import { renderRegistries } from '../dist/metrics/exposition.js';
import { MetricsServer } from '../dist/server.js';
import { recordBatch } from './helpers/metrics-fixtures.mjs';
import { eventually } from './helpers/worker-fixtures.mjs';

const PROM = 'text/plain; version=0.0.4; charset=utf-8';
const OM = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

describe('routes', () => {
  const collector = new MetricsCollector({ model_name: 'm' }, { profile: 'basic' });
  collector.logRequestRecords(recordBatch([{ enqueue: 1e9, scheduled: 1.2e9, firstToken: 1.5e9, lastToken: 3e9, output: 4 }]));
  const engine = { ready: false };
  const server = new MetricsServer({ registry: collector.registry, host: '127.0.0.1', port: 0, ready: () => engine.ready });
  let base;

  before(async () => {
    const addr = await server.start();
    assert.equal(addr.host, '127.0.0.1');
    assert.ok(addr.port > 0);
    assert.equal(addr.url, `http://127.0.0.1:${addr.port}`);
    assert.deepEqual(await server.start(), addr, 'start() again returns the same address');
    base = addr.url;
  });
  after(() => server.close());

  test('GET /metrics: Prometheus text 0.0.4 by default', async () => {
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), PROM);
    const body = await res.text();
    assert.equal(body, await collector.registry.metrics());
    assert.match(body, /^trtllm_request_success_total\{model_name="m",engine_type="trtllm",finished_reason="stop"\} 1$/m);
    const q = await fetch(`${base}/metrics?name[]=x`);
    assert.equal(q.status, 200);
    await q.text();
  });

  test('GET /metrics with Prometheus\' Accept header: OpenMetrics 1.0', async () => {
    for (const accept of [PROMETHEUS_ACCEPT, 'application/openmetrics-text']) {
      const res = await fetch(`${base}/metrics`, { headers: { accept } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), OM);
      const body = await res.text();
      assert.equal(body, await renderRegistries([collector.registry], 'openmetrics'));
      assert.ok(body.endsWith('\n# EOF\n'));
      assert.match(body, /^# TYPE trtllm_request_success counter$/m);
    }
    const plain = await fetch(`${base}/metrics`, { headers: { accept: 'text/plain;version=0.0.4' } });
    assert.equal(plain.headers.get('content-type'), PROM);
    await plain.text();
  });

  test('HEAD /metrics: headers of GET, no body', async () => {
    const identity = { 'accept-encoding': 'identity' };
    const get = await fetch(`${base}/metrics`, { headers: identity });
    const body = await get.text();
    const head = await fetch(`${base}/metrics`, { method: 'HEAD', headers: identity });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), PROM);
    assert.equal(Number(head.headers.get('content-length')), Buffer.byteLength(body));
    assert.equal(await head.text(), '');
    const headOm = await fetch(`${base}/metrics`, { method: 'HEAD', headers: { accept: PROMETHEUS_ACCEPT } });
    assert.equal(headOm.headers.get('content-type'), OM);
  });

  test('GET /metrics with Accept-Encoding: gzip: the same exposition, compressed', async () => {
    const { request } = await import('node:http');
    const { gunzipSync } = await import('node:zlib');
    const raw = (encoding) =>
      new Promise((resolve, reject) => {
        const req = request(`${base}/metrics`, { headers: { 'accept-encoding': encoding } }, (res) => {
          const parts = [];
          res.on('data', (d) => parts.push(d));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(parts) }));
        });
        req.on('error', reject);
        req.end();
      });
    const plain = await raw('identity');
    const zipped = await raw('gzip, deflate');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(zipped.headers.vary, 'Accept-Encoding');
    assert.ok(zipped.body.length < plain.body.length);
    const families = (text) => text.split('\n').filter((l) => l.startsWith('# TYPE')).join('\n');
    assert.equal(families(gunzipSync(zipped.body).toString('utf8')), families(plain.body.toString('utf8')));
    const refused = await raw('gzip;q=0, identity');
    assert.equal(refused.headers['content-encoding'], undefined);
  });

  test('/health and /live: 503 notready, then 200 ready, Dynamo JSON', async () => {
    for (const path of ['/health', '/live']) {
      engine.ready = false;
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 503);
      assert.match(res.headers.get('content-type'), /^application\/json/);
      const body = await res.json();
      assert.deepEqual(Object.keys(body).sort(), ['endpoints', 'status', 'uptime']);
      assert.equal(body.status, 'notready');
      assert.deepEqual(body.endpoints, { generate: 'notready' });
      assert.equal(typeof body.uptime, 'number');
      assert.ok(body.uptime >= 0);
      engine.ready = true;
      const ok = await fetch(`${base}${path}`);
      assert.equal(ok.status, 200);
      const okBody = await ok.json();
      assert.equal(okBody.status, 'ready');
      assert.deepEqual(okBody.endpoints, { generate: 'ready' });
      assert.ok(okBody.uptime >= body.uptime, 'uptime does not go back');
    }
  });

  test('HEAD /health has the status and no body', async () => {
    engine.ready = false;
    const res = await fetch(`${base}/health`, { method: 'HEAD' });
    assert.equal(res.status, 503);
    assert.equal(await res.text(), '');
    engine.ready = true;
  });

  test('404 for unknown paths, 405 with Allow for other methods', async () => {
    for (const path of ['/', '/metricsx', '/metrics/', '/healthz', '/favicon.ico']) {
      const res = await fetch(`${base}${path}`);
      assert.equal(res.status, 404, path);
      await res.text();
    }
    for (const [method, path] of [['POST', '/metrics'], ['PUT', '/health'], ['DELETE', '/live'], ['OPTIONS', '/metrics']]) {
      const res = await fetch(`${base}${path}`, { method });
      assert.equal(res.status, 405, `${method} ${path}`);
      assert.equal(res.headers.get('allow'), 'GET, HEAD');
      await res.text();
    }
  });
});

test('the health JSON shape is exact', async () => {
  const server = new MetricsServer({ registry: new Registry(), host: '127.0.0.1', port: 0, ready: { ready: true }, endpointName: 'generate' });
  const { url } = await server.start();
  try {
    const body = await (await fetch(`${url}/health`)).json();
    assert.equal(body.status, 'ready');
    assert.deepEqual(body.endpoints, { generate: 'ready' });
    delete body.uptime;
    assert.deepEqual(body, { status: 'ready', endpoints: { generate: 'ready' } });
  } finally {
    await server.close();
  }
});

test('an Engine-like object with a ready getter drives readiness; a throwing callback is not ready', async () => {
  let ready = false;
  const engine = {
    get ready() {
      return ready;
    },
  };
  const s1 = new MetricsServer({ registry: new Registry(), host: '127.0.0.1', port: 0, ready: engine });
  const { url } = await s1.start();
  try {
    assert.equal((await fetch(`${url}/health`)).status, 503);
    ready = true;
    assert.equal((await fetch(`${url}/health`)).status, 200);
  } finally {
    await s1.close();
  }
  const s2 = new MetricsServer({
    registry: new Registry(), ready: () => {
      throw new Error('boom');
    },
  });
  assert.equal(s2.health().status, 'notready');
});

test('scrapes that wait together share one render; none is answered with a render older than its arrival', async () => {
  const registry = new Registry();
  let collects = 0;
  new Gauge({
    name: 'slow_gauge', help: 'slow collect', registers: [registry],
    async collect() {
      collects++;
      await new Promise((r) => setTimeout(r, 50));
      this.set(collects);
    },
  });
  // A plain gauge is read when a render begins: it shows which renders began after a change.
  const marker = new Gauge({ name: 'marker', help: 'set by the test', registers: [registry] });
  marker.set(1);
  const server = new MetricsServer({ registry, host: '127.0.0.1', port: 0 });
  const { url } = await server.start();
  try {
    const bodies = await Promise.all(Array.from({ length: 8 }, () => fetch(`${url}/metrics`).then((r) => r.text())));
    // The first scrape asks at once; the others arrive while that render is in flight and share the next one.
    assert.ok(server.renders >= 1 && server.renders <= 2, `8 concurrent scrapes took ${server.renders} renders`);
    assert.equal(collects, server.renders);
    assert.equal(new Set(bodies).size, server.renders);

    // A scrape that arrives while a render is in flight is not answered with it: it sees the marker set after
    // that render began.
    const before = server.renders;
    const first = fetch(`${url}/metrics`).then((r) => r.text());
    while (server.renders === before) await new Promise((r) => setTimeout(r, 1));
    marker.set(2);
    const second = await (await fetch(`${url}/metrics`)).text();
    assert.match(await first, /^marker 1$/m);
    assert.match(second, /^marker 2$/m);
    assert.equal(server.renders, before + 2);

    // the two formats are rendered separately
    const n = server.renders;
    await Promise.all([fetch(`${url}/metrics`).then((r) => r.text()), fetch(`${url}/metrics`, { headers: { accept: 'application/openmetrics-text' } }).then((r) => r.text())]);
    assert.equal(server.renders, n + 2);
  } finally {
    await server.close();
  }
});

test('a scrape or probe that the main thread cannot answer in time gets a 503, and the port stays up', async () => {
  // A child process whose main thread is blocked for 1.5 s after it starts its server.
  const { spawn } = await import('node:child_process');
  const script = `
    const { Registry, Gauge } = require('prom-client');
    const { MetricsServer } = require(${JSON.stringify(new URL('../dist/server.js', import.meta.url).pathname)});
    const registry = new Registry();
    new Gauge({ name: 'g', help: 'h', registers: [registry] }).set(7);
    const server = new MetricsServer({ registry, host: '127.0.0.1', port: 0, answerTimeoutMs: 200 });
    server.start().then((a) => {
      console.log(a.url);
      process.stdin.once('data', () => {
        require('node:fs').writeSync(1, 'blocking\\n'); // synchronous: the parent sees it while we block
        const end = Date.now() + 1500;
        while (Date.now() < end);
        process.stdout.write('unblocked\\n');
      });
      process.stdin.once('end', () => server.close());
    });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'], cwd: new URL('..', import.meta.url).pathname });
  const lines = [];
  let wake;
  child.stdout.on('data', (d) => {
    lines.push(...String(d).trim().split('\n'));
    wake?.();
  });
  const line = async (i) => {
    while (lines.length <= i) await new Promise((r) => (wake = r));
    return lines[i];
  };
  try {
    const url = await line(0);
    assert.match(await (await fetch(`${url}/metrics`)).text(), /^g 7$/m);
    child.stdin.write('block\n');
    assert.equal(await line(1), 'blocking');
    const [metrics, health] = await Promise.all([fetch(`${url}/metrics`), fetch(`${url}/health`)]);
    assert.equal(lines.length, 2, 'answered while the main thread was still blocked (it has not printed "unblocked")');
    assert.equal(metrics.status, 503);
    assert.match(await metrics.text(), /main thread did not answer within 200 ms/);
    assert.equal(health.status, 503);
    assert.equal((await health.json()).status, 'notready');
    assert.equal(await line(2), 'unblocked');
    const again = await fetch(`${url}/metrics`);
    assert.equal(again.status, 200);
    assert.match(await again.text(), /^g 7$/m);
  } finally {
    child.stdin.end();
    await new Promise((r) => child.once('close', r));
  }
});

test('several registries are served in order; a failing collect is a 500', async () => {
  const r1 = new Registry();
  const r2 = new Registry();
  new Gauge({ name: 'first_gauge', help: 'a', registers: [r1] }).set(1);
  new Gauge({ name: 'second_gauge', help: 'b', registers: [r2] }).set(2);
  const server = new MetricsServer({ registry: [r1, r2], host: '127.0.0.1', port: 0 });
  const { url } = await server.start();
  try {
    const body = await (await fetch(`${url}/metrics`)).text();
    assert.equal(body, '# HELP first_gauge a\n# TYPE first_gauge gauge\nfirst_gauge 1\n\n# HELP second_gauge b\n# TYPE second_gauge gauge\nsecond_gauge 2\n');
    new Gauge({
      name: 'broken_gauge', help: 'c', registers: [r2],
      collect() {
        throw new Error('collect failed');
      },
    });
    const res = await fetch(`${url}/metrics`);
    assert.equal(res.status, 500);
    assert.match(await res.text(), /collect failed/);
  } finally {
    await server.close();
  }
});

test('close() stops the server and is idempotent; options are validated', async () => {
  const server = new MetricsServer({ registry: new Registry(), host: '127.0.0.1', port: 0 });
  const { url } = await server.start();
  const keepAlive = await fetch(`${url}/metrics`);
  await keepAlive.text();
  await server.close();
  await server.close();
  assert.equal(server.address, null);
  await assert.rejects(fetch(`${url}/metrics`));
  assert.throws(() => new MetricsServer({ port: 70000 }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT' });
  assert.throws(() => new MetricsServer({ port: 1.5 }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT' });
  assert.throws(() => new MetricsServer({ registry: {} }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT' });
  assert.throws(() => new MetricsServer({ ready: 5 }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT' });
});

test('a port in use rejects start()', async () => {
  const a = new MetricsServer({ registry: new Registry(), host: '127.0.0.1', port: 0 });
  const { port } = await a.start();
  const b = new MetricsServer({ registry: new Registry(), host: '127.0.0.1', port });
  try {
    await assert.rejects(b.start(), { code: 'EADDRINUSE' });
    // close() while a start that will fail is in flight settles too.
    const c = new MetricsServer({ registry: new Registry(), host: '127.0.0.1', port });
    const starting = c.start();
    await Promise.all([assert.rejects(starting, { code: 'EADDRINUSE' }), c.close()]);
    assert.equal(c.address, null);
  } finally {
    await a.close();
    await b.close();
  }
});

test('extra routes are answered by the main thread: answers, 404, HEAD, and a 500 for a broken route', async () => {
  const seen = [];
  const server = new MetricsServer({
    registry: new Registry(), host: '127.0.0.1', port: 0,
    extraRoutes: async (req) => {
      seen.push(`${req.method} ${req.url} ${req.path} ${req.headers['x-test'] ?? ''}`);
      if (req.path === '/hello') return { status: 200, headers: { 'Content-Type': 'text/plain', 'X-Route': 'yes' }, body: 'hi\n' };
      if (req.path === '/bytes') return { status: 201, body: new Uint8Array([1, 2, 3]) };
      if (req.path === '/lower') return { status: 200, headers: { 'content-length': '999', 'cache-control': 'max-age=5' }, body: 'ab' };
      if (req.path === '/throws') throw new Error('route exploded');
      if (req.path === '/bad-status') return { status: 999, body: '' };
      if (req.path === '/bad-body') return { status: 200, body: 42 };
      if (req.path === '/bad-header') return { status: 200, headers: { 'X-Bad': 'a\nb' }, body: 'x' };
      return undefined;
    },
  });
  const { url } = await server.start();
  try {
    const hello = await fetch(`${url}/hello?x=1`, { headers: { 'x-test': 't' } });
    assert.equal(hello.status, 200);
    assert.equal(hello.headers.get('x-route'), 'yes');
    assert.equal(hello.headers.get('content-length'), '3');
    assert.equal(hello.headers.get('cache-control'), 'no-store');
    assert.equal(await hello.text(), 'hi\n');
    assert.equal(seen[0], 'GET /hello?x=1 /hello t');
    const head = await fetch(`${url}/hello`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '3');
    assert.equal(await head.text(), '');
    const bytes = await fetch(`${url}/bytes`);
    assert.equal(bytes.status, 201);
    assert.deepEqual([...new Uint8Array(await bytes.arrayBuffer())], [1, 2, 3]);
    const lower = await fetch(`${url}/lower`);
    assert.equal(lower.headers.get('content-length'), '2', 'the real length, whatever the route said');
    assert.equal(lower.headers.get('cache-control'), 'max-age=5', "the route's own, not a second one");
    assert.equal(await lower.text(), 'ab');
    const missing = await fetch(`${url}/nothing-here`);
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), 'Not Found\n');
    for (const [path, message] of [
      ['/throws', /route exploded/],
      ['/bad-status', /extraRoutes answered \/bad-status with status 999/],
      ['/bad-body', /neither a string nor bytes/],
      ['/bad-header', /invalid status or headers/],
    ]) {
      const res = await fetch(`${url}${path}`);
      assert.equal(res.status, 500, path);
      const text = await res.text();
      assert.match(text, message);
      assert.doesNotMatch(text, /at .*\.js:\d+/, 'no stack trace');
    }
    // The port keeps serving after broken routes.
    assert.equal((await fetch(`${url}/metrics`)).status, 200);
  } finally {
    await server.close();
  }
  assert.throws(() => new MetricsServer({ extraRoutes: 'x' }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT', message: /extraRoutes must be a function/ });
  assert.throws(() => new MetricsServer({ answerTimeoutMs: 0 }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT', message: /answerTimeoutMs/ });
  assert.throws(() => new MetricsServer({ auth: { token: '' } }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT', message: /auth.token/ });
});

test('maxRenderAgeMs: a scrape may take the newest render within the bound, which a background refresh keeps young', async () => {
  const registry = new Registry();
  const marker = new Gauge({ name: 'marker', help: 'set by the test', registers: [registry] });
  // Render ages are measured on a manual clock the test moves: no waiting for real time to pass.
  const clock = new Float64Array(new SharedArrayBuffer(8));
  clock[0] = 1000;
  const server = new MetricsServer({ registry, host: '127.0.0.1', port: 0, maxRenderAgeMs: 2000, manualClock: clock });
  const { url } = await server.start();
  const scrape = async () => /^marker (\d+)$/m.exec(await (await fetch(`${url}/metrics`)).text())[1];
  try {
    marker.set(1);
    assert.equal(await scrape(), '1', 'nothing cached yet: a fresh render');
    assert.equal(server.renders, 1);
    marker.set(2);
    assert.equal(await scrape(), '1', 'within 2 s of the newest render: answered with it, without the main thread');
    assert.equal(server.renders, 1);
    clock[0] += 1100;
    assert.equal(await scrape(), '1', 'still within the bound, past half of it: answered with it, and a refresh starts');
    // renders counts a render when the main thread starts it; the thread has it once the answer arrives.
    // Until then scrapes still get the older one (and start no second refresh).
    assert.equal(await eventually(async () => ((await scrape()) === '2' ? '2' : null), 10_000, 'the refreshed render'), '2');
    assert.equal(server.renders, 2);
    marker.set(3);
    clock[0] += 2100;
    assert.equal(await scrape(), '3', 'the newest render is too old: a fresh one');
    assert.equal(server.renders, 3);
    // Each format keeps its own.
    const om = await (await fetch(`${url}/metrics`, { headers: { accept: 'application/openmetrics-text' } })).text();
    assert.match(om, /^marker 3$/m);
    assert.equal(server.renders, 4);
  } finally {
    await server.close();
  }
  assert.throws(() => new MetricsServer({ maxRenderAgeMs: -1 }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT', message: /maxRenderAgeMs/ });
  assert.throws(() => new MetricsServer({ maxRenderAgeMs: 60_001 }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT', message: /maxRenderAgeMs/ });
  assert.throws(() => new MetricsServer({ manualClock: new Float64Array(1) }), { code: 'ERR_TRTLLM_INVALID_ARGUMENT', message: /SharedArrayBuffer/ });
});
