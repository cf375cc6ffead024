/**
 * KvEventSubscriber: reads a vLLM-format KV-event stream over ZeroMQ (a SUB socket; it connects, or binds for
 * workers that connect, by the same rule as the publisher), decodes each batch and tracks the seq of each
 * topic. A gap (a seq above the last + 1) is filled from the publisher's replay socket when one is given,
 * as vLLM's example subscriber does; a seq at or below the last one is a duplicate (skipped), or, when it is
 * 0, a restarted publisher. Used by `trtllm-metrics kv-events` (lib/fleet/kv-events-cli.ts).
 */
import { zmqBinds } from '../options/fleet-table.js';
import { KvTransportError } from '../errors.js';
import { decodeBatch } from './wire-decoding.js';
import type { WireBatch } from './wire-events.js';
import { loadZeroMQ, seqFrame } from './zeromq.js';
import type * as Zmq from 'zeromq';

export interface KvEventSubscriberOptions {
  /** The publisher's endpoint (tcp://HOST:5557 connects; tcp://*:5557 binds). */
  subscribe: string;
  /** The publisher's replay endpoint; without it a gap is only reported. */
  replay?: string;
  /** Topic prefix (default: every topic). */
  topic?: string;
  /** How long a replay request waits for the end marker (default 5000 ms). */
  replayTimeoutMs?: number;
}

export type SubscriberItem =
  | { kind: 'batch'; topic: string; seq: bigint; replayed: boolean; batch: WireBatch }
  | { kind: 'gap'; topic: string; first: bigint; last: bigint; recovered: number }
  | { kind: 'restart'; topic: string; lastSeq: bigint }
  | { kind: 'malformed'; topic: string; reason: string };

const END = -1n;

export class KvEventSubscriber {
  private readonly last = new Map<string, bigint>();
  private closed = false;

  private constructor(
    private readonly sub: Zmq.Subscriber,
    private readonly options: KvEventSubscriberOptions,
    private readonly dealer: Zmq.Dealer | null,
  ) {}

  static async open(options: KvEventSubscriberOptions): Promise<KvEventSubscriber> {
    const zmq = await loadZeroMQ('trtllm-metrics kv-events');
    const sub = new zmq.Subscriber({ linger: 0 });
    try {
      if (zmqBinds(options.subscribe)) await sub.bind(options.subscribe);
      else sub.connect(options.subscribe);
    } catch (err) {
      sub.close();
      throw new KvTransportError(`cannot ${zmqBinds(options.subscribe) ? 'bind' : 'connect'} the subscriber to ${options.subscribe}: ${(err as Error).message}`, { cause: err });
    }
    sub.subscribe(options.topic ?? '');
    let dealer: Zmq.Dealer | null = null;
    if (options.replay !== undefined) {
      dealer = new zmq.Dealer({ linger: 0, receiveTimeout: options.replayTimeoutMs ?? 5000 });
      dealer.connect(options.replay);
    }
    return new KvEventSubscriber(sub, options, dealer);
  }

  /** The endpoint as bound (a tcp://*:0 endpoint shows its port). */
  get endpoint(): string | null {
    return this.sub.lastEndpoint;
  }

  /**
   * Asks the replay socket for every held batch from `start` on; returns them in seq order. Throws when no
   * replay endpoint was given or the publisher does not answer within replayTimeoutMs.
   */
  async replayFrom(start: bigint): Promise<Array<{ seq: bigint; batch: WireBatch }>> {
    if (this.dealer === null) throw new KvTransportError('no replay endpoint (--replay) to ask');
    await this.dealer.send(['', seqFrame(start)]);
    const out: Array<{ seq: bigint; batch: WireBatch }> = [];
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await this.dealer.receive();
      } catch (err) {
        throw new KvTransportError(`the replay socket ${this.options.replay} did not answer: ${(err as Error).message}`, { cause: err });
      }
      // [delimiter, seq, payload]; a publisher that answers without the delimiter sends [seq, payload].
      const [seqBytes, payload] = frames.length === 3 ? [frames[1]!, frames[2]!] : [frames[0]!, frames[1]!];
      const seq = seqBytes.readBigInt64BE(0);
      if (seq === END) return out;
      out.push({ seq: BigInt.asUintN(64, seq), batch: decodeBatch(payload) });
    }
  }

  /** Every decoded batch, with the gaps, restarts and malformed messages met on the way. Ends on close(). */
  async *items(fromSeq?: bigint): AsyncGenerator<SubscriberItem> {
    let pendingStart = fromSeq;
    try {
      for (;;) {
        if (pendingStart !== undefined) {
          const start = pendingStart;
          pendingStart = undefined;
          for (const r of await this.replayFrom(start)) {
            const topic = this.options.topic ?? '';
            this.last.set(topic, r.seq);
            yield { kind: 'batch', topic, seq: r.seq, replayed: true, batch: r.batch };
          }
        }
        let frames: Buffer[];
        try {
          frames = await this.sub.receive();
        } catch (err) {
          if (this.closed) return;
          throw err;
        }
        yield* this.handle(frames);
      }
    } finally {
      this.close();
    }
  }

  private async *handle(frames: Buffer[]): AsyncGenerator<SubscriberItem> {
    const topic = frames[0]?.toString('utf8') ?? '';
    if (frames.length !== 3 || frames[1]!.length !== 8) {
      yield { kind: 'malformed', topic, reason: `expected [topic, 8-byte seq, payload], got ${frames.length} frames` };
      return;
    }
    const seq = frames[1]!.readBigUInt64BE(0);
    let batch: WireBatch;
    try {
      batch = decodeBatch(frames[2]!);
    } catch (err) {
      yield { kind: 'malformed', topic, reason: (err as Error).message };
      return;
    }
    const last = this.last.get(topic);
    if (last !== undefined && seq <= last) {
      if (seq !== 0n) return; // Already seen (e.g. from a replay).
      yield { kind: 'restart', topic, lastSeq: last };
    } else if (last !== undefined && seq > last + 1n) {
      const missing = this.dealer !== null ? (await this.replayFrom(last + 1n)).filter((r) => r.seq < seq) : [];
      yield { kind: 'gap', topic, first: last + 1n, last: seq - 1n, recovered: missing.length };
      for (const r of missing) {
        this.last.set(topic, r.seq);
        yield { kind: 'batch', topic, seq: r.seq, replayed: true, batch: r.batch };
      }
    }
    this.last.set(topic, seq);
    yield { kind: 'batch', topic, seq, replayed: false, batch };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sub.close();
    this.dealer?.close();
  }
}
