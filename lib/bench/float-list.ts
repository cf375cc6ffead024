/** A growable list of doubles backed by a Float64Array (no boxed numbers for large sample sets). */
export class FloatList {
  private buf: Float64Array;
  length = 0;

  constructor(capacity = 1024) {
    this.buf = new Float64Array(Math.max(16, capacity));
  }

  push(v: number): void {
    if (this.length === this.buf.length) this.grow(this.length + 1);
    this.buf[this.length++] = v;
  }

  /** The values so far (a view: valid until the next push). */
  view(): Float64Array {
    return this.buf.subarray(0, this.length);
  }

  private grow(min: number): void {
    const next = new Float64Array(Math.max(min, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
}

/** A growable list of 32-bit integers backed by an Int32Array. */
export class IntList {
  private buf: Int32Array;
  length = 0;

  constructor(capacity = 1024) {
    this.buf = new Int32Array(Math.max(16, capacity));
  }

  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Int32Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }

  /** The values so far (a view: valid until the next push). */
  view(): Int32Array {
    return this.buf.subarray(0, this.length);
  }
}
