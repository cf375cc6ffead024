/**
 * The engine's options: one row per option (type, range, unit, default, backend, flag, what it sets).
 * Engine.create, `serve`, `bench`, the config file and docs/options.md all read this table. The C++ side
 * (native/napi) only converts types; it does not restate these ranges.
 */
import { Type } from '@sinclair/typebox';
import { group, HOUR_MS, int, nonEmpty, num, oneOf, opt, positive } from './define.js';

const SERVE = ['serve'] as const;
const SERVE_BENCH = ['serve', 'bench'] as const;

const kvCacheConfig = group('tensorrt_llm::executor::KvCacheConfig', {
  enableBlockReuse: opt(Type.Boolean(), {
    help: 'reuse cached prefix blocks across requests (--no-enable-block-reuse turns it off)',
    default: true,
    maps: 'KvCacheConfig::setEnableBlockReuse',
    flag: 'enable-block-reuse',
    commands: SERVE,
    section: 'Executor',
  }),
  maxTokens: opt(int(1), {
    help: 'KV-cache capacity; the simulator makes maxTokens / tokensPerBlock blocks of it',
    unit: 'tokens',
    defaultText: "the engine's (TensorRT-LLM) or sim.numKvBlocks (simulator)",
    maps: 'KvCacheConfig::setMaxTokens',
  }),
  freeGpuMemoryFraction: opt(positive(1), {
    help: 'share of the GPU memory left after weights and activations that the KV cache takes (simulator: with the performance model; ignored otherwise)',
    default: 0.9,
    maps: 'KvCacheConfig::setFreeGpuMemoryFraction',
    flag: 'free-gpu-memory-fraction',
    commands: SERVE_BENCH,
    arg: 'F',
    section: 'Executor',
  }),
  hostCacheSize: opt(int(0, Number.MAX_SAFE_INTEGER), {
    help: 'host (CPU) memory for a second KV tier: evicted reusable blocks are offloaded there and onboarded again when reused; 0 = none',
    unit: 'bytes',
    default: 0,
    maps: 'KvCacheConfig::setHostCacheSize',
    flag: 'host-cache-size',
    commands: SERVE_BENCH,
    arg: 'BYTES',
    section: 'Executor',
  }),
  eventBufferMaxSize: opt(int(0), {
    help: 'KV-cache events the executor buffers; 0 = no KV events',
    unit: 'events',
    default: 0,
    commandDefault: { serve: 1024 },
    maps: 'KvCacheConfig::setEventBufferMaxSize',
    flag: 'event-buffer-size',
    commands: SERVE,
    section: 'Executor',
  }),
});

const executorConfig = group('tensorrt_llm::executor::ExecutorConfig', {
  maxBatchSize: opt(int(1), {
    help: 'requests in one iteration (per attention-DP rank)',
    unit: 'requests',
    defaultText: "256 on the simulator (with --model-config: trtllm-bench's heuristic), the engine's on TensorRT-LLM",
    maps: 'ExecutorConfig::setMaxBatchSize',
    flag: 'max-batch-size',
    commands: SERVE_BENCH,
    section: 'Executor',
  }),
  maxNumTokens: opt(int(1), {
    help: 'token budget of one iteration (context + generation tokens, per attention-DP rank)',
    unit: 'tokens',
    defaultText: "8192 on the simulator (with --model-config: trtllm-bench's heuristic), the engine's on TensorRT-LLM",
    maps: 'ExecutorConfig::setMaxNumTokens',
    flag: 'max-num-tokens',
    commands: SERVE_BENCH,
    section: 'Executor',
  }),
  maxQueueSize: opt(int(1), {
    help: 'waiting requests beyond which enqueue fails (ERR_TRTLLM_EXECUTOR; the API answers 503)',
    unit: 'requests',
    defaultText: 'unbounded',
    maps: 'ExecutorConfig::setMaxQueueSize',
    flag: 'max-queue-size',
    commands: SERVE,
    section: 'Executor',
  }),
  iterStatsMaxIterations: opt(int(0), {
    help: 'iteration stats the executor keeps between two reads',
    unit: 'iterations',
    default: 1000,
    maps: 'ExecutorConfig::setIterStatsMaxIterations',
    flag: 'iter-stats-max-iterations',
    commands: SERVE,
    section: 'Executor',
  }),
  requestStatsMaxIterations: opt(int(0), {
    help: 'iterations of per-request stats the executor keeps; 0 = off',
    unit: 'iterations',
    default: 0,
    maps: 'ExecutorConfig::setRequestStatsMaxIterations',
  }),
  enableChunkedContext: opt(Type.Boolean(), {
    help: 'split long prompts over iterations within maxNumTokens',
    defaultText: "on in the simulator, the engine's on TensorRT-LLM",
    maps: 'ExecutorConfig::setEnableChunkedContext',
  }),
  capacitySchedulerPolicy: opt(oneOf('GUARANTEED_NO_EVICT', 'MAX_UTILIZATION'), {
    help: 'admission policy: reserve every block a request can need, or admit greedily and pause on pressure',
    default: 'GUARANTEED_NO_EVICT',
    maps: 'SchedulerConfig(CapacitySchedulerPolicy)',
    flag: 'capacity-scheduler-policy',
    commands: SERVE,
    arg: 'POLICY',
    section: 'Executor',
  }),
  kvCacheConfig,
});

const timing = group('the simulator\'s timing model (REFERENCE.md section 5), ms of modelled GPU time', {
  prefillA: opt(num(-1e12, 1e12), { help: 'prefill ms = A * N^2 + B * N + C for N new tokens in the iteration: A', default: 4.209989e-7, maps: 'SimConfig::prefillA' }),
  prefillB: opt(num(-1e12, 1e12), { help: 'prefill: B', default: 1.518344e-2, maps: 'SimConfig::prefillB' }),
  prefillC: opt(num(-1e12, 1e12), { help: 'prefill: C', unit: 'ms', default: 16.50142, maps: 'SimConfig::prefillC' }),
  decodeD2: opt(num(-1e12, 1e12), { help: 'decode ms = max(min, D2 * x^2 + D1 * x + D0), x = active KV tokens / capacity: D2', default: -25.74, maps: 'SimConfig::decodeD2' }),
  decodeD1: opt(num(-1e12, 1e12), { help: 'decode: D1', default: 54.01, maps: 'SimConfig::decodeD1' }),
  decodeD0: opt(num(-1e12, 1e12), { help: 'decode: D0', unit: 'ms', default: 5.74, maps: 'SimConfig::decodeD0' }),
  decodeMinMs: opt(num(0, 1e12), { help: 'decode: the floor', unit: 'ms', default: 1, maps: 'SimConfig::decodeMinMs' }),
  hostTransferBytesPerS: opt(positive(1e15), {
    help: 'speed of host <-> GPU copies of KV blocks (the host tier; the performance model uses the GPU\'s PCIe link)',
    unit: 'bytes/s',
    default: 50e9,
    maps: 'SimConfig::hostTransferBytesPerS',
  }),
  loraLoadMs: opt(num(0, 1e9), {
    help: 'time to load one LoRA adapter into the device cache (the performance model uses its size over PCIe)',
    unit: 'ms',
    default: 2,
    maps: 'SimConfig::loraLoadMs',
  }),
});

const SIM_GPUS = ['h100', 'h200', 'b200', 'a100', 'l40s'] as const;

const perf = group('the performance model: iteration times and KV capacity of a model on a GPU (docs/simulator.md "Performance model")', {
  modelConfig: opt(nonEmpty(), {
    help: 'turns the performance model on for this model: llama-3.1-8b, llama-3.1-70b, llama-3.1-405b, or a Hugging Face config.json',
    maps: 'SimConfig::perfModel (the file is read in JS)',
    flag: 'model-config',
    commands: SERVE_BENCH,
    arg: 'NAME|FILE',
    section: 'Performance model',
  }),
  gpu: opt(oneOf(...SIM_GPUS), {
    help: 'the GPU (memory, bandwidth, FLOP/s per precision, links: docs/simulator.md "GPUs")',
    default: 'h100',
    maps: 'PerfModelConfig::gpu',
    flag: 'gpu',
    commands: SERVE_BENCH,
    arg: SIM_GPUS.join('|'),
    section: 'Performance model',
  }),
  quant: opt(oneOf('bf16', 'fp16', 'fp8', 'fp4'), {
    help: 'precision of the weights (fp8 and fp4 as in NVIDIA\'s ModelOpt checkpoints: embeddings stay 16-bit)',
    default: 'bf16',
    maps: 'PerfModelConfig::weights',
    flag: 'quant',
    commands: SERVE_BENCH,
    arg: 'bf16|fp16|fp8|fp4',
    section: 'Performance model',
  }),
  kvCacheDtype: opt(oneOf('auto', 'bf16', 'fp16', 'fp8'), {
    help: 'precision of the KV cache; auto: fp8 with fp8 or fp4 weights, else the weights\'',
    default: 'auto',
    maps: 'PerfModelConfig::kvCache',
    flag: 'kv-cache-dtype',
    commands: SERVE_BENCH,
    arg: 'auto|bf16|fp16|fp8',
    section: 'Performance model',
  }),
  tp: opt(int(1, 64), {
    help: 'tensor-parallel size: GPUs the engine spans',
    unit: 'GPUs',
    default: 1,
    maps: 'PerfModelConfig::tp',
    flag: 'tp',
    commands: SERVE_BENCH,
    section: 'Performance model',
  }),
  targetInputLen: opt(int(1), {
    help: "prompt length trtllm-bench's maxBatchSize / maxNumTokens heuristic sizes the engine for (bench: the workload's mean)",
    unit: 'tokens',
    default: 1024,
    maps: 'PerfModelConfig::targetInputLen',
  }),
  targetOutputLen: opt(int(1), {
    help: "output length of that heuristic (bench: the workload's mean)",
    unit: 'tokens',
    default: 1024,
    maps: 'PerfModelConfig::targetOutputLen',
  }),
});

const lora = group('LoRA adapters (docs/simulator.md "LoRA adapters")', {
  maxAdapters: opt(int(1, 65536), {
    help: 'LoRA adapters the device cache of each rank holds; a request whose adapter cannot be loaded waits',
    unit: 'adapters',
    default: 4,
    maps: 'SimConfig::loraMaxAdapters',
    flag: 'max-loras',
    commands: SERVE_BENCH,
    section: 'Simulator',
  }),
  rank: opt(int(1, 4096), {
    help: 'rank of the adapters (their size, hence their load time with the performance model)',
    default: 16,
    maps: 'SimConfig::loraRank',
    flag: 'max-lora-rank',
    commands: SERVE_BENCH,
    section: 'Simulator',
  }),
});

// Injected faults (docs/simulator.md "Faults", docs/reliability.md): seeded and deterministic, all off by default.
// Iteration numbers are the executor's (IterationStats.iter, from 0).
const faultFlag = (flag: string, arg?: string) => ({ flag: `sim-fault-${flag}`, commands: SERVE, section: 'Simulator faults', ...(arg ? { arg } : {}) });
const faults = group('faults the simulator injects (SimFaultConfig)', {
  seed: opt(int(0, Number.MAX_SAFE_INTEGER), {
    help: 'seed of every fault draw (which requests fail, which iterations stall or slow down)',
    default: 0,
    maps: 'SimFaultConfig::seed',
    ...faultFlag('seed'),
  }),
  requestErrorProbability: opt(num(0, 1), {
    help: 'probability that a request fails: an error response at an output position drawn from [0, maxTokens)',
    default: 0,
    maps: 'SimFaultConfig::requestErrorProbability',
    ...faultFlag('request-error-probability', 'P'),
  }),
  stallMs: opt(num(0, HOUR_MS), {
    help: 'length of an injected stall: the executor thread hangs in real time (no iteration, no token), as in an NCCL or kernel hang',
    unit: 'ms',
    default: 0,
    maps: 'SimFaultConfig::stallMs',
    ...faultFlag('stall-ms', 'MS'),
  }),
  stallAtIteration: opt(int(0, Number.MAX_SAFE_INTEGER), {
    help: 'stall in this iteration (needs stallMs)',
    unit: 'iterations',
    defaultText: 'never',
    maps: 'SimFaultConfig::stallAtIteration',
    ...faultFlag('stall-at-iteration', 'K'),
  }),
  stallProbability: opt(num(0, 1), {
    help: 'stall in each iteration with this probability (needs stallMs)',
    default: 0,
    maps: 'SimFaultConfig::stallProbability',
    ...faultFlag('stall-probability', 'P'),
  }),
  fatalAtIteration: opt(int(0, Number.MAX_SAFE_INTEGER), {
    help: 'the forward step throws from this iteration on: every request in flight, and every later one, gets TensorRT-LLM\'s "Encountered an error in forwardAsync function" error',
    unit: 'iterations',
    defaultText: 'never',
    maps: 'SimFaultConfig::fatalAtIteration',
    ...faultFlag('fatal-at-iteration', 'K'),
  }),
  slowIterationProbability: opt(num(0, 1), {
    help: 'probability that an iteration is slow (its modelled latency times slowIterationFactor)',
    default: 0,
    maps: 'SimFaultConfig::slowIterationProbability',
    ...faultFlag('slow-probability', 'P'),
  }),
  slowIterationFactor: opt(positive(1e6), {
    help: 'factor on the modelled latency of a slow iteration',
    default: 1,
    maps: 'SimFaultConfig::slowIterationFactor',
    ...faultFlag('slow-factor', 'X'),
  }),
  kvEventBurstAtIteration: opt(int(0, Number.MAX_SAFE_INTEGER), {
    help: 'in this iteration the KV cache publishes kvEventBurstSize extra events (Stored / Removed pairs of blocks no request holds), to overflow the event buffer',
    unit: 'iterations',
    defaultText: 'never',
    maps: 'SimFaultConfig::kvEventBurstAtIteration',
    ...faultFlag('kv-burst-at-iteration', 'K'),
  }),
  kvEventBurstSize: opt(int(0, 1 << 20), {
    help: 'events of the KV-event burst (rounded up to an even number)',
    unit: 'events',
    default: 0,
    maps: 'SimFaultConfig::kvEventBurstSize',
    ...faultFlag('kv-burst-size', 'N'),
  }),
});

const sim = group(
  "the simulator's own knobs (docs/simulator.md)",
  {
    tokensPerBlock: opt(int(1, 65536), {
      help: 'tokens per KV-cache block (an engine has its own)',
      unit: 'tokens',
      default: 32,
      maps: 'SimConfig::tokensPerBlock',
      flag: 'tokens-per-block',
      commands: SERVE_BENCH,
      section: 'Simulator',
    }),
    numKvBlocks: opt(int(1), {
      help: 'KV-cache blocks when kvCacheConfig.maxTokens is unset',
      unit: 'blocks',
      default: 4096,
      maps: 'SimConfig::numKvBlocks',
      flag: 'kv-blocks',
      commands: SERVE_BENCH,
      section: 'Simulator',
    }),
    maxSeqLen: opt(int(2), {
      help: 'limit on prompt + maxTokens; longer requests fail',
      unit: 'tokens',
      default: 8192,
      maps: 'SimConfig::maxSeqLen',
      flag: 'max-seq-len',
      commands: SERVE,
      section: 'Simulator',
    }),
    vocabSize: opt(int(2), {
      help: 'simulated vocabulary (the byte tokenizer of serve needs at least its 259 ids)',
      unit: 'tokens',
      default: 32000,
      maps: 'SimConfig::vocabSize',
      flag: 'vocab-size',
      commands: SERVE,
      section: 'Simulator',
    }),
    outputLengthMode: opt(oneOf('endIdGeometric', 'maxTokens'), {
      help: 'endIdGeometric: a request with an end id ends after ~meanOutputTokens; maxTokens: always run to max_tokens',
      default: 'endIdGeometric',
      maps: 'SimConfig::outputLengthMode',
      flag: 'output-length-mode',
      commands: SERVE,
      arg: 'MODE',
      section: 'Simulator',
    }),
    meanOutputTokens: opt(num(1, 1e9), {
      help: 'mean output length before the end id (endIdGeometric)',
      unit: 'tokens',
      default: 128,
      maps: 'SimConfig::meanOutputTokens',
      flag: 'mean-output-tokens',
      commands: SERVE,
      section: 'Simulator',
    }),
    seed: opt(int(0, Number.MAX_SAFE_INTEGER), {
      help: 'base seed of the simulated token stream (bench: its --seed sets it)',
      default: 0,
      maps: 'SimConfig::seed',
      flag: 'seed',
      commands: SERVE,
      section: 'Simulator',
    }),
    speedupRatio: opt(positive(1e9), {
      help: 'modelled latencies are divided by X',
      default: 1,
      maps: 'SimConfig::speedupRatio',
      flag: 'speedup-ratio',
      commands: SERVE_BENCH,
      arg: 'X',
      section: 'Simulator',
    }),
    virtualClock: opt(Type.Boolean(), {
      help: 'advance a virtual clock by the modelled latency instead of sleeping (as fast as the CPU allows)',
      default: false,
      maps: 'SimConfig::virtualClock',
      flag: 'virtual-clock',
      commands: SERVE_BENCH,
      section: 'Simulator',
    }),
    lockstep: opt(Type.Boolean(), {
      help: 'closed-loop pacing (needs virtualClock): after an iteration in which a request finished, hold the clock until resumeSimClock()',
      default: false,
      maps: 'SimConfig::lockstep',
    }),
    modelSizeBytes: opt(num(0, Number.MAX_SAFE_INTEGER), {
      help: 'simulated weights, reported as GPU memory in the iteration stats',
      unit: 'bytes',
      default: 16 * 2 ** 30,
      maps: 'SimConfig::modelSizeBytes',
    }),
    kvBytesPerBlock: opt(num(0, Number.MAX_SAFE_INTEGER), {
      help: 'simulated bytes of one KV block (GPU memory in the stats, kvCacheSize of a request)',
      unit: 'bytes',
      default: 4 * 2 ** 20,
      maps: 'SimConfig::kvBytesPerBlock',
    }),
    specDraftLength: opt(int(0, 64), {
      help: 'draft tokens per step of simulated speculative decoding; 0 = off',
      unit: 'tokens',
      default: 0,
      maps: 'SimConfig::specDraftLength',
      flag: 'spec-draft-length',
      commands: SERVE_BENCH,
      section: 'Simulator',
    }),
    specAcceptanceProbability: opt(num(0, 1), {
      help: 'probability that a draft token is accepted, given the previous one was',
      default: 0.7,
      maps: 'SimConfig::specAcceptanceProbability',
    }),
    attentionDp: opt(int(1, 1024), {
      help: 'attention data-parallel ranks, each with its own KV pool, scheduler and batch; requests go to the least loaded rank',
      unit: 'ranks',
      default: 1,
      maps: 'SimConfig::attentionDp',
      flag: 'attention-dp',
      commands: SERVE_BENCH,
      section: 'Simulator',
    }),
    timing,
    perf,
    lora,
    faults,
  },
  { backend: 'sim' },
);

const bridge = group('the bridge between the executor and JS (docs/bridge.md)', {
  // The rings are allocated up front (a record slot costs ~576 bytes), so the maxima keep a typo from taking
  // the machine's memory: 1M records is ~600 MB.
  responseQueueCapacity: opt(int(1, 1 << 20), {
    help: 'token chunks queued for JS; when full the response pump waits (chunks are never dropped)',
    unit: 'chunks',
    default: 65536,
    maps: 'BridgeOptions::responseQueueCapacity',
  }),
  recordQueueCapacity: opt(int(1, 1 << 20), {
    help: 'finished-request records queued for JS; when full the oldest are dropped and counted',
    unit: 'records',
    default: 65536,
    maps: 'BridgeOptions::recordQueueCapacity',
  }),
  statsQueueCapacity: opt(int(1, 1 << 16), {
    help: 'iteration stats queued for JS (drop-oldest, counted)',
    unit: 'iterations',
    default: 4096,
    maps: 'BridgeOptions::statsQueueCapacity',
  }),
  eventQueueCapacity: opt(int(1, 1 << 20), {
    help: 'KV events queued for JS (drop-oldest, counted)',
    unit: 'events',
    default: 65536,
    maps: 'BridgeOptions::eventQueueCapacity',
  }),
  statsIntervalMs: opt(int(1, HOUR_MS), {
    help: 'how often iteration stats are read from the executor',
    unit: 'ms',
    default: 100,
    maps: 'BridgeOptions::statsInterval',
  }),
  responsePollMs: opt(int(1, 1000), {
    help: "timeout of the response pump's awaitResponses(); responses wake it at once, the timeout only bounds how long shutdown waits for it",
    unit: 'ms',
    default: 20,
    maps: 'BridgeOptions::responsePollTimeout',
  }),
  eventPollMs: opt(int(1, 1000), {
    help: "timeout of the event pump's getLatestEvents() (bounded for the same reason)",
    unit: 'ms',
    default: 50,
    maps: 'BridgeOptions::eventPollTimeout',
  }),
});

export const ENGINE_OPTIONS = {
  backend: opt(oneOf('sim', 'trtllm'), {
    help: 'sim: the embedded simulator; trtllm: a TensorRT-LLM engine (built when TRTLLM_ROOT was set at install)',
    default: 'sim',
    flag: 'backend',
    commands: SERVE,
    arg: 'sim|trtllm',
    section: 'Server',
  }),
  modelName: opt(nonEmpty(), {
    help: 'served model name (the model_name label)',
    defaultText: 'sim-llama, or the engine directory\'s name',
    flag: 'model',
    commands: SERVE,
    arg: 'NAME',
    section: 'Server',
  }),
  engineDir: opt(nonEmpty(), {
    help: 'TensorRT-LLM engine directory (required with backend trtllm)',
    backend: 'trtllm',
    maps: 'Executor(engineDir, ...)',
    flag: 'engine-dir',
    commands: SERVE,
    arg: 'DIR',
    section: 'Server',
  }),
  executorConfig,
  sim,
  bridge,
  shutdownGraceMs: opt(int(0, HOUR_MS), {
    help: 'on Engine.shutdown(), time in-flight requests get to finish after being cancelled',
    unit: 'ms',
    default: 2000,
  }),
  latestStatsCapacity: opt(int(1, 1 << 24), {
    help: 'iteration stats kept for getLatestIterationStats() between calls (oldest dropped)',
    unit: 'iterations',
    default: 1000,
  }),
  latestEventsCapacity: opt(int(1, 1 << 24), {
    help: 'KV events kept for getLatestKvCacheEvents() between calls (oldest dropped)',
    unit: 'events',
    default: 100_000,
  }),
};
