/**
 * KV-cache event metrics: blocks stored / removed / updated, event-id gaps (events lost before we saw them),
 * the size of each delivered batch, the executor's event buffer capacity, and the host tier's utilization
 * (blocks offloaded to host memory, followed through the events).
 */
import { InvalidArgumentError } from '../errors.js';
import { KvEventObjects, type KvEventBatch, type KvEventReader } from '../kv-event-batch.js';
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
  hostUtilization: [
    'kv_cache_host_utilization',
    'Share of the host (secondary) KV cache tier holding offloaded blocks, 0..1 (followed through KV cache events).',
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

/**
 * The host (secondary) KV tier of one event stream, followed through its events: `created` gives each rank's
 * host pool size (num_blocks_per_cache_level[1]); an `updated` cache level 0 -> 1 is a block offloaded to host
 * memory, 1 -> 0 a block onboarded back; a `removed` hash leaves whichever tier held it. A new `created`
 * event of a rank (the executor restarted) starts that rank afresh. Lost events (id gaps) can leave a count
 * off; it never exceeds the pool, and the set of hashes is bounded by twice the pool.
 */
export class HostTierTracker {
  private readonly pool = new Map<number, number>();
  private readonly onHost = new Map<number, Set<bigint>>();

  /** Blocks the host pools hold in all (summed over ranks). */
  get capacity(): number {
    let n = 0;
    for (const v of this.pool.values()) n += v;
    return n;
  }

  /** Host blocks holding an offloaded block (summed over ranks, each at most its pool). */
  get used(): number {
    let n = 0;
    for (const [rank, set] of this.onHost) n += Math.min(set.size, this.pool.get(rank) ?? 0);
    return n;
  }

  /** Follows event i of a delivery; returns whether the host tier may have changed. */
  see(events: KvEventReader, i: number, rank: number): boolean {
    switch (events.type(i)) {
      case 'created': {
        this.pool.set(rank, Math.max(0, events.createdBlocks(i, 1)));
        this.onHost.set(rank, new Set());
        return true;
      }
      case 'updated': {
        const change = events.cacheLevelChange(i);
        const hash = events.updatedHash(i);
        if (change === null || typeof hash !== 'bigint') return false;
        if (change.new === 1 && change.old !== 1) this.add(rank, hash);
        else if (change.new === 0 && change.old === 1) this.onHost.get(rank)?.delete(hash);
        else return false;
        return true;
      }
      case 'removed': {
        const set = this.onHost.get(rank);
        const n = events.blockCount(i);
        if (set === undefined || set.size === 0 || n === 0) return false;
        for (let k = 0; k < n; k++) set.delete(events.removedHash(i, k));
        return true;
      }
      case 'stored': {
        let changed = false;
        for (let b = 0, n = events.blockCount(i); b < n; b++) {
          const hash = events.blockHash(i, b);
          if (events.blockCacheLevel(i, b) === 1 && typeof hash === 'bigint') {
            this.add(rank, hash);
            changed = true;
          }
        }
        return changed;
      }
      default:
        return false;
    }
  }

  private add(rank: number, hash: bigint): void {
    let set = this.onHost.get(rank);
    if (set === undefined) {
      set = new Set();
      this.onHost.set(rank, set);
    }
    set.add(hash);
    // A removal we never saw (a gap) would otherwise grow the set without bound: drop the oldest entries.
    const cap = 2 * (this.pool.get(rank) ?? 0) + 16;
    if (set.size > cap) set.delete(set.values().next().value as bigint);
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
  readonly hostUtilizationFamily: FastGauge;
  private readonly hostUtilization: GaugeChild;
  /** The host tier of every attached event stream (the gauge is their blocks in use over their pools). */
  private readonly hostTiers = new Set<HostTierTracker>();
  readonly defaultHostTier = new HostTierTracker();

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
    this.hostUtilizationFamily = gaugeFamily(ctx, K.hostUtilization[0], K.hostUtilization[1]);
    this.hostUtilization = this.hostUtilizationFamily.child(ctx.labels, own);
    this.hostTiers.add(this.defaultHostTier);
  }

  /** Follows one more event stream's host tier (an attached source). */
  addHostTier(tier: HostTierTracker): void {
    this.hostTiers.add(tier);
  }

  removeHostTier(tier: HostTierTracker): void {
    this.hostTiers.delete(tier);
  }

  /** Records one delivered batch of events (in delivery order) with the given stream's id tracker. */
  log(events: readonly KvCacheEvent[], tracker: EventIdTracker = this.defaultTracker, hostTier: HostTierTracker = this.defaultHostTier): void {
    if (!Array.isArray(events)) throw new InvalidArgumentError('KV cache events must be an array');
    this.count(new KvEventObjects(events), tracker, hostTier);
  }

  /** The same for a packed batch (Engine.onKvCacheEventBatch): reads or builds no object. */
  logBatch(batch: KvEventBatch, tracker: EventIdTracker = this.defaultTracker, hostTier: HostTierTracker = this.defaultHostTier): void {
    this.count(batch, tracker, hostTier);
  }

  private count(events: KvEventReader, tracker: EventIdTracker, hostTier: HostTierTracker): void {
    const n = events.length;
    if (n === 0) return;
    this.drainBatch.observe(n);
    let stored = 0;
    let removed = 0;
    let updated = 0;
    let missing = 0;
    let hostChanged = false;
    for (let i = 0; i < n; i++) {
      const rank = events.dpRank(i) ?? 0;
      const id = events.eventId(i);
      if (Number.isFinite(id)) missing += tracker.see(id, rank);
      if (hostTier.see(events, i, rank)) hostChanged = true;
      const type = events.type(i);
      if (type === 'stored') stored += events.blockCount(i);
      else if (type === 'removed') removed += events.blockCount(i);
      else if (type === 'updated') updated += 1;
    }
    if (stored > 0) this.stored.inc(stored);
    if (removed > 0) this.removed.inc(removed);
    if (updated > 0) this.updated.inc(updated);
    if (missing > 0) this.gaps.inc(missing);
    if (hostChanged) this.updateHostUtilization();
  }

  private updateHostUtilization(): void {
    let used = 0;
    let pool = 0;
    for (const t of this.hostTiers) {
      used += t.used;
      pool += t.capacity;
    }
    // As TensorRT-LLM: no host tier, no value.
    if (pool > 0) this.hostUtilization.set(used / pool);
  }
}
