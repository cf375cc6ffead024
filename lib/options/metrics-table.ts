/**
 * The MetricsCollector's options as the worker takes them (`serve` flags, --config keys): the bucket table of
 * every histogram, and which requests carry exemplars. The defaults are TensorRT-LLM's tables (lib/metrics/
 * buckets.ts); an override must be non-empty, finite and strictly increasing. Three of them also read the
 * environment form Dynamo uses for its frontend's histograms (DYN_METRICS_TTFT_{MIN,MAX,COUNT}, ...).
 */
import { Type } from '@sinclair/typebox';
import {
  bucketsFromDynamoEnv,
  bucketsProblem,
  DEFAULT_COLLECTOR_BUCKETS,
  DYNAMO_BUCKET_ENV,
  REQUEST_DURATION_BUCKETS,
  type CollectorHistogramName,
} from '../metrics/buckets.js';
import { NOT_SPECIAL, oneOf, opt, type DefaultedLeaf } from './define.js';

const SERVE = ['serve'] as const;

const bucketList = () => Type.Array(Type.Number(), { minItems: 1 });

/** "0.1,0.5,1" -> [0.1, 0.5, 1]: a flag's or variable's text. Anything else is kept for the check to reject. */
function parseList(text: string): number[] | typeof NOT_SPECIAL {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '' || !Number.isFinite(Number(p)))) return NOT_SPECIAL;
  return parts.map(Number);
}

type BucketLeaf = DefaultedLeaf<ReturnType<typeof bucketList>>;

/** The bucket table of one histogram: `--buckets-<its name with dashes>`, the --config key of that name. */
function bucketOption(family: string, defaults: readonly number[], unit: string, maps: string): BucketLeaf {
  const dynamo = DYNAMO_BUCKET_ENV[family.replace(/^trtllm_/, '') as CollectorHistogramName];
  return opt(bucketList(), {
    help: `bucket upper bounds of ${family} (+Inf is added)${dynamo ? `; or Dynamo's log-spaced ${dynamo.name}_{MIN,MAX,COUNT}` : ''}`,
    unit,
    default: [...defaults],
    maps,
    flag: `buckets-${family.replace(/^trtllm_/, '').replace(/_/g, '-')}`,
    commands: SERVE,
    arg: 'B1,B2,...',
    section: 'Metrics',
    expected: 'a non-empty array of finite numbers, strictly increasing',
    check: bucketsProblem,
    parseText: parseList,
    ...(dynamo ? { fromEnv: { names: [`${dynamo.name}_MIN`, `${dynamo.name}_MAX`, `${dynamo.name}_COUNT`], read: (env) => bucketsFromDynamoEnv(dynamo, env) } } : {}),
  });
}

/** The unit of each collector histogram's values. */
const UNITS: Record<CollectorHistogramName, string> = {
  e2e_request_latency_seconds: 's',
  time_to_first_token_seconds: 's',
  time_per_output_token_seconds: 's',
  request_queue_time_seconds: 's',
  request_prefill_time_seconds: 's',
  request_decode_time_seconds: 's',
  request_inference_time_seconds: 's',
  prompt_cached_tokens_per_request: 'tokens',
  prefill_batch_tokens: 'tokens',
  generation_perplexity: 'perplexity',
  kv_event_drain_batch_size: 'events',
};

/** Keyed by histogram name without the `trtllm_` prefix, as MetricsCollector's `buckets` option. */
export const COLLECTOR_BUCKET_OPTIONS = Object.fromEntries(
  (Object.keys(DEFAULT_COLLECTOR_BUCKETS) as CollectorHistogramName[]).map((name) => [
    name,
    bucketOption(`trtllm_${name}`, DEFAULT_COLLECTOR_BUCKETS[name], UNITS[name], `MetricsCollector buckets.${name}`),
  ]),
) as Record<CollectorHistogramName, BucketLeaf>;

export const METRICS_OPTIONS = {
  exemplars: opt(oneOf('traceparent', 'request-id', 'off'), {
    help: 'which requests put an exemplar {trace_id} on the TTFT and E2E buckets (OpenMetrics scrapes only): traceparent = those with a W3C traceparent header; request-id = every request (its traceparent, else its X-Request-Id, else its engine request id); off',
    default: 'traceparent',
    maps: 'ApiServer exemplars, MetricsCollector traceIds',
    flag: 'exemplars',
    commands: SERVE,
    section: 'Metrics',
  }),
  requestDurationBuckets: bucketOption('dynamo_component_request_duration_seconds', REQUEST_DURATION_BUCKETS, 's', 'RuntimeMetrics durationBuckets'),
};
