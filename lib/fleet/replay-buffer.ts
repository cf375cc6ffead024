/**
 * The last N batches by seq, for the replay socket (vLLM keeps 10,000 "steps"). A ring: adding is O(1) and
 * the oldest batch goes when it is full. Batches enter when they are made, before they are sent, so a batch
 * that a full send queue dropped from the live stream can still be replayed.
 */
export interface HeldBatch {
  seq: bigint;
  seqFrame: Buffer;
  payload: Buffer;
}

export class ReplayBuffer {
  private readonly ring: Array<HeldBatch | undefined>;
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<HeldBatch | undefined>(capacity);
  }

  add(batch: HeldBatch): void {
    this.ring[this.next] = batch;
    this.next = (this.next + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  get length(): number {
    return this.size;
  }

  /** The held batches with seq >= start, oldest first (a snapshot: later adds do not change it). */
  from(start: bigint): HeldBatch[] {
    const out: HeldBatch[] = [];
    const first = (this.next - this.size + this.capacity) % this.capacity;
    for (let i = 0; i < this.size; i++) {
      const b = this.ring[(first + i) % this.capacity]!;
      if (b.seq >= start) out.push(b);
    }
    return out;
  }
}
