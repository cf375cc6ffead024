/**
 * The command line of `trtllm-metrics bench`: the flags come from lib/options/bench-table.ts (and the
 * engine table's bench flags); this file converts the checked values into BenchOptions and applies the rules
 * that join flags (vLLM's where it has them: vllm/benchmarks/serve.py main_async). Every problem is a
 * UsageError whose one-line message names the flag (exit code 2).
 */
import { UsageError } from '../errors.js';
import type { EngineOptions } from '../engine-options.js';
import { BENCH_OPTIONS } from '../options/bench-table.js';
import { resolveTree } from '../options/check.js';
import { flagsOf, helpText, parseCommandLine } from '../options/command-line.js';
import { validateEngineOptions } from '../engine-options.js';
import type { RampUp } from './arrivals.js';
import {
  parseGoodput,
  parseJsonObject,
  parseKeyValues,
  parseMetricPercentiles,
  parsePercentileMetrics,
  type GoodputSlos,
  type PercentileMetric,
} from './arg-parsers.js';
import { parseDistribution, type LengthDistribution } from './distributions.js';
import { parseSweep, type SweepSpec } from './sweep-spec.js';
import { parsePrefixShare, type PrefixRepetition, type PrefixShare } from './workload.js';

/** The workloads; `file` is a --dataset-path given without --dataset-name (its format is recognized). */
export type DatasetName = 'random' | 'sharegpt' | 'custom' | 'prefix_repetition' | 'mooncake_trace' | 'file';

export interface BenchOptions {
  help: boolean;
  numRequests: number;
  /** Whether --num-prompts was given (a trace otherwise sends each of its entries once). */
  numRequestsSet: boolean;
  /** Infinity = no cap. */
  concurrency: number;
  /** Requests/s; Infinity = all at once. */
  requestRate: number;
  burstiness: number;
  rampUp?: RampUp;
  warmups: number;
  durationS?: number;
  cancelRate: number;
  cancelAfterMs: number;
  seed: number;
  sweep?: SweepSpec;
  datasetName: DatasetName;
  inputLen: LengthDistribution;
  outputLen: LengthDistribution;
  /** Whether --input-len / --output-len (or their dataset-specific forms) were given. */
  inputLenSet: boolean;
  outputLenSet: boolean;
  dataset?: string;
  prefixShare?: PrefixShare;
  prefixRepetition?: PrefixRepetition;
  traceBlockSize: number;
  selfTimed: boolean;
  shuffle: boolean;
  oversample: boolean;
  url?: string;
  endpoint: string;
  backend: string;
  model?: string;
  servedModelName?: string;
  tokenizer?: string;
  metricsUrl?: string;
  metricsIntervalMs: number;
  metricsPrefix: string;
  perfMetrics: boolean;
  ignoreEos: boolean;
  requestTimeoutS: number;
  readyCheckTimeoutS: number;
  headers: Record<string, string>;
  /** Sampling parameters and --extra-body, merged into every request body. */
  extraBody: Record<string, unknown>;
  requestIdPrefix: string;
  insecure: boolean;
  /** In-process: stream chunks (client TTFT/ITL). */
  stream: boolean;
  virtualClock: boolean;
  /** In-process: the engine options given on the command line (the table's bench flags). */
  engine: EngineOptions;
  percentileMetrics: PercentileMetric[];
  metricPercentiles: number[];
  goodput?: GoodputSlos;
  saveResult: boolean;
  saveDetailed: boolean;
  appendResult: boolean;
  resultDir?: string;
  resultFilename?: string;
  metadata: Array<[string, string]>;
  label?: string;
  plotTimeline: boolean;
  json?: string;
  dumpRecords?: string;
  metricsOut?: string;
  plot?: string;
  quiet: boolean;
}

export const DEFAULT_MODEL = 'sim-llama';

export function usage(): string {
  return helpText(BENCH_OPTIONS, 'bench', {
    intro: [
      'Usage: trtllm-metrics bench [options]',
      '',
      'Benchmark the in-process simulator or an OpenAI-compatible server; `vllm bench serve` command lines carry over',
      '(flags as vLLM spells them; see docs/bench.md for those accepted and refused).',
    ],
    sections: [
      ['Load', 'Load'],
      ['Workload', 'Workload (--dataset-name)'],
      ['Target', 'Target (default: the in-process simulator)'],
      ['Metrics', 'Metrics'],
      ['Simulator', 'Simulator (in-process)'],
      ['Performance model', 'Performance model of the simulator (a model on a GPU)'],
      ['Executor', 'Executor (in-process)'],
      ['Output', 'Output'],
      ['vLLM', "vLLM's client-tokenizer flags (accepted, no effect)"],
    ],
    outro: ['Exit status: 0 when at least one request completed, 1 when none did or the target failed, 2 on bad usage.'],
  });
}

/** Flags that apply with a server only. */
const SERVER_ONLY = [
  'perf-metrics', 'ignore-eos', 'metrics-prefix', 'request-timeout', 'endpoint', 'served-model-name', 'ready-check-timeout-sec', 'header',
  'extra-body', 'request-id-prefix', 'insecure', 'temperature', 'top-p', 'top-k', 'min-p', 'frequency-penalty', 'presence-penalty',
  'repetition-penalty', 'logprobs',
];

/** Flags of one workload: given with another one, they are an error (they would do nothing). */
const WORKLOAD_FLAGS: Record<string, readonly string[]> = {
  random: ['random-input-len', 'random-output-len', 'random-range-ratio', 'random-prefix-len', 'prefix-share'],
  prefix_repetition: ['prefix-repetition-prefix-len', 'prefix-repetition-suffix-len', 'prefix-repetition-num-prefixes', 'prefix-repetition-output-len'],
  sharegpt: ['sharegpt-output-len'],
  custom: ['custom-output-len'],
  mooncake_trace: ['trace-block-size', 'self-timed'],
};

/** Integer length range of vLLM's random dataset: [floor(L (1 - r)), ceil(L (1 + r))], at least 1. */
function rangeOf(len: number, ratio: number): LengthDistribution {
  const lo = Math.max(1, Math.floor(len * (1 - ratio)));
  const hi = Math.max(lo, Math.ceil(len * (1 + ratio)));
  return lo === hi ? { kind: 'fixed', value: lo } : { kind: 'uniform', min: lo, max: hi };
}

function parsed<T>(flag: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError(`--${flag}${(err as Error).message.startsWith(':') ? '' : ' '}${(err as Error).message}`);
  }
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const cl = parseCommandLine(BENCH_OPTIONS, 'bench', argv);
  const r = resolveTree(BENCH_OPTIONS, cl.values, { root: 'options', command: 'bench', backend: 'sim' });
  const given = (flag: string): boolean => cl.given.has(flag);
  const engine = (cl.values.engine ?? {}) as EngineOptions;
  const o: BenchOptions = {
    help: cl.help,
    numRequests: r.numRequests,
    numRequestsSet: given('num-prompts'),
    concurrency: r.concurrency ?? Infinity,
    requestRate: r.requestRate ?? Infinity,
    burstiness: r.burstiness,
    warmups: r.warmups,
    cancelRate: r.requestCancelRate,
    cancelAfterMs: r.requestCancelAfterMs,
    seed: r.seed,
    datasetName: r.datasetName ?? (r.dataset !== undefined ? 'file' : 'random'),
    inputLen: parseDistribution('fixed:1024'),
    outputLen: parseDistribution('fixed:128'),
    inputLenSet: false,
    outputLenSet: false,
    traceBlockSize: r.traceBlockSize,
    selfTimed: r.selfTimed ?? true,
    shuffle: !r.disableShuffle,
    oversample: !r.noOversample,
    endpoint: r.endpoint ?? (r.backend === 'openai-chat' ? '/v1/chat/completions' : '/v1/completions'),
    backend: r.backend,
    metricsIntervalMs: r.metricsIntervalMs,
    metricsPrefix: r.metricsPrefix,
    perfMetrics: r.perfMetrics,
    ignoreEos: false,
    requestTimeoutS: r.requestTimeout,
    readyCheckTimeoutS: r.readyCheckTimeoutSec,
    headers: {},
    extraBody: {},
    requestIdPrefix: r.requestIdPrefix,
    insecure: r.insecure,
    stream: false,
    virtualClock: engine.sim?.virtualClock === true,
    engine,
    percentileMetrics: parsePercentileMetrics(r.percentileMetrics),
    metricPercentiles: parseMetricPercentiles(r.metricPercentiles),
    saveResult: r.saveResult,
    saveDetailed: r.saveDetailed,
    appendResult: r.appendResult,
    metadata: r.metadata !== undefined ? parseKeyValues(r.metadata) : [],
    plotTimeline: r.plotTimeline,
    quiet: r.quiet,
  };
  if (o.help) return o;
  const optional = ['dataset', 'model', 'servedModelName', 'tokenizer', 'metricsUrl', 'resultDir', 'resultFilename', 'label', 'json', 'dumpRecords', 'metricsOut', 'plot'] as const;
  for (const k of optional) if (r[k] !== undefined) (o as unknown as Record<string, unknown>)[k] = r[k];
  if (r.duration !== undefined) o.durationS = r.duration;
  if (r.goodput !== undefined) o.goodput = parseGoodput(r.goodput);
  if (r.sweep !== undefined) o.sweep = parseSweep(r.sweep);
  if (r.header !== undefined) o.headers = Object.fromEntries(parseKeyValues(r.header));
  const sampling: Record<string, number | undefined> = {
    temperature: r.temperature,
    top_p: r.topP,
    top_k: r.topK,
    min_p: r.minP,
    frequency_penalty: r.frequencyPenalty,
    presence_penalty: r.presencePenalty,
    repetition_penalty: r.repetitionPenalty,
    logprobs: r.logprobs,
  };
  for (const [k, v] of Object.entries(sampling)) if (v !== undefined) o.extraBody[k] = v;
  if (r.extraBody !== undefined) Object.assign(o.extraBody, parseJsonObject(r.extraBody));

  // The target: --base-url (vLLM: it wins over --host/--port), or http://HOST:PORT.
  if (r.url !== undefined) o.url = r.url;
  else if (r.host !== undefined || r.port !== undefined) {
    const host = r.host ?? '127.0.0.1';
    o.url = `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${r.port ?? 8000}`;
    if (!URL.canParse(o.url)) throw new UsageError(`--host: not a host name, got ${JSON.stringify(host)}`);
  }
  if (r.backend === 'openai-chat' && o.endpoint !== '/v1/chat/completions') {
    throw new UsageError('--backend openai-chat streams chat completions: --endpoint must be /v1/chat/completions');
  }

  applyWorkload(o, r, given);
  applyLoad(o, r, given);

  // Outputs.
  if (!o.saveResult && !o.appendResult) {
    for (const flag of ['save-detailed', 'result-dir', 'result-filename', 'metadata', 'label', 'plot-timeline']) {
      if (given(flag)) throw new UsageError(`--${flag} applies with --save-result (or --append-result)`);
    }
  }
  if (o.sweep !== undefined) {
    for (const flag of ['dump-records', 'metrics-out', 'result-filename', 'append-result']) {
      if (given(flag)) throw new UsageError(`--${flag} does not apply with --sweep (one result per point: --save-result, --json)`);
    }
  }

  // Target: a server, or the in-process simulator.
  if (o.url !== undefined) {
    for (const [flag, { entry }] of cl.given) {
      if (entry.path[0] === 'engine' || flag === 'stream') throw new UsageError(`--${flag} applies to the in-process simulator only (not with --base-url)`);
    }
    if (o.dumpRecords !== undefined && !o.perfMetrics) {
      throw new UsageError('--dump-records with --base-url needs --perf-metrics (the records come from GET /perf_metrics)');
    }
    if (o.metricsOut !== undefined && o.metricsUrl === undefined) {
      throw new UsageError('--metrics-out with --base-url needs --metrics-url (the exposition is scraped from it)');
    }
    o.stream = true;
    o.ignoreEos = r.ignoreEos ?? (o.datasetName === 'random' || o.datasetName === 'mooncake_trace');
  } else {
    for (const flag of [...SERVER_ONLY, 'metrics-url']) if (given(flag)) throw new UsageError(`--${flag} applies with a server (--base-url) only`);
    o.stream = r.stream ?? !o.virtualClock;
    // The rules joining engine options (e.g. --gpu needs --model-config), worded with flags.
    const flagOf = new Map(flagsOf(BENCH_OPTIONS, 'bench').filter((f) => f.path[0] === 'engine').map((f) => [f.path.slice(1).join('.'), `--${f.flag}`]));
    try {
      validateEngineOptions(o.engine, 'bench', (path) => flagOf.get(path) ?? `engine option ${path}`);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (o.virtualClock && o.cancelRate > 0) {
      throw new UsageError('--request-cancel-rate needs a real clock (the harness cancels on the wall clock): not with --virtual-clock');
    }
  }
  return o;
}

/** The workload flags: vLLM's dataset semantics on top of this package's distributions. */
function applyWorkload(o: BenchOptions, r: ReturnType<typeof resolveTree<typeof BENCH_OPTIONS>>, given: (f: string) => boolean): void {
  const name = o.datasetName;
  for (const [owner, flags] of Object.entries(WORKLOAD_FLAGS)) {
    if (owner === name || (owner === 'random' && name === 'file')) continue;
    for (const flag of flags) {
      if (given(flag)) throw new UsageError(`--${flag} applies to --dataset-name ${owner}, not ${name === 'file' ? 'a dataset file' : name}`);
    }
  }
  const needsFile = name === 'sharegpt' || name === 'custom' || name === 'mooncake_trace' || name === 'file';
  if (needsFile && o.dataset === undefined) throw new UsageError(`--dataset-name ${name} needs --dataset-path FILE`);
  if (!needsFile && o.dataset !== undefined) throw new UsageError(`--dataset-path does not apply to --dataset-name ${name} (it makes its prompts)`);
  if (given('input-len') && needsFile) throw new UsageError('--input-len does not apply with --dataset-path (prompts come from the dataset)');

  // --output-len (any workload) and --input-len (random): a distribution, or vLLM's plain token count.
  if (given('output-len')) {
    o.outputLen = parsed('output-len', () => parseDistribution(r.outputLen!));
    o.outputLenSet = true;
  }
  if (given('input-len')) {
    o.inputLen = parsed('input-len', () => parseDistribution(r.inputLen!));
    o.inputLenSet = true;
  }
  if (name === 'random') {
    const ratio = r.randomRangeRatio;
    const plain = (flag: string, d: LengthDistribution): number | undefined => {
      if (!given(flag)) return undefined;
      if (d.kind !== 'fixed') throw new UsageError(`--${flag} ${flag === 'input-len' ? 'as a distribution' : 'as a distribution'} does not combine with --random-range-ratio or --random-${flag}`);
      return d.value;
    };
    const vllmStyle = given('random-input-len') || given('random-output-len') || ratio > 0;
    if (vllmStyle) {
      const inLen = r.randomInputLen ?? plain('input-len', o.inputLen) ?? 1024;
      const outLen = r.randomOutputLen ?? plain('output-len', o.outputLen) ?? 128;
      if (given('random-input-len') && given('input-len')) throw new UsageError('--input-len and --random-input-len are the same length: give one');
      if (given('random-output-len') && given('output-len')) throw new UsageError('--output-len and --random-output-len are the same length: give one');
      o.inputLen = rangeOf(inLen, ratio);
      o.outputLen = rangeOf(outLen, ratio);
      o.inputLenSet = true;
      o.outputLenSet = true;
    }
    if (r.prefixShare !== undefined && r.randomPrefixLen > 0) throw new UsageError('--random-prefix-len and --prefix-share both set a shared prefix: give one');
    if (r.prefixShare !== undefined) o.prefixShare = parsed('prefix-share', () => parsePrefixShare(r.prefixShare!));
    else if (r.randomPrefixLen > 0) o.prefixShare = { fraction: 1, tokens: r.randomPrefixLen };
  }
  if (name === 'prefix_repetition') {
    o.prefixRepetition = {
      prefixLen: r.prefixRepetitionPrefixLen,
      suffixLen: r.prefixRepetitionSuffixLen,
      numPrefixes: r.prefixRepetitionNumPrefixes,
      outputLen: r.prefixRepetitionOutputLen,
    };
    if (o.prefixRepetition.numPrefixes > o.numRequests) {
      throw new UsageError(`--prefix-repetition-num-prefixes (${o.prefixRepetition.numPrefixes}) must be <= --num-prompts (${o.numRequests})`);
    }
  }
  if (name === 'sharegpt' && r.sharegptOutputLen !== undefined) {
    if (o.outputLenSet) throw new UsageError('--output-len and --sharegpt-output-len are the same length: give one');
    o.outputLen = { kind: 'fixed', value: r.sharegptOutputLen };
    o.outputLenSet = true;
  }
  if (name === 'custom' && !o.outputLenSet) {
    // vLLM's custom dataset: every prompt gets --custom-output-len.
    o.outputLen = { kind: 'fixed', value: r.customOutputLen };
    o.outputLenSet = true;
  } else if (name === 'custom' && given('custom-output-len')) {
    throw new UsageError('--output-len and --custom-output-len are the same length: give one');
  }
  if (given('self-timed') && name !== 'mooncake_trace') throw new UsageError('--self-timed applies to --dataset-name mooncake_trace');
}

/** The load flags: rate, burstiness, ramp, duration, cancellation, sweep. */
function applyLoad(o: BenchOptions, r: ReturnType<typeof resolveTree<typeof BENCH_OPTIONS>>, given: (f: string) => boolean): void {
  if (r.rampUpStrategy !== undefined) {
    // vLLM's rules (serve.py main_async).
    if (given('request-rate')) throw new UsageError('--ramp-up-strategy sets the request rate: remove --request-rate');
    if (r.rampUpStartRps === undefined || r.rampUpEndRps === undefined) throw new UsageError('--ramp-up-strategy needs --ramp-up-start-rps and --ramp-up-end-rps');
    if (r.rampUpStartRps > r.rampUpEndRps) throw new UsageError(`--ramp-up-start-rps (${r.rampUpStartRps}) must be <= --ramp-up-end-rps (${r.rampUpEndRps})`);
    if (r.rampUpStrategy === 'exponential' && r.rampUpStartRps === 0) throw new UsageError('--ramp-up-start-rps must be > 0 for an exponential ramp');
    o.rampUp = { strategy: r.rampUpStrategy, startRps: r.rampUpStartRps, endRps: r.rampUpEndRps };
  } else if (given('ramp-up-start-rps') || given('ramp-up-end-rps')) {
    throw new UsageError(`--${given('ramp-up-start-rps') ? 'ramp-up-start-rps' : 'ramp-up-end-rps'} needs --ramp-up-strategy`);
  }
  const traceTimed = o.datasetName === 'mooncake_trace' && o.selfTimed;
  if (traceTimed && (given('request-rate') || o.rampUp)) {
    throw new UsageError("--request-rate and --ramp-up-strategy do not apply to a trace replayed on its timestamps (add --no-self-timed)");
  }
  const sweeping = o.sweep?.param;
  if (given('burstiness') && o.requestRate === Infinity && !o.rampUp && sweeping !== 'request-rate' && sweeping !== 'burstiness') {
    throw new UsageError('--burstiness shapes the gaps of --request-rate (or a ramp): give a rate');
  }
  if (o.sweep) {
    const clash = { 'request-rate': 'request-rate', 'max-concurrency': 'max-concurrency', burstiness: 'burstiness' }[o.sweep.param];
    if (given(clash)) throw new UsageError(`--sweep varies --${clash}: do not give it too`);
    if (o.sweep.param === 'request-rate' && (o.rampUp || traceTimed)) throw new UsageError('--sweep request-rate=... does not combine with a ramp or a timed trace');
  }
  if (o.durationS !== undefined) {
    const paced = o.requestRate < Infinity || o.rampUp !== undefined || traceTimed || o.concurrency < Infinity || sweeping === 'request-rate' || sweeping === 'max-concurrency';
    if (!paced) throw new UsageError('--duration needs --request-rate, a ramp, a trace or --max-concurrency (all at once, it would send without end)');
  }
  if (given('request-cancel-after-ms') && o.cancelRate === 0) throw new UsageError('--request-cancel-after-ms needs --request-cancel-rate');
}
