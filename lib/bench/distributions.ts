/**
 * Length distributions of the synthetic workload, written `KIND:PARAMS` on the command line:
 * - `fixed:N`         every request has N tokens;
 * - `uniform:A:B`     an integer drawn uniformly from [A, B], both inclusive;
 * - `normal:MEAN:SD`  round(MEAN + SD * z) for a standard normal z, clamped to at least 1.
 * Every value is an integer >= 1.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Rng } from './rng.js';

export type LengthDistribution =
  | { kind: 'fixed'; value: number }
  | { kind: 'uniform'; min: number; max: number }
  | { kind: 'normal'; mean: number; stddev: number };

/** The reason a distribution spec was rejected (the caller names the flag). */
export class DistributionSyntaxError extends InvalidArgumentError {}

const MAX_LEN = 16_777_216;

function intParam(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw new DistributionSyntaxError(`${what} must be a positive integer, got ${JSON.stringify(text)}`);
  const v = Number(text);
  if (v < 1 || v > MAX_LEN) throw new DistributionSyntaxError(`${what} must be in [1, ${MAX_LEN}], got ${text}`);
  return v;
}

function numParam(text: string, what: string, min: number): number {
  const v = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(v) || v < min || v > MAX_LEN) {
    throw new DistributionSyntaxError(`${what} must be a number in [${min}, ${MAX_LEN}], got ${JSON.stringify(text)}`);
  }
  return v;
}

/** Parses `fixed:N`, `uniform:A:B` or `normal:MEAN:SD`. A bare integer means `fixed:N`. */
export function parseDistribution(spec: string): LengthDistribution {
  if (/^\d+$/.test(spec)) return { kind: 'fixed', value: intParam(spec, 'the length') };
  const parts = spec.split(':');
  switch (parts[0]) {
    case 'fixed':
      if (parts.length !== 2) throw new DistributionSyntaxError(`expected fixed:N, got ${JSON.stringify(spec)}`);
      return { kind: 'fixed', value: intParam(parts[1]!, 'N') };
    case 'uniform': {
      if (parts.length !== 3) throw new DistributionSyntaxError(`expected uniform:MIN:MAX, got ${JSON.stringify(spec)}`);
      const min = intParam(parts[1]!, 'MIN');
      const max = intParam(parts[2]!, 'MAX');
      if (max < min) throw new DistributionSyntaxError(`MAX (${max}) must be >= MIN (${min})`);
      return { kind: 'uniform', min, max };
    }
    case 'normal': {
      if (parts.length !== 3) throw new DistributionSyntaxError(`expected normal:MEAN:STDDEV, got ${JSON.stringify(spec)}`);
      return { kind: 'normal', mean: numParam(parts[1]!, 'MEAN', 1), stddev: numParam(parts[2]!, 'STDDEV', 0) };
    }
    default:
      throw new DistributionSyntaxError(`expected fixed:N, uniform:MIN:MAX or normal:MEAN:STDDEV, got ${JSON.stringify(spec)}`);
  }
}

/** The spec text of a distribution (parseDistribution's inverse). */
export function formatDistribution(d: LengthDistribution): string {
  switch (d.kind) {
    case 'fixed':
      return `fixed:${d.value}`;
    case 'uniform':
      return `uniform:${d.min}:${d.max}`;
    case 'normal':
      return `normal:${d.mean}:${d.stddev}`;
  }
}

/** One draw: an integer >= 1. */
export function sampleLength(d: LengthDistribution, rng: Rng): number {
  switch (d.kind) {
    case 'fixed':
      return d.value;
    case 'uniform':
      return rng.int(d.min, d.max);
    case 'normal':
      return Math.max(1, Math.min(MAX_LEN, Math.round(d.mean + d.stddev * rng.normal())));
  }
}

/** `n` draws into an Int32Array. */
export function sampleLengths(d: LengthDistribution, n: number, rng: Rng): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = sampleLength(d, rng);
  return out;
}
