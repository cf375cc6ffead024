/**
 * The command line of `trtllm-metrics bench` (node:util parseArgs, strict): flags, their validation and
 * the help text. Every problem is a BenchUsageError whose one-line message names the flag (exit code 2).
 */
import { parseArgs } from 'node:util';
import { DistributionSyntaxError, parseDistribution, type LengthDistribution } from './distributions.js';
import type { PrefixShare } from './workload.js';

export class BenchUsageError extends Error {}

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
  speedupRatio?: number;
  maxBatchSize?: number;
  maxNumTokens?: number;
  kvBlocks?: number;
  tokensPerBlock?: number;
  json?: string;
  dumpRecords?: string;
  metricsOut?: string;
  plot?: string;
  quiet: boolean;
}

export const DEFAULTS = {
  numRequests: 1000,
  inputLen: 'fixed:1024',
  outputLen: 'fixed:128',
  seed: 0,
  requestTimeoutS: 600,
  metricsPrefix: 'trtllm_',
  model: 'sim-llama',
} as const;

interface FlagHelp {
  arg?: string;
  help: string;
}

const HELP: Array<[string, Array<[string, FlagHelp]>]> = [
  [
    'Workload',
    [
      ['num-requests', { arg: 'N', help: `requests to send (default ${DEFAULTS.numRequests})` }],
      ['concurrency', { arg: 'N', help: 'most requests in flight (default: no cap)' }],
      ['request-rate', { arg: 'R', help: 'Poisson arrivals at R requests/s, seeded (default inf: all at once)' }],
      ['seed', { arg: 'N', help: 'seed of lengths, prompts, arrivals, prefix choice and the simulator (default 0)' }],
      ['input-len', { arg: 'DIST', help: `prompt tokens: fixed:N, uniform:MIN:MAX, normal:MEAN:SD (default ${DEFAULTS.inputLen})` }],
      ['output-len', { arg: 'DIST', help: `max_tokens, same syntax (default ${DEFAULTS.outputLen}; overrides a dataset's)` }],
      ['dataset', { arg: 'FILE', help: 'JSONL of {prompt_len,output_len}, {prompt,output} or ShareGPT {conversations}' }],
      ['prefix-share', { arg: 'F:T', help: 'fraction F of the requests start with one shared T-token prefix' }],
    ],
  ],
  [
    'Target (default: the in-process simulator)',
    [
      ['url', { arg: 'URL', help: 'an OpenAI-compatible server (POST URL/v1/completions, streaming)' }],
      ['model', { arg: 'NAME', help: `model name (default: ${DEFAULTS.model} in-process; the first of /v1/models with --url)` }],
      ['metrics-url', { arg: 'URL', help: "--url: the server's Prometheus /metrics, scraped before and after" }],
      ['metrics-prefix', { arg: 'P', help: `--url: prefix of the histogram names there (default ${DEFAULTS.metricsPrefix})` }],
      ['perf-metrics', { help: "--url: poll the server's GET /perf_metrics for the engine-side table" }],
      ['ignore-eos', { help: '--url: send ignore_eos: true (vLLM, trtllm-serve) so outputs reach max_tokens' }],
      ['request-timeout', { arg: 'S', help: `--url: per-request timeout in seconds (default ${DEFAULTS.requestTimeoutS})` }],
    ],
  ],
  [
    'Simulator (in-process)',
    [
      ['virtual-clock', { help: 'advance a virtual clock instead of sleeping (fast); rate and concurrency apply on it' }],
      ['speedup-ratio', { arg: 'X', help: 'divide the modelled latencies by X' }],
      ['stream', { help: 'stream tokens (client TTFT/ITL); default on, except with --virtual-clock' }],
      ['no-stream', { help: 'one final chunk per request (fastest; client side measures E2E only)' }],
      ['max-batch-size', { arg: 'N', help: 'requests per iteration (default 256)' }],
      ['max-num-tokens', { arg: 'N', help: 'token budget per iteration (default 8192)' }],
      ['kv-blocks', { arg: 'N', help: 'KV-cache blocks (default 4096)' }],
      ['tokens-per-block', { arg: 'N', help: 'tokens per KV block (default 32)' }],
    ],
  ],
  [
    'Output',
    [
      ['json', { arg: 'FILE', help: 'the full report as JSON (schema: docs/bench.md)' }],
      ['dump-records', { arg: 'FILE', help: 'JSONL, one finished request a line (perf metrics and token counts)' }],
      ['metrics-out', { arg: 'FILE', help: 'the final /metrics exposition' }],
      ['plot', { arg: 'FILE.svg', help: 'latency CDFs and a throughput time series (SVG)' }],
      ['quiet', { help: 'no progress on stderr' }],
      ['help', { help: 'this text' }],
    ],
  ],
];

export function usage(): string {
  const lines = ['Usage: trtllm-metrics bench [options]', '', 'Benchmark the in-process simulator or an OpenAI-compatible server; see docs/bench.md.', ''];
  for (const [title, flags] of HELP) {
    lines.push(`${title}:`);
    for (const [name, f] of flags) {
      const left = `  --${name}${f.arg ? ` ${f.arg}` : ''}`;
      lines.push((left.length >= 28 ? `${left}  ` : left.padEnd(30)) + f.help);
    }
    lines.push('');
  }
  lines.push('Exit status: 0 when at least one request completed, 1 when none did or the target failed, 2 on bad usage.');
  return lines.join('\n') + '\n';
}

const STRING_FLAGS = [
  'num-requests',
  'concurrency',
  'request-rate',
  'seed',
  'input-len',
  'output-len',
  'dataset',
  'prefix-share',
  'url',
  'model',
  'metrics-url',
  'metrics-prefix',
  'request-timeout',
  'speedup-ratio',
  'max-batch-size',
  'max-num-tokens',
  'kv-blocks',
  'tokens-per-block',
  'json',
  'dump-records',
  'metrics-out',
  'plot',
] as const;
const BOOL_FLAGS = ['perf-metrics', 'ignore-eos', 'stream', 'no-stream', 'virtual-clock', 'quiet', 'help'] as const;

const INT32 = 2147483647;

function int(flag: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) throw new BenchUsageError(`--${flag} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  const v = Number(raw);
  if (v < min || v > max) throw new BenchUsageError(`--${flag} must be in [${min}, ${max}], got ${raw}`);
  return v;
}

function positive(flag: string, raw: string, allowInf = false): number {
  if (allowInf && /^(inf|infinity)$/i.test(raw.trim())) return Infinity;
  const v = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!Number.isFinite(v) || v <= 0) throw new BenchUsageError(`--${flag} must be a number > 0${allowInf ? " or 'inf'" : ''}, got ${JSON.stringify(raw)}`);
  return v;
}

function dist(flag: string, raw: string): LengthDistribution {
  try {
    return parseDistribution(raw.trim());
  } catch (err) {
    if (err instanceof DistributionSyntaxError) throw new BenchUsageError(`--${flag}: ${err.message}`);
    throw err;
  }
}

function httpUrl(flag: string, raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new BenchUsageError(`--${flag} must be an http(s) URL, got ${JSON.stringify(raw)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new BenchUsageError(`--${flag} must be an http(s) URL, got ${JSON.stringify(raw)}`);
  return raw;
}

function nonEmpty(flag: string, raw: string): string {
  if (raw === '') throw new BenchUsageError(`--${flag} must not be empty`);
  return raw;
}

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const f of STRING_FLAGS) options[f] = { type: 'string' };
  for (const f of BOOL_FLAGS) options[f] = { type: 'boolean' };
  options.help!.short = 'h';
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }) as { values: Record<string, string | boolean | undefined> });
  } catch (err) {
    // parseArgs' messages name the flag; keep the first sentence only (one line).
    const msg = String((err as Error).message).split('\n')[0]!.replace(/\. To specify a positional.*$/, '');
    throw new BenchUsageError(msg);
  }
  const s = (f: string): string | undefined => values[f] as string | undefined;
  const b = (f: string): boolean => values[f] === true;

  const o: BenchOptions = {
    help: b('help'),
    numRequests: DEFAULTS.numRequests,
    concurrency: Infinity,
    requestRate: Infinity,
    seed: DEFAULTS.seed,
    inputLen: parseDistribution(DEFAULTS.inputLen),
    outputLen: parseDistribution(DEFAULTS.outputLen),
    inputLenSet: false,
    outputLenSet: false,
    metricsPrefix: DEFAULTS.metricsPrefix,
    perfMetrics: b('perf-metrics'),
    ignoreEos: b('ignore-eos'),
    requestTimeoutS: DEFAULTS.requestTimeoutS,
    stream: false,
    virtualClock: b('virtual-clock'),
    quiet: b('quiet'),
  };
  if (o.help) return o;

  let v: string | undefined;
  if ((v = s('num-requests')) !== undefined) o.numRequests = int('num-requests', v, 1, 100_000_000);
  if ((v = s('concurrency')) !== undefined) o.concurrency = int('concurrency', v, 1, 10_000_000);
  if ((v = s('request-rate')) !== undefined) o.requestRate = positive('request-rate', v, true);
  if ((v = s('seed')) !== undefined) o.seed = int('seed', v, 0, Number.MAX_SAFE_INTEGER);
  if ((v = s('input-len')) !== undefined) {
    o.inputLen = dist('input-len', v);
    o.inputLenSet = true;
  }
  if ((v = s('output-len')) !== undefined) {
    o.outputLen = dist('output-len', v);
    o.outputLenSet = true;
  }
  if ((v = s('dataset')) !== undefined) o.dataset = nonEmpty('dataset', v);
  if ((v = s('prefix-share')) !== undefined) {
    const m = /^\s*([0-9]*\.?[0-9]+(?:e-?\d+)?)\s*:\s*(\d+)\s*$/i.exec(v);
    const fraction = m ? Number(m[1]) : Number.NaN;
    const tokens = m ? Number(m[2]) : Number.NaN;
    if (!m || !(fraction >= 0 && fraction <= 1) || !(tokens >= 1 && tokens <= 1_000_000)) {
      throw new BenchUsageError(`--prefix-share must be FRACTION:TOKENS with FRACTION in [0, 1] and TOKENS >= 1, got ${JSON.stringify(v)}`);
    }
    o.prefixShare = { fraction, tokens };
  }
  if ((v = s('url')) !== undefined) o.url = httpUrl('url', v);
  if ((v = s('model')) !== undefined) o.model = nonEmpty('model', v);
  if ((v = s('metrics-url')) !== undefined) o.metricsUrl = httpUrl('metrics-url', v);
  if ((v = s('metrics-prefix')) !== undefined) o.metricsPrefix = v;
  if ((v = s('request-timeout')) !== undefined) o.requestTimeoutS = positive('request-timeout', v);
  if ((v = s('speedup-ratio')) !== undefined) o.speedupRatio = positive('speedup-ratio', v);
  if ((v = s('max-batch-size')) !== undefined) o.maxBatchSize = int('max-batch-size', v, 1, INT32);
  if ((v = s('max-num-tokens')) !== undefined) o.maxNumTokens = int('max-num-tokens', v, 1, INT32);
  if ((v = s('kv-blocks')) !== undefined) o.kvBlocks = int('kv-blocks', v, 1, INT32);
  if ((v = s('tokens-per-block')) !== undefined) o.tokensPerBlock = int('tokens-per-block', v, 1, 65536);
  if ((v = s('json')) !== undefined) o.json = nonEmpty('json', v);
  if ((v = s('dump-records')) !== undefined) o.dumpRecords = nonEmpty('dump-records', v);
  if ((v = s('metrics-out')) !== undefined) o.metricsOut = nonEmpty('metrics-out', v);
  if ((v = s('plot')) !== undefined) {
    o.plot = nonEmpty('plot', v);
    if (!/\.svg$/i.test(o.plot)) throw new BenchUsageError(`--plot writes SVG: the file name must end in .svg, got ${JSON.stringify(v)}`);
  }

  // Combinations.
  if (b('stream') && b('no-stream')) throw new BenchUsageError('--stream and --no-stream exclude each other');
  if (o.dataset !== undefined && o.inputLenSet) throw new BenchUsageError('--input-len does not apply with --dataset (prompts come from the dataset)');
  if (o.url !== undefined) {
    for (const f of ['virtual-clock', 'no-stream', 'stream']) {
      if (b(f)) throw new BenchUsageError(`--${f} applies to the in-process simulator only (not with --url)`);
    }
    for (const f of ['speedup-ratio', 'max-batch-size', 'max-num-tokens', 'kv-blocks', 'tokens-per-block']) {
      if (s(f) !== undefined) throw new BenchUsageError(`--${f} applies to the in-process simulator only (not with --url)`);
    }
    if (o.dumpRecords !== undefined && !o.perfMetrics) {
      throw new BenchUsageError('--dump-records with --url needs --perf-metrics (the records come from GET /perf_metrics)');
    }
    if (o.metricsOut !== undefined && o.metricsUrl === undefined) {
      throw new BenchUsageError('--metrics-out with --url needs --metrics-url (the exposition is scraped from it)');
    }
    o.stream = true;
  } else {
    for (const f of ['perf-metrics', 'ignore-eos']) {
      if (b(f)) throw new BenchUsageError(`--${f} applies with --url only`);
    }
    for (const f of ['metrics-url', 'metrics-prefix', 'request-timeout']) {
      if (s(f) !== undefined) throw new BenchUsageError(`--${f} applies with --url only`);
    }
    o.stream = b('stream') ? true : b('no-stream') ? false : !o.virtualClock;
  }
  return o;
}
