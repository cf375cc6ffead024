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
 *   waits, or timing out a reader that never drains, is the caller's policy, not this module's.
 * - end(): queues `data: [DONE]`, writes what is queued, then ends the response; resolves once the response
 *   has ended or the client went away.
 * - Once the client went away (`closed`), queued and new events are discarded.
 * - onBytes is told the size of every write, when it is handed to the socket (response-bytes metric).
 */
import type { ServerResponse } from 'node:http';

const DONE = 'data: [DONE]\n\n';
const HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
};

export class SseWriter {
  /** Body bytes handed to the socket so far. */
  bytes = 0;
  /** An event was queued: the 200 and the headers are committed. */
  started = false;
  private pending = '';
  private scheduled = false;
  private blocked = false;
  private ending = false;
  private ended: Promise<void> | null = null;
  private readonly flushNow = (): void => this.flush();

  /** `onBytes` is told the size of every write (for the response-bytes counter). */
  constructor(
    private readonly res: ServerResponse,
    private readonly onBytes?: (n: number) => void,
  ) {}

  /** True once the client went away or the response ended (nothing more can be sent). */
  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  /** UTF-16 code units queued and not yet written (while the client does not read, what waits for 'drain'). */
  get pendingBytes(): number {
    return this.pending.length;
  }

  /** Queues one event carrying `payload` as JSON. */
  send(payload: unknown): void {
    this.event(`data: ${JSON.stringify(payload)}\n\n`);
  }

  /** Queues one event already framed as `data: ...\n\n` (sse-events.ts builds them). */
  event(framed: string): void {
    if (this.ending || this.closed) return;
    if (!this.started) {
      this.started = true;
      this.res.writeHead(200, HEADERS);
    }
    this.pending += framed;
    if (!this.scheduled && !this.blocked) {
      this.scheduled = true;
      queueMicrotask(this.flushNow);
    }
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

  private flush(): void {
    this.scheduled = false;
    if (this.closed) {
      this.pending = '';
      return;
    }
    if (this.pending !== '') {
      const buf = Buffer.from(this.pending, 'utf8');
      this.pending = '';
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
