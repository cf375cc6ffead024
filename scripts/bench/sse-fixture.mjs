#!/usr/bin/env node
// A zero-latency streaming server for measuring the benchmark harness itself (scripts/bench/harness-ceiling.mjs):
// POST /v1/completions or /v1/chat/completions answers at once with `max_tokens` SSE events of one output
// each (then a usage event and [DONE]), written back to back with no model in between. It notes, per
// x-request-id, when the request arrived and when its first and last events were written, on its own
// monotonic clock (process.hrtime: CLOCK_MONOTONIC), so the harness's TTFT can be compared with the
// fixture's own: GET /fixture/log returns them (and clears them). GET /v1/models lists one model.
//
// --itl-ms X spaces a stream's events X ms apart (timers) instead of writing them back to back.
//
// Usage: node scripts/bench/sse-fixture.mjs [--port N] [--host H] [--itl-ms X]   (prints "listening URL" when ready)
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' }, 'itl-ms': { type: 'string', default: '0' } },
});
const itlMs = Number(values['itl-ms']);
const MODEL = 'fixture';
const nowNs = () => process.hrtime.bigint();

/** x-request-id -> [arrived, first event, last event] (ns, fixture clock). */
let log = new Map();

const completionEvent = Buffer.from(`data: ${JSON.stringify({ id: 'cmpl-f', object: 'text_completion', model: MODEL, choices: [{ index: 0, text: 'x', finish_reason: null }] })}\n\n`);
const chatEvent = Buffer.from(`data: ${JSON.stringify({ id: 'chat-f', object: 'chat.completion.chunk', model: MODEL, choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] })}\n\n`);
const done = Buffer.from('data: [DONE]\n\n');

function finalEvents(chat, promptTokens, n) {
  const choice = chat ? { index: 0, delta: {}, finish_reason: 'length' } : { index: 0, text: '', finish_reason: 'length' };
  const usage = { prompt_tokens: promptTokens, completion_tokens: n, total_tokens: promptTokens + n, prompt_tokens_details: { cached_tokens: 0 } };
  return Buffer.from(`data: ${JSON.stringify({ model: MODEL, choices: [choice] })}\n\ndata: ${JSON.stringify({ model: MODEL, choices: [], usage })}\n\n`);
}

const server = http.createServer((req, res) => {
  const arrived = nowNs();
  if (req.method === 'GET' && req.url === '/v1/models') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: MODEL, object: 'model' }] }));
    return;
  }
  if (req.method === 'GET' && req.url === '/fixture/log') {
    const out = {};
    for (const [id, t] of log) out[id] = t.map(String);
    log = new Map();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
    return;
  }
  if (req.method !== 'POST' || (req.url !== '/v1/completions' && req.url !== '/v1/chat/completions')) {
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
    return;
  }
  const parts = [];
  req.on('data', (c) => parts.push(c));
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(parts).toString('utf8'));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"bad JSON"}}');
      return;
    }
    const chat = req.url === '/v1/chat/completions';
    const n = Math.max(1, Number(body.max_tokens ?? body.max_completion_tokens ?? 16) | 0);
    const prompt = Array.isArray(body.prompt) ? body.prompt.length : String(body.prompt ?? body.messages?.[0]?.content ?? '').length;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const event = chat ? chatEvent : completionEvent;
    const id = req.headers['x-request-id'];
    const finish = (first, last) => {
      res.write(finalEvents(chat, prompt, n));
      res.end(done);
      if (typeof id === 'string') log.set(id, [arrived, first, last]);
    };
    const first = nowNs();
    if (itlMs <= 0) {
      for (let k = 0; k < n; k++) res.write(event);
      finish(first, nowNs());
      return;
    }
    res.write(event);
    let sent = 1;
    const next = () => {
      if (res.destroyed) return;
      if (sent === n) return finish(first, nowNs());
      res.write(event);
      sent++;
      setTimeout(next, itlMs);
    };
    setTimeout(next, itlMs);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(values.port), values.host, () => {
  const a = server.address();
  console.log(`listening http://${values.host}:${a.port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
