/**
 * Histogram bucket tables (upper bounds; prom-client adds the `+Inf` bucket) and the validation of
 * user overrides. The defaults are TensorRT-LLM's (REFERENCE.md sections 1-2) and Dynamo's (section 3).
 */
import { InvalidArgumentError } from '../errors.js';

/** Seconds; e2e latency, queue time, decode time and inference time. */
export const E2E_LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680,
]);

/** Seconds; time to first token. */
export const TTFT_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640,
  2560,
]);

/** Seconds; time per output token. */
export const TPOT_BUCKETS: readonly number[] = Object.freeze([
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
]);

/** Seconds; prefill (first token - first scheduled). */
export const PREFILL_TIME_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 640, 2560,
]);

/** Tokens; cached prompt tokens per request (0 is a real bucket: requests without any cache hit). */
export const CACHED_TOKENS_BUCKETS: readonly number[] = Object.freeze([0, 64, 128, 256, 512, 1024, 2048, 4096, 8192]);

/** Tokens; context tokens scheduled in one iteration. */
export const PREFILL_BATCH_TOKENS_BUCKETS: readonly number[] = Object.freeze([
  64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768,
]);

/** Perplexity (exp of the mean negative log probability of a request's tokens). */
export const PERPLEXITY_BUCKETS: readonly number[] = Object.freeze([1, 2, 5, 10, 25, 50, 100, 500, 1000]);

/** Events; KV-cache events delivered in one batch (powers of two: our choice, Dynamo does not fix them). */
export const KV_EVENT_DRAIN_BATCH_BUCKETS: readonly number[] = Object.freeze([
  1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384,
]);

/** Seconds; Dynamo's dynamo_component_request_duration_seconds (the Prometheus client default table). */
export const REQUEST_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/**
 * The histograms of MetricsCollector whose buckets can be overridden, keyed by the metric name without
 * its prefix (`trtllm_` by default), with their default tables.
 */
export const DEFAULT_COLLECTOR_BUCKETS = Object.freeze({
  e2e_request_latency_seconds: E2E_LATENCY_BUCKETS,
  time_to_first_token_seconds: TTFT_BUCKETS,
  time_per_output_token_seconds: TPOT_BUCKETS,
  request_queue_time_seconds: E2E_LATENCY_BUCKETS,
  request_prefill_time_seconds: PREFILL_TIME_BUCKETS,
  request_decode_time_seconds: E2E_LATENCY_BUCKETS,
  request_inference_time_seconds: E2E_LATENCY_BUCKETS,
  prompt_cached_tokens_per_request: CACHED_TOKENS_BUCKETS,
  prefill_batch_tokens: PREFILL_BATCH_TOKENS_BUCKETS,
  generation_perplexity: PERPLEXITY_BUCKETS,
  kv_event_drain_batch_size: KV_EVENT_DRAIN_BATCH_BUCKETS,
});

export type CollectorHistogramName = keyof typeof DEFAULT_COLLECTOR_BUCKETS;

/** Per-histogram bucket overrides (upper bounds, strictly increasing, finite; `+Inf` is always added). */
export type BucketOverrides = Partial<Record<CollectorHistogramName, readonly number[]>>;

/**
 * Checks one bucket table and returns a frozen copy. Throws InvalidArgumentError naming the histogram and
 * the problem: not an array, empty, a non-number or non-finite bound, or bounds not strictly increasing.
 */
export function validateBuckets(histogram: string, buckets: unknown): readonly number[] {
  if (!Array.isArray(buckets)) {
    throw new InvalidArgumentError(`buckets for ${histogram} must be an array of numbers, got ${describe(buckets)}`);
  }
  if (buckets.length === 0) {
    throw new InvalidArgumentError(`buckets for ${histogram} must not be empty`);
  }
  const out: number[] = new Array(buckets.length);
  for (let i = 0; i < buckets.length; i++) {
    const b: unknown = buckets[i];
    if (typeof b !== 'number' || !Number.isFinite(b)) {
      throw new InvalidArgumentError(
        `buckets for ${histogram} must be finite numbers (+Inf is added automatically): ` +
          `index ${i} is ${describe(b)}`,
      );
    }
    if (i > 0 && !(b > out[i - 1])) {
      throw new InvalidArgumentError(
        `buckets for ${histogram} must be strictly increasing: index ${i} (${b}) is not greater than ` +
          `index ${i - 1} (${out[i - 1]})`,
      );
    }
    out[i] = b;
  }
  return Object.freeze(out);
}

/**
 * Resolves the bucket table of every collector histogram: the default, or the validated override.
 * Unknown histogram names are rejected so that a typo does not silently keep the default.
 */
export function resolveCollectorBuckets(
  overrides: BucketOverrides | undefined,
): Readonly<Record<CollectorHistogramName, readonly number[]>> {
  const out = { ...DEFAULT_COLLECTOR_BUCKETS } as Record<CollectorHistogramName, readonly number[]>;
  if (overrides === undefined || overrides === null) return out;
  if (typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new InvalidArgumentError(`options.buckets must be an object keyed by histogram name, got ${describe(overrides)}`);
  }
  for (const key of Object.keys(overrides)) {
    if (!Object.prototype.hasOwnProperty.call(DEFAULT_COLLECTOR_BUCKETS, key)) {
      throw new InvalidArgumentError(
        `options.buckets.${key}: unknown histogram (known: ${Object.keys(DEFAULT_COLLECTOR_BUCKETS).join(', ')})`,
      );
    }
    const value = (overrides as Record<string, unknown>)[key];
    if (value === undefined) continue;
    out[key as CollectorHistogramName] = validateBuckets(key, value);
  }
  return out;
}

/** round(v) to `digits` significant figures. */
function roundSignificant(v: number, digits: number): number {
  if (v === 0) return 0;
  const scale = 10 ** (digits - 1 - Math.floor(Math.log10(Math.abs(v))));
  return Math.round(v * scale) / scale;
}

/**
 * Dynamo's log-spaced bucket table (lib/llm/src/http/service/metrics.rs, generate_log_buckets): 0, then
 * count - 1 bounds spaced evenly in log from min to max (the first step above min, the last one max), each
 * rounded to 2 significant figures, duplicates removed.
 */
export function logBuckets(min: number, max: number, count: number): number[] {
  if (count <= 0) return [];
  const out = [0];
  const lo = Math.log(min);
  const hi = Math.log(max);
  for (let i = 1; i < count; i++) {
    const v = roundSignificant(Math.exp(lo + ((hi - lo) * i) / (count - 1)), 2);
    if (v !== out[out.length - 1]) out.push(v);
  }
  return out;
}

/** Dynamo's environment form of a histogram's buckets: `${name}_MIN`, `_MAX`, `_COUNT`, and its defaults. */
export interface DynamoBucketEnv {
  name: string;
  min: number;
  max: number;
  count: number;
}

/** Dynamo's variables (DYN_METRICS_*) of the histograms they apply to, with Dynamo's defaults. */
export const DYNAMO_BUCKET_ENV: Readonly<Partial<Record<CollectorHistogramName, DynamoBucketEnv>>> = Object.freeze({
  time_to_first_token_seconds: { name: 'DYN_METRICS_TTFT', min: 0.001, max: 480, count: 18 },
  time_per_output_token_seconds: { name: 'DYN_METRICS_ITL', min: 0.001, max: 2, count: 13 },
  e2e_request_latency_seconds: { name: 'DYN_METRICS_REQUEST_DURATION', min: 1, max: 256, count: 10 },
});

const DYNAMO_MAX_BUCKETS = 512;

/**
 * The buckets of one histogram from Dynamo's `_MIN` / `_MAX` / `_COUNT` variables, or undefined when none of
 * them is set (a missing one takes Dynamo's default). Where Dynamo logs a warning and keeps its defaults,
 * a bad value here is an InvalidArgumentError naming the variable.
 */
export function bucketsFromDynamoEnv(spec: DynamoBucketEnv, env: Readonly<Record<string, string | undefined>>): number[] | undefined {
  const text = (suffix: string): string | undefined => {
    const v = env[`${spec.name}_${suffix}`];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const [minText, maxText, countText] = [text('MIN'), text('MAX'), text('COUNT')];
  if (minText === undefined && maxText === undefined && countText === undefined) return undefined;
  const number = (suffix: string, t: string | undefined, dflt: number): number => {
    if (t === undefined) return dflt;
    const v = Number(t);
    if (!Number.isFinite(v)) throw new InvalidArgumentError(`${spec.name}_${suffix} must be a finite number, got ${JSON.stringify(t)}`);
    return v;
  };
  const min = number('MIN', minText, spec.min);
  const max = number('MAX', maxText, spec.max);
  const count = number('COUNT', countText, spec.count);
  if (!(min > 0)) throw new InvalidArgumentError(`${spec.name}_MIN must be above 0 (log-spaced buckets), got ${min}`);
  if (!(max > min)) throw new InvalidArgumentError(`${spec.name}_MAX must be above ${spec.name}_MIN (${min}), got ${max}`);
  if (!Number.isInteger(count) || count < 1 || count > DYNAMO_MAX_BUCKETS) {
    throw new InvalidArgumentError(`${spec.name}_COUNT must be an integer from 1 to ${DYNAMO_MAX_BUCKETS}, got ${count}`);
  }
  return logBuckets(min, max, count);
}

/** The problem with a bucket table, as a "must ..." sentence for option checks, or undefined. */
export function bucketsProblem(buckets: readonly number[]): string | undefined {
  try {
    validateBuckets('it', buckets);
    return undefined;
  } catch (err) {
    return `: ${(err as Error).message.replace(/^buckets for it /, 'buckets ')}`;
  }
}

export function sameBuckets(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function describe(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}
