#!/usr/bin/env node
// The floor of scripts/bench/stream-cost.mjs: a bare node:http server that answers every POST with the same
// SSE bytes the worker sent (a response of the worker, captured in the same run, replayed event for event with
// the worker's headers), over the same keep-alive connections, grouped as the worker wrote them: on each
// event-loop turn every open stream gets one res.write() of the next `group` events (a fractional group
// alternates so that the average is exact). The events are encoded once, up front, and written as slices of
// one Buffer: no JSON, no tokenizer, no engine; what is left is what Node needs to put these bytes on these
// sockets. A stream whose socket is full waits for 'drain' (nothing is dropped).
//
//   node scripts/bench/stream-floor.mjs SAMPLE_FILE GROUP     (prints its port, then serves until killed)
import { readFileSync } from 'node:fs';
import http from 'node:http';

const [sampleFile, groupArg] = process.argv.slice(2);
const body = Buffer.from(readFileSync(sampleFile, 'utf8'), 'utf8');
const group = Number(groupArg);
if (!(group >= 1)) throw new Error(`stream-floor: GROUP must be >= 1, got ${groupArg}`);

// Event boundaries: every event ends with a blank line.
const ends = [];
for (let i = body.indexOf('\n\n'); i >= 0; i = body.indexOf('\n\n', i + 2)) ends.push(i + 2);
const HEADERS = { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' };

/** Streams in progress: each has the index of its next event and a credit of events it may write this turn. */
const active = new Set();
let scheduled = false;

function turn() {
  scheduled = false;
  for (const st of active) {
    if (st.blocked) continue;
    st.credit += group;
    const n = Math.floor(st.credit);
    st.credit -= n;
    const from = st.next === 0 ? 0 : ends[st.next - 1];
    st.next = Math.min(ends.length, st.next + n);
    const ok = st.res.write(body.subarray(from, ends[st.next - 1]));
    if (st.next === ends.length) {
      active.delete(st);
      st.res.end();
    } else if (!ok) {
      st.blocked = true;
      st.res.once('drain', () => {
        st.blocked = false;
        schedule();
      });
    }
  }
  if (active.size > 0) schedule();
}

function schedule() {
  if (scheduled) return;
  scheduled = true;
  setImmediate(turn);
}

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, HEADERS);
    res.flushHeaders();
    const st = { res, next: 0, credit: 0, blocked: false };
    res.on('close', () => active.delete(st));
    active.add(st);
    schedule();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
