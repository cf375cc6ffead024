/**
 * Request arrival times of an open-loop run: a Poisson process of the given rate (requests per second), i.e.
 * exponentially distributed gaps drawn from the seeded generator. The first request arrives at 0; request i
 * at the sum of the first i gaps. An infinite rate sends every request at 0 (the offline / max-throughput
 * mode of trtllm-bench and vLLM's `--request-rate inf`).
 */
import { Rng } from './rng.js';

/** Offsets in seconds from the start of the run, non-decreasing. */
export function poissonArrivals(n: number, rate: number, rng: Rng): Float64Array {
  const out = new Float64Array(n);
  if (!(rate > 0)) throw new RangeError(`rate must be > 0, got ${rate}`);
  if (rate === Infinity) return out;
  let t = 0;
  for (let i = 1; i < n; i++) {
    t += rng.exponential(rate);
    out[i] = t;
  }
  return out;
}
