/**
 * The KV-cache events of one delivery as the bridge hands them over: packed typed arrays (lib/native.ts,
 * NativeKvEvents), read in place. Counting blocks, ids and ranks (the metrics) needs no object; the events
 * as objects in the Python event JSON shape (KvCacheEvent, hashes as BigInt) are built only when asked for,
 * once per batch, and shared by everyone who asks. Building them costs an object per token of every stored
 * block, which is why the engine keeps events packed until then (docs/bridge.md, "KV events").
 */
import { KV_BLOCK_STRIDE, KV_EVENT_STRIDE, KvBlockField, KvEventField, KvEventType, type NativeKvEvents } from './native.js';
import type { KvCacheEvent, KvCacheEventData, KvCacheEventDiff, KvCacheStoredBlock, UniqueToken } from './types.js';

export type KvEventTypeName = KvCacheEventData['type'];
const TYPE_NAMES: readonly KvEventTypeName[] = ['created', 'stored', 'removed', 'updated'];

/**
 * What readers of KV events (the metrics, the fleet publisher's mapper) read of a delivery, without building an
 * object per event, block or token: a KvEventBatch reads it from the packed arrays, KvEventObjects from event
 * objects. `i` is an event, `b` a stored block of it, `k` a removed hash of it.
 */
export interface KvEventReader {
  readonly length: number;
  /** NaN when the event has no usable id. */
  eventId(i: number): number;
  /** undefined for a malformed event (objects only). */
  type(i: number): KvEventTypeName | undefined;
  /** The attention-DP rank, or undefined when none is reported. */
  dpRank(i: number): number | undefined;
  /** Stored blocks or removed hashes (1 for an update, 0 for `created`). */
  blockCount(i: number): number;
  /** created: the blocks of a cache level (0 primary, 1 host), 0 when it has none. */
  createdBlocks(i: number, level: number): number;
  /** stored: the parent block's hash, or null. */
  parentHash(i: number): bigint | null;
  blockHash(i: number, b: number): bigint;
  blockTokenCount(i: number, b: number): number;
  /** Appends the block's token ids to `out`. */
  pushBlockTokenIds(i: number, b: number, out: number[]): void;
  blockLoraId(i: number, b: number): bigint | null;
  blockCacheLevel(i: number, b: number): number;
  /** removed: its k-th hash. */
  removedHash(i: number, k: number): bigint;
  /** updated: the block's hash, and its cache-level change (null when the update has none). */
  updatedHash(i: number): bigint;
  cacheLevelChange(i: number): { old: number; new: number } | null;
}

export class KvEventBatch implements KvEventReader {
  /** Number of events. */
  readonly length: number;
  private objects: KvCacheEvent[] | undefined;

  /** Events [from, to) of a delivery (slices share the delivery's arrays and its objects once built). */
  constructor(
    readonly packed: NativeKvEvents,
    private readonly from = 0,
    private readonly to = packed.meta.length / KV_EVENT_STRIDE,
    private readonly whole?: KvEventBatch,
  ) {
    this.length = to - from;
  }

  /** Events [start, end) of this batch. */
  slice(start: number, end = this.length): KvEventBatch {
    return new KvEventBatch(this.packed, this.from + start, this.from + end, this.whole ?? this);
  }

  eventId(i: number): number {
    return this.field(i, KvEventField.EVENT_ID);
  }

  type(i: number): KvEventTypeName {
    return TYPE_NAMES[this.field(i, KvEventField.TYPE)]!;
  }

  /** The attention-DP rank, or undefined when the executor reports none. */
  dpRank(i: number): number | undefined {
    const r = this.field(i, KvEventField.DP_RANK);
    return r < 0 ? undefined : r;
  }

  /** Blocks an event is about: stored and removed blocks, 1 for an update, 0 for `created`. */
  blockCount(i: number): number {
    return this.field(i, KvEventField.TYPE) === KvEventType.created ? 0 : this.field(i, KvEventField.COUNT);
  }

  createdBlocks(i: number, level: number): number {
    if (this.field(i, KvEventField.TYPE) !== KvEventType.created || level >= this.field(i, KvEventField.COUNT)) return 0;
    return this.packed.levels[this.field(i, KvEventField.FIRST) + level]!;
  }

  parentHash(i: number): bigint | null {
    const p = this.field(i, KvEventField.PARENT_HASH);
    return p < 0 ? null : this.packed.hashes[p]!;
  }

  blockHash(i: number, b: number): bigint {
    return this.packed.hashes[this.blockField(i, b, KvBlockField.HASH)]!;
  }

  blockTokenCount(i: number, b: number): number {
    return this.blockField(i, b, KvBlockField.TOKEN_COUNT);
  }

  pushBlockTokenIds(i: number, b: number, out: number[]): void {
    const at = this.blockField(i, b, KvBlockField.TOKEN_OFFSET);
    const end = at + this.blockField(i, b, KvBlockField.TOKEN_COUNT);
    const tokens = this.packed.tokens;
    for (let t = at; t < end; t++) out.push(tokens[t]!);
  }

  blockLoraId(i: number, b: number): bigint | null {
    const lora = this.blockField(i, b, KvBlockField.LORA_ID);
    return lora < 0 ? null : this.packed.hashes[lora]!;
  }

  blockCacheLevel(i: number, b: number): number {
    return this.blockField(i, b, KvBlockField.CACHE_LEVEL);
  }

  removedHash(i: number, k: number): bigint {
    return this.packed.hashes[this.field(i, KvEventField.FIRST) + k]!;
  }

  updatedHash(i: number): bigint {
    return this.packed.hashes[this.field(i, KvEventField.FIRST)]!;
  }

  cacheLevelChange(i: number): { old: number; new: number } | null {
    const old = this.field(i, KvEventField.CACHE_LEVEL_OLD);
    return Number.isNaN(old) ? null : { old, new: this.field(i, KvEventField.CACHE_LEVEL_NEW) };
  }

  /** The events as objects (built on the first call, for the whole delivery, then shared). */
  toEvents(): KvCacheEvent[] {
    if (this.whole) return this.whole.toEvents().slice(this.from - this.whole.from, this.to - this.whole.from);
    this.objects ??= this.build();
    return this.objects;
  }

  private field(i: number, f: number): number {
    return this.packed.meta[(this.from + i) * KV_EVENT_STRIDE + f]!;
  }

  private blockField(i: number, b: number, f: number): number {
    return this.packed.blocks[(this.field(i, KvEventField.FIRST) + b) * KV_BLOCK_STRIDE + f]!;
  }

  private build(): KvCacheEvent[] {
    const { meta, blocks, hashes, tokens, extraIds, levels } = this.packed;
    const out: KvCacheEvent[] = [];
    for (let e = this.from; e < this.to; e++) {
      const m = e * KV_EVENT_STRIDE;
      const first = meta[m + KvEventField.FIRST]!;
      const count = meta[m + KvEventField.COUNT]!;
      let data: KvCacheEventData;
      switch (meta[m + KvEventField.TYPE]) {
        case KvEventType.created:
          data = { type: 'created', num_blocks_per_cache_level: Array.from(levels.subarray(first, first + count)) };
          break;
        case KvEventType.stored: {
          const parent = meta[m + KvEventField.PARENT_HASH]!;
          const stored: KvCacheStoredBlock[] = [];
          for (let b = first; b < first + count; b++) {
            const r = b * KV_BLOCK_STRIDE;
            const at = blocks[r + KvBlockField.TOKEN_OFFSET]!;
            const n = blocks[r + KvBlockField.TOKEN_COUNT]!;
            const ids: UniqueToken[] = new Array(n);
            for (let t = 0; t < n; t++) {
              ids[t] = { type: 'unique_token', token_id: tokens[at + t]!, token_extra_id: extraIds.length > 0 ? extraIds[at + t]! : 0n };
            }
            const lora = blocks[r + KvBlockField.LORA_ID]!;
            stored.push({
              type: 'stored_block',
              block_hash: hashes[blocks[r + KvBlockField.HASH]!]!,
              tokens: ids,
              lora_id: lora < 0 ? null : hashes[lora]!,
              cache_level: blocks[r + KvBlockField.CACHE_LEVEL]!,
              priority: blocks[r + KvBlockField.PRIORITY]!,
            });
          }
          data = { type: 'stored', parent_hash: parent < 0 ? null : hashes[parent]!, blocks: stored };
          break;
        }
        case KvEventType.removed:
          data = { type: 'removed', block_hashes: Array.from(hashes.subarray(first, first + count)) };
          break;
        default:
          data = {
            type: 'updated',
            block_hash: hashes[first]!,
            cache_level: diff(meta[m + KvEventField.CACHE_LEVEL_OLD]!, meta[m + KvEventField.CACHE_LEVEL_NEW]!),
            priority: diff(meta[m + KvEventField.PRIORITY_OLD]!, meta[m + KvEventField.PRIORITY_NEW]!),
          };
      }
      const event: KvCacheEvent = { event_id: meta[m + KvEventField.EVENT_ID]!, data, window_size: meta[m + KvEventField.WINDOW_SIZE]! };
      const rank = meta[m + KvEventField.DP_RANK]!;
      if (rank >= 0) event.attention_dp_rank = rank;
      out.push(event);
    }
    return out;
  }
}

function diff(oldValue: number, newValue: number): KvCacheEventDiff | null {
  return Number.isNaN(oldValue) ? null : { type: 'event_diff', old_value: oldValue, new_value: newValue };
}

/** The same facts read from event objects as any source gives them: anything malformed reads as nothing. */
export class KvEventObjects implements KvEventReader {
  constructor(private readonly events: readonly KvCacheEvent[]) {}

  get length(): number {
    return this.events.length;
  }

  eventId(i: number): number {
    const id = this.at(i)?.event_id;
    return typeof id === 'number' ? id : NaN;
  }

  type(i: number): KvEventTypeName | undefined {
    return this.data(i)?.type;
  }

  dpRank(i: number): number | undefined {
    const rank = this.at(i)?.attention_dp_rank;
    return typeof rank === 'number' ? rank : undefined;
  }

  blockCount(i: number): number {
    const data = this.data(i);
    if (data?.type === 'stored') return Array.isArray(data.blocks) ? data.blocks.length : 0;
    if (data?.type === 'removed') return Array.isArray(data.block_hashes) ? data.block_hashes.length : 0;
    return data?.type === 'updated' ? 1 : 0;
  }

  createdBlocks(i: number, level: number): number {
    const data = this.data(i);
    const n = data?.type === 'created' && Array.isArray(data.num_blocks_per_cache_level) ? data.num_blocks_per_cache_level[level] : undefined;
    return typeof n === 'number' ? n : 0;
  }

  parentHash(i: number): bigint | null {
    const data = this.data(i);
    return data?.type === 'stored' ? (data.parent_hash ?? null) : null;
  }

  blockHash(i: number, b: number): bigint {
    return this.block(i, b)?.block_hash as bigint;
  }

  blockTokenCount(i: number, b: number): number {
    return this.block(i, b)?.tokens?.length ?? 0;
  }

  pushBlockTokenIds(i: number, b: number, out: number[]): void {
    for (const t of this.block(i, b)?.tokens ?? []) out.push(t.token_id);
  }

  blockLoraId(i: number, b: number): bigint | null {
    return this.block(i, b)?.lora_id ?? null;
  }

  blockCacheLevel(i: number, b: number): number {
    return this.block(i, b)?.cache_level ?? 0;
  }

  removedHash(i: number, k: number): bigint {
    return (this.data(i) as Extract<KvCacheEventData, { type: 'removed' }>).block_hashes[k]!;
  }

  updatedHash(i: number): bigint {
    return (this.data(i) as Extract<KvCacheEventData, { type: 'updated' }>).block_hash;
  }

  cacheLevelChange(i: number): { old: number; new: number } | null {
    const level = (this.data(i) as Extract<KvCacheEventData, { type: 'updated' }>).cache_level;
    return level ? { old: level.old_value, new: level.new_value } : null;
  }

  private at(i: number): KvCacheEvent | undefined {
    const ev = this.events[i];
    return ev !== null && typeof ev === 'object' ? ev : undefined;
  }

  private data(i: number): KvCacheEventData | undefined {
    const data = this.at(i)?.data;
    return data !== null && typeof data === 'object' ? data : undefined;
  }

  private block(i: number, b: number): KvCacheStoredBlock | undefined {
    const block = (this.data(i) as Extract<KvCacheEventData, { type: 'stored' }>).blocks[b];
    return block !== null && typeof block === 'object' ? block : undefined;
  }
}
