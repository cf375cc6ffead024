// The streaming path (issue 19): every SSE event is byte for byte what JSON.stringify of its chunk gives (the
// encoder before events were pre-serialized), the events of one delivery go out in one write per response,
// a client that reads nothing for a while loses nothing (with the slow-reader bound off), and --stream-interval N
// sends every N tokens.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import fc from 'fast-check';
import { startWorker, eventually } from './helpers/worker-fixtures.mjs';
import { SseWriter } from '../dist/openai/sse.js';
import { DeltaEvents } from '../dist/openai/sse-events.js';
import { newResponseMeta, streamChunk } from '../dist/openai/responses.js';

let w;
before(async () => {
  // A vocabulary barely above the byte range: most sampled ids are raw bytes (the byte tokenizer's ids 3..258).
  // No slow-reader bound here: this file proves that backpressure alone loses nothing (the bound that cuts a client
  // that stops reading is on by default, and test/slow-readers.test.mjs proves it).
  w = await startWorker({ sim: { virtualClock: true, maxSeqLen: 65536, vocabSize: 300 }, slowReaders: { maxUnsentBytes: 0, stallTimeoutMs: 0 } });
});
after(async () => {
  await w?.stop();
});

/** The raw body of a streamed request (HTTP/1.1 chunked framing removed by fetch). */
async function rawStream(url, body) {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  return res.text();
}

/** Splits an SSE body into its events, checking each is `data: <JSON.stringify of its payload>\n\n`. */
function eventsOf(body) {
  assert.ok(body.endsWith('data: [DONE]\n\n'), 'the stream ends with [DONE]');
  const events = body.slice(0, -'data: [DONE]\n\n'.length).split('\n\n');
  assert.equal(events.pop(), '', 'every event ends with a blank line');
  return events.map((e) => {
    assert.ok(e.startsWith('data: '), e);
    const payload = JSON.parse(e.slice(6));
    assert.equal(e, `data: ${JSON.stringify(payload)}`, 'the bytes JSON.stringify gives for this chunk');
    return payload;
  });
}

test('streamed events are byte for byte JSON.stringify of their chunks: completions and chat, every kind of text', async () => {
  // The byte tokenizer turns sampled ids 3..258 into raw bytes: control characters, quotes, backslashes,
  // multi-byte characters and U+FFFD all come out, so every escaping path is taken.
  for (const [path, body] of [
    ['/v1/completions', { model: w.model, prompt: 'Quote " and \\ é 🙂', max_tokens: 200, seed: 5, ignore_eos: true, stream: true, echo: true }],
    ['/v1/completions', { model: w.model, prompt: ['one', 'two'], max_tokens: 50, seed: 6, ignore_eos: true, stream: true, stream_options: { include_usage: true } }],
    ['/v1/chat/completions', { model: w.model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 200, seed: 7, ignore_eos: true, stream: true, stream_options: { include_usage: true } }],
  ]) {
    const events = eventsOf(await rawStream(`${w.api}${path}`, body));
    const texts = events.flatMap((e) => e.choices.map((c) => c.text ?? c.delta?.content ?? ''));
    assert.ok(texts.some((t) => /["\\\n\u0000-\u001f]/.test(t)), 'some text needed JSON escapes');
    assert.ok(texts.some((t) => /[^\u0000-\u007f]/.test(t)), 'some text was not ASCII');
    const ids = new Set(events.map((e) => e.id));
    assert.equal(ids.size, 1, 'one id per response');
  }
});

test('the streamed text is the non-streamed text, whatever the stream interval; an interval of N sends N tokens per event', async () => {
  const req = { model: w.model, prompt: 'interval', max_tokens: 120, seed: 11, ignore_eos: true };
  const whole = (await w.client.completions.create(req)).choices[0].text;
  const every = eventsOf(await rawStream(`${w.api}/v1/completions`, { ...req, stream: true }));
  assert.equal(every.map((e) => e.choices[0].text).join(''), whole);
  const w8 = await startWorker({ streamInterval: 8, sim: { speedupRatio: 1000, vocabSize: 300 } });
  try {
    const events = eventsOf(await rawStream(`${w8.api}/v1/completions`, { ...req, model: w8.model, stream: true }));
    assert.equal(events.map((e) => e.choices[0].text).join(''), whole, 'nothing lost or doubled');
    const texts = events.filter((e) => e.choices[0].finish_reason === null);
    // vLLM's rule: the first text at once, then every 8 tokens (a token that completes no character yet waits).
    assert.ok(texts.length <= 1 + Math.ceil(119 / 8), `${texts.length} text events for 120 tokens`);
    assert.ok(texts.length < every.length / 4, `${texts.length} events with --stream-interval 8, ${every.length} without`);
    assert.equal(events.at(-1).choices[0].finish_reason, 'length');
  } finally {
    await w8.stop();
  }
});

test('a client that reads nothing until its request has finished still gets every token, in order', async () => {
  const req = { model: w.model, prompt: 'slow reader', max_tokens: 30000, seed: 13, ignore_eos: true };
  const whole = (await w.client.completions.create(req)).choices[0].text;
  const body = JSON.stringify({ ...req, stream: true });
  const { port } = new URL(w.api);
  const sock = net.connect(Number(port), '127.0.0.1');
  sock.pause();
  await new Promise((r) => sock.once('connect', r));
  let finished = 0;
  const off = w.worker.engine.onRequestFinished((batch) => (finished += batch.count));
  sock.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  // ~4.7 MB of events: more than the socket buffers hold, so the writer waits for 'drain' and keeps the rest.
  await eventually(() => finished === 1, 60_000, 'the engine to finish the request');
  off();
  const parts = [];
  let tail = '';
  await new Promise((resolve, reject) => {
    sock.on('data', (d) => {
      parts.push(d);
      tail = (tail + d.toString('latin1')).slice(-5);
      if (tail === '0\r\n\r\n') resolve();
    });
    sock.on('close', () => reject(new Error('the worker closed the connection before the end of the stream')));
    sock.resume();
  });
  sock.destroy();
  const raw = Buffer.concat(parts);
  const head = raw.indexOf('\r\n\r\n');
  assert.match(raw.toString('latin1', 0, head), /^HTTP\/1\.1 200/);
  // Undo the chunked framing, then read the events.
  const data = [];
  for (let at = head + 4; ; ) {
    const nl = raw.indexOf('\r\n', at);
    const size = parseInt(raw.toString('latin1', at, nl), 16);
    if (size === 0) break;
    data.push(raw.subarray(nl + 2, nl + 2 + size));
    at = nl + 2 + size + 2;
  }
  const sse = Buffer.concat(data).toString('utf8');
  const events = eventsOf(sse);
  assert.equal(events.map((e) => e.choices[0].text).join(''), whole);
  assert.ok(sse.length > 4_000_000, `${sse.length} bytes of events waited for the reader`);
});

/** A ServerResponse stand-in: records writes; write() answers `writable` and 'drain' can be emitted. */
function fakeResponse() {
  const res = new EventEmitter();
  Object.assign(res, {
    destroyed: false,
    writableEnded: false,
    writable: true,
    headers: null,
    writes: [],
    writeHead(status, headers) {
      this.headers = { status, ...headers };
    },
    write(buf) {
      this.writes.push(Buffer.from(buf).toString('utf8'));
      return this.writable;
    },
    end() {
      this.writableEnded = true;
      this.emit('finish');
    },
  });
  return res;
}

test('SseWriter: the events of one turn go out in one write after it; backpressure holds them, in order, until drain', async () => {
  const res = fakeResponse();
  const sse = new SseWriter(res);
  sse.send({ a: 1 });
  sse.event('data: two\n\n');
  assert.equal(res.writes.length, 0, 'nothing is written while the turn runs');
  assert.equal(res.headers.status, 200, 'the headers are committed with the first event');
  await Promise.resolve();
  assert.deepEqual(res.writes, ['data: {"a":1}\n\ndata: two\n\n']);
  res.writable = false;
  sse.event('data: 3\n\n');
  await Promise.resolve();
  assert.equal(res.writes.length, 2, 'written, and the socket said it is full');
  sse.event('data: 4\n\n');
  sse.event('data: 5\n\n');
  await new Promise((r) => setImmediate(r));
  assert.equal(res.writes.length, 2, 'nothing more until drain');
  assert.equal(sse.pendingBytes, 18);
  res.writable = true;
  const ended = sse.end();
  res.emit('drain');
  await ended;
  assert.deepEqual(res.writes.slice(2), ['data: 4\n\ndata: 5\n\ndata: [DONE]\n\n']);
  assert.equal(res.writableEnded, true);
  assert.equal(sse.bytes, res.writes.join('').length);
  sse.event('data: late\n\n');
  await Promise.resolve();
  assert.equal(res.writes.length, 3, 'nothing after the end');
});

test('SseWriter.textEvent writes the bytes of head + JSON.stringify(text) + tail for any string', () => {
  const meta = newResponseMeta('chat', 'model "x" é');
  const events = new DeltaEvents('chat', meta, 2, true);
  fc.assert(
    fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), (text) => {
      const res = fakeResponse();
      const sse = new SseWriter(res);
      sse.send({ first: true });
      events.send(sse, text);
      sse.flush();
      const want = `data: {"first":true}\n\ndata: ${JSON.stringify(streamChunk('chat', meta, text, null, { includeUsage: true, index: 2 }))}\n\n`;
      assert.equal(res.writes.join(''), want);
    }),
    { numRuns: 2000 },
  );
});
