/**
 * Server-sent events of one streamed response: `data: {json}\n\n` per event and `data: [DONE]\n\n` at the end,
 * as OpenAI streams them. This is the one place that writes a response's events to its socket.
 *
 * Contract:
 * - Queue, then write once per turn. event() and send() queue an event and return at once. The events queued
 *   while JS runs (typically one delivery of the engine: a token for each of hundreds of requests) go to the
 *   socket in a microtask after that code, as one res.write() per response, so a response costs one socket
 *   write per delivery however many events it got. The headers go with the first write.
 * - Order and completeness: events are written in the order they were queued, none is dropped or merged
 *   (the bytes on the wire are exactly the concatenation of the events).
 * - Backpressure: when res.write() returns false nothing more is written until 'drain'; events queued
 *   meanwhile wait in `pendingBytes` (held here, not in the engine), then go in one write. Bounding what
 *   waits, or timing out a reader that never drains, is the caller's policy (slow-readers.ts), not this module's.
 * - end(): queues `data: [DONE]`, writes what is queued, then ends the response; resolves once the response
 *   has ended or the client went away.
 * - Once the client went away (`closed`), queued and new events are discarded.
 * - onBytes is told the size of every write, when it is handed to the socket (response-bytes metric).
 * Events are encoded into one byte buffer per write as they are queued (the constant parts of text events
 * arrive pre-encoded: sse-events.ts), not concatenated as strings and converted at the end: a string of
 * hundreds of events costs a flatten, a length pass and an encoding pass in Buffer.from.
 */
import type { ServerResponse } from 'node:http';

const DONE = 'data: [DONE]\n\n';

// Writers with events queued this turn, flushed together by one microtask (queueMicrotask costs an
// AsyncResource per call: one per turn, not one per response).
const dirty: SseWriter[] = [];
let flushScheduled = false;

function schedule(writer: SseWriter): void {
  dirty.push(writer);
  if (flushScheduled) return;
  flushScheduled = true;
  queueMicrotask(flushDirty);
}

function flushDirty(): void {
  flushScheduled = false;
  // A flush can queue more (end() after the last event): they join this loop.
  for (let i = 0; i < dirty.length; i++) dirty[i]!.flush();
  dirty.length = 0;
}
const HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};

/** Bytes the first buffer of a turn holds; later ones start at the size the previous write needed. */
const MIN_BUFFER = 1024;

/**
 * Writes `text` as a JSON string ("...", UTF-8) at buf[at] when JSON.stringify would leave every character as
 * it is; returns the end, or -1 when some character needs escaping (the caller falls back to JSON.stringify).
 * The buffer has room for 3 bytes per code unit plus the quotes.
 */
function quoteInPlace(buf: Uint8Array, at: number, text: string): number {
  buf[at++] = 0x22;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      if (c < 0x20 || c === 0x22 || c === 0x5c) return -1;
      buf[at++] = c;
    } else if (c < 0x800) {
      buf[at++] = 0xc0 | (c >> 6);
      buf[at++] = 0x80 | (c & 0x3f);
    } else if (c < 0xd800 || c > 0xdfff) {
      buf[at++] = 0xe0 | (c >> 12);
      buf[at++] = 0x80 | ((c >> 6) & 0x3f);
      buf[at++] = 0x80 | (c & 0x3f);
    } else {
      // A surrogate pair is one character of 4 bytes; a lone surrogate is escaped by JSON.stringify.
      const d = i + 1 < n ? text.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || d < 0xdc00 || d > 0xdfff) return -1;
      const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
      buf[at++] = 0xf0 | (cp >> 18);
      buf[at++] = 0x80 | ((cp >> 12) & 0x3f);
      buf[at++] = 0x80 | ((cp >> 6) & 0x3f);
      buf[at++] = 0x80 | (cp & 0x3f);
      i++;
    }
  }
  buf[at++] = 0x22;
  return at;
}

export class SseWriter {
  /** Body bytes handed to the socket so far. */
  bytes = 0;
  /** An event was queued: the 200 and the headers are committed. */
  started = false;
  /** The queued bytes: buf[0, len). A new buffer after every write (the socket owns the written one). */
  private buf: Buffer | null = null;
  private len = 0;
  private nextSize = MIN_BUFFER;
  private scheduled = false;
  private blocked = false;
  private ending = false;
  private ended: Promise<void> | null = null;

  /** `onBytes` is told the size of every write (for the response-bytes counter). */
  constructor(
    private readonly res: ServerResponse,
    private readonly onBytes?: (n: number) => void,
  ) {}

  /** True once the client went away or the response ended (nothing more can be sent). */
  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  /** The socket did not take the last write: events wait here for 'drain'. */
  get waiting(): boolean {
    return this.blocked;
  }

  /** Bytes queued and not yet written (while the client does not read, what waits for 'drain'). */
  get pendingBytes(): number {
    return this.len;
  }

  /** Queues one event carrying `payload` as JSON. */
  send(payload: unknown): void {
    this.event(`data: ${JSON.stringify(payload)}\n\n`);
  }

  /** Queues one event already framed as `data: ...\n\n`. */
  event(framed: string): void {
    if (!this.accept(framed.length * 3)) return;
    this.appendString(framed);
  }

  /**
   * Queues the event head + JSON string of `text` + tail, head and tail already encoded (sse-events.ts: a text
   * event). Text that JSON leaves as it is (no quote, backslash, control character or lone surrogate) is
   * quoted and UTF-8 encoded in place; anything else goes through JSON.stringify.
   */
  textEvent(head: Uint8Array, text: string, tail: Uint8Array): void {
    // JSON.stringify writes at most 6 bytes per UTF-16 code unit (\u00XX), plus the quotes.
    if (!this.accept(head.length + 6 * text.length + 2 + tail.length)) return;
    const buf = this.buf!;
    buf.set(head, this.len);
    const quote = this.len + head.length;
    const end = quoteInPlace(buf, quote, text);
    if (end >= 0) this.len = end;
    else {
      this.len = quote;
      this.appendString(JSON.stringify(text));
    }
    buf.set(tail, this.len);
    this.len += tail.length;
  }

  /** Room for `maxBytes` more, the headers committed and the flush scheduled; false once nothing more can be sent. */
  private accept(maxBytes: number): boolean {
    if (this.ending || this.closed) return false;
    if (!this.started) {
      this.started = true;
      this.res.writeHead(200, HEADERS);
    }
    const need = this.len + maxBytes;
    if (this.buf === null || need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.nextSize, this.buf === null ? 0 : 2 * this.buf.length));
      if (this.buf !== null) grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    if (!this.scheduled && !this.blocked) {
      this.scheduled = true;
      schedule(this);
    }
    return true;
  }

  /** UTF-8 of `text` at the end of the buffer (which has room for 3 bytes per code unit): ASCII inline. */
  private appendString(text: string): void {
    const buf = this.buf!;
    let at = this.len;
    const n = text.length;
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      buf[at++] = c;
    }
    if (i < n) at += buf.write(i === 0 ? text : text.slice(i), at, 'utf8');
    this.len = at;
  }

  /** Queues `data: [DONE]` and ends the response after everything queued; resolves when it has ended (or the client left). */
  end(): Promise<void> {
    if (this.ended) return this.ended;
    this.event(DONE);
    this.ending = true;
    this.ended = new Promise<void>((resolve) => {
      if (this.closed) return resolve();
      this.res.once('close', () => resolve());
      this.res.once('finish', () => resolve());
      if (!this.scheduled && !this.blocked) this.flush();
    });
    return this.ended;
  }

  /** @internal Writes what is queued (the shared microtask calls it). */
  flush(): void {
    this.scheduled = false;
    if (this.closed) {
      this.buf = null;
      this.len = 0;
      return;
    }
    if (this.len > 0) {
      const buf = this.buf!.subarray(0, this.len);
      this.nextSize = Math.max(MIN_BUFFER, this.len + (this.len >> 2));
      this.buf = null;
      this.len = 0;
      this.bytes += buf.length;
      this.onBytes?.(buf.length);
      if (!this.res.write(buf)) {
        this.blocked = true;
        this.res.once('drain', () => {
          this.blocked = false;
          this.flush();
        });
        return;
      }
    }
    if (this.ending) this.res.end();
  }
}
