/**
 * A minimal MessagePack writer for the KV-event payloads (msgpack spec: github.com/msgpack/msgpack/blob/master/spec.md).
 * Why not @msgpack/msgpack's encoder: the payloads are long runs of small integers (token ids) and 64-bit hashes,
 * and the publisher has to keep up with >= 1M blocks/s on one core; encoding the same batches through the
 * library's generic encoder (with the objects it needs built first) measured well below our writer
 * (scripts/bench/kv-publish.mjs prints both). Decoding stays with @msgpack/msgpack (lib/fleet/wire-decoding.ts)
 * and tests read our output with it and with Python's msgpack, so the format is checked by others' code.
 * Hashes are always written as uint64 (0xcf + 8 bytes), never a float or a shorter int, as consumers expect.
 */

const TEXT = new TextEncoder();
const MAX_U64 = 2n ** 64n - 1n;

export class MsgpackWriter {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;
  private readonly strings = new Map<string, Uint8Array>();

  constructor(initialBytes = 64 * 1024) {
    this.buf = new Uint8Array(initialBytes);
    this.view = new DataView(this.buf.buffer);
  }

  /** Starts a new payload, reusing the buffer. */
  reset(): void {
    this.pos = 0;
  }

  /** A copy of what was written since reset(). */
  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  nil(): void {
    this.ensure(1);
    this.buf[this.pos++] = 0xc0;
  }

  /** An integer in the smallest format (safe integers only). */
  int(v: number): void {
    this.ensure(9);
    const b = this.buf;
    if (v >= 0) {
      if (v < 0x100000000) this.sized(v, 0x80, 0x00, 0xcc);
      else {
        b[this.pos++] = 0xcf;
        this.view.setBigUint64(this.pos, BigInt(v));
        this.pos += 8;
      }
    } else if (v >= -32) {
      b[this.pos++] = v & 0xff;
    } else if (v >= -0x80) {
      b[this.pos++] = 0xd0;
      this.view.setInt8(this.pos++, v);
    } else if (v >= -0x8000) {
      b[this.pos++] = 0xd1;
      this.view.setInt16(this.pos, v);
      this.pos += 2;
    } else if (v >= -0x80000000) {
      b[this.pos++] = 0xd2;
      this.view.setInt32(this.pos, v);
      this.pos += 4;
    } else {
      b[this.pos++] = 0xd3;
      this.view.setBigInt64(this.pos, BigInt(v));
      this.pos += 8;
    }
  }

  /** An unsigned 64-bit integer, always in the uint64 format (hashes). */
  uint64(v: bigint): void {
    this.ensure(9);
    this.buf[this.pos++] = 0xcf;
    this.view.setBigUint64(this.pos, v >= 0n && v <= MAX_U64 ? v : BigInt.asUintN(64, v));
    this.pos += 8;
  }

  /** A non-negative integer that may be a BigInt (e.g. a LoRA id), in the smallest format. */
  uint(v: bigint | number): void {
    if (typeof v === 'number') this.int(v);
    else if (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= 0n) this.int(Number(v));
    else this.uint64(v);
  }

  float64(v: number): void {
    this.ensure(9);
    this.buf[this.pos++] = 0xcb;
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  str(s: string): void {
    let bytes = this.strings.get(s);
    if (bytes === undefined) {
      bytes = TEXT.encode(s);
      // The payloads repeat a handful of short strings (tags, keys, media): encode each once.
      if (bytes.length <= 32 && this.strings.size < 256) this.strings.set(s, bytes);
    }
    const n = bytes.length;
    this.ensure(n + 5);
    this.sized(n, 32, 0xa0, 0xd9);
    this.buf.set(bytes, this.pos);
    this.pos += n;
  }

  /**
   * An unsigned value below 2^32 in the family of formats msgpack uses for positive ints and string lengths:
   * `fixBase | v` below fixMax, else `code8` + 1 byte, `code8 + 1` + 2 bytes or `code8 + 2` + 4 bytes.
   */
  private sized(v: number, fixMax: number, fixBase: number, code8: number): void {
    const b = this.buf;
    if (v < fixMax) b[this.pos++] = fixBase | v;
    else if (v < 0x100) {
      b[this.pos++] = code8;
      b[this.pos++] = v;
    } else if (v < 0x10000) {
      b[this.pos++] = code8 + 1;
      this.view.setUint16(this.pos, v);
      this.pos += 2;
    } else {
      b[this.pos++] = code8 + 2;
      this.view.setUint32(this.pos, v);
      this.pos += 4;
    }
  }

  arrayHeader(n: number): void {
    this.header(n, 0x90, 0xdc);
  }

  mapHeader(n: number): void {
    this.header(n, 0x80, 0xde);
  }

  /** A container header: fix form (`fix | n` below 16), 16-bit (`code16`) or 32-bit (`code16 + 1`) length. */
  private header(n: number, fix: number, code16: number): void {
    this.ensure(5);
    if (n < 16) this.buf[this.pos++] = fix | n;
    else if (n < 0x10000) {
      this.buf[this.pos++] = code16;
      this.view.setUint16(this.pos, n);
      this.pos += 2;
    } else {
      this.buf[this.pos++] = code16 + 1;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
  }

  /** An array of integers (token ids): the hot loop of a payload, so it works on locals. */
  intArray(values: ArrayLike<number>): void {
    const n = values.length;
    this.arrayHeader(n);
    this.ensure(n * 9);
    const b = this.buf;
    let pos = this.pos;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (v >= 0 && v < 0x80) b[pos++] = v;
      else if (v >= 0 && v < 0x100) {
        b[pos++] = 0xcc;
        b[pos++] = v;
      } else if (v >= 0 && v < 0x10000) {
        b[pos++] = 0xcd;
        b[pos++] = v >>> 8;
        b[pos++] = v & 0xff;
      } else {
        this.pos = pos;
        this.int(v);
        pos = this.pos;
      }
    }
    this.pos = pos;
  }

  /** An array of uint64 values (hashes), each in the uint64 format. */
  uint64Array(values: readonly bigint[]): void {
    const n = values.length;
    this.arrayHeader(n);
    this.ensure(n * 9);
    const view = this.view;
    let pos = this.pos;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      this.buf[pos] = 0xcf;
      view.setBigUint64(pos + 1, v >= 0n && v <= MAX_U64 ? v : BigInt.asUintN(64, v));
      pos += 9;
    }
    this.pos = pos;
  }
}
