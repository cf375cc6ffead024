// Shared fixtures of the worker tests (openai-*.test.mjs, cli-*.test.mjs): an in-process worker on ephemeral
// ports, an OpenAI client for it, raw HTTP helpers and a reader of the text exposition.
// Not a test file (run-tests.mjs only runs test/*.test.mjs).
import OpenAI from 'openai';
import { Worker } from '../../dist/worker.js';
import { parseExposition, sumSamples } from '../../dist/metrics/exposition-parse.js';

/** Starts a worker on 127.0.0.1 with ephemeral ports; `sim` options go to the simulator. */
export async function startWorker({ sim = {}, model = 'test-model', grace = 2000, ...rest } = {}) {
  const worker = await Worker.start({
    engine: {
      modelName: model,
      sim: { speedupRatio: 20, ...sim },
      executorConfig: { kvCacheConfig: { eventBufferMaxSize: 1024 } },
      bridge: { statsIntervalMs: 10 },
    },
    host: '127.0.0.1',
    metricsPort: 0,
    httpPort: 0,
    shutdownGraceMs: grace,
    ...rest,
  });
  const api = worker.apiAddress.url;
  const metrics = worker.metricsAddress.url;
  const client = new OpenAI({ baseURL: `${api}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 20_000 });
  return { worker, api, metrics, client, model, stop: () => worker.shutdown() };
}

/** POSTs a body (a string is sent as is) and returns { status, headers, json }. */
export async function post(url, body, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

export async function getJson(url, init) {
  const res = await fetch(url, init);
  return { status: res.status, json: await res.json() };
}

export async function scrape(metricsUrl) {
  const res = await fetch(`${metricsUrl}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/** Sum of the samples of `name` whose labels include `labels` (0 when there is none). */
export function sample(text, name, labels = {}) {
  const match = Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)]));
  return sumSamples(parseExposition(text), name, match);
}

/** Polls `fn` until it returns a truthy value (or throws after `ms`). */
export async function eventually(fn, ms = 5000, what = 'condition') {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Asserts an OpenAI error body and returns its `error` object. */
export function errorOf(res, assert, status) {
  assert.equal(res.status, status, `status of ${res.text}`);
  assert.ok(res.json && typeof res.json.error === 'object', `an OpenAI error body: ${res.text}`);
  const e = res.json.error;
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 0);
  assert.equal(typeof e.type, 'string');
  assert.ok('param' in e && 'code' in e, 'param and code keys');
  return e;
}
