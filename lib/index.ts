/** trtllm-metrics: drive the TensorRT-LLM executor from Node.js and expose what it measures. */
export { Engine, GenerationStream } from './engine.js';
export { perfMetricsFromRecord } from './request-timings.js';
export type { EngineStatus, FinishReason, GenerateChunk, GenerateResult, GenerationSink, SimClockState, SimInfo } from './engine.js';
export { KvEventBatch } from './kv-event-batch.js';
export type { KvEventTypeName } from './kv-event-batch.js';
export type { RequestPerfMetrics } from './request-timings.js';
export type {
  EngineOptions,
  ExecutorConfigOptions,
  KvCacheConfigOptions,
  SimOptions,
  BridgeOptions,
  CapacitySchedulerPolicy,
} from './engine-options.js';
export type { GenerateRequest, SamplingOptions } from './request-options.js';
export * from './errors.js';
export * from './records.js';
export type * from './types.js';
export { MetricsCollector } from './metrics/collector.js';
export type { MetricsProfile, CollectorLabels, MetricsCollectorOptions } from './metrics/collector.js';
export { TraceIds } from './metrics/exemplars.js';
export { logBuckets, bucketsFromDynamoEnv, DEFAULT_COLLECTOR_BUCKETS } from './metrics/buckets.js';
export { RuntimeMetrics, RuntimeRequest } from './metrics/runtime-metrics.js';
export type { RuntimeMetricsOptions, RequestEnd } from './metrics/runtime-metrics.js';
export { MetricsServer, DEFAULT_SYSTEM_PORT } from './server.js';
export type { MetricsServerOptions, BoundAddress, HealthBody, HealthReportLike, ExtraRoutes, RouteRequest, RouteResponse } from './server.js';
export { renderRegistries, negotiateFormat } from './metrics/exposition.js';
export type { ExpositionFormat } from './metrics/exposition.js';
export { createDashboardHandler } from './dashboard/index.js';
export { ByteTokenizer } from './tokenizer.js';
export type { Tokenizer, IncrementalDecoder, EncodeOptions, DecodeOptions } from './tokenizer.js';
export { loadTokenizer, hasTokenizer, HfTokenizer, ChatTemplate, StopStringMatcher } from './tokenizer/index.js';
export type { LoadTokenizerOptions, ChatRenderOptions, NamedTemplate, TemplateMessage } from './tokenizer/index.js';
export { KvEventPublisher, checkTransports } from './fleet/publisher.js';
export type { KvEventPublisherOptions, KvEventSource, KvPublisherCounters, KvTransportName } from './fleet/publisher.js';
export type { TransportCounters, DropReason } from './fleet/send-queue.js';
export { KvEventSubscriber } from './fleet/subscriber.js';
export type { KvEventSubscriberOptions, SubscriberItem } from './fleet/subscriber.js';
export { KvEventMapper } from './fleet/event-mapping.js';
export { encodeBatch } from './fleet/wire-encoding.js';
export { decodeBatch, batchToJson } from './fleet/wire-decoding.js';
export type { WireBatch, WireEvent, WireEncoding, Medium, BlockStored, BlockRemoved, AllBlocksCleared } from './fleet/wire-events.js';
export { KvPublisherMetrics } from './metrics/kv-publisher-metrics.js';
export type { KvPublisherMetricsOptions } from './metrics/kv-publisher-metrics.js';
export { StallWatchdog } from './health/stall-watchdog.js';
export type { StallSource, StallState, StallWatchdogOptions } from './health/stall-watchdog.js';
export { Canary } from './health/canary.js';
export type { CanaryEngine, CanaryOptions, CanaryOutcome, CanaryResult } from './health/canary.js';
