/**
 * The KV-event publisher's accounting on /metrics (beside the bridge's stream counters), sampled at scrape
 * time from KvEventPublisher.counters(): per transport, events produced, published and dropped by reason
 * (produced = published + dropped + queued), published blocks and the last published seq; and the engine
 * events and blocks that have no vLLM event. docs/fleet.md "Metrics".
 */
import type { KvEventPublisher, KvTransportName } from '../fleet/publisher.js';
import { DROP_REASONS } from '../fleet/send-queue.js';
import { counterFamily, gaugeFamily, withLabels } from './context.js';
import { SampledGroup, type SampledGroupOptions } from './sampled-group.js';

export const KV_PUBLISHER_FAMILIES = {
  produced: ['kv_events_produced_total', 'KV events (vLLM wire events) handed to a transport of the KV-event publisher, by transport.'],
  published: ['kv_events_published_total', 'KV events the transport sent (ZeroMQ: taken by the socket; NATS: acknowledged by JetStream), by transport.'],
  publishedBlocks: ['kv_events_published_blocks_total', 'KV-cache blocks in the KV events the transport sent, by transport.'],
  dropped: ['kv_events_dropped_total', 'KV events not sent, by transport and reason (queue_full, transport_down, shutdown).'],
  queued: ['kv_events_queued', 'KV events waiting in or being sent from the send queue at scrape time, by transport.'],
  lastSeq: ['kv_events_last_seq', 'Sequence number of the last batch the transport sent; -1 before the first.'],
  up: ['kv_events_transport_up', '1 while the transport can send (NATS connected), else 0.'],
  subscriptions: ['kv_events_subscriptions', 'Distinct topic prefixes subscribed to the ZeroMQ publisher (0: nobody listens).'],
  skipped: ['kv_events_unmapped_total', 'Engine KV-cache events and blocks with no vLLM event (priority-only updates, partial blocks), by unit.'],
  replays: ['kv_events_replay_requests_total', 'Replay requests the ZeroMQ replay socket answered.'],
} as const;

const TRANSPORTS: readonly KvTransportName[] = ['zmq', 'nats'];

/** Where the series go: a collector's registry, base labels and prefix. */
export type KvPublisherMetricsOptions = SampledGroupOptions;

export class KvPublisherMetrics {
  private readonly group: SampledGroup;

  constructor(publisher: KvEventPublisher, options: KvPublisherMetricsOptions) {
    this.group = new SampledGroup(options, (ctx, owner) => {
      const F = KV_PUBLISHER_FAMILIES;
      const produced = counterFamily(ctx, F.produced[0], F.produced[1], ['transport']);
      const published = counterFamily(ctx, F.published[0], F.published[1], ['transport']);
      const blocks = counterFamily(ctx, F.publishedBlocks[0], F.publishedBlocks[1], ['transport']);
      const dropped = counterFamily(ctx, F.dropped[0], F.dropped[1], ['transport', 'reason']);
      const queued = gaugeFamily(ctx, F.queued[0], F.queued[1], ['transport']);
      const lastSeq = gaugeFamily(ctx, F.lastSeq[0], F.lastSeq[1], ['transport']);
      const up = gaugeFamily(ctx, F.up[0], F.up[1], ['transport']);
      const subscriptions = gaugeFamily(ctx, F.subscriptions[0], F.subscriptions[1], ['transport']);
      const skipped = counterFamily(ctx, F.skipped[0], F.skipped[1], ['unit']);
      const replays = counterFamily(ctx, F.replays[0], F.replays[1]);
      const first = publisher.counters();
      const series = TRANSPORTS.filter((t) => first.transports[t] !== undefined).map((t) => {
        const l = withLabels(ctx, { transport: t });
        return {
          t,
          produced: produced.child(l, owner),
          published: published.child(l, owner),
          blocks: blocks.child(l, owner),
          dropped: DROP_REASONS.map((reason) => [reason, dropped.child(withLabels(ctx, { transport: t, reason }), owner)] as const),
          queued: queued.child(l, owner),
          lastSeq: lastSeq.child(l, owner),
          up: up.child(l, owner),
          subscriptions: first.transports[t]!.subscriptions !== undefined ? subscriptions.child(l, owner) : null,
        };
      });
      const skippedEvents = skipped.child(withLabels(ctx, { unit: 'events' }), owner);
      const skippedBlocks = skipped.child(withLabels(ctx, { unit: 'blocks' }), owner);
      const replaySeries = first.replay !== null ? replays.child(ctx.labels, owner) : null;
      return () => {
        const c = publisher.counters();
        for (const s of series) {
          const tc = c.transports[s.t]!;
          s.produced.setTotal(tc.produced);
          s.published.setTotal(tc.published);
          s.blocks.setTotal(tc.publishedBlocks);
          for (const [reason, child] of s.dropped) child.setTotal(tc.dropped[reason]);
          s.queued.set(tc.queued);
          s.lastSeq.set(tc.lastSeq);
          s.up.set(tc.up ? 1 : 0);
          s.subscriptions?.set(tc.subscriptions ?? 0);
        }
        skippedEvents.setTotal(c.mapping.skippedEvents);
        skippedBlocks.setTotal(c.mapping.skippedBlocks);
        if (replaySeries !== null) replaySeries.setTotal(c.replay!.served);
      };
    });
  }

  /** Removes this publisher's series from the registry. */
  close(): void {
    this.group.close();
  }
}
