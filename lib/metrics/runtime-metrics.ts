/**
 * Dynamo's component ("work handler") runtime metrics (REFERENCE.md section 3), under Dynamo's names so that
 * existing dashboards work: requests, duration, in-flight, bytes, errors, uptime. The HTTP layer calls
 * `startRequest()` when a request arrives and `end()` on the handle when its response is complete.
 */
import { Registry } from 'prom-client';
import { InvalidArgumentError } from '../errors.js';
import { REQUEST_DURATION_BUCKETS, validateBuckets } from './buckets.js';
import { counterFamily, gaugeFamily, histogramFamily, withLabels, type MetricsContext } from './context.js';
import {
  obtainGauge,
  releaseFamilies,
  type CounterChild,
  type FastCounter,
  type FastFamily,
  type GaugeChild,
  type HistogramChild,
} from './fast-metrics.js';

export const RUNTIME_PREFIX = 'dynamo_component_';

export const RUNTIME_FAMILIES = {
  requests: ['requests_total', 'Requests handled by this endpoint.'],
  duration: ['request_duration_seconds', 'Time from receiving a request to finishing its response, in seconds.'],
  inflight: ['inflight_requests', 'Requests being handled right now.'],
  requestBytes: ['request_bytes_total', 'Request body bytes received.'],
  responseBytes: ['response_bytes_total', 'Response body bytes sent.'],
  errors: ['errors_total', 'Requests that ended in an error, by error type.'],
  uptime: ['uptime_seconds', 'Seconds since this worker started.'],
} as const;

/** The error_type Dynamo's work handler uses for a failed generation (the default of `end({ error: true })`). */
export const DEFAULT_ERROR_TYPE = 'generate';

export interface RuntimeMetricsOptions {
  /** dynamo_namespace label (default `dynamo`). */
  namespace?: string;
  /** dynamo_component label (default `tensorrt_llm`, the component name of Dynamo's TensorRT-LLM worker). */
  component?: string;
  /** dynamo_endpoint label (default `generate`). */
  endpoint?: string;
  /** model label (default `unknown`). */
  model?: string;
  /** The registry to register into (default: a new one). */
  registry?: Registry;
  /** Buckets of dynamo_component_request_duration_seconds (default 0.005 ... 10 s). */
  durationBuckets?: readonly number[];
}

export interface RequestEnd {
  /** Bytes received for the request. */
  requestBytes?: number;
  /** Bytes sent in the response. */
  responseBytes?: number;
  /** The request failed: true (error_type `generate`) or an error_type label. */
  error?: boolean | string;
}

/** One request in flight; end() it exactly once (later calls are ignored). */
export class RuntimeRequest {
  private readonly start = process.hrtime.bigint();
  private ended = false;
  private duration = 0;

  constructor(private readonly metrics: RuntimeMetrics) {}

  /** Records the request's duration, bytes and error; returns the duration in seconds. */
  end(result: RequestEnd = {}): number {
    if (this.ended) return this.duration;
    checkEnd(result);
    this.ended = true;
    this.duration = Number(process.hrtime.bigint() - this.start) / 1e9;
    this.metrics.finish(this.duration, result);
    return this.duration;
  }
}

const uptimeStarts = new WeakMap<object, bigint>();

export class RuntimeMetrics {
  readonly registry: Registry;
  readonly labels: Readonly<Record<string, string>>;
  private readonly ctx: MetricsContext;
  private readonly requests: CounterChild;
  private readonly duration: HistogramChild;
  private readonly inflight: GaugeChild;
  private readonly requestBytes: CounterChild;
  private readonly responseBytes: CounterChild;
  private readonly errorsFamily: FastCounter;
  private readonly errors = new Map<string, CounterChild>();
  private closed = false;

  constructor(options: RuntimeMetricsOptions = {}) {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options must be an object');
    const labels = {
      dynamo_namespace: labelValue('namespace', options.namespace, 'dynamo'),
      dynamo_component: labelValue('component', options.component, 'tensorrt_llm'),
      dynamo_endpoint: labelValue('endpoint', options.endpoint, 'generate'),
      model: labelValue('model', options.model, 'unknown'),
    };
    if (options.registry !== undefined && !(options.registry instanceof Registry)) {
      throw new InvalidArgumentError('options.registry must be a prom-client Registry');
    }
    this.registry = options.registry ?? new Registry();
    this.labels = Object.freeze(labels);
    const buckets =
      options.durationBuckets === undefined
        ? REQUEST_DURATION_BUCKETS
        : validateBuckets(RUNTIME_PREFIX + RUNTIME_FAMILIES.duration[0], options.durationBuckets);
    const ctx: MetricsContext = {
      registry: this.registry,
      prefix: RUNTIME_PREFIX,
      labels: this.labels,
      labelNames: Object.keys(labels),
      owner: this,
      families: new Set<FastFamily>(),
    };
    this.ctx = ctx;
    const R = RUNTIME_FAMILIES;
    this.requests = counterFamily(ctx, R.requests[0], R.requests[1]).child(ctx.labels, this);
    this.duration = histogramFamily(ctx, R.duration[0], R.duration[1], buckets).child(ctx.labels, this);
    this.inflight = gaugeFamily(ctx, R.inflight[0], R.inflight[1]).child(ctx.labels, this);
    this.requestBytes = counterFamily(ctx, R.requestBytes[0], R.requestBytes[1]).child(ctx.labels, this);
    this.responseBytes = counterFamily(ctx, R.responseBytes[0], R.responseBytes[1]).child(ctx.labels, this);
    // Dynamo's (unlabelled-vector) work-handler metrics exist from the start, at 0.
    this.requests.show();
    this.duration.show();
    this.inflight.show();
    this.requestBytes.show();
    this.responseBytes.show();
    this.errorsFamily = counterFamily(ctx, R.errors[0], R.errors[1], ['error_type']);
    installUptime(this.registry);
  }

  /** A request arrived: requests_total += 1, inflight += 1. */
  startRequest(): RuntimeRequest {
    if (this.closed) throw new InvalidArgumentError('these runtime metrics are closed');
    this.requests.inc(1);
    this.inflight.add(1);
    return new RuntimeRequest(this);
  }

  /** @internal Called by RuntimeRequest.end(). */
  finish(seconds: number, result: RequestEnd): void {
    const reqBytes = result.requestBytes ?? 0;
    const resBytes = result.responseBytes ?? 0;
    if (this.closed) return;
    this.inflight.add(-1);
    if (seconds >= 0) this.duration.observe(seconds);
    if (reqBytes > 0) this.requestBytes.inc(reqBytes);
    if (resBytes > 0) this.responseBytes.inc(resBytes);
    const err = result.error;
    if (err !== undefined && err !== false && err !== null) {
      this.countError(err === true ? DEFAULT_ERROR_TYPE : err);
    }
  }

  /** errors_total{error_type} += 1 for an error outside a request handle (e.g. deserialization). */
  countError(errorType: string): void {
    if (typeof errorType !== 'string' || errorType === '') {
      throw new InvalidArgumentError('errorType must be a non-empty string');
    }
    let c = this.errors.get(errorType);
    if (c === undefined) {
      c = this.errorsFamily.child(withLabels(this.ctx, { error_type: errorType }), this);
      this.errors.set(errorType, c);
    }
    c.inc(1);
  }

  /** Removes these series from the registry (the uptime gauge stays while the registry lives). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    releaseFamilies(this.registry, this.ctx.families, this);
  }
}

/**
 * dynamo_component_uptime_seconds: one series without labels per registry (Dynamo's is per runtime), counting
 * from the first RuntimeMetrics created on that registry, set at scrape time by the family's collect hook.
 */
function installUptime(registry: Registry): void {
  const family = obtainGauge(registry, {
    name: RUNTIME_PREFIX + RUNTIME_FAMILIES.uptime[0],
    help: RUNTIME_FAMILIES.uptime[1],
    labelNames: [],
  });
  if (uptimeStarts.has(family)) return;
  const start = process.hrtime.bigint();
  uptimeStarts.set(family, start);
  const child = family.child({}, null);
  const update = (): void => child.set(Number(process.hrtime.bigint() - start) / 1e9);
  update();
  family.addScrapeHook(update);
}

function labelValue(option: string, v: string | undefined, dflt: string): string {
  if (v === undefined) return dflt;
  if (typeof v !== 'string' || v === '') throw new InvalidArgumentError(`options.${option} must be a non-empty string`);
  return v;
}

function checkEnd(result: RequestEnd): void {
  if (result === null || typeof result !== 'object') throw new InvalidArgumentError('end() takes an object');
  bytes('requestBytes', result.requestBytes);
  bytes('responseBytes', result.responseBytes);
  const err = result.error;
  if (err !== undefined && err !== null && typeof err !== 'boolean' && (typeof err !== 'string' || err === '')) {
    throw new InvalidArgumentError('error must be a boolean or a non-empty error_type string');
  }
}

function bytes(name: string, v: number | undefined): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw new InvalidArgumentError(`${name} must be a non-negative finite number, got ${String(v)}`);
  }
  return v;
}
