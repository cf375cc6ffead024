/**
 * MetricsCollector: TensorRT-LLM's `trtllm_` Prometheus metrics for one served model, recorded from an
 * engine's finished-request records, iteration stats and KV-cache events, into a prom-client Registry.
 *
 * Several models: create one collector per model_name; they may share one registry (pass `registry`), in
 * which case they share the metric families and each owns its own series. See docs/metrics.md.
 */
import { Registry } from 'prom-client';
import { InvalidArgumentError } from '../errors.js';
import type { KvEventBatch } from '../kv-event-batch.js';
import type { RequestRecordBatch } from '../records.js';
import type { IterationStats, KvCacheEvent, MetricsSource } from '../types.js';
import { BridgeMetrics } from './bridge-metrics.js';
import { resolveCollectorBuckets, type BucketOverrides } from './buckets.js';
import { ConfigInfoMetrics, type ConfigInfo } from './config-info.js';
import type { MetricsContext } from './context.js';
import { isValidLabelName, isValidMetricName, OncePerPass, releaseFamilies, type FastFamily } from './fast-metrics.js';
import { CumulativeState, IterationMetrics } from './iteration-metrics.js';
import { EventIdTracker, HostTierTracker, KvEventMetrics } from './kv-event-metrics.js';
import { ScheduledBatchMetrics } from './batch-metrics.js';
import { RequestMetrics, type RequestMetricsInput } from './request-metrics.js';
import { TraceIds } from './exemplars.js';

export type MetricsProfile = 'full' | 'basic';

/** Static labels of every series: model_name and engine_type, plus any extra label of your own. */
export interface CollectorLabels {
  /** The served model name (default `unknown`). */
  model_name?: string;
  /** Default `trtllm`. */
  engine_type?: string;
  [label: string]: string | undefined;
}

export interface MetricsCollectorOptions {
  /** Metric name prefix (default `trtllm_`; may be empty). */
  prefix?: string;
  /** Bucket overrides, keyed by histogram name without prefix (e.g. `time_to_first_token_seconds`). */
  buckets?: BucketOverrides;
  /** The prom-client registry to register into (default: a new Registry). */
  registry?: Registry;
  /**
   * `full` (default): the five seed metrics plus TensorRT-LLM's extended set, KV-event and bridge metrics.
   * `basic`: exactly the five seed metrics of TensorRT-LLM 1.1.0rc5 (a queue time of 0 is not recorded).
   */
  profile?: MetricsProfile;
  /**
   * Trace ids of requests in flight (whoever enqueues them sets them): each such request's TTFT and E2E
   * buckets carry its trace id as an exemplar, served in the OpenMetrics format only. Default: none.
   */
  traceIds?: TraceIds;
}

/** Label names the collector's families add themselves; a static label may not reuse them. */
const RESERVED_LABELS = new Set(['le', 'quantile', 'finished_reason', 'http_code', 'token_position', 'stream', 'rank', 'pid']);

interface Attachment {
  offs: Array<() => void>;
  hostTier?: HostTierTracker;
}

export class MetricsCollector {
  readonly registry: Registry;
  readonly profile: MetricsProfile;
  readonly prefix: string;
  /** The static labels of every series, in exposition order. */
  readonly labels: Readonly<Record<string, string>>;

  private readonly ctx: MetricsContext;
  private readonly requests: RequestMetrics;
  private readonly iteration: IterationMetrics | null = null;
  private readonly batch: ScheduledBatchMetrics | null = null;
  private readonly kvEvents: KvEventMetrics | null = null;
  private readonly bridge: BridgeMetrics | null = null;
  private readonly config: ConfigInfoMetrics | null = null;
  private readonly scrapeHook: OncePerPass | null = null;
  private readonly hookedFamilies: FastFamily[] = [];
  private readonly attachments = new Map<MetricsSource, Attachment>();
  private manualCapacity: number | null = null;
  private closed = false;
  /** Errors thrown while recording data pushed by an attached source (they are not rethrown into it). */
  listenerErrors = 0;

  constructor(labels: CollectorLabels = {}, options: MetricsCollectorOptions = {}) {
    if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
      throw new InvalidArgumentError('labels must be an object of label values');
    }
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options must be an object');
    const profile = options.profile ?? 'full';
    if (profile !== 'full' && profile !== 'basic') {
      throw new InvalidArgumentError(`options.profile must be 'full' or 'basic', got ${String(profile)}`);
    }
    const prefix = options.prefix ?? 'trtllm_';
    if (typeof prefix !== 'string' || (prefix !== '' && !isValidMetricName(prefix))) {
      throw new InvalidArgumentError(`options.prefix must be a valid metric-name prefix, got ${JSON.stringify(prefix)}`);
    }
    const registry = options.registry ?? new Registry();
    if (
      typeof (registry as Partial<Registry>).registerMetric !== 'function' ||
      typeof (registry as Partial<Registry>).getSingleMetric !== 'function'
    ) {
      throw new InvalidArgumentError('options.registry must be a prom-client Registry');
    }
    const buckets = resolveCollectorBuckets(options.buckets);
    if (options.traceIds !== undefined && !(options.traceIds instanceof TraceIds)) {
      throw new InvalidArgumentError('options.traceIds must be a TraceIds (lib/metrics/exemplars.ts)');
    }
    this.profile = profile;
    this.prefix = prefix;
    this.registry = registry;
    this.labels = Object.freeze(normalizeLabels(labels));
    this.ctx = {
      registry,
      prefix,
      labels: this.labels,
      labelNames: Object.keys(this.labels),
      owner: this,
      families: new Set<FastFamily>(),
    };
    try {
      this.requests = new RequestMetrics(this.ctx, profile === 'full', buckets, options.traceIds ?? null);
      if (profile === 'full') {
        this.iteration = new IterationMetrics(this.ctx, buckets);
        this.batch = new ScheduledBatchMetrics(this.ctx);
        this.kvEvents = new KvEventMetrics(this.ctx, buckets);
        this.bridge = new BridgeMetrics(this.ctx);
        this.config = new ConfigInfoMetrics(this.ctx);
        this.scrapeHook = new OncePerPass(() => this.sampleSources());
        this.hookedFamilies.push(...this.iteration.gaugeFamilies, this.batch.family, ...this.bridge.families, this.kvEvents.capacityFamily);
        for (const f of this.hookedFamilies) f.addScrapeHook(this.scrapeHook.run);
      }
    } catch (err) {
      this.release();
      throw err;
    }
  }

  /** Records one finished request given as an object (timestamps in seconds; see RequestMetricsInput). */
  logRequestMetrics(metrics: RequestMetricsInput): void {
    if (this.closed) return;
    this.requests.logObject(metrics);
  }

  /** Records a batch of the bridge's raw finished-request rows (lib/records.ts). */
  logRequestRecords(batch: RequestRecordBatch): void {
    if (this.closed) return;
    if (batch === null || typeof batch !== 'object') throw new InvalidArgumentError('batch must be a RequestRecordBatch');
    this.requests.logRecords(batch);
  }

  /** Records iteration stats (one, or several in order: gauges end at the latest). Full profile only. */
  logIterationStats(stats: IterationStats | readonly IterationStats[]): void {
    if (this.closed || this.iteration === null) return;
    this.iteration.log(stats);
    this.batch!.log(stats);
  }

  /** Records one delivered batch of KV-cache events. Full profile only. */
  logKvCacheEvents(events: readonly KvCacheEvent[]): void {
    if (this.closed || this.kvEvents === null) return;
    this.kvEvents.log(events);
  }

  /** Sets the `*_config_info` gauges to 1 with the given configuration labels. Full profile only. */
  logConfigInfo(info: ConfigInfo): void {
    if (this.closed || this.config === null) return;
    this.config.log(info);
  }

  /** trtllm_request_error_total{http_code} += 1. Full profile only. */
  logRequestError(httpCode: number | string): void {
    if (this.closed) return;
    this.requests.logError(httpCode);
  }

  /** Sets trtllm_kv_event_buffer_capacity when no source is attached (attached sources report their own). */
  setKvEventBufferCapacity(capacity: number): void {
    if (typeof capacity !== 'number' || !Number.isFinite(capacity) || capacity < 0) {
      throw new InvalidArgumentError(`capacity must be a non-negative number, got ${String(capacity)}`);
    }
    this.manualCapacity = capacity;
    if (this.kvEvents !== null && this.attachments.size === 0) this.kvEvents.capacity.set(capacity);
  }

  /** Finished-request records skipped because the request ended in an error. */
  get errorRecords(): number {
    return this.requests.errorRecords;
  }

  /**
   * Subscribes to a source's streams (finished requests; in the full profile also iteration stats and KV
   * events) and samples its counters and KV event buffer capacity at every scrape. Returns a function that
   * detaches (idempotent). Each source keeps its own cumulative-counter and event-id state.
   */
  attach(source: MetricsSource): () => void {
    if (this.closed) throw new InvalidArgumentError('this collector is closed');
    if (source === null || typeof source !== 'object' || typeof source.onRequestFinished !== 'function') {
      throw new InvalidArgumentError('attach() takes a MetricsSource (e.g. an Engine)');
    }
    if (this.attachments.has(source)) throw new InvalidArgumentError('this source is already attached');
    const att: Attachment = { offs: [] };
    this.attachments.set(source, att);
    try {
      att.offs.push(source.onRequestFinished(this.guard((batch: RequestRecordBatch) => this.requests.logRecords(batch))));
      if (this.profile === 'full') {
        const state = new CumulativeState();
        const tracker = new EventIdTracker();
        const hostTier = new HostTierTracker();
        const iteration = this.iteration!;
        const batch = this.batch!;
        const kv = this.kvEvents!;
        att.hostTier = hostTier;
        kv.addHostTier(hostTier);
        att.offs.push(
          source.onIterationStats(
            this.guard((stats: readonly IterationStats[]) => {
              iteration.log(stats, state);
              batch.log(stats);
            }),
          ),
        );
        // Packed when the source offers it: counting blocks then builds no object per event, block or token.
        if (typeof source.onKvCacheEventBatch === 'function') {
          att.offs.push(source.onKvCacheEventBatch(this.guard((events: KvEventBatch) => kv.logBatch(events, tracker, hostTier))));
        } else {
          att.offs.push(source.onKvCacheEvents(this.guard((events: readonly KvCacheEvent[]) => kv.log(events, tracker, hostTier))));
        }
        this.bridge!.add(source);
        this.sampleCapacity();
      }
    } catch (err) {
      this.detach(source);
      throw err;
    }
    return () => this.detach(source);
  }

  /** Detaches every source and removes this collector's series from the registry. Idempotent. */
  close(): void {
    if (this.closed) return;
    for (const source of [...this.attachments.keys()]) this.detach(source);
    this.closed = true;
    this.release();
  }

  private detach(source: MetricsSource): void {
    const att = this.attachments.get(source);
    if (att === undefined) return;
    this.attachments.delete(source);
    for (const off of att.offs) {
      try {
        off();
      } catch {
        // Unsubscribing from a closed engine may throw; the subscription is gone either way.
      }
    }
    if (this.bridge !== null) this.bridge.remove(source);
    if (att.hostTier !== undefined) this.kvEvents?.removeHostTier(att.hostTier);
  }

  private release(): void {
    if (this.scrapeHook !== null) for (const f of this.hookedFamilies) f.removeScrapeHook(this.scrapeHook.run);
    releaseFamilies(this.registry, this.ctx.families, this);
  }

  private guard<A>(fn: (arg: A) => void): (arg: A) => void {
    return (arg: A) => {
      try {
        fn(arg);
      } catch (err) {
        this.listenerErrors++;
        if (this.listenerErrors === 1) {
          process.emitWarning(`trtllm-metrics: recording pushed data failed: ${(err as Error)?.message ?? String(err)}`, {
            code: 'TRTLLM_METRICS_RECORD',
          });
        }
      }
    };
  }

  /** Scrape time: bridge counters and buffer capacity of the attached sources. */
  private sampleSources(): void {
    if (this.bridge !== null) this.bridge.refresh();
    if (this.iteration !== null && this.attachments.size > 0) {
      let idle = true;
      for (const source of this.attachments.keys()) if (source.inflight !== 0) idle = false;
      if (idle) {
        this.iteration.markIdle();
        this.batch?.markIdle();
      }
    }
    this.sampleCapacity();
  }

  private sampleCapacity(): void {
    if (this.kvEvents === null) return;
    if (this.attachments.size === 0) {
      if (this.manualCapacity !== null) this.kvEvents.capacity.set(this.manualCapacity);
      return;
    }
    let total = 0;
    for (const source of this.attachments.keys()) {
      try {
        const c = source.kvEventBufferCapacity;
        if (typeof c === 'number' && Number.isFinite(c) && c >= 0) total += c;
      } catch {
        // A closed engine: count nothing for it.
      }
    }
    this.kvEvents.capacity.set(total);
  }
}

function normalizeLabels(labels: CollectorLabels): Record<string, string> {
  const out: Record<string, string> = {
    model_name: labelValue('model_name', labels.model_name, 'unknown'),
    engine_type: labelValue('engine_type', labels.engine_type, 'trtllm'),
  };
  for (const name of Object.keys(labels)) {
    if (name === 'model_name' || name === 'engine_type') continue;
    if (!isValidLabelName(name)) throw new InvalidArgumentError(`labels: ${JSON.stringify(name)} is not a valid label name`);
    if (RESERVED_LABELS.has(name)) throw new InvalidArgumentError(`labels: ${name} is reserved (the collector sets it)`);
    const v = labels[name];
    if (v === undefined) continue;
    out[name] = labelValue(name, v, '');
  }
  return out;
}

function labelValue(name: string, v: unknown, dflt: string): string {
  if (v === undefined) return dflt;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string' || v === '') {
    throw new InvalidArgumentError(`labels.${name} must be a non-empty string, got ${JSON.stringify(v) ?? typeof v}`);
  }
  return v;
}
