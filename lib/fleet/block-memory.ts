/**
 * What the event mapper remembers of each published block until it is removed: its parent, tokens, LoRA id
 * and medium (to announce a cache-level move, and to say which medium a removal is from). Kept in typed
 * arrays indexed by slot, with a free list, so remembering a block allocates nothing per block and holds no
 * reference to the published events: at the >= 1M blocks/s the publisher aims for, per-block objects kept
 * alive until eviction cost more in garbage collection than the rest of the mapping (BENCHMARKS.md).
 */
import type { Medium } from './wire-events.js';

const MEDIA: readonly Medium[] = ['GPU', 'CPU'];

export interface RememberedBlock {
  parent: bigint | null;
  tokenIds: number[];
  loraId: bigint | null;
  medium: Medium;
}

export class BlockMemory {
  private readonly slotOf = new Map<bigint, number>();
  private free: number[] = [];
  private capacity = 0;
  private parents = new BigUint64Array(0);
  private loraIds = new BigUint64Array(0);
  /** Bit 0: has a parent; bit 1: has a LoRA id; bits 2+: medium index. */
  private flags = new Uint8Array(0);
  private tokens = new Int32Array(0);

  constructor(private readonly blockSize: number) {}

  get size(): number {
    return this.slotOf.size;
  }

  private grow(): void {
    const next = Math.max(1024, this.capacity * 2);
    const grown = <T extends BigUint64Array | Uint8Array | Int32Array>(old: T, make: (n: number) => T, per = 1): T => {
      const a = make(next * per);
      a.set(old as never);
      return a;
    };
    this.parents = grown(this.parents, (n) => new BigUint64Array(n));
    this.loraIds = grown(this.loraIds, (n) => new BigUint64Array(n));
    this.flags = grown(this.flags, (n) => new Uint8Array(n));
    this.tokens = grown(this.tokens, (n) => new Int32Array(n), this.blockSize);
    for (let s = next - 1; s >= this.capacity; s--) this.free.push(s);
    this.capacity = next;
  }

  /** Remembers a block whose tokens are tokenIds[offset .. offset + blockSize). */
  remember(hash: bigint, parent: bigint | null, tokenIds: readonly number[], offset: number, loraId: bigint | null, medium: Medium): void {
    let slot = this.slotOf.get(hash);
    if (slot === undefined) {
      if (this.free.length === 0) this.grow();
      slot = this.free.pop()!;
      this.slotOf.set(hash, slot);
    }
    this.parents[slot] = parent ?? 0n;
    this.loraIds[slot] = loraId ?? 0n;
    this.flags[slot] = (parent !== null ? 1 : 0) | (loraId !== null ? 2 : 0) | (MEDIA.indexOf(medium) << 2);
    const B = this.blockSize;
    const t = this.tokens;
    const base = slot * B;
    for (let i = 0; i < B; i++) t[base + i] = tokenIds[offset + i]!;
  }

  /** The medium a block was last stored in, or undefined when it is not remembered. */
  mediumOf(hash: bigint): Medium | undefined {
    const slot = this.slotOf.get(hash);
    return slot === undefined ? undefined : MEDIA[this.flags[slot]! >> 2];
  }

  /** Forgets a block; returns the medium it was in (undefined when unknown). */
  forget(hash: bigint): Medium | undefined {
    const slot = this.slotOf.get(hash);
    if (slot === undefined) return undefined;
    this.slotOf.delete(hash);
    this.free.push(slot);
    return MEDIA[this.flags[slot]! >> 2];
  }

  /** Records a move to another medium and returns the block (undefined when unknown). */
  move(hash: bigint, to: Medium): RememberedBlock | undefined {
    const slot = this.slotOf.get(hash);
    if (slot === undefined) return undefined;
    const f = this.flags[slot]!;
    this.flags[slot] = (f & 3) | (MEDIA.indexOf(to) << 2);
    const base = slot * this.blockSize;
    return {
      parent: f & 1 ? this.parents[slot]! : null,
      tokenIds: Array.from(this.tokens.subarray(base, base + this.blockSize)),
      loraId: f & 2 ? this.loraIds[slot]! : null,
      medium: MEDIA[f >> 2]!,
    };
  }

  clear(): void {
    this.slotOf.clear();
    this.free = [];
    for (let s = this.capacity - 1; s >= 0; s--) this.free.push(s);
  }
}
