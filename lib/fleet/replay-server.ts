/**
 * The replay socket (vLLM's ZmqEventPublisher._service_replay): a bound ROUTER. A client (a DEALER) sends
 * `["", start_seq]` (8 bytes big-endian); the answer is one `[identity, "", seq, payload]` per held batch with
 * seq >= start, oldest first, then `[identity, "", -1 (8 x 0xFF), ""]`. Requests are served one at a time,
 * off the publishing path; a client that stops reading for replyTimeoutMs loses the rest of its answer.
 */
import { KvTransportError } from '../errors.js';
import type { ReplayBuffer } from './replay-buffer.js';
import { END_OF_REPLAY, type ZeroMQ } from './zeromq.js';
import type * as Zmq from 'zeromq';

const EMPTY = Buffer.alloc(0);

export class ReplayServer {
  /** Requests answered (with or without batches) and malformed ones ignored. */
  served = 0;
  malformed = 0;
  private closed = false;
  private readonly loop: Promise<void>;

  private constructor(
    private readonly socket: Zmq.Router,
    private readonly buffer: ReplayBuffer,
  ) {
    this.loop = this.serve();
  }

  static async open(zmq: ZeroMQ, endpoint: string, buffer: ReplayBuffer, replyTimeoutMs = 5000): Promise<ReplayServer> {
    // mandatory: a reply to a full or vanished client fails (and ends that answer) instead of vanishing.
    const socket = new zmq.Router({ mandatory: true, sendTimeout: replyTimeoutMs, linger: 0, sendHighWaterMark: 10_000 });
    try {
      await socket.bind(endpoint);
    } catch (err) {
      socket.close();
      throw new KvTransportError(`cannot bind the KV-event replay socket to ${endpoint}: ${(err as Error).message}`, { cause: err });
    }
    return new ReplayServer(socket, buffer);
  }

  get boundEndpoint(): string | null {
    return this.socket.lastEndpoint;
  }

  private async serve(): Promise<void> {
    try {
      for await (const frames of this.socket) {
        // vLLM's request is [identity, "", start]; a client that leaves out the delimiter is answered without it.
        const [identity, ...rest] = frames;
        const start = rest.length === 2 && rest[0]!.length === 0 ? rest[1] : rest.length === 1 ? rest[0] : undefined;
        if (identity === undefined || start === undefined || start.length !== 8) {
          this.malformed++;
          continue;
        }
        const envelope = rest.length === 2 ? [identity, EMPTY] : [identity];
        try {
          for (const b of this.buffer.from(start.readBigUInt64BE(0))) await this.socket.send([...envelope, b.seqFrame, b.payload]);
          await this.socket.send([...envelope, END_OF_REPLAY, EMPTY]);
          this.served++;
        } catch {
          if (this.closed) return;
          // The client went away or stopped reading: its answer ends here.
        }
      }
    } catch {
      // Closed.
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.socket.close();
    await this.loop;
  }
}
