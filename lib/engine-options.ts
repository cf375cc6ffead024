/** Engine and request options: their types, units and validation (JS validates; C++ works). */
import { InvalidArgumentError } from './errors.js';
import type { NativeRequest } from './native.js';
import { optBool, optEnum, optInt, optNum, optObject, optString, tokenArray, fail, type Dict } from './validate.js';

export type CapacitySchedulerPolicy = 'GUARANTEED_NO_EVICT' | 'MAX_UTILIZATION';

/** Mirrors tensorrt_llm::executor::KvCacheConfig. */
export interface KvCacheConfigOptions {
  /** Reuse cached prefix blocks across requests (default true). */
  enableBlockReuse?: boolean;
  /** KV-cache capacity in tokens (the simulator derives its block count from it). */
  maxTokens?: number;
  /** Fraction of free GPU memory for the KV cache, (0, 1] (default 0.9). */
  freeGpuMemoryFraction?: number;
  /** KV events the executor buffers; 0 turns KV events off (TensorRT-LLM's default). */
  eventBufferMaxSize?: number;
}

/** Mirrors tensorrt_llm::executor::ExecutorConfig (the subset this package maps). */
export interface ExecutorConfigOptions {
  maxBatchSize?: number;
  /** Token budget of one iteration (context + generation tokens). */
  maxNumTokens?: number;
  /** Bound of the waiting queue; enqueue beyond it fails with ERR_TRTLLM_EXECUTOR. */
  maxQueueSize?: number;
  /** Iteration stats the executor keeps between two reads (default 1000). */
  iterStatsMaxIterations?: number;
  /** Per-request stats kept per iteration (default 0 = off). */
  requestStatsMaxIterations?: number;
  enableChunkedContext?: boolean;
  capacitySchedulerPolicy?: CapacitySchedulerPolicy;
  kvCacheConfig?: KvCacheConfigOptions;
}

/** The simulator's own knobs (docs/simulator.md). Times in milliseconds of modelled GPU time. */
export interface SimOptions {
  tokensPerBlock?: number;
  /** KV blocks when kvCacheConfig.maxTokens is unset. */
  numKvBlocks?: number;
  /** Limit on prompt + maxTokens. */
  maxSeqLen?: number;
  vocabSize?: number;
  /** 'endIdGeometric' (default): requests with an endId end after ~meanOutputTokens; 'maxTokens': run to maxTokens. */
  outputLengthMode?: 'maxTokens' | 'endIdGeometric';
  meanOutputTokens?: number;
  seed?: number;
  /** Modelled time is divided by this. */
  speedupRatio?: number;
  /** Advance a virtual clock by the modelled latency instead of sleeping. */
  virtualClock?: boolean;
  /**
   * Closed-loop pacing (needs virtualClock): after an iteration in which a request finished, the simulator
   * starts no other iteration until engine.resumeSimClock(), so the client can enqueue replacements (with
   * simArrivalTimeNs = the finished request's last token time) first. See docs/simulator.md "Pacing".
   */
  lockstep?: boolean;
  modelSizeBytes?: number;
  kvBytesPerBlock?: number;
  /** Draft tokens per step for simulated speculative decoding (0 = off). */
  specDraftLength?: number;
  specAcceptanceProbability?: number;
  timing?: { prefillA?: number; prefillB?: number; prefillC?: number; decodeD2?: number; decodeD1?: number; decodeD0?: number; decodeMinMs?: number };
}

/** Capacities and intervals of the bridge between the executor and JS. */
export interface BridgeOptions {
  /** Token chunks queued for JS; when full the response pump waits (chunks are never dropped). */
  responseQueueCapacity?: number;
  /** Finished-request records queued for JS; when full the oldest are dropped and counted. */
  recordQueueCapacity?: number;
  statsQueueCapacity?: number;
  eventQueueCapacity?: number;
  /** How often iteration stats are read from the executor, ms (default 100). */
  statsIntervalMs?: number;
  /**
   * Timeout of the response pump's awaitResponses(), ms (default 20; at most 1000). Responses wake the pump at
   * once; the timeout only bounds how long shutdown waits for the pump to notice it should stop.
   */
  responsePollMs?: number;
  /** Timeout of the event pump's getLatestEvents(), ms (default 50; at most 1000, for the same reason). */
  eventPollMs?: number;
}

export interface EngineOptions {
  /** 'sim' (default, always built) or 'trtllm' (built when TRTLLM_ROOT was set at install). */
  backend?: 'sim' | 'trtllm';
  /** The served model name (the model_name label). Default: 'sim-llama' or the engine directory's name. */
  modelName?: string;
  /** TensorRT-LLM engine directory (trtllm backend). */
  engineDir?: string;
  executorConfig?: ExecutorConfigOptions;
  sim?: SimOptions;
  bridge?: BridgeOptions;
  /** On shutdown(), how long in-flight requests get to finish after being cancelled, ms (default 2000). */
  shutdownGraceMs?: number;
  /** Stats / events kept for getLatestIterationStats() / getLatestKvCacheEvents() between calls. */
  latestStatsCapacity?: number;
  latestEventsCapacity?: number;
}

const ENGINE_KEYS = ['backend', 'modelName', 'engineDir', 'executorConfig', 'sim', 'bridge', 'shutdownGraceMs', 'latestStatsCapacity', 'latestEventsCapacity'] as const;
const EXECUTOR_KEYS = ['maxBatchSize', 'maxNumTokens', 'maxQueueSize', 'iterStatsMaxIterations', 'requestStatsMaxIterations', 'enableChunkedContext', 'capacitySchedulerPolicy', 'kvCacheConfig'] as const;
const KV_KEYS = ['enableBlockReuse', 'maxTokens', 'freeGpuMemoryFraction', 'eventBufferMaxSize'] as const;
const SIM_KEYS = ['tokensPerBlock', 'numKvBlocks', 'maxSeqLen', 'vocabSize', 'outputLengthMode', 'meanOutputTokens', 'seed', 'speedupRatio', 'virtualClock', 'lockstep', 'modelSizeBytes', 'kvBytesPerBlock', 'specDraftLength', 'specAcceptanceProbability', 'timing'] as const;
const TIMING_KEYS = ['prefillA', 'prefillB', 'prefillC', 'decodeD2', 'decodeD1', 'decodeD0', 'decodeMinMs'] as const;
const BRIDGE_KEYS = ['responseQueueCapacity', 'recordQueueCapacity', 'statsQueueCapacity', 'eventQueueCapacity', 'statsIntervalMs', 'responsePollMs', 'eventPollMs'] as const;
const INT32 = 2147483647;
/** Upper bounds of the bridge queue capacities (native/bridge/config_from_js.h has the same). */
export const BRIDGE_CAPACITY_MAX = [
  ['responseQueueCapacity', 1 << 20],
  ['recordQueueCapacity', 1 << 20],
  ['statsQueueCapacity', 1 << 16],
  ['eventQueueCapacity', 1 << 20],
] as const;

export interface ResolvedEngineOptions {
  backend: 'sim' | 'trtllm';
  modelName: string;
  shutdownGraceMs: number;
  latestStatsCapacity: number;
  latestEventsCapacity: number;
  /** What the addon receives. */
  native: Dict;
}

export function validateEngineOptions(options: unknown): ResolvedEngineOptions {
  const o = optObject(options ?? {}, 'options', ENGINE_KEYS)!;
  const backend = optEnum(o.backend, 'options.backend', ['sim', 'trtllm'] as const) ?? 'sim';
  const engineDir = optString(o.engineDir, 'options.engineDir', { nonEmpty: true });
  if (backend === 'trtllm' && engineDir === undefined) throw new InvalidArgumentError('options.engineDir is required with backend "trtllm"');
  const defaultName = backend === 'sim' ? 'sim-llama' : engineDir!.replace(/\/+$/, '').split('/').pop() || 'trtllm';
  const modelName = optString(o.modelName, 'options.modelName', { nonEmpty: true }) ?? defaultName;

  const ec = optObject(o.executorConfig, 'options.executorConfig', EXECUTOR_KEYS) ?? {};
  optInt(ec.maxBatchSize, 'executorConfig.maxBatchSize', 1, INT32);
  optInt(ec.maxNumTokens, 'executorConfig.maxNumTokens', 1, INT32);
  optInt(ec.maxQueueSize, 'executorConfig.maxQueueSize', 1, INT32);
  optInt(ec.iterStatsMaxIterations, 'executorConfig.iterStatsMaxIterations', 0, INT32);
  optInt(ec.requestStatsMaxIterations, 'executorConfig.requestStatsMaxIterations', 0, INT32);
  optBool(ec.enableChunkedContext, 'executorConfig.enableChunkedContext');
  optEnum(ec.capacitySchedulerPolicy, 'executorConfig.capacitySchedulerPolicy', ['GUARANTEED_NO_EVICT', 'MAX_UTILIZATION'] as const);
  const kv = optObject(ec.kvCacheConfig, 'executorConfig.kvCacheConfig', KV_KEYS) ?? {};
  optBool(kv.enableBlockReuse, 'kvCacheConfig.enableBlockReuse');
  optInt(kv.maxTokens, 'kvCacheConfig.maxTokens', 1, INT32);
  optNum(kv.freeGpuMemoryFraction, 'kvCacheConfig.freeGpuMemoryFraction', 0, 1, { minExclusive: true });
  optInt(kv.eventBufferMaxSize, 'kvCacheConfig.eventBufferMaxSize', 0, INT32);

  const sim = optObject(o.sim, 'options.sim', SIM_KEYS) ?? {};
  if (backend !== 'sim' && o.sim !== undefined) throw new InvalidArgumentError('options.sim applies only to backend "sim"');
  optInt(sim.tokensPerBlock, 'sim.tokensPerBlock', 1, 65536);
  optInt(sim.numKvBlocks, 'sim.numKvBlocks', 1, INT32);
  optInt(sim.maxSeqLen, 'sim.maxSeqLen', 1, INT32);
  optInt(sim.vocabSize, 'sim.vocabSize', 2, INT32);
  optEnum(sim.outputLengthMode, 'sim.outputLengthMode', ['maxTokens', 'endIdGeometric'] as const);
  optNum(sim.meanOutputTokens, 'sim.meanOutputTokens', 0, 1e9, { minExclusive: true });
  optInt(sim.seed, 'sim.seed', 0);
  optNum(sim.speedupRatio, 'sim.speedupRatio', 0, 1e9, { minExclusive: true });
  optBool(sim.virtualClock, 'sim.virtualClock');
  if (optBool(sim.lockstep, 'sim.lockstep') === true && sim.virtualClock !== true) {
    throw new InvalidArgumentError('sim.lockstep needs sim.virtualClock: true');
  }
  optNum(sim.modelSizeBytes, 'sim.modelSizeBytes', 0, Number.MAX_SAFE_INTEGER);
  optNum(sim.kvBytesPerBlock, 'sim.kvBytesPerBlock', 0, Number.MAX_SAFE_INTEGER);
  optInt(sim.specDraftLength, 'sim.specDraftLength', 0, 64);
  optNum(sim.specAcceptanceProbability, 'sim.specAcceptanceProbability', 0, 1);
  const timing = optObject(sim.timing, 'sim.timing', TIMING_KEYS) ?? {};
  for (const key of TIMING_KEYS) optNum(timing[key], `sim.timing.${key}`, -1e12, 1e12);

  const bridge = optObject(o.bridge, 'options.bridge', BRIDGE_KEYS) ?? {};
  // The rings are allocated up front (a record slot costs ~576 bytes: two native buffers and the JS one), so
  // the bounds keep a typo from taking the machine's memory: 1M records is ~600 MB.
  for (const [key, max] of BRIDGE_CAPACITY_MAX) optInt(bridge[key], `bridge.${key}`, 1, max);
  optInt(bridge.statsIntervalMs, 'bridge.statsIntervalMs', 1, 3_600_000);
  optInt(bridge.responsePollMs, 'bridge.responsePollMs', 1, 1000);
  optInt(bridge.eventPollMs, 'bridge.eventPollMs', 1, 1000);

  const shutdownGraceMs = optInt(o.shutdownGraceMs, 'options.shutdownGraceMs', 0, 3_600_000) ?? 2000;
  const latestStatsCapacity = optInt(o.latestStatsCapacity, 'options.latestStatsCapacity', 1, 1 << 24) ?? 1000;
  const latestEventsCapacity = optInt(o.latestEventsCapacity, 'options.latestEventsCapacity', 1, 1 << 24) ?? 100_000;
  return {
    backend,
    modelName,
    shutdownGraceMs,
    latestStatsCapacity,
    latestEventsCapacity,
    native: { engineDir, executorConfig: ec, sim, bridge },
  };
}

export interface SamplingOptions {
  /** Only 1 (no beam search) is supported by the simulator. */
  beamWidth?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Tokens are deterministic for a seed. */
  seed?: number;
  /** Sequences to return; the engine API supports 1. */
  numReturnSequences?: number;
}

export interface GenerateRequest {
  inputTokenIds: Int32Array | readonly number[];
  /** Maximum tokens to generate. */
  maxTokens: number;
  /** true: a chunk per iteration with its new tokens; false: one final chunk with all tokens. */
  streaming?: boolean;
  /** Attach perfMetrics to chunks (the metrics layer gets them regardless). */
  returnPerfMetrics?: boolean;
  endId?: number;
  padId?: number;
  /** Token sequences that end generation (finish reason stop_words); included in the output. */
  stopWords?: readonly (Int32Array | readonly number[])[];
  clientId?: number;
  /** Scheduling priority in [0, 1] (default 0.5). */
  priority?: number;
  /** The request times out (finish reason timed_out) this many ms after it was enqueued (or its simArrivalTimeNs). */
  allottedTimeMs?: number;
  /**
   * Simulator only: the request's scheduled arrival, in the units of record timestamps (steady-clock ns
   * relative to engine.epochNs; see engine.simClockNs()). It enters the simulator's queue at the first
   * iteration starting at or after that time, which is then its arrival (and enqueue) time.
   */
  simArrivalTimeNs?: number;
  samplingConfig?: SamplingOptions;
  /** Aborting cancels the request (finish reason cancelled). */
  signal?: AbortSignal;
}

const REQUEST_KEYS = ['inputTokenIds', 'maxTokens', 'streaming', 'returnPerfMetrics', 'endId', 'padId', 'stopWords', 'clientId', 'priority', 'allottedTimeMs', 'simArrivalTimeNs', 'samplingConfig', 'signal'] as const;
const SAMPLING_KEYS = ['beamWidth', 'temperature', 'topK', 'topP', 'seed', 'numReturnSequences'] as const;

export function validateGenerateRequest(request: unknown): NativeRequest {
  const r = optObject(request, 'request', REQUEST_KEYS);
  if (!r) throw new InvalidArgumentError('request must be an object');
  const inputTokenIds = tokenArray(r.inputTokenIds, 'request.inputTokenIds', { nonEmpty: true });
  if (r.maxTokens === undefined) throw new InvalidArgumentError('request.maxTokens is required');
  const maxTokens = optInt(r.maxTokens, 'request.maxTokens', 1, INT32)!;
  const out: NativeRequest = { inputTokenIds, maxTokens };
  const streaming = optBool(r.streaming, 'request.streaming');
  if (streaming !== undefined) out.streaming = streaming;
  const perf = optBool(r.returnPerfMetrics, 'request.returnPerfMetrics');
  if (perf !== undefined) out.returnPerfMetrics = perf;
  const endId = optInt(r.endId, 'request.endId', 0, INT32);
  if (endId !== undefined) out.endId = endId;
  const padId = optInt(r.padId, 'request.padId', 0, INT32);
  if (padId !== undefined) out.padId = padId;
  if (r.stopWords !== undefined) {
    if (!Array.isArray(r.stopWords)) fail('request.stopWords', 'an array of token arrays', r.stopWords);
    // A loop, not map(): map() skips the holes of a sparse array, which would reach the addon unchecked.
    const words = r.stopWords as unknown[];
    out.stopWords = [];
    for (let i = 0; i < words.length; i++) out.stopWords.push(tokenArray(words[i], `request.stopWords[${i}]`, { nonEmpty: true }));
  }
  const clientId = optInt(r.clientId, 'request.clientId', 0);
  if (clientId !== undefined) out.clientId = clientId;
  const priority = optNum(r.priority, 'request.priority', 0, 1);
  if (priority !== undefined) out.priority = priority;
  const allotted = optInt(r.allottedTimeMs, 'request.allottedTimeMs', 1);
  if (allotted !== undefined) out.allottedTimeMs = allotted;
  const arrival = optNum(r.simArrivalTimeNs, 'request.simArrivalTimeNs', 0, Number.MAX_SAFE_INTEGER, { minExclusive: true });
  if (arrival !== undefined) out.simArrivalTimeNs = arrival;
  const s = optObject(r.samplingConfig, 'request.samplingConfig', SAMPLING_KEYS);
  if (s) {
    const sc: NonNullable<NativeRequest['samplingConfig']> = {};
    const bw = optInt(s.beamWidth, 'samplingConfig.beamWidth', 1, 1);
    if (bw !== undefined) sc.beamWidth = bw;
    const t = optNum(s.temperature, 'samplingConfig.temperature', 0, 100);
    if (t !== undefined) sc.temperature = t;
    const k = optInt(s.topK, 'samplingConfig.topK', 0, INT32);
    if (k !== undefined) sc.topK = k;
    const p = optNum(s.topP, 'samplingConfig.topP', 0, 1);
    if (p !== undefined) sc.topP = p;
    const seed = optInt(s.seed, 'samplingConfig.seed', 0);
    if (seed !== undefined) sc.seed = seed;
    const n = optInt(s.numReturnSequences, 'samplingConfig.numReturnSequences', 1, 1);
    if (n !== undefined) sc.numReturnSequences = n;
    out.samplingConfig = sc;
  }
  if (r.signal !== undefined && !(r.signal instanceof AbortSignal)) fail('request.signal', 'an AbortSignal', r.signal);
  return out;
}
