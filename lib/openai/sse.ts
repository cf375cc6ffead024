/**
 * Server-sent events for streamed completions: `data: {json}\n\n` per chunk and `data: [DONE]\n\n` at the
 * end, as OpenAI streams them. Writes respect backpressure (a slow client pauses the writer, not the engine
 * loop of other requests) and count the bytes sent for dynamo_component_response_bytes_total.
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

  /** Sends one event carrying `payload` as JSON. Resolves when the socket can take more. */
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
    if (this.res.write(buf)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }
}
