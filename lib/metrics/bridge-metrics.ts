/**
 * The native bridge's stream counters (BridgeCounters), sampled at scrape time from every attached source:
 * items produced, delivered and dropped per stream, the queue depth, and the KV events the executor itself
 * dropped. Counters stay monotonic across engines: when a source is detached its last counts are kept.
 */
import type { BridgeCounters, MetricsSource, StreamCounters } from '../types.js';
import { counterFamily, gaugeFamily, withLabels, type MetricsContext } from './context.js';
import type { CounterChild, FastFamily, GaugeChild } from './fast-metrics.js';

/** The `stream` label values, and the BridgeCounters field each one reads. */
export const BRIDGE_STREAMS = {
  responses: 'responses',
  request_records: 'requestRecords',
  iteration_stats: 'iterationStats',
  kv_events: 'kvEvents',
} as const satisfies Record<string, keyof BridgeCounters>;

type StreamLabel = keyof typeof BRIDGE_STREAMS;

export const BRIDGE_FAMILIES = {
  produced: ['bridge_produced_total', 'Items the native bridge received from the executor, by stream.'],
  delivered: ['bridge_delivered_total', 'Items the native bridge delivered to JavaScript, by stream.'],
  dropped: ['bridge_dropped_total', 'Items the native bridge dropped because its bounded queue was full, by stream.'],
  queued: ['bridge_queue_depth', 'Items waiting in the native bridge queue at scrape time, by stream.'],
  executorDropped: [
    'kv_event_executor_dropped_total',
    'KV cache events the executor dropped from its own buffer before they were read.',
  ],
} as const;

interface StreamSeries {
  field: keyof BridgeCounters;
  produced: CounterChild;
  delivered: CounterChild;
  dropped: CounterChild;
  queued: GaugeChild;
  /** Counts of detached sources, kept so the counters stay monotonic. */
  base: { produced: number; delivered: number; dropped: number };
}

export class BridgeMetrics {
  private readonly streams: StreamSeries[] = [];
  private readonly executorDropped: CounterChild;
  private executorDroppedBase = 0;
  /** Last counters read from each attached source (kept when a read fails, e.g. after shutdown). */
  private readonly last = new Map<MetricsSource, BridgeCounters>();
  readonly families: FastFamily[] = [];

  constructor(ctx: MetricsContext) {
    const B = BRIDGE_FAMILIES;
    const produced = counterFamily(ctx, B.produced[0], B.produced[1], ['stream']);
    const delivered = counterFamily(ctx, B.delivered[0], B.delivered[1], ['stream']);
    const dropped = counterFamily(ctx, B.dropped[0], B.dropped[1], ['stream']);
    const queued = gaugeFamily(ctx, B.queued[0], B.queued[1], ['stream']);
    const exec = counterFamily(ctx, B.executorDropped[0], B.executorDropped[1]);
    this.families.push(produced, delivered, dropped, queued, exec);
    for (const label of Object.keys(BRIDGE_STREAMS) as StreamLabel[]) {
      const labels = withLabels(ctx, { stream: label });
      this.streams.push({
        field: BRIDGE_STREAMS[label],
        produced: produced.child(labels, ctx.owner),
        delivered: delivered.child(labels, ctx.owner),
        dropped: dropped.child(labels, ctx.owner),
        queued: queued.child(labels, ctx.owner),
        base: { produced: 0, delivered: 0, dropped: 0 },
      });
    }
    this.executorDropped = exec.child(ctx.labels, ctx.owner);
  }

  add(source: MetricsSource): void {
    this.last.set(source, zeroCounters());
    this.read(source);
  }

  /** Keeps the source's final counts in the base and stops reading it. */
  remove(source: MetricsSource): void {
    this.read(source);
    const c = this.last.get(source);
    if (c === undefined) return;
    this.last.delete(source);
    for (const s of this.streams) {
      const sc = c[s.field] as StreamCounters;
      s.base.produced += sc.produced;
      s.base.delivered += sc.delivered;
      s.base.dropped += sc.dropped;
    }
    this.executorDroppedBase += c.kvEventsDroppedByExecutor;
    this.publish();
  }

  get attachedCount(): number {
    return this.last.size;
  }

  /** Reads every attached source and publishes the sums. */
  refresh(): void {
    if (this.last.size === 0) return;
    for (const source of this.last.keys()) this.read(source);
    this.publish();
  }

  private read(source: MetricsSource): void {
    try {
      const c = source.counters();
      if (c && typeof c === 'object') this.last.set(source, c);
    } catch {
      // The engine is closed (or failing): keep its last counts.
    }
  }

  private publish(): void {
    for (const s of this.streams) {
      let produced = s.base.produced;
      let delivered = s.base.delivered;
      let dropped = s.base.dropped;
      let queued = 0;
      for (const c of this.last.values()) {
        const sc = c[s.field] as StreamCounters | undefined;
        if (!sc) continue;
        produced += sc.produced;
        delivered += sc.delivered;
        dropped += sc.dropped;
        queued += sc.queued;
      }
      s.produced.setTotal(produced);
      s.delivered.setTotal(delivered);
      s.dropped.setTotal(dropped);
      s.queued.set(queued);
    }
    let exec = this.executorDroppedBase;
    for (const c of this.last.values()) exec += c.kvEventsDroppedByExecutor || 0;
    this.executorDropped.setTotal(exec);
  }
}

function zeroStream(): StreamCounters {
  return { produced: 0, delivered: 0, dropped: 0, queued: 0, capacity: 0 };
}

function zeroCounters(): BridgeCounters {
  return {
    responses: zeroStream(),
    requestRecords: zeroStream(),
    iterationStats: zeroStream(),
    kvEvents: zeroStream(),
    kvEventsDroppedByExecutor: 0,
  };
}
