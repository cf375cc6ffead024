/**
 * Slow readers cannot hurt others. A client that stops reading a streamed response (a crashed consumer, a proxy
 * that buffers, an attacker) would otherwise keep its engine request generating into memory without bound, and
 * hold its batch slot and KV blocks while doing so. Each guarded response has a bound on its unsent output: the
 * bytes produced for it and not yet received by the client, wherever they wait (the SSE writer, Node's socket
 * buffer, the kernel's send queue: `socketUnsentBytes`, SIOCOUTQ). A response beyond the bound, or one whose
 * client has taken none of its waiting output for the stall timeout, is cut: its engine request is cancelled, its
 * connection destroyed, and the cut counted by reason (`unsent_bytes`, `stall`). Nothing here ever waits for a
 * client: writes do not block the engine's delivery, so one stuck stream cannot hold up another.
 *
 * The SSE writer's hook is two calls: `wrote(n)` for every buffer handed to the socket (the response-bytes
 * callback) and `check()` after every event queued; the writer's own queue, if it has one, is `pending()`.
 */
import type { ServerResponse } from 'node:http';
import { loadAddon } from '../native.js';

export type SlowStreamReason = 'unsent_bytes' | 'stall';
export const SLOW_STREAM_REASONS: readonly SlowStreamReason[] = ['unsent_bytes', 'stall'];

export interface SlowReaderPolicy {
  /** Unsent output a streamed response may have, bytes; 0: no bound. */
  maxUnsentBytes: number;
  /** A response whose client takes none of its waiting output for this long is cut, ms; 0: never. */
  stallTimeoutMs: number;
}

export interface WatchOptions {
  /** Hold this response to maxUnsentBytes (streamed responses; a plain one is written whole, once). */
  bounded: boolean;
  /** Bytes the writer holds that it has not handed to the socket yet (default none). */
  pending?: () => number;
  /** The response is being cut: cancel its engine request (the guard destroys the connection after). */
  onCut: (reason: SlowStreamReason) => void;
}

/** How often, at most, the kernel's send queue is read while output is written: once per this many bytes. */
const KERNEL_READ_EVERY_BYTES = 16 * 1024;

type KernelBacklog = (res: ServerResponse) => number;

/** The kernel send queue of the response's socket, bytes (0 when it cannot be known: not Linux, not TCP). */
const kernelBacklog: KernelBacklog = (res) => {
  const handle = (res.socket as unknown as { _handle?: { fd?: unknown } } | null)?._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return 0;
  return Math.max(0, loadAddon().socketUnsentBytes(fd));
};

/** Watches every guarded response of one API server: one timer for all of them. */
export class SlowReaders {
  /** Responses cut, by reason. */
  readonly cut: Record<SlowStreamReason, number> = { unsent_bytes: 0, stall: 0 };
  /** @internal */
  readonly guards = new Set<StreamGuard>();
  private timer: NodeJS.Timeout | null = null;
  private readonly intervalMs: number;

  constructor(
    readonly policy: SlowReaderPolicy,
    /** @internal the clock (ms) and the kernel's queue, replaceable in tests */
    readonly now: () => number = () => performance.now(),
    readonly backlog: KernelBacklog = kernelBacklog,
  ) {
    this.intervalMs = policy.stallTimeoutMs > 0 ? Math.max(10, Math.min(1000, Math.floor(policy.stallTimeoutMs / 4))) : 1000;
  }

  /** Starts guarding `res` until it closes. */
  watch(res: ServerResponse, options: WatchOptions): StreamGuard {
    const guard = new StreamGuard(this, res, options);
    this.guards.add(guard);
    res.once('close', () => this.forget(guard));
    if (this.timer === null && (this.policy.stallTimeoutMs > 0 || this.policy.maxUnsentBytes > 0)) {
      this.timer = setInterval(() => this.sweep(), this.intervalMs);
      this.timer.unref();
    }
    return guard;
  }

  /** One pass over every guarded response: bounds and stalls (the timer runs it). */
  sweep(): void {
    for (const g of [...this.guards]) g.sweep();
  }

  /** @internal */
  forget(guard: StreamGuard): void {
    this.guards.delete(guard);
    if (this.guards.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

export class StreamGuard {
  /** Bytes handed to the socket so far. */
  private handed = 0;
  /** The kernel's send queue at the last read, and `handed` then. */
  private kernel = 0;
  private handedAtKernelRead = 0;
  /** Bytes the client has received (handed minus what still waits below us) at the last sweep, and when that grew. */
  private received = 0;
  private progressAt: number;
  private ended = false;
  private verdictPending = false;

  /** @internal */
  constructor(
    private readonly owner: SlowReaders,
    private readonly res: ServerResponse,
    private readonly options: WatchOptions,
  ) {
    this.progressAt = owner.now();
  }

  /** The writer handed `n` bytes to the socket. */
  wrote(n: number): void {
    this.handed += n;
  }

  /**
   * After an event was queued or written: is the response over its bound? A burst written in one turn of the event
   * loop may pass it before the client had any chance to read (one delivery of a fast engine can carry hundreds of
   * tokens of a stream), so the verdict waits until the event loop has been through its I/O phase once more (a
   * client in this process reads there; one elsewhere reads meanwhile): cut if the output still waiting then, the
   * kernel's queue read afresh, is over the bound.
   */
  check(): void {
    if (this.ended || this.verdictPending || !this.options.bounded || this.owner.policy.maxUnsentBytes <= 0) return;
    if (this.handed - this.handedAtKernelRead >= KERNEL_READ_EVERY_BYTES) this.readKernel();
    if (this.unsent() <= this.owner.policy.maxUnsentBytes) return;
    this.verdictPending = true;
    // An immediate set from an immediate runs in the next turn's check phase, after that turn's I/O phase.
    setImmediate(() =>
      setImmediate(() => {
        this.verdictPending = false;
        if (this.ended) return;
        this.readKernel();
        if (this.unsent() > this.owner.policy.maxUnsentBytes) this.cut('unsent_bytes');
      }),
    );
  }

  /** Output produced for the client and not received by it yet, bytes (the kernel part as last read). */
  unsent(): number {
    return this.res.writableLength + this.kernel + (this.options.pending?.() ?? 0);
  }

  /** @internal The periodic pass: a fresh read of the kernel queue, the bound, and the stall timeout. */
  sweep(): void {
    if (this.ended) return;
    if (this.res.destroyed) {
      this.ended = true;
      return;
    }
    this.readKernel();
    const policy = this.owner.policy;
    const unsent = this.unsent();
    if (this.options.bounded && policy.maxUnsentBytes > 0 && unsent > policy.maxUnsentBytes) return this.cut('unsent_bytes');
    const now = this.owner.now();
    const received = this.handed - this.res.writableLength - this.kernel;
    if (unsent === 0 || received > this.received) {
      this.received = Math.max(this.received, received);
      this.progressAt = now;
      return;
    }
    if (policy.stallTimeoutMs > 0 && now - this.progressAt >= policy.stallTimeoutMs) this.cut('stall');
  }

  private readKernel(): void {
    this.kernel = this.owner.backlog(this.res);
    this.handedAtKernelRead = this.handed;
  }

  private cut(reason: SlowStreamReason): void {
    if (this.ended) return;
    this.ended = true;
    this.owner.cut[reason]++;
    this.owner.forget(this);
    try {
      this.options.onCut(reason);
    } finally {
      this.res.destroy();
    }
  }
}
