/**
 * Server-sent events for streamed completions: `data: {json}\n\n` per chunk and `data: [DONE]\n\n` at the
 * end, as OpenAI streams them, counting the bytes sent for dynamo_component_response_bytes_total. Writes never
 * wait for the client: what a slow client has not taken waits in the socket's buffers, and the slow-reader policy
 * (slow-readers.ts) bounds it and cuts a client that stops reading, so a stuck stream never holds up the engine's
 * delivery to the others.
 */
import type { ServerResponse } from 'node:http';

export class SseWriter {
  /** Body bytes written so far. */
  bytes = 0;
  started = false;

  /** `onBytes` is told the size of every write (for the response-bytes counter). */
  constructor(
    private readonly res: ServerResponse,
    private readonly onBytes?: (n: number) => void,
  ) {}

  /** True once the client went away (nothing more can be sent). */
  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  /** Bytes this writer holds that it has not handed to the socket (none: every write goes straight to it). */
  get pendingBytes(): number {
    return 0;
  }

  /** Sends the 200 status and the event-stream headers. */
  start(extraHeaders: Record<string, string> = {}): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
      ...extraHeaders,
    });
    this.res.flushHeaders();
  }

  /** Sends one event carrying `payload` as JSON. */
  send(payload: unknown): Promise<void> {
    return this.write(`data: ${JSON.stringify(payload)}\n\n`);
  }

  /** Sends `data: [DONE]` and ends the response. */
  async done(): Promise<void> {
    await this.write('data: [DONE]\n\n');
    if (!this.closed) this.res.end();
  }

  private write(text: string): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.start();
    const buf = Buffer.from(text, 'utf8');
    this.bytes += buf.length;
    this.onBytes?.(buf.length);
    this.res.write(buf);
    return Promise.resolve();
  }
}
