/**
 * The ZeroMQ publisher: every batch is one 3-frame message `[topic, seq, payload]` (vLLM's ZmqEventPublisher).
 * The socket is an XPUB with ZMQ_XPUB_NODROP: when a subscriber's high-water mark is reached, libzmq refuses
 * the message instead of dropping it silently (what a plain PUB does), so the send waits, batches wait in
 * our bounded send queue, and what it cannot hold is dropped and counted there. A subscriber that sees a
 * gap in the seq numbers recovers the batches from the replay socket (lib/fleet/replay-server.ts).
 */
import { KvTransportError } from '../errors.js';
import { zmqBinds } from '../options/fleet-table.js';
import { SendQueue, type OutMessage, type TransportCounters } from './send-queue.js';
import type { ZeroMQ } from './zeromq.js';
import type * as Zmq from 'zeromq';

export interface ZmqTransportOptions {
  endpoint: string;
  topic: string;
  sendQueue: number;
  sendHighWaterMark: number;
}

export class ZmqTransport extends SendQueue {
  private readonly topicFrame: Buffer;
  private closed = false;
  private subscriptions = 0;

  private constructor(
    private readonly socket: Zmq.XPublisher,
    options: ZmqTransportOptions,
  ) {
    super('zmq', options.sendQueue, 1);
    this.topicFrame = Buffer.from(options.topic, 'utf8');
    void this.drainSubscriptions();
  }

  static async open(zmq: ZeroMQ, options: ZmqTransportOptions): Promise<ZmqTransport> {
    const socket = new zmq.XPublisher({ noDrop: true, sendHighWaterMark: options.sendHighWaterMark, linger: 0 });
    try {
      if (zmqBinds(options.endpoint)) await socket.bind(options.endpoint);
      else socket.connect(options.endpoint);
    } catch (err) {
      socket.close();
      throw new KvTransportError(`cannot ${zmqBinds(options.endpoint) ? 'bind' : 'connect'} the KV-event publisher to ${options.endpoint}: ${(err as Error).message}`, { cause: err });
    }
    return new ZmqTransport(socket, options);
  }

  /** The endpoint as bound (a tcp://*:0 endpoint gets its port here). */
  get boundEndpoint(): string | null {
    return this.socket.lastEndpoint;
  }

  // XPUB passes (distinct) subscriptions up as [1, prefix] and their end as [0, prefix]; reading them keeps
  // libzmq's queue of them from growing and tells whether anyone listens.
  private async drainSubscriptions(): Promise<void> {
    try {
      for await (const [m] of this.socket) {
        if (m?.[0] === 1) this.subscriptions++;
        else if (m?.[0] === 0 && this.subscriptions > 0) this.subscriptions--;
      }
    } catch {
      // Closed.
    }
  }

  override counters(): TransportCounters {
    return { ...super.counters(), subscriptions: this.subscriptions };
  }

  protected async deliver(msg: OutMessage): Promise<boolean> {
    // With NODROP, a subscriber at its high-water mark makes the send fail with EAGAIN (an XPUB always polls
    // writable, so zeromq.js cannot wait for it): wait and retry while the queue behind this batch fills up.
    let waitMs = 1;
    for (;;) {
      if (this.closed) return false;
      try {
        await this.socket.send([this.topicFrame, msg.seqFrame, msg.payload]);
        return true;
      } catch (err) {
        if ((err as { code?: string }).code !== 'EAGAIN' || this.closed) throw err;
      }
      await new Promise((r) => setTimeout(r, waitMs));
      waitMs = Math.min(waitMs * 2, 50);
    }
  }

  protected isDown(): boolean {
    return this.closed;
  }

  protected async closeTransport(): Promise<void> {
    this.closed = true;
    this.socket.close();
  }
}
