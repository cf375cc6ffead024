/**
 * KV-cache event metrics: blocks stored / removed / updated, event-id gaps (events lost before we saw them),
 * the size of each delivered batch, and the executor's event buffer capacity.
 */
import { InvalidArgumentError } from '../errors.js';
import type { KvEventBatch } from '../kv-event-batch.js';
import type { KvCacheEvent } from '../types.js';
import type { CollectorHistogramName } from './buckets.js';
import { counterFamily, gaugeFamily, histogramFamily, type MetricsContext } from './context.js';
import type { CounterChild, FastGauge, GaugeChild, HistogramChild } from './fast-metrics.js';

export const KV_EVENT_FAMILIES = {
  blocksStored: ['kv_cache_blocks_stored_total', 'KV cache blocks stored (made reusable), from KV cache events.'],
  blocksRemoved: ['kv_cache_blocks_removed_total', 'KV cache blocks removed (evicted), from KV cache events.'],
  blocksUpdated: ['kv_cache_blocks_updated_total', 'KV cache block updates (cache level or priority), from KV cache events.'],
  idGaps: ['kv_event_id_gap_events_total', 'KV cache event ids that never arrived (gaps between consecutive ids).'],
  drainBatchSize: ['kv_event_drain_batch_size', 'Number of KV cache events delivered in one batch.'],
  bufferCapacity: [
    'kv_event_buffer_capacity',
    'Configured maximum number of KV cache events buffered by the executor before older events are dropped.',
  ],
} as const;

/**
 * Detects missing event ids of one event stream. Ids are consecutive per attention-DP rank (an absent rank is
 * rank 0). The first event of a rank sets the baseline; an id above last+1 reports the ids skipped; an id at
 * or below the last one (the executor restarted) sets a new baseline without reporting a gap.
 */
export class EventIdTracker {
  private readonly last = new Map<number, number>();

  /** Returns how many ids are missing before this event. */
  see(eventId: number, rank = 0): number {
    const prev = this.last.get(rank);
    this.last.set(rank, eventId);
    if (prev === undefined) return 0;
    const expected = prev + 1;
    return eventId > expected ? eventId - expected : 0;
  }

  reset(): void {
    this.last.clear();
  }
}

export class KvEventMetrics {
  private readonly stored: CounterChild;
  private readonly removed: CounterChild;
  private readonly updated: CounterChild;
  private readonly gaps: CounterChild;
  private readonly drainBatch: HistogramChild;
  readonly capacityFamily: FastGauge;
  readonly capacity: GaugeChild;
  readonly defaultTracker = new EventIdTracker();

  constructor(ctx: MetricsContext, buckets: Readonly<Record<CollectorHistogramName, readonly number[]>>) {
    const K = KV_EVENT_FAMILIES;
    const own = ctx.owner;
    this.stored = counterFamily(ctx, K.blocksStored[0], K.blocksStored[1]).child(ctx.labels, own);
    this.removed = counterFamily(ctx, K.blocksRemoved[0], K.blocksRemoved[1]).child(ctx.labels, own);
    this.updated = counterFamily(ctx, K.blocksUpdated[0], K.blocksUpdated[1]).child(ctx.labels, own);
    this.gaps = counterFamily(ctx, K.idGaps[0], K.idGaps[1]).child(ctx.labels, own);
    this.drainBatch = histogramFamily(ctx, K.drainBatchSize[0], K.drainBatchSize[1], buckets.kv_event_drain_batch_size).child(
      ctx.labels,
      own,
    );
    this.capacityFamily = gaugeFamily(ctx, K.bufferCapacity[0], K.bufferCapacity[1]);
    this.capacity = this.capacityFamily.child(ctx.labels, own);
  }

  /** Records one delivered batch of events (in delivery order) with the given stream's id tracker. */
  log(events: readonly KvCacheEvent[], tracker: EventIdTracker = this.defaultTracker): void {
    if (!Array.isArray(events)) throw new InvalidArgumentError('KV cache events must be an array');
    this.count(new ObjectEvents(events), tracker);
  }

  /** The same for a packed batch (Engine.onKvCacheEventBatch): no object is read or built. */
  logBatch(batch: KvEventBatch, tracker: EventIdTracker = this.defaultTracker): void {
    this.count(batch, tracker);
  }

  private count(events: EventFacts, tracker: EventIdTracker): void {
    const n = events.length;
    if (n === 0) return;
    this.drainBatch.observe(n);
    let stored = 0;
    let removed = 0;
    let updated = 0;
    let missing = 0;
    for (let i = 0; i < n; i++) {
      const id = events.eventId(i);
      if (Number.isFinite(id)) missing += tracker.see(id, events.dpRank(i) ?? 0);
      const type = events.type(i);
      if (type === 'stored') stored += events.blockCount(i);
      else if (type === 'removed') removed += events.blockCount(i);
      else if (type === 'updated') updated += 1;
    }
    this.add(stored, removed, updated, missing);
  }

  private add(stored: number, removed: number, updated: number, missing: number): void {
    if (stored > 0) this.stored.inc(stored);
    if (removed > 0) this.removed.inc(removed);
    if (updated > 0) this.updated.inc(updated);
    if (missing > 0) this.gaps.inc(missing);
  }
}

/** What counting reads of each event; a KvEventBatch has it packed, ObjectEvents reads it from event objects. */
interface EventFacts {
  readonly length: number;
  /** NaN when the event has no usable id. */
  eventId(i: number): number;
  dpRank(i: number): number | undefined;
  type(i: number): string | undefined;
  /** Stored or removed blocks (0 when the event does not say). */
  blockCount(i: number): number;
}

/** Event objects as they come from any source: anything malformed counts as nothing. */
class ObjectEvents implements EventFacts {
  constructor(private readonly events: readonly KvCacheEvent[]) {}

  get length(): number {
    return this.events.length;
  }

  eventId(i: number): number {
    const id = this.at(i)?.event_id;
    return typeof id === 'number' ? id : NaN;
  }

  dpRank(i: number): number | undefined {
    const rank = this.at(i)?.attention_dp_rank;
    return typeof rank === 'number' ? rank : undefined;
  }

  type(i: number): string | undefined {
    const data = this.at(i)?.data;
    return data !== null && typeof data === 'object' ? data.type : undefined;
  }

  blockCount(i: number): number {
    const data = this.at(i)?.data;
    if (data?.type === 'stored') return Array.isArray(data.blocks) ? data.blocks.length : 0;
    if (data?.type === 'removed') return Array.isArray(data.block_hashes) ? data.block_hashes.length : 0;
    return 0;
  }

  private at(i: number): KvCacheEvent | undefined {
    const ev = this.events[i];
    return ev !== null && typeof ev === 'object' ? ev : undefined;
  }
}
