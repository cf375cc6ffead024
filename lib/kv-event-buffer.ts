/**
 * The newest `capacity` KV-cache events, kept packed (KvEventBatch) until they are drained: what
 * getLatestKvCacheEvents() and GET /kv_cache_events return. Older events are dropped, and counted, when newer
 * ones arrive beyond the capacity; nothing becomes an object before drain().
 */
import type { KvEventBatch } from './kv-event-batch.js';
import type { KvCacheEvent } from './types.js';

export class KvEventBuffer {
  private batches: KvEventBatch[] = [];
  /** Events held. */
  size = 0;
  /** Events dropped because the buffer was full. */
  dropped = 0;

  constructor(private readonly capacity: number) {}

  push(batch: KvEventBatch): void {
    if (batch.length === 0) return;
    this.batches.push(batch);
    this.size += batch.length;
    let excess = this.size - this.capacity;
    while (excess > 0) {
      const oldest = this.batches[0]!;
      const n = Math.min(excess, oldest.length);
      if (n === oldest.length) this.batches.shift();
      else this.batches[0] = oldest.slice(n);
      this.size -= n;
      this.dropped += n;
      excess -= n;
    }
  }

  /** Every event held, oldest first, as objects; the buffer is empty afterwards. */
  drain(): KvCacheEvent[] {
    const out: KvCacheEvent[] = [];
    for (const b of this.batches) for (const e of b.toEvents()) out.push(e);
    this.batches = [];
    this.size = 0;
    return out;
  }
}
