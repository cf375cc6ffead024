/**
 * The bounded send queue in front of one transport (ZeroMQ, NATS), and its accounting. The engine's event
 * listener only encodes and enqueues: a transport that is slow or gone never makes it wait. A full queue
 * drops the new batch (reason queue_full); a transport that is down drops what it is given (transport_down);
 * close() drops what is left after its timeout (shutdown). At every instant
 * produced = published + dropped (all reasons) + queued + in flight, counted in events; once flushed,
 * produced = published + dropped.
 */

export type DropReason = 'queue_full' | 'transport_down' | 'shutdown';
export const DROP_REASONS: readonly DropReason[] = ['queue_full', 'transport_down', 'shutdown'];

/** One encoded batch as the transports send it. */
export interface OutMessage {
  seq: bigint;
  /** The 8-byte big-endian seq frame. */
  seqFrame: Buffer;
  payload: Buffer;
  /** Wire events and blocks in the batch (what the counters count). */
  events: number;
  blocks: number;
}

export interface TransportCounters {
  /** Wire events handed to this transport. */
  produced: number;
  published: number;
  publishedBlocks: number;
  dropped: Record<DropReason, number>;
  /** Events waiting or being sent. */
  queued: number;
  /** Seq of the last batch sent; -1 before the first. */
  lastSeq: number;
  /** False while the transport cannot send (e.g. NATS reconnecting). */
  up: boolean;
  /** ZeroMQ: distinct topic prefixes subscribers have subscribed to (0 = nobody is listening yet). */
  subscriptions?: number;
}

export abstract class SendQueue {
  private readonly queue: OutMessage[] = [];
  private head = 0;
  private inFlight = 0;
  private queuedEvents = 0;
  private closing = false;
  private idleWaiters: Array<() => void> = [];
  private readonly c: Omit<TransportCounters, 'queued' | 'up'> = {
    produced: 0,
    published: 0,
    publishedBlocks: 0,
    dropped: { queue_full: 0, transport_down: 0, shutdown: 0 },
    lastSeq: -1,
  };

  /**
   * @param capacity batches that may wait
   * @param concurrency sends in flight at once (ZeroMQ: 1; a pipelining transport more)
   */
  constructor(
    readonly name: string,
    private readonly capacity: number,
    private readonly concurrency: number,
  ) {}

  /** Sends one message; resolves true once sent, false when the transport could not take it. */
  protected abstract deliver(msg: OutMessage): Promise<boolean>;
  /** True while the transport cannot send: messages are dropped at once (transport_down). */
  protected abstract isDown(): boolean;
  /** Releases the transport's sockets or connection. */
  protected abstract closeTransport(): Promise<void>;

  /** Enqueues without waiting; counts the batch as produced, and as dropped when it cannot be queued. */
  enqueue(msg: OutMessage): void {
    this.c.produced += msg.events;
    if (this.closing) {
      this.c.dropped.shutdown += msg.events;
      return;
    }
    if (this.isDown()) {
      this.c.dropped.transport_down += msg.events;
      return;
    }
    if (this.queue.length - this.head >= this.capacity) {
      this.c.dropped.queue_full += msg.events;
      return;
    }
    this.queue.push(msg);
    this.queuedEvents += msg.events;
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.head < this.queue.length) {
      const msg = this.queue[this.head]!;
      this.queue[this.head++] = undefined as never;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      if (this.isDown()) {
        this.settle(msg, 'transport_down');
        continue;
      }
      this.inFlight++;
      this.deliver(msg).then(
        (ok) => this.done(msg, ok),
        () => this.done(msg, false),
      );
    }
    if (this.inFlight === 0 && this.head >= this.queue.length) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private done(msg: OutMessage, ok: boolean): void {
    this.inFlight--;
    this.settle(msg, ok ? null : this.closing ? 'shutdown' : 'transport_down');
    this.pump();
  }

  private settle(msg: OutMessage, drop: DropReason | null): void {
    this.queuedEvents -= msg.events;
    if (drop !== null) {
      this.c.dropped[drop] += msg.events;
      return;
    }
    this.c.published += msg.events;
    this.c.publishedBlocks += msg.blocks;
    const seq = Number(msg.seq);
    if (seq > this.c.lastSeq) this.c.lastSeq = seq;
  }

  /** Resolves once everything enqueued so far has been sent or dropped. */
  flush(): Promise<void> {
    if (this.inFlight === 0 && this.head >= this.queue.length) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking batches, gives the queue `timeoutMs` to drain, drops the rest (shutdown) and closes. */
  async close(timeoutMs: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    while (this.head < this.queue.length) this.settle(this.queue[this.head++]!, 'shutdown');
    this.queue.length = 0;
    this.head = 0;
    // Sends still in flight are rejected by the closing socket and settle as shutdown drops.
    await this.closeTransport();
    await this.flush();
  }

  counters(): TransportCounters {
    return { ...this.c, dropped: { ...this.c.dropped }, queued: this.queuedEvents, up: !this.isDown() };
  }
}
