/**
 * The same payloads into a NATS JetStream stream (official clients @nats-io/transport-node and
 * @nats-io/jetstream, optional peer dependencies), so a router that starts late or restarts reads what it
 * missed from the stream. Each message carries headers `Kv-Seq` (the publisher's seq) and `Kv-Topic`, and a
 * `Nats-Msg-Id` unique to this publisher and seq (JetStream drops a duplicate within its window). A batch
 * counts as published once JetStream acknowledged it; while the client is disconnected (it reconnects on its
 * own, forever) batches are dropped at once and counted as transport_down, so the queue never fills with
 * batches that would only time out.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamClient } from '@nats-io/jetstream';
import { randomBytes } from 'node:crypto';
import { KvTransportError } from '../errors.js';
import { importOptional } from '../optional-dependency.js';
import { SendQueue, type OutMessage } from './send-queue.js';

type NatsNode = typeof import('@nats-io/transport-node');
type NatsJetStream = typeof import('@nats-io/jetstream');

export interface NatsTransportOptions {
  servers: string;
  subject: string;
  stream: string;
  topic: string;
  sendQueue: number;
  /** Publishes awaiting their ack at once. */
  pipeline?: number;
  ackTimeoutMs?: number;
}

const FEATURE = '--kv-events-nats';
const PACKAGES = ['@nats-io/transport-node', '@nats-io/jetstream'];

export class NatsTransport extends SendQueue {
  private connected = true;
  private closed = false;
  private readonly instance = randomBytes(6).toString('hex');

  private constructor(
    private readonly nats: NatsNode,
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly options: NatsTransportOptions,
  ) {
    super('nats', options.sendQueue, options.pipeline ?? 64);
    void this.watchStatus();
  }

  static async open(options: NatsTransportOptions): Promise<NatsTransport> {
    const nats = await importOptional<NatsNode>('@nats-io/transport-node', PACKAGES, FEATURE);
    const jsMod = await importOptional<NatsJetStream>('@nats-io/jetstream', PACKAGES, FEATURE);
    const servers = options.servers.split(',').map((s) => s.trim());
    let nc: NatsConnection;
    try {
      nc = await nats.connect({ servers, name: 'trtllm-metrics kv-events', maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    } catch (err) {
      throw new KvTransportError(`cannot connect to NATS at ${options.servers}: ${(err as Error).message}`, { cause: err });
    }
    try {
      await ensureStream(jsMod, nc, options.stream, options.subject);
    } catch (err) {
      await nc.close().catch(() => undefined);
      throw new KvTransportError(`cannot set up JetStream stream ${options.stream} for subject ${options.subject} at ${options.servers}: ${(err as Error).message}`, { cause: err });
    }
    return new NatsTransport(nats, nc, jsMod.jetstream(nc), options);
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnecting') this.connected = false;
      else if (s.type === 'reconnect') this.connected = true;
    }
  }

  protected async deliver(msg: OutMessage): Promise<boolean> {
    const h = this.nats.headers();
    h.set('Kv-Seq', String(msg.seq));
    h.set('Kv-Topic', this.options.topic);
    try {
      await this.js.publish(this.options.subject, msg.payload, {
        msgID: `${this.instance}-${msg.seq}`,
        headers: h,
        timeout: this.options.ackTimeoutMs ?? 5000,
      });
      return true;
    } catch {
      return false;
    }
  }

  protected isDown(): boolean {
    return this.closed || !this.connected || this.nc.isClosed();
  }

  protected async closeTransport(): Promise<void> {
    this.closed = true;
    await this.nc.drain().catch(() => this.nc.close());
  }
}

/** Creates the stream with the subject, or adds the subject to an existing stream that lacks it. */
async function ensureStream(jsMod: NatsJetStream, nc: NatsConnection, name: string, subject: string): Promise<void> {
  const jsm = await jsMod.jetstreamManager(nc);
  let info;
  try {
    info = await jsm.streams.info(name);
  } catch (err) {
    if (!(err instanceof Error) || !/not found/i.test(err.message)) throw err;
    await jsm.streams.add({ name, subjects: [subject], storage: jsMod.StorageType.File });
    return;
  }
  const subjects = info.config.subjects ?? [];
  if (!subjects.includes(subject)) await jsm.streams.update(name, { subjects: [...subjects, subject] });
}
