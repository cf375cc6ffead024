#!/usr/bin/env node
// The load client of scripts/bench/stream-cost.mjs, in a process of its own (pinned to its own core there), so
// that its cost stays out of the server's figures. Keeps --concurrency keep-alive connections busy with
// streaming completions (closed loop: a connection sends its next request when the previous response ended)
// until --requests have been answered, reading HTTP/1.1 chunked responses with a minimal parser over raw
// sockets (node:http's client would cost this core more than the server costs its own). Counts per response:
// body bytes, SSE events (each ends with a blank line; JSON text never holds a raw newline) and the
// completion tokens of the usage chunk; keeps the whole body of the first response (`sample`) for the floor
// server to replay. Prints one JSON line: { tokens, events, bytes, requests, failed, wallS, sample, errors }.
//
//   node scripts/bench/stream-client.mjs '{"port":8000,"requests":2000,"concurrency":128,"inputLen":128,
//        "outputLen":256,"vocab":32000,"api":"completions","model":"sim-llama","seed":1}'
import net from 'node:net';

const cfg = JSON.parse(process.argv[2]);
const { port, host = '127.0.0.1', requests, concurrency, inputLen, outputLen, vocab, api = 'completions', model = 'sim-llama', seed = 1 } = cfg;
const PATH = api === 'chat' ? '/v1/chat/completions' : '/v1/completions';

let s = seed >>> 0 || 1;
const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);

/** The request of index i: a prompt of inputLen random ids (chat: as many characters), max_tokens outputLen. */
function requestBytes(i) {
  const common = { model, max_tokens: outputLen, ignore_eos: true, stream: true, stream_options: { include_usage: true }, seed: seed * 100_003 + i };
  let body;
  if (api === 'chat') {
    let text = '';
    for (let k = 0; k < inputLen; k++) text += String.fromCharCode(97 + Math.floor(rnd() * 26));
    body = JSON.stringify({ ...common, messages: [{ role: 'user', content: text }] });
  } else {
    const ids = Array.from({ length: inputLen }, () => 259 + Math.floor(rnd() * (vocab - 259)));
    body = JSON.stringify({ ...common, prompt: ids });
  }
  return Buffer.from(`POST ${PATH} HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

const out = { tokens: 0, events: 0, bytes: 0, requests: 0, failed: 0, wallS: 0, sample: null, errors: [] };
let next = 0;
const t0 = process.hrtime.bigint();

/** One keep-alive connection: sends a request, parses its chunked response, repeats. */
function connection() {
  return new Promise((resolve) => {
    const sock = net.connect(port, host);
    sock.setNoDelay(true);
    let state = 'idle';
    let head = '';
    let pending = Buffer.alloc(0); // unparsed bytes of the chunked body framing
    let chunkLeft = 0; // data bytes left in the current chunk
    let tail = ''; // the last bytes of the body (the usage chunk)
    let lastWasNewline = false;
    let events = 0;
    let bytes = 0;
    let keep = null; // the whole body of the sample response

    const send = () => {
      if (next >= requests) {
        sock.end();
        return;
      }
      const i = next++;
      if (i === 0) keep = [];
      state = 'head';
      head = '';
      events = 0;
      bytes = 0;
      tail = '';
      lastWasNewline = false;
      sock.write(requestBytes(i));
    };
    const fail = (why) => {
      out.failed++;
      if (out.errors.length < 5) out.errors.push(why);
      sock.destroy();
    };
    const onData = (data) => {
      bytes += data.length;
      out.bytes += data.length;
      if (keep) keep.push(Buffer.from(data));
      for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, i + 1)) {
        if (i === 0 ? lastWasNewline : data[i - 1] === 10) events++;
      }
      lastWasNewline = data[data.length - 1] === 10;
      tail = (tail + data.toString('latin1', Math.max(0, data.length - 400))).slice(-400);
    };
    const finish = () => {
      const m = /"completion_tokens":(\d+)/.exec(tail);
      if (!m || !tail.endsWith('data: [DONE]\n\n')) return fail(`response ended without usage and [DONE]: ${JSON.stringify(tail.slice(-200))}`);
      out.tokens += Number(m[1]);
      out.events += events;
      out.requests++;
      if (keep) {
        out.sample = Buffer.concat(keep).toString('utf8');
        keep = null;
      }
      send();
    };
    sock.on('connect', send);
    sock.on('data', (buf) => {
      let at = 0;
      if (state === 'head') {
        // (The empty trailer's CRLF of the previous response may come first.)
        head = (head + buf.toString('latin1')).replace(/^(\r\n)+/, '');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!head.startsWith('HTTP/1.1 200')) return fail(`status: ${head.slice(0, head.indexOf('\r\n'))}`);
        if (!/\r\ntransfer-encoding: chunked/i.test(head.slice(0, end))) return fail('not a chunked response');
        at = buf.length - (head.length - end - 4);
        state = 'body';
        pending = Buffer.alloc(0);
        chunkLeft = 0;
      }
      while (at < buf.length) {
        if (chunkLeft > 0) {
          const n = Math.min(chunkLeft, buf.length - at);
          onData(buf.subarray(at, at + n));
          at += n;
          chunkLeft -= n;
          if (chunkLeft === 0) chunkLeft = -2; // the CRLF after the data
          continue;
        }
        if (chunkLeft < 0) {
          const n = Math.min(-chunkLeft, buf.length - at);
          at += n;
          chunkLeft += n;
          continue;
        }
        // A size line: hex digits, CRLF (possibly split across reads).
        pending = pending.length > 0 ? Buffer.concat([pending, buf.subarray(at)]) : buf.subarray(at);
        const nl = pending.indexOf('\r\n');
        if (nl < 0) return;
        const size = parseInt(pending.toString('latin1', 0, nl), 16);
        const rest = pending.subarray(nl + 2);
        pending = Buffer.alloc(0);
        buf = rest;
        at = 0;
        if (size === 0) {
          // The last chunk (and its empty trailer): the response is complete.
          state = 'idle';
          finish();
          return;
        }
        chunkLeft = size;
      }
    });
    sock.on('error', (e) => fail(`socket: ${e.message}`));
    sock.on('close', () => resolve());
  });
}

await Promise.all(Array.from({ length: Math.min(concurrency, requests) }, connection));
out.wallS = Number(process.hrtime.bigint() - t0) / 1e9;
process.stdout.write(`${JSON.stringify(out)}\n`);
