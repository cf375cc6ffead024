// MetricsServer routes: GET/HEAD /metrics in both formats, /health and /live (Dynamo JSON, 503 then 200),
// 404, 405 with Allow, concurrent scrapes sharing one render, several registries, start/close.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { MetricsCollector } from '../dist/metrics/collector.js';
import { renderRegistries } from '../dist/metrics/exposition.js';
import { MetricsServer } from '../dist/server.js';
import { recordBatch } from './helpers/metrics-fixtures.mjs';

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

test('concurrent scrapes share one render in flight; a later scrape renders again', async () => {
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
  const c = new MetricsCollector({ model_name: 'm' }, { registry, profile: 'basic' });
  c.logRequestRecords(recordBatch([{ reason: 3 }]));
  const server = new MetricsServer({ registry, host: '127.0.0.1', port: 0 });
  const { url } = await server.start();
  try {
    const bodies = await Promise.all(Array.from({ length: 8 }, () => fetch(`${url}/metrics`).then((r) => r.text())));
    assert.equal(collects, 1);
    assert.equal(server.renders, 1);
    assert.ok(bodies.every((b) => b === bodies[0]));
    assert.match(bodies[0], /^slow_gauge 1$/m);
    // the two formats are rendered separately
    await Promise.all([fetch(`${url}/metrics`).then((r) => r.text()), fetch(`${url}/metrics`, { headers: { accept: 'application/openmetrics-text' } }).then((r) => r.text())]);
    assert.equal(server.renders, 3);
    const later = await (await fetch(`${url}/metrics`)).text();
    assert.match(later, /^slow_gauge 4$/m);
  } finally {
    await server.close();
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
  } finally {
    await a.close();
    await b.close();
  }
});
