// Slow readers cannot hurt others (lib/openai/slow-readers.ts): the guard's rules on a fake response (the bound on
// unsent output, wherever it waits; the stall timeout; progress resets it), then end to end on a worker: a client
// that stops reading has its request cancelled and its connection closed, counted by reason, while a normal
// stream beside it completes; a plain response the client never takes is cut after the stall timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { createRequire } from 'node:module';
import { eventually, sample, scrape, startWorker } from './helpers/worker-fixtures.mjs';

const require = createRequire(import.meta.url);
const { SlowReaders } = require('../dist/openai/slow-readers.js');

/** A response as the guard sees it: what Node buffers, and destroy(). */
class FakeResponse extends EventEmitter {
  writableLength = 0;
  destroyed = false;
  socket = null;
  destroy() {
    this.destroyed = true;
    this.emit('close');
  }
}

function setup(policy) {
  const clock = { now: 0 };
  const kernel = { bytes: 0, reads: 0 };
  const readers = new SlowReaders(policy, () => clock.now, () => {
    kernel.reads++;
    return kernel.bytes;
  });
  const res = new FakeResponse();
  const cuts = [];
  const guard = readers.watch(res, { bounded: true, onCut: (reason) => cuts.push(reason) });
  return { clock, kernel, readers, res, cuts, guard };
}

/** Past the guard's verdict: one turn of the event loop and its I/O phase. */
const nextTurn = () => new Promise((r) => setImmediate(() => setImmediate(() => setImmediate(r))));

test('the bound counts unsent output wherever it waits; the verdict waits one turn and reads the kernel afresh', async () => {
  const { kernel, readers, res, cuts, guard } = setup({ maxUnsentBytes: 10_000, stallTimeoutMs: 0 });
  guard.wrote(8000);
  res.writableLength = 8000;
  guard.check();
  await nextTurn();
  assert.deepEqual(cuts, []);
  // The kernel's queue is read once per 16 KiB written; a check uses the last reading.
  guard.wrote(20_000);
  res.writableLength = 2000;
  kernel.bytes = 5000;
  guard.check();
  assert.equal(kernel.reads, 1);
  await nextTurn();
  assert.deepEqual(cuts, []);
  res.writableLength = 6000; // 6000 + 5000 > 10000, and still so after the client's turn: cut
  guard.check();
  guard.check();
  assert.deepEqual(cuts, [], 'not within the turn that wrote the burst');
  await nextTurn();
  assert.equal(kernel.reads, 2, 'one fresh read for the verdict');
  assert.deepEqual(cuts, ['unsent_bytes']);
  assert.equal(res.destroyed, true);
  assert.deepEqual(readers.cut, { unsent_bytes: 1, stall: 0 });
  guard.check();
  await nextTurn();
  assert.deepEqual(cuts, ['unsent_bytes'], 'once');
  assert.equal(readers.guards.size, 0);
});

test('a burst the client takes by the next turn is not cut', async () => {
  const { kernel, res, cuts, guard } = setup({ maxUnsentBytes: 10_000, stallTimeoutMs: 0 });
  guard.wrote(20_000);
  kernel.bytes = 9000;
  guard.check();
  res.writableLength = 2000;
  guard.check();
  kernel.bytes = 0; // the client read during the I/O phase
  await nextTurn();
  assert.deepEqual(cuts, []);
});

test('the writer\'s own queue counts too; an unbounded guard (a plain response) only times out', async () => {
  const { readers } = setup({ maxUnsentBytes: 1000, stallTimeoutMs: 0 });
  const res = new FakeResponse();
  const cuts = [];
  let pending = 0;
  const guard = readers.watch(res, { bounded: true, pending: () => pending, onCut: (r) => cuts.push(r) });
  pending = 1500;
  guard.check();
  await nextTurn();
  assert.deepEqual(cuts, ['unsent_bytes']);
  const plain = new FakeResponse();
  const plainGuard = readers.watch(plain, { bounded: false, onCut: (r) => cuts.push(r) });
  plain.writableLength = 1_000_000;
  plainGuard.check();
  readers.sweep();
  await nextTurn();
  assert.deepEqual(cuts, ['unsent_bytes']);
});

test('stall: output waiting and nothing taken for the timeout is cut; any progress restarts the wait', () => {
  const { clock, kernel, readers, res, cuts, guard } = setup({ maxUnsentBytes: 0, stallTimeoutMs: 1000 });
  guard.wrote(50_000);
  kernel.bytes = 40_000; // 10,000 received
  readers.sweep();
  clock.now = 900;
  readers.sweep();
  assert.deepEqual(cuts, []);
  clock.now = 1500;
  kernel.bytes = 39_000; // the client took 1,000 more: progress
  readers.sweep();
  clock.now = 2400;
  readers.sweep();
  assert.deepEqual(cuts, [], 'within the timeout of the last progress');
  clock.now = 2600;
  readers.sweep();
  assert.deepEqual(cuts, ['stall']);
  assert.equal(res.destroyed, true);
  assert.deepEqual(readers.cut, { unsent_bytes: 0, stall: 1 });
});

test('stall: nothing waiting is never a stall, however long the stream is quiet', () => {
  const { clock, readers, cuts, guard } = setup({ maxUnsentBytes: 0, stallTimeoutMs: 1000 });
  guard.wrote(5000);
  for (let t = 0; t <= 10_000; t += 500) {
    clock.now = t;
    readers.sweep();
  }
  assert.deepEqual(cuts, []);
});

/** The worker's metrics once the stuck request was cancelled in the engine. */
function stuckRequestCancelled(w) {
  return eventually(async () => {
    const t = await scrape(w.metrics);
    return sample(t, 'trtllm_request_success_total', { finished_reason: 'cancelled' }) === 1 ? t : null;
  }, 10_000, 'the stuck request cancelled in the engine');
}

/** A raw HTTP client that sends a streamed completion and never reads the answer. */
function stuckClient(api, body) {
  const u = new URL(api);
  const socket = net.connect(Number(u.port), u.hostname);
  socket.pause();
  // What arrived, and whether the stream ended with [DONE]; 'close' comes once the socket is read to its end.
  let tail = '';
  socket.on('data', (d) => (tail = (tail + d.toString('latin1')).slice(-64)));
  const closed = new Promise((resolve) => socket.on('close', () => resolve({ done: tail.includes('data: [DONE]') })));
  socket.on('error', () => undefined);
  const json = JSON.stringify(body);
  socket.write(`POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
  return { socket, closed };
}

test('end to end: a client that stops reading is cut (request cancelled, connection closed, counted); a stream beside it completes', async () => {
  // A pace at which one delivery of the normal stream stays far below the bound (at 1000x one delivery could carry
  // more than 32 KiB of it, which its reader, in this process, may not take within the verdict's turn).
  const w = await startWorker({ sim: { speedupRatio: 100, maxSeqLen: 65536 }, slowReaders: { maxUnsentBytes: 128 * 1024 } });
  try {
    const stuck = stuckClient(w.api, { model: w.model, prompt: 'stuck', max_tokens: 60000, stream: true, ignore_eos: true });
    const normal = await fetch(`${w.api}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: w.model, prompt: 'fine', max_tokens: 2000, stream: true, ignore_eos: true }),
    });
    const text = await normal.text();
    assert.ok(text.endsWith('data: [DONE]\n\n'), 'the normal stream completed');
    const events = text.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6)));
    assert.equal(events.at(-1).choices[0].finish_reason, 'length', 'it ran to max_tokens');
    const metrics = await stuckRequestCancelled(w);
    // Reading now, the client finds its connection closed before the end of the stream.
    stuck.socket.resume();
    assert.deepEqual(await stuck.closed, { done: false }, 'cut, not completed');
    assert.equal(sample(metrics, 'trtllm_slow_stream_cancellations_total', { reason: 'unsent_bytes' }), 1);
    assert.equal(sample(metrics, 'trtllm_slow_stream_cancellations_total', { reason: 'stall' }), 0);
    assert.equal(sample(metrics, 'dynamo_component_errors_total', { dynamo_endpoint: 'generate', error_type: 'cancelled' }), 1);
    assert.ok(sample(metrics, 'trtllm_generation_tokens_total') < 60000 + 2000, 'the stuck request stopped generating');
    assert.equal(w.worker.engine.inflight, 0);
  } finally {
    await w.stop();
  }
});

test('end to end: the stall timeout cuts a stream whose client takes nothing, with no byte bound', async () => {
  const w = await startWorker({ sim: { speedupRatio: 1000, maxSeqLen: 65536 }, slowReaders: { maxUnsentBytes: 0, stallTimeoutMs: 300 } });
  try {
    const stuck = stuckClient(w.api, { model: w.model, prompt: 'stuck', max_tokens: 60000, stream: true, ignore_eos: true });
    const metrics = await stuckRequestCancelled(w);
    stuck.socket.resume();
    assert.deepEqual(await stuck.closed, { done: false }, 'cut, not completed');
    assert.equal(sample(metrics, 'trtllm_slow_stream_cancellations_total', { reason: 'stall' }), 1);
    assert.equal(sample(metrics, 'trtllm_slow_stream_cancellations_total', { reason: 'unsent_bytes' }), 0);
  } finally {
    await w.stop();
  }
});
