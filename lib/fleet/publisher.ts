/**
 * KvEventPublisher: an engine's KV-cache events out of process, for KV-aware routers. Each delivery of
 * TensorRT-LLM events is mapped onto vLLM's events (lib/fleet/event-mapping.ts), encoded once as an EventBatch
 * (lib/fleet/wire-encoding.ts) with the next seq, kept for replay, and handed to each transport's bounded
 * send queue: ZeroMQ (vLLM's wire format; lib/fleet/zmq-transport.ts) and/or NATS JetStream
 * (lib/fleet/nats-transport.ts). Nothing here waits for a subscriber or a broker. docs/fleet.md.
 */
import { InvalidArgumentError } from '../errors.js';
import { resolveTree } from '../options/check.js';
import type { OptionsOf, ResolvedOf } from '../options/define.js';
import { KV_PUBLISHER_OPTIONS } from '../options/fleet-table.js';
import type { KvCacheEvent } from '../types.js';
import { KvEventBatch } from '../kv-event-batch.js';
import { KvEventMapper, type MappingCounts } from './event-mapping.js';
import { MsgpackWriter } from './msgpack-writer.js';
import { NatsTransport } from './nats-transport.js';
import { ReplayBuffer } from './replay-buffer.js';
import { ReplayServer } from './replay-server.js';
import type { OutMessage, SendQueue, TransportCounters } from './send-queue.js';
import { defaultPodId, expandSubject, expandTopic } from './topic.js';
import { encodeBatch } from './wire-encoding.js';
import { blocksOf, type WireBatch, type WireEncoding } from './wire-events.js';
import { loadZeroMQ, seqFrame } from './zeromq.js';
import { ZmqTransport } from './zmq-transport.js';

/** Options of KvEventPublisher (lib/options/fleet-table.ts; docs/options.md). */
export type KvEventPublisherOptions = OptionsOf<typeof KV_PUBLISHER_OPTIONS>;

/** What a publisher needs from an engine: its events, block size and served model name. */
export interface KvEventSource {
  readonly modelName: string;
  readonly tokensPerBlock: number;
  readonly kvEventBufferCapacity: number;
  onKvCacheEvents(listener: (events: readonly KvCacheEvent[]) => void): () => void;
  /** The same events packed (Engine has it): taken instead when present, so publishing builds no event objects. */
  onKvCacheEventBatch?(listener: (batch: KvEventBatch) => void): () => void;
}

export type KvTransportName = 'zmq' | 'nats';

export interface KvPublisherCounters {
  /** Batches encoded (the next seq). */
  batches: number;
  /** Wire events made from the engine's events (each transport is handed all of them). */
  events: number;
  /** TensorRT-LLM events and blocks that have no vLLM event (lib/fleet/event-mapping.ts). */
  mapping: MappingCounts;
  transports: Partial<Record<KvTransportName, TransportCounters>>;
  /** Replay requests answered, and batches held for replay. */
  replay: { served: number; held: number } | null;
}

/** The rules joining the transport options (each option alone is checked by its table row). */
export function checkTransports(o: { endpoint?: string; replayEndpoint?: string; nats?: string }, where = 'options'): void {
  if (o.endpoint === undefined && o.nats === undefined) {
    throw new InvalidArgumentError(`${where}: a KV-event publisher needs ${where}.endpoint (--kv-events-endpoint) or ${where}.nats (--kv-events-nats)`);
  }
  if (o.replayEndpoint !== undefined && o.endpoint === undefined) {
    throw new InvalidArgumentError(`${where}.replayEndpoint (--kv-events-replay-endpoint) needs ${where}.endpoint (--kv-events-endpoint)`);
  }
}

export class KvEventPublisher {
  /** The ZeroMQ topic of every message, and the NATS subject, after {pod} and {model}. */
  readonly topic: string;
  readonly subject: string | null;
  readonly encoding: WireEncoding;
  private readonly mapper: KvEventMapper;
  private readonly writer = new MsgpackWriter();
  /** Only with a replay endpoint: nothing else reads it, and it holds replayBuffer payloads. */
  private readonly replayBuffer: ReplayBuffer | null;
  private readonly transports = new Map<KvTransportName, SendQueue>();
  private replay: ReplayServer | null = null;
  private nextSeq = 0n;
  private events = 0;
  private readonly detachers = new Set<() => void>();
  private closePromise: Promise<void> | undefined;
  /** Errors thrown while publishing a delivery (a listener must not throw into the engine). */
  listenerErrors = 0;

  private constructor(private readonly o: ResolvedOf<typeof KV_PUBLISHER_OPTIONS>, blockSize: number, model: string) {
    const values = { pod: o.podId ?? defaultPodId(), model };
    this.topic = expandTopic(o.topic ?? '', values);
    this.subject = o.nats !== undefined ? expandSubject(o.subject, values) : null;
    this.encoding = o.encoding;
    this.mapper = new KvEventMapper(blockSize);
    this.replayBuffer = o.replayEndpoint !== undefined ? new ReplayBuffer(o.replayBuffer) : null;
  }

  /**
   * Validates the options and opens the transports (binds or connects the ZeroMQ sockets, connects to NATS and
   * sets up the stream). Fails with InvalidArgumentError (options) or KvTransportError (a socket or broker).
   */
  static async start(options: KvEventPublisherOptions): Promise<KvEventPublisher> {
    const o = resolveTree(KV_PUBLISHER_OPTIONS, options, { root: 'options' });
    checkTransports(o);
    if (o.blockSize === undefined) throw new InvalidArgumentError('options.blockSize is required (KvEventPublisher.forEngine() takes the engine\'s)');
    const usesModel = /\{model\}/.test(o.topic ?? '') || (o.nats !== undefined && /\{model\}/.test(o.subject));
    if (usesModel && o.modelName === undefined) throw new InvalidArgumentError('options.modelName is required: the topic or subject uses {model}');
    const p = new KvEventPublisher(o, o.blockSize, o.modelName ?? '');
    try {
      await p.open();
    } catch (err) {
      await p.close();
      throw err;
    }
    return p;
  }

  /** start() with the engine's block size and model name, attached to the engine. */
  static async forEngine(engine: KvEventSource, options: KvEventPublisherOptions = {}): Promise<KvEventPublisher> {
    if (!(engine.kvEventBufferCapacity > 0)) {
      throw new InvalidArgumentError('the engine has KV events off: set executorConfig.kvCacheConfig.eventBufferMaxSize (--event-buffer-size) above 0');
    }
    const p = await KvEventPublisher.start({ ...options, blockSize: engine.tokensPerBlock, modelName: engine.modelName });
    p.attach(engine);
    return p;
  }

  private async open(): Promise<void> {
    const o = this.o;
    if (o.endpoint !== undefined) {
      const zmq = await loadZeroMQ('--kv-events-endpoint');
      this.transports.set('zmq', await ZmqTransport.open(zmq, { endpoint: o.endpoint, topic: this.topic, sendQueue: o.sendQueue, sendHighWaterMark: o.sendHighWaterMark }));
      if (o.replayEndpoint !== undefined) this.replay = await ReplayServer.open(zmq, o.replayEndpoint, this.replayBuffer!);
    }
    if (o.nats !== undefined) {
      this.transports.set('nats', await NatsTransport.open({ servers: o.nats, subject: this.subject!, stream: o.stream, topic: this.topic, sendQueue: o.sendQueue }));
    }
  }

  /** The endpoints as bound or connected (a tcp://*:0 endpoint shows its port); null when not configured. */
  get endpoint(): string | null {
    return (this.transports.get('zmq') as ZmqTransport | undefined)?.boundEndpoint ?? null;
  }

  get replayEndpoint(): string | null {
    return this.replay?.boundEndpoint ?? null;
  }

  /** Publishes every KV-cache event the source delivers from now on. Returns a function that detaches. */
  attach(source: Pick<KvEventSource, 'onKvCacheEvents' | 'onKvCacheEventBatch'>): () => void {
    const onEvents = (events: readonly KvCacheEvent[] | KvEventBatch): void => {
      try {
        this.publish(events);
      } catch (err) {
        this.listenerErrors++;
        if (this.listenerErrors === 1) process.emitWarning(`trtllm-metrics: publishing KV events failed: ${(err as Error)?.message ?? String(err)}`, { code: 'TRTLLM_METRICS_KV_PUBLISH' });
      }
    };
    const off = typeof source.onKvCacheEventBatch === 'function' ? source.onKvCacheEventBatch(onEvents) : source.onKvCacheEvents(onEvents);
    const detach = (): void => {
      if (this.detachers.delete(detach)) off();
    };
    this.detachers.add(detach);
    return detach;
  }

  /** Maps, encodes and enqueues one delivery of TensorRT-LLM events (in delivery order, objects or packed). Never waits. */
  publish(events: readonly KvCacheEvent[] | KvEventBatch): void {
    if (!Array.isArray(events) && !(events instanceof KvEventBatch)) {
      throw new InvalidArgumentError('publish(events): events must be an array of KV-cache events or a KvEventBatch');
    }
    if (this.closePromise !== undefined || events.length === 0) return;
    for (const batch of this.mapper.map(events, Date.now() / 1000)) this.publishBatch(batch);
  }

  /** Encodes and enqueues one batch of vLLM events as it is (e.g. an AllBlocksCleared of your own). */
  publishBatch(batch: WireBatch): void {
    if (this.closePromise !== undefined) return;
    const seq = this.nextSeq++;
    const payload = encodeBatch(batch, this.encoding, this.writer);
    let blocks = 0;
    for (const e of batch.events) blocks += blocksOf(e);
    const msg: OutMessage = { seq, seqFrame: seqFrame(seq), payload, events: batch.events.length, blocks };
    this.events += msg.events;
    this.replayBuffer?.add(msg);
    for (const t of this.transports.values()) t.enqueue(msg);
  }

  /** Resolves once every batch made so far has been sent or dropped by every transport. */
  async flush(): Promise<void> {
    await Promise.all([...this.transports.values()].map((t) => t.flush()));
  }

  counters(): KvPublisherCounters {
    const transports: KvPublisherCounters['transports'] = {};
    for (const [name, t] of this.transports) transports[name] = t.counters();
    return {
      batches: Number(this.nextSeq),
      events: this.events,
      mapping: { ...this.mapper.counts },
      transports,
      replay: this.replay ? { served: this.replay.served, held: this.replayBuffer!.length } : null,
    };
  }

  /**
   * Detaches, gives the queues closeTimeoutMs to send what they hold (the rest is counted as dropped,
   * reason shutdown) and closes the sockets and the NATS connection. Idempotent.
   */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      for (const d of [...this.detachers]) d();
      await Promise.all([...this.transports.values()].map((t) => t.close(this.o.closeTimeoutMs)));
      await this.replay?.close();
    })();
    return this.closePromise;
  }
}
