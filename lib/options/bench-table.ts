/**
 * The benchmark harness's options (`trtllm-metrics bench`, lib/bench): its own, plus the engine table's
 * options that are marked for bench (the in-process simulator's knobs share serve's flags and ranges).
 */
import { Type } from '@sinclair/typebox';
import { parseDistribution } from '../bench/distributions.js';
import { parsePrefixShare } from '../bench/workload.js';
import { group, int, nonEmpty, NOT_SPECIAL, opt, positive } from './define.js';
import { ENGINE_OPTIONS } from './engine-table.js';

const BENCH = ['bench'] as const;

/** Runs a parser for its error: the OptionMeta.check of a syntax the schema cannot express. */
function problemOf(parse: (text: string) => unknown): (text: string) => string | undefined {
  return (text) => {
    try {
      parse(text);
      return undefined;
    } catch (err) {
      return `: ${(err as Error).message}`;
    }
  };
}

function httpUrl(text: string): string | undefined {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return `must be an http(s) URL, got ${JSON.stringify(text)}`;
  }
  return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : `must be an http(s) URL, got ${JSON.stringify(text)}`;
}

export const BENCH_OPTIONS = {
  numRequests: opt(int(1, 100_000_000), {
    help: 'requests to send',
    unit: 'requests',
    default: 1000,
    flag: 'num-requests',
    commands: BENCH,
    section: 'Workload',
  }),
  concurrency: opt(int(1, 10_000_000), {
    help: 'most requests in flight',
    unit: 'requests',
    defaultText: 'no cap',
    flag: 'concurrency',
    commands: BENCH,
    section: 'Workload',
  }),
  requestRate: opt(positive(1e9), {
    help: "Poisson arrivals at R requests/s, seeded ('inf': all at once)",
    unit: 'requests/s',
    defaultText: 'inf',
    flag: 'request-rate',
    commands: BENCH,
    arg: 'R',
    section: 'Workload',
    parseText: (text) => (/^\s*(inf|infinity)\s*$/i.test(text) ? undefined : NOT_SPECIAL),
  }),
  seed: opt(int(0, Number.MAX_SAFE_INTEGER), {
    help: 'seed of lengths, prompts, arrivals, prefix choice and the simulator',
    default: 0,
    flag: 'seed',
    commands: BENCH,
    section: 'Workload',
  }),
  inputLen: opt(Type.String(), {
    help: 'prompt tokens: fixed:N, uniform:MIN:MAX, normal:MEAN:SD',
    default: 'fixed:1024',
    flag: 'input-len',
    commands: BENCH,
    arg: 'DIST',
    section: 'Workload',
    check: problemOf(parseDistribution),
  }),
  outputLen: opt(Type.String(), {
    help: "max_tokens, same syntax (overrides a dataset's)",
    default: 'fixed:128',
    flag: 'output-len',
    commands: BENCH,
    arg: 'DIST',
    section: 'Workload',
    check: problemOf(parseDistribution),
  }),
  dataset: opt(nonEmpty(), {
    help: 'JSONL of {prompt_len,output_len}, {prompt,output} or ShareGPT {conversations}',
    flag: 'dataset',
    commands: BENCH,
    arg: 'FILE',
    section: 'Workload',
  }),
  prefixShare: opt(Type.String(), {
    help: 'fraction F of the requests start with one shared T-token prefix',
    flag: 'prefix-share',
    commands: BENCH,
    arg: 'F:T',
    section: 'Workload',
    check: problemOf(parsePrefixShare),
  }),
  url: opt(Type.String(), {
    help: 'an OpenAI-compatible server (POST URL/v1/completions, streaming)',
    flag: 'url',
    commands: BENCH,
    arg: 'URL',
    section: 'Target',
    check: httpUrl,
  }),
  model: opt(nonEmpty(), {
    help: 'model name',
    defaultText: 'sim-llama in-process; the first of /v1/models with --url',
    flag: 'model',
    commands: BENCH,
    arg: 'NAME',
    section: 'Target',
  }),
  metricsUrl: opt(Type.String(), {
    help: "--url: the server's Prometheus /metrics, scraped before and after",
    flag: 'metrics-url',
    commands: BENCH,
    arg: 'URL',
    section: 'Target',
    check: httpUrl,
  }),
  metricsPrefix: opt(Type.String(), {
    help: '--url: prefix of the histogram names there',
    default: 'trtllm_',
    flag: 'metrics-prefix',
    commands: BENCH,
    arg: 'P',
    section: 'Target',
  }),
  perfMetrics: opt(Type.Boolean(), {
    help: "--url: poll the server's GET /perf_metrics for the engine-side table",
    default: false,
    flag: 'perf-metrics',
    commands: BENCH,
    section: 'Target',
  }),
  ignoreEos: opt(Type.Boolean(), {
    help: '--url: send ignore_eos: true (vLLM, trtllm-serve) so outputs reach max_tokens',
    default: false,
    flag: 'ignore-eos',
    commands: BENCH,
    section: 'Target',
  }),
  requestTimeout: opt(positive(1e9), {
    help: '--url: per-request timeout',
    unit: 's',
    default: 600,
    flag: 'request-timeout',
    commands: BENCH,
    section: 'Target',
  }),
  stream: opt(Type.Boolean(), {
    help: 'in-process: stream tokens (client TTFT/ITL); --no-stream: one final chunk per request (fastest; client side measures E2E only)',
    defaultText: 'on, except with --virtual-clock',
    flag: 'stream',
    commands: BENCH,
    section: 'Simulator',
  }),
  json: opt(nonEmpty(), { help: 'the full report as JSON (schema: docs/bench.md)', flag: 'json', commands: BENCH, arg: 'FILE', section: 'Output' }),
  dumpRecords: opt(nonEmpty(), { help: 'JSONL, one finished request a line (perf metrics and token counts)', flag: 'dump-records', commands: BENCH, arg: 'FILE', section: 'Output' }),
  metricsOut: opt(nonEmpty(), { help: 'the final /metrics exposition', flag: 'metrics-out', commands: BENCH, arg: 'FILE', section: 'Output' }),
  plot: opt(nonEmpty(), {
    help: 'latency CDFs and a throughput time series (SVG)',
    flag: 'plot',
    commands: BENCH,
    arg: 'FILE.svg',
    section: 'Output',
    check: (f) => (/\.svg$/i.test(f) ? undefined : `writes SVG: the file name must end in .svg, got ${JSON.stringify(f)}`),
  }),
  quiet: opt(Type.Boolean(), { help: 'no progress on stderr', default: false, flag: 'quiet', commands: BENCH, section: 'Output' }),
  engine: group('the in-process simulator (lib/options/engine-table.ts)', ENGINE_OPTIONS),
};
