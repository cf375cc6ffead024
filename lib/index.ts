/** trtllm-metrics: drive the TensorRT-LLM executor from Node.js and expose what it measures. */
export { Engine, GenerationStream, perfMetricsFromRecord } from './engine.js';
export type { FinishReason, GenerateChunk, GenerateResult, RequestPerfMetrics } from './engine.js';
export type {
  EngineOptions,
  ExecutorConfigOptions,
  KvCacheConfigOptions,
  SimOptions,
  BridgeOptions,
  GenerateRequest,
  SamplingOptions,
  CapacitySchedulerPolicy,
} from './engine-options.js';
export * from './errors.js';
export * from './records.js';
export type * from './types.js';
