/**
 * The command line of `trtllm-metrics bench`: the flags come from lib/options/bench-table.ts (and the
 * engine table's bench flags); this file converts the checked values into BenchOptions and applies the rules
 * that join flags. Every problem is a UsageError whose one-line message names the flag (exit code 2).
 */
import { UsageError } from '../errors.js';
import type { EngineOptions } from '../engine-options.js';
import { BENCH_OPTIONS } from '../options/bench-table.js';
import { resolveTree } from '../options/check.js';
import { flagsOf, helpText, parseCommandLine } from '../options/command-line.js';
import { validateEngineOptions } from '../engine-options.js';
import { parseDistribution, type LengthDistribution } from './distributions.js';
import { parsePrefixShare, type PrefixShare } from './workload.js';

export interface BenchOptions {
  help: boolean;
  numRequests: number;
  /** Infinity = no cap. */
  concurrency: number;
  /** Requests/s; Infinity = all at once. */
  requestRate: number;
  seed: number;
  inputLen: LengthDistribution;
  outputLen: LengthDistribution;
  /** Whether --input-len / --output-len were given. */
  inputLenSet: boolean;
  outputLenSet: boolean;
  dataset?: string;
  prefixShare?: PrefixShare;
  url?: string;
  model?: string;
  metricsUrl?: string;
  metricsPrefix: string;
  perfMetrics: boolean;
  ignoreEos: boolean;
  requestTimeoutS: number;
  /** In-process: stream chunks (client TTFT/ITL). */
  stream: boolean;
  virtualClock: boolean;
  /** In-process: the engine options given on the command line (the table's bench flags). */
  engine: EngineOptions;
  json?: string;
  dumpRecords?: string;
  metricsOut?: string;
  plot?: string;
  quiet: boolean;
}

export const DEFAULT_MODEL = 'sim-llama';

export function usage(): string {
  return helpText(BENCH_OPTIONS, 'bench', {
    intro: ['Usage: trtllm-metrics bench [options]', '', 'Benchmark the in-process simulator or an OpenAI-compatible server; see docs/bench.md.'],
    sections: [
      ['Workload', 'Workload'],
      ['Target', 'Target (default: the in-process simulator)'],
      ['Simulator', 'Simulator (in-process)'],
      ['Performance model', 'Performance model of the simulator (a model on a GPU)'],
      ['Executor', 'Executor (in-process)'],
      ['Output', 'Output'],
    ],
    outro: ['Exit status: 0 when at least one request completed, 1 when none did or the target failed, 2 on bad usage.'],
  });
}

/** Flags that apply with --url only. */
const URL_ONLY = ['perf-metrics', 'ignore-eos', 'metrics-url', 'metrics-prefix', 'request-timeout'];

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const cl = parseCommandLine(BENCH_OPTIONS, 'bench', argv);
  const r = resolveTree(BENCH_OPTIONS, cl.values, { root: 'options', command: 'bench', backend: 'sim' });
  const given = (flag: string): boolean => cl.given.has(flag);
  const o: BenchOptions = {
    help: cl.help,
    numRequests: r.numRequests,
    concurrency: r.concurrency ?? Infinity,
    requestRate: r.requestRate ?? Infinity,
    seed: r.seed,
    inputLen: parseDistribution(r.inputLen),
    outputLen: parseDistribution(r.outputLen),
    inputLenSet: given('input-len'),
    outputLenSet: given('output-len'),
    metricsPrefix: r.metricsPrefix,
    perfMetrics: r.perfMetrics,
    ignoreEos: r.ignoreEos,
    requestTimeoutS: r.requestTimeout,
    stream: false,
    virtualClock: cl.values.engine !== undefined && (cl.values.engine as EngineOptions).sim?.virtualClock === true,
    engine: (cl.values.engine ?? {}) as EngineOptions,
    quiet: r.quiet,
  };
  if (o.help) return o;
  if (r.dataset !== undefined) o.dataset = r.dataset;
  if (r.prefixShare !== undefined) o.prefixShare = parsePrefixShare(r.prefixShare);
  if (r.url !== undefined) o.url = r.url;
  if (r.model !== undefined) o.model = r.model;
  if (r.metricsUrl !== undefined) o.metricsUrl = r.metricsUrl;
  if (r.json !== undefined) o.json = r.json;
  if (r.dumpRecords !== undefined) o.dumpRecords = r.dumpRecords;
  if (r.metricsOut !== undefined) o.metricsOut = r.metricsOut;
  if (r.plot !== undefined) o.plot = r.plot;

  // Rules joining flags.
  if (o.dataset !== undefined && o.inputLenSet) throw new UsageError('--input-len does not apply with --dataset (prompts come from the dataset)');
  if (o.url !== undefined) {
    for (const [flag, { entry }] of cl.given) {
      if (entry.path[0] === 'engine' || flag === 'stream') throw new UsageError(`--${flag} applies to the in-process simulator only (not with --url)`);
    }
    if (o.dumpRecords !== undefined && !o.perfMetrics) {
      throw new UsageError('--dump-records with --url needs --perf-metrics (the records come from GET /perf_metrics)');
    }
    if (o.metricsOut !== undefined && o.metricsUrl === undefined) {
      throw new UsageError('--metrics-out with --url needs --metrics-url (the exposition is scraped from it)');
    }
    o.stream = true;
  } else {
    for (const flag of URL_ONLY) if (given(flag)) throw new UsageError(`--${flag} applies with --url only`);
    o.stream = r.stream ?? !o.virtualClock;
    // The rules joining engine options (e.g. --gpu needs --model-config), worded with flags.
    const flagOf = new Map(flagsOf(BENCH_OPTIONS, 'bench').filter((f) => f.path[0] === 'engine').map((f) => [f.path.slice(1).join('.'), `--${f.flag}`]));
    try {
      validateEngineOptions(o.engine, 'bench', (path) => flagOf.get(path) ?? `engine option ${path}`);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  return o;
}
