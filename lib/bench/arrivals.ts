/**
 * Request arrival times of an open-loop run, as `vllm bench serve` makes them (vllm/benchmarks/serve.py,
 * get_request): gaps between requests drawn from a gamma distribution of shape B (`--burstiness`) and mean
 * 1/R, so B = 1 is a Poisson process, B < 1 burstier and B > 1 more regular (the coefficient of variation of
 * the gaps is 1/sqrt(B)); an infinite rate sends every request at 0 (the offline / max-throughput mode).
 * A ramp (`--ramp-up-strategy linear|exponential`) changes the rate from `startRps` to `endRps`: over the
 * requests (vLLM's rule: request i has the rate at progress i / (n - 1)), or over the run's duration when the
 * run is timed (`--duration`: progress = elapsed / duration).
 *
 * The first request arrives at 0 and request i at the sum of the first i gaps, each gap drawn with the rate
 * of the request it leads to. vLLM also rescales its whole schedule so that the last request goes out at
 * exactly n / R; this generator does not, so every gap is an independent draw (the mean is 1/R either way)
 * and the schedule can be extended request by request (a timed run does not know n in advance).
 */
import type { Rng } from './rng.js';

export type RampStrategy = 'linear' | 'exponential';

export interface RampUp {
  strategy: RampStrategy;
  /** Requests/s at the start and at the end (exponential: startRps > 0). */
  startRps: number;
  endRps: number;
}

export interface ArrivalProcess {
  /** Requests/s (Infinity: every request at 0). Ignored with a ramp. */
  rate: number;
  /** Gamma shape of the gaps (1: Poisson). */
  burstiness: number;
  ramp?: RampUp;
}

/** The rate of a ramp at progress p in [0, 1]. */
export function rampRate(ramp: RampUp, p: number): number {
  const q = Math.min(1, Math.max(0, p));
  if (ramp.strategy === 'linear') return ramp.startRps + (ramp.endRps - ramp.startRps) * q;
  return ramp.startRps * Math.pow(ramp.endRps / ramp.startRps, q);
}

/** One gap (s) before a request sent at `rate` with gamma shape `burstiness`. */
export function drawGap(rate: number, burstiness: number, rng: Rng): number {
  if (rate === Infinity) return 0;
  // Shape 1 is the exponential: drawn as such, so Poisson schedules keep their pinned sequences.
  if (burstiness === 1) return rng.exponential(rate);
  return rng.gamma(burstiness, 1 / (rate * burstiness));
}

/**
 * Arrival offsets, one request at a time. `plannedRequests` sets a count-based ramp's progress; `durationS`
 * (a timed run) makes the ramp's progress the elapsed time instead.
 */
export class ArrivalSchedule {
  private index = 0;
  private t = 0;

  constructor(
    private readonly process: ArrivalProcess,
    private readonly rng: Rng,
    private readonly plannedRequests: number,
    private readonly durationS?: number,
  ) {
    if (!(process.burstiness > 0)) throw new RangeError(`burstiness must be > 0, got ${process.burstiness}`);
    if (!process.ramp && !(process.rate > 0)) throw new RangeError(`rate must be > 0, got ${process.rate}`);
  }

  /** The rate of the next request. */
  private rateOf(i: number): number {
    const ramp = this.process.ramp;
    if (!ramp) return this.process.rate;
    const p = this.durationS !== undefined ? this.t / this.durationS : i / Math.max(this.plannedRequests - 1, 1);
    return rampRate(ramp, p);
  }

  /** The next request's arrival offset (s from the start). */
  next(): number {
    const i = this.index++;
    if (i === 0) return 0;
    const rate = this.rateOf(i);
    // A ramp starting at 0 requests/s sends its first requests at the first positive rate.
    if (rate > 0) this.t += drawGap(rate, this.process.burstiness, this.rng);
    return this.t;
  }
}

/** Offsets in seconds from the start of the run, non-decreasing: a Poisson process (burstiness 1). */
export function poissonArrivals(n: number, rate: number, rng: Rng): Float64Array {
  if (!(rate > 0)) throw new RangeError(`rate must be > 0, got ${rate}`);
  const s = new ArrivalSchedule({ rate, burstiness: 1 }, rng, n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = s.next();
  return out;
}
