/** Growable lists of numbers backed by typed arrays (no boxed numbers for large sample sets). */
class TypedList<T extends Float64Array | Int32Array> {
  private buf: T;
  length = 0;

  constructor(
    private readonly make: (n: number) => T,
    capacity: number,
  ) {
    this.buf = make(Math.max(16, capacity));
  }

  push(v: number): void {
    if (this.length === this.buf.length) this.grow(this.length + 1);
    this.buf[this.length++] = v;
  }

  /** The values so far (a view: valid until the next push). */
  view(): T {
    return this.buf.subarray(0, this.length) as T;
  }

  private grow(min: number): void {
    const next = this.make(Math.max(min, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
}

/** A growable list of doubles backed by a Float64Array. */
export class FloatList extends TypedList<Float64Array> {
  constructor(capacity = 1024) {
    super((n) => new Float64Array(n), capacity);
  }
}

/** A growable list of 32-bit integers backed by an Int32Array. */
export class IntList extends TypedList<Int32Array> {
  constructor(capacity = 1024) {
    super((n) => new Int32Array(n), capacity);
  }
}
