/**
 * A small seeded pseudo-random generator for reproducible workloads: xoshiro128** (32-bit state words, so
 * it runs on plain JS numbers), seeded through splitmix32. The same seed gives the same sequence on every
 * platform and Node version. Not for cryptography.
 */

/** splitmix32 step: a well-mixed 32-bit value from a 32-bit state (used to expand seeds). */
function splitmix32(state: number): [next: number, value: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [next, z >>> 0];
}

/**
 * Mixes a seed (any non-negative safe integer) with stream numbers into one 32-bit seed, so that
 * independent parts of a workload (lengths, arrivals, the tokens of request i) draw from unrelated
 * sequences that still depend only on the user's seed.
 */
export function mixSeed(seed: number, ...streams: number[]): number {
  let h = Math.floor(seed % 4294967296) >>> 0;
  let [s, v] = splitmix32(h ^ Math.floor(seed / 4294967296));
  h = v;
  for (const x of streams) {
    [s, v] = splitmix32((s ^ Math.imul(x | 0, 0x27d4eb2f) ^ Math.floor(x / 4294967296)) | 0);
    h = (Math.imul(h, 31) ^ v) >>> 0;
  }
  return h;
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** The second normal deviate of the last Box-Muller pair, or NaN. */
  private spare = Number.NaN;

  /** `seed`: a 32-bit unsigned integer (see mixSeed for larger seeds and streams). */
  constructor(seed: number) {
    let s = seed >>> 0;
    let v: number;
    [s, v] = splitmix32(s);
    this.a = v;
    [s, v] = splitmix32(s);
    this.b = v;
    [s, v] = splitmix32(s);
    this.c = v;
    [s, v] = splitmix32(s);
    this.d = v;
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1; // the all-zero state is a fixed point
  }

  /** The next 32-bit unsigned integer. */
  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.uint32() >>> 5; // 27 bits
    const lo = this.uint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** An integer in [lo, hi], both inclusive (hi - lo < 2^32). */
  int(lo: number, hi: number): number {
    const span = hi - lo + 1;
    if (span <= 0) return lo;
    if (span <= 4294967296) {
      // Rejection sampling for an unbiased result.
      const limit = 4294967296 - (4294967296 % span);
      let x: number;
      do x = this.uint32();
      while (x >= limit);
      return lo + (x % span);
    }
    return lo + Math.floor(this.next() * span);
  }

  /** A standard normal deviate (Box-Muller, polar form). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = Number.NaN;
      return s;
    }
    let u: number;
    let v: number;
    let s: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    return u * f;
  }

  /** An exponential deviate with the given rate (mean 1 / rate). */
  exponential(rate: number): number {
    return -Math.log(1 - this.next()) / rate;
  }

  /**
   * A gamma deviate with the given shape k > 0 and scale theta (mean k theta, variance k theta^2), by
   * Marsaglia and Tsang's method ("A simple method for generating gamma variables", ACM TOMS 26(3), 2000);
   * for k < 1 a deviate of shape k + 1 times U^(1/k), as the same paper shows.
   */
  gamma(shape: number, scale: number): number {
    if (shape < 1) {
      const u = 1 - this.next(); // (0, 1]
      return this.gamma(shape + 1, scale) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - this.next();
      const x2 = x * x;
      if (u < 1 - 0.0331 * x2 * x2) return d * v * scale;
      if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v * scale;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
