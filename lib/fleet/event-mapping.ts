/**
 * TensorRT-LLM's KV-cache events (KVCacheEvent, in the Python JSON shape of lib/types.ts) onto vLLM's wire
 * events. The rules, one per TensorRT-LLM event (docs/fleet.md "Mapping"):
 * - created: the pool is new and empty: AllBlocksCleared, so a router forgets what an earlier process of this
 *   worker held (the pool sizes have no vLLM field).
 * - stored: BlockStored per run of blocks with the same cache level and LoRA id (medium "GPU"/"CPU"); the
 *   parent of a later run is the last block of the run before it; a store that continues the BlockStored just
 *   before it in the same delivery extends that event. Only full blocks are published: a partial
 *   block (fewer than blockSize tokens) and the blocks after it are skipped, since consumers re-hash
 *   token_ids in blockSize chunks.
 * - removed: BlockRemoved, grouped by the medium each block was last stored in.
 * - updated with a cache-level change (offload to host, onboard to GPU): BlockRemoved from the old medium,
 *   then BlockStored of the same hash in the new one, with the parent and tokens remembered from its store.
 *   A priority-only update has no vLLM event.
 * - attention_dp_rank: the EventBatch's data_parallel_rank; a delivery with several ranks becomes one batch
 *   per run of equal ranks, in order.
 * The mapper remembers each published block's parent, tokens, LoRA id and medium until it is removed
 * (lib/fleet/block-memory.ts): as much as the engine's cache holds, blocks x blockSize token ids, and nothing
 * after a removal.
 */
import { KvEventObjects, type KvEventReader } from '../kv-event-batch.js';
import type { KvCacheEvent } from '../types.js';
import { BlockMemory } from './block-memory.js';
import { MEDIUM_BY_CACHE_LEVEL, type Medium, type WireBatch, type WireEvent } from './wire-events.js';

export interface MappingCounts {
  /** TensorRT-LLM events that publish nothing (priority-only updates, moves of unknown blocks). */
  skippedEvents: number;
  /** Blocks of stored events not published (partial blocks and those after them). */
  skippedBlocks: number;
}

function mediumOf(level: number | undefined): Medium {
  return MEDIUM_BY_CACHE_LEVEL[level ?? 0] ?? 'GPU';
}

export class KvEventMapper {
  private readonly blocks: BlockMemory;
  readonly counts: MappingCounts = { skippedEvents: 0, skippedBlocks: 0 };

  constructor(readonly blockSize: number) {
    this.blocks = new BlockMemory(blockSize);
  }

  /** Blocks remembered for level moves and removals (the engine's cached blocks). */
  get rememberedBlocks(): number {
    return this.blocks.size;
  }

  /**
   * The batches of one delivery, in order; `ts` is the wall-clock time in seconds. The delivery as event objects,
   * or as the bridge packed it (a KvEventBatch: then no object is built per event, block or token).
   */
  map(events: readonly KvCacheEvent[] | KvEventReader, ts: number): WireBatch[] {
    const reader = Array.isArray(events) ? new KvEventObjects(events) : (events as KvEventReader);
    const batches: WireBatch[] = [];
    let current: WireBatch | undefined;
    for (let i = 0; i < reader.length; i++) {
      const rank = reader.dpRank(i) ?? null;
      if (current === undefined || current.dataParallelRank !== rank) {
        if (current !== undefined && current.events.length > 0) batches.push(current);
        current = { ts, events: [], dataParallelRank: rank };
      }
      this.mapOne(reader, i, current.events);
    }
    if (current !== undefined && current.events.length > 0) batches.push(current);
    return batches;
  }

  private mapOne(reader: KvEventReader, i: number, out: WireEvent[]): void {
    switch (reader.type(i)) {
      case 'created':
        this.blocks.clear();
        out.push({ type: 'AllBlocksCleared' });
        return;
      case 'stored':
        this.stored(reader, i, out);
        return;
      case 'removed': {
        const hashes: bigint[] = [];
        for (let k = 0, n = reader.blockCount(i); k < n; k++) hashes.push(reader.removedHash(i, k));
        this.removed(hashes, out);
        return;
      }
      case 'updated': {
        const change = reader.cacheLevelChange(i);
        if (change !== null && change.old !== change.new) this.moved(reader.updatedHash(i), mediumOf(change.old), mediumOf(change.new), out);
        else this.counts.skippedEvents++;
        return;
      }
      default:
        this.counts.skippedEvents++;
    }
  }

  private stored(reader: KvEventReader, i: number, out: WireEvent[]): void {
    const B = this.blockSize;
    let parent = reader.parentHash(i);
    // A store that continues the BlockStored just before it (its parent is that event's last block, as when
    // an engine stores a sequence's blocks one event each) extends it: fewer, larger events, same meaning.
    const prev = out[out.length - 1];
    let run = prev?.type === 'BlockStored' && parent !== null && prev.blockHashes[prev.blockHashes.length - 1] === parent ? prev : undefined;
    const n = reader.blockCount(i);
    for (let b = 0; b < n; b++) {
      if (reader.blockTokenCount(i, b) !== B) {
        this.counts.skippedBlocks += n - b;
        break;
      }
      const medium = mediumOf(reader.blockCacheLevel(i, b));
      const loraId = reader.blockLoraId(i, b);
      if (run === undefined || run.medium !== medium || run.loraId !== loraId) {
        run = { type: 'BlockStored', blockHashes: [], parentBlockHash: parent, tokenIds: [], blockSize: B, loraId, medium, loraName: null };
        out.push(run);
      }
      const tokenIds = run.tokenIds;
      const offset = tokenIds.length;
      reader.pushBlockTokenIds(i, b, tokenIds);
      const hash = reader.blockHash(i, b);
      run.blockHashes.push(hash);
      this.blocks.remember(hash, parent, tokenIds, offset, loraId, medium);
      parent = hash;
    }
  }

  private removed(hashes: readonly bigint[], out: WireEvent[]): void {
    const byMedium = new Map<Medium, bigint[]>();
    for (const h of hashes) {
      const medium = this.blocks.forget(h) ?? 'GPU';
      let list = byMedium.get(medium);
      if (list === undefined) byMedium.set(medium, (list = []));
      list.push(h);
    }
    for (const [medium, blockHashes] of byMedium) out.push({ type: 'BlockRemoved', blockHashes, medium });
  }

  private moved(hash: bigint, from: Medium, to: Medium, out: WireEvent[]): void {
    const known = this.blocks.move(hash, to);
    out.push({ type: 'BlockRemoved', blockHashes: [hash], medium: known?.medium ?? from });
    if (known === undefined) {
      // Stored before this publisher saw it: its tokens are unknown, so it cannot be announced in the new medium.
      this.counts.skippedEvents++;
      return;
    }
    out.push({ type: 'BlockStored', blockHashes: [hash], parentBlockHash: known.parent, tokenIds: known.tokenIds, blockSize: this.blockSize, loraId: known.loraId, medium: to, loraName: null });
  }
}
