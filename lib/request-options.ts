/** Request fields of Engine.generate(): their types, units and validation (per request: hand-written, allocation-light). */
import { InvalidArgumentError } from './errors.js';
import type { NativeRequest } from './native.js';
import { INT32_MAX as INT32 } from './options/define.js';
import { optBool, optInt, optNum, optObject, tokenArray, fail } from './validate.js';

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
  /**
   * The LoRA adapter, by task id (TensorRT-LLM's LoraConfig). The adapter is part of the identity of the
   * request's KV blocks; the simulator loads it into a bounded device cache on first use.
   */
  loraConfig?: { taskId: number };
  /** Aborting cancels the request (finish reason cancelled). */
  signal?: AbortSignal;
}

const REQUEST_KEYS = ['inputTokenIds', 'maxTokens', 'streaming', 'returnPerfMetrics', 'endId', 'padId', 'stopWords', 'clientId', 'priority', 'allottedTimeMs', 'simArrivalTimeNs', 'samplingConfig', 'loraConfig', 'signal'] as const;
const LORA_KEYS = ['taskId'] as const;
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
  const allotted = optInt(r.allottedTimeMs, 'request.allottedTimeMs', 1, INT32); // ~24.8 days; the executor's deadline arithmetic is in ns
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
  const lora = optObject(r.loraConfig, 'request.loraConfig', LORA_KEYS);
  if (lora) {
    if (lora.taskId === undefined) throw new InvalidArgumentError('request.loraConfig.taskId is required');
    out.loraConfig = { taskId: optInt(lora.taskId, 'request.loraConfig.taskId', 0)! };
  }
  if (r.signal !== undefined && !(r.signal instanceof AbortSignal)) fail('request.signal', 'an AbortSignal', r.signal);
  return out;
}
