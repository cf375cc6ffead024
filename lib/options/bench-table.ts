/**
 * The benchmark harness's options (`trtllm-metrics bench`, lib/bench): its own, plus the engine table's
 * options that are marked for bench (the in-process simulator's knobs share serve's flags and ranges).
 * Flags are spelled as `vllm bench serve` spells them (vllm/benchmarks/serve.py, datasets.py) so its command
 * lines carry over; this package's earlier spellings stay as aliases. docs/bench.md lists the vLLM flags
 * accepted, accepted without effect, and refused.
 */
import { Type } from '@sinclair/typebox';
import { parseGoodput, parseJsonObject, parseKeyValues, parseMetricPercentiles, parsePercentileMetrics } from '../bench/arg-parsers.js';
import { parseDistribution } from '../bench/distributions.js';
import { parseSweep } from '../bench/sweep-spec.js';
import { parsePrefixShare } from '../bench/workload.js';
import { group, int, nonEmpty, NOT_SPECIAL, num, oneOf, opt, positive } from './define.js';
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

const inf = (text: string): undefined | typeof NOT_SPECIAL => (/^\s*(inf|infinity)\s*$/i.test(text) ? undefined : NOT_SPECIAL);

/** Help of a vLLM flag this harness accepts and ignores: it configures vLLM's client-side tokenizer, not used here. */
const noEffect = (what: string): string => `accepted, no effect (vLLM: ${what}; token counts come from the server's usage)`;

export const BENCH_OPTIONS = {
  // ---- Load ----
  numRequests: opt(int(1, 100_000_000), {
    help: 'requests to send (with --duration: the first batch the workload prepares)',
    unit: 'requests',
    default: 1000,
    flag: 'num-prompts',
    aliases: ['num-requests'],
    commands: BENCH,
    section: 'Load',
  }),
  concurrency: opt(int(1, 10_000_000), {
    help: 'most requests in flight; with --request-rate the offered load can fall behind the schedule',
    unit: 'requests',
    defaultText: 'no cap',
    flag: 'max-concurrency',
    aliases: ['concurrency'],
    commands: BENCH,
    section: 'Load',
  }),
  requestRate: opt(positive(1e9), {
    help: "arrivals at R requests/s, gamma gaps of shape --burstiness, seeded ('inf': all at once)",
    unit: 'requests/s',
    defaultText: 'inf',
    flag: 'request-rate',
    commands: BENCH,
    arg: 'R',
    section: 'Load',
    parseText: inf,
  }),
  burstiness: opt(positive(1e6), {
    help: 'gamma shape B of the gaps (mean 1/R, coefficient of variation 1/sqrt(B)): 1 Poisson, < 1 burstier, > 1 more regular',
    default: 1,
    flag: 'burstiness',
    commands: BENCH,
    arg: 'B',
    section: 'Load',
  }),
  rampUpStrategy: opt(oneOf('linear', 'exponential'), {
    help: 'ramp the request rate from --ramp-up-start-rps to --ramp-up-end-rps over the requests (over the time with --duration)',
    flag: 'ramp-up-strategy',
    commands: BENCH,
    section: 'Load',
  }),
  rampUpStartRps: opt(num(0, 1e9), { help: 'ramp: the first rate', unit: 'requests/s', flag: 'ramp-up-start-rps', commands: BENCH, arg: 'R', section: 'Load' }),
  rampUpEndRps: opt(positive(1e9), { help: 'ramp: the last rate', unit: 'requests/s', flag: 'ramp-up-end-rps', commands: BENCH, arg: 'R', section: 'Load' }),
  warmups: opt(int(0, 10_000_000), {
    help: "requests sent before the run (the first request's prompt), not counted",
    unit: 'requests',
    default: 0,
    flag: 'num-warmups',
    aliases: ['warmup-requests'],
    commands: BENCH,
    section: 'Load',
  }),
  duration: opt(positive(1e7), {
    help: 'send requests for this long instead of a count (those in flight then finish); needs a rate, a ramp, a trace or --max-concurrency',
    unit: 's',
    flag: 'duration',
    commands: BENCH,
    section: 'Load',
  }),
  requestCancelRate: opt(num(0, 1), {
    help: 'share of the requests the harness cancels (seeded choice), --request-cancel-after-ms after sending them',
    default: 0,
    flag: 'request-cancel-rate',
    commands: BENCH,
    arg: 'F',
    section: 'Load',
  }),
  requestCancelAfterMs: opt(num(0, 86_400_000), {
    help: 'delay from a cancelled request being fully sent to its cancellation',
    unit: 'ms',
    default: 0,
    flag: 'request-cancel-after-ms',
    commands: BENCH,
    section: 'Load',
  }),
  seed: opt(int(0, Number.MAX_SAFE_INTEGER), {
    help: 'seed of lengths, prompts, arrivals, prefix choice, cancellations and the simulator',
    default: 0,
    flag: 'seed',
    commands: BENCH,
    section: 'Load',
  }),
  sweep: opt(Type.String(), {
    help: 'one run per value (same seed), a result per point and the throughput-latency curve (--plot)',
    flag: 'sweep',
    commands: BENCH,
    arg: 'PARAM=V1,V2,...',
    section: 'Load',
    check: problemOf(parseSweep),
  }),

  // ---- Workload ----
  datasetName: opt(oneOf('random', 'sharegpt', 'custom', 'prefix_repetition', 'mooncake_trace'), {
    help: 'the workload',
    defaultText: 'random, or recognized from the --dataset-path file',
    flag: 'dataset-name',
    commands: BENCH,
    section: 'Workload',
  }),
  dataset: opt(nonEmpty(), {
    help: 'JSON(L) file: ShareGPT {conversations}, custom {prompt}, {prompt_len,output_len}, or a Mooncake trace',
    flag: 'dataset-path',
    aliases: ['dataset'],
    commands: BENCH,
    arg: 'FILE',
    section: 'Workload',
  }),
  inputLen: opt(Type.String(), {
    help: 'prompt tokens of the random workload: N (vLLM: --random-input-len), fixed:N, uniform:MIN:MAX, normal:MEAN:SD',
    defaultText: 'fixed:1024',
    flag: 'input-len',
    commands: BENCH,
    arg: 'DIST',
    section: 'Workload',
    check: problemOf(parseDistribution),
  }),
  outputLen: opt(Type.String(), {
    help: "max_tokens, same syntax (overrides a dataset's and a trace's)",
    defaultText: 'fixed:128',
    flag: 'output-len',
    commands: BENCH,
    arg: 'DIST',
    section: 'Workload',
    check: problemOf(parseDistribution),
  }),
  randomInputLen: opt(int(1, 16_777_216), { help: 'random: mean prompt tokens', unit: 'tokens', defaultText: '1024', flag: 'random-input-len', commands: BENCH, section: 'Workload' }),
  randomOutputLen: opt(int(1, 16_777_216), { help: 'random: mean max_tokens', unit: 'tokens', defaultText: '128', flag: 'random-output-len', commands: BENCH, section: 'Workload' }),
  randomRangeRatio: opt(Type.Number({ minimum: 0, exclusiveMaximum: 1 }), {
    help: 'random: lengths uniform in [floor(L (1 - r)), ceil(L (1 + r))]',
    default: 0,
    flag: 'random-range-ratio',
    commands: BENCH,
    arg: 'r',
    section: 'Workload',
  }),
  randomPrefixLen: opt(int(0, 1_000_000), {
    help: 'random: tokens of one prefix every prompt starts with (added to its length)',
    unit: 'tokens',
    default: 0,
    flag: 'random-prefix-len',
    commands: BENCH,
    section: 'Workload',
  }),
  prefixShare: opt(Type.String(), {
    help: 'random: fraction F of the requests start with one shared T-token prefix',
    flag: 'prefix-share',
    commands: BENCH,
    arg: 'F:T',
    section: 'Workload',
    check: problemOf(parsePrefixShare),
  }),
  prefixRepetitionPrefixLen: opt(int(1, 1_000_000), { help: 'prefix_repetition: tokens of each prefix', unit: 'tokens', default: 256, flag: 'prefix-repetition-prefix-len', commands: BENCH, section: 'Workload' }),
  prefixRepetitionSuffixLen: opt(int(0, 1_000_000), { help: "prefix_repetition: each request's own tokens after its prefix", unit: 'tokens', default: 256, flag: 'prefix-repetition-suffix-len', commands: BENCH, section: 'Workload' }),
  prefixRepetitionNumPrefixes: opt(int(1, 1_000_000), { help: 'prefix_repetition: distinct prefixes, each with num-prompts / P requests', default: 10, flag: 'prefix-repetition-num-prefixes', commands: BENCH, section: 'Workload' }),
  prefixRepetitionOutputLen: opt(int(1, 16_777_216), { help: 'prefix_repetition: max_tokens', unit: 'tokens', default: 128, flag: 'prefix-repetition-output-len', commands: BENCH, section: 'Workload' }),
  sharegptOutputLen: opt(int(1, 16_777_216), { help: "sharegpt: max_tokens instead of the answers' lengths", unit: 'tokens', flag: 'sharegpt-output-len', commands: BENCH, section: 'Workload' }),
  customOutputLen: opt(int(1, 16_777_216), { help: 'custom: max_tokens of every prompt', unit: 'tokens', default: 256, flag: 'custom-output-len', commands: BENCH, section: 'Workload' }),
  traceBlockSize: opt(int(1, 1_000_000), {
    help: 'mooncake_trace: tokens per hash id (equal ids, equal blocks)',
    unit: 'tokens',
    default: 512,
    flag: 'trace-block-size',
    aliases: ['isl-block-size'],
    commands: BENCH,
    section: 'Workload',
  }),
  selfTimed: opt(Type.Boolean(), {
    help: "mooncake_trace: send at the trace's timestamps (--no-self-timed: at --request-rate)",
    defaultText: 'on with mooncake_trace',
    flag: 'self-timed',
    commands: BENCH,
    section: 'Workload',
  }),
  disableShuffle: opt(Type.Boolean(), { help: 'take dataset entries in file order, not a seeded one', default: false, flag: 'disable-shuffle', commands: BENCH, section: 'Workload' }),
  noOversample: opt(Type.Boolean(), {
    help: 'a dataset with fewer entries than --num-prompts sends each entry once (default: cycles)',
    default: false,
    flag: 'no-oversample',
    commands: BENCH,
    section: 'Workload',
  }),

  // ---- Target ----
  url: opt(Type.String(), {
    help: 'an OpenAI-compatible server (streaming POST URL + --endpoint)',
    flag: 'base-url',
    aliases: ['url'],
    commands: BENCH,
    arg: 'URL',
    section: 'Target',
    check: httpUrl,
  }),
  host: opt(nonEmpty(), { help: 'the server is http://HOST:PORT (vLLM; --base-url wins)', defaultText: '127.0.0.1 when --port is given', flag: 'host', commands: BENCH, section: 'Target' }),
  port: opt(int(1, 65535), { help: 'the server is http://HOST:PORT', defaultText: '8000 when --host is given', flag: 'port', commands: BENCH, section: 'Target' }),
  endpoint: opt(oneOf('/v1/completions', '/v1/chat/completions'), {
    help: 'the API: completions (token-id or text prompts) or chat completions (one user message of text)',
    defaultText: '/v1/completions (/v1/chat/completions with --backend openai-chat)',
    flag: 'endpoint',
    commands: BENCH,
    section: 'Target',
  }),
  backend: opt(oneOf('openai', 'vllm', 'openai-chat'), {
    help: "vLLM's request function: openai and vllm stream completions, openai-chat chat completions",
    default: 'openai',
    flag: 'backend',
    commands: BENCH,
    section: 'Target',
  }),
  model: opt(nonEmpty(), {
    help: 'model name',
    defaultText: 'sim-llama in-process; the first of /v1/models with a server',
    flag: 'model',
    commands: BENCH,
    arg: 'NAME',
    section: 'Target',
  }),
  servedModelName: opt(nonEmpty(), { help: 'the model name sent in requests, when it differs from --model', flag: 'served-model-name', commands: BENCH, arg: 'NAME', section: 'Target' }),
  metricsUrl: opt(Type.String(), {
    help: "the server's Prometheus /metrics: scraped before and after, and every --metrics-interval-ms for the timeline",
    flag: 'metrics-url',
    commands: BENCH,
    arg: 'URL',
    section: 'Target',
    check: httpUrl,
  }),
  metricsIntervalMs: opt(int(10, 3_600_000), {
    help: 'period of the --metrics-url timeline (the in-process collector on a real clock too)',
    unit: 'ms',
    default: 1000,
    flag: 'metrics-interval-ms',
    commands: BENCH,
    section: 'Target',
  }),
  metricsPrefix: opt(Type.String(), {
    help: 'prefix of the metric names there (vllm: for vLLM)',
    default: 'trtllm_',
    flag: 'metrics-prefix',
    commands: BENCH,
    arg: 'P',
    section: 'Target',
  }),
  perfMetrics: opt(Type.Boolean(), {
    help: "server: poll its GET /perf_metrics for the engine-side table",
    default: false,
    flag: 'perf-metrics',
    commands: BENCH,
    section: 'Target',
  }),
  ignoreEos: opt(Type.Boolean(), {
    help: 'server: send ignore_eos: true (vLLM, trtllm-serve, ours) so outputs reach max_tokens',
    defaultText: 'on with random and mooncake_trace (as vLLM does for random), else off',
    flag: 'ignore-eos',
    commands: BENCH,
    section: 'Target',
  }),
  requestTimeout: opt(positive(1e9), {
    help: 'server: per-request timeout',
    unit: 's',
    default: 600,
    flag: 'request-timeout',
    commands: BENCH,
    section: 'Target',
  }),
  readyCheckTimeoutSec: opt(int(0, 86_400), {
    help: 'server: wait this long for GET /v1/models to answer before starting',
    unit: 's',
    default: 0,
    flag: 'ready-check-timeout-sec',
    commands: BENCH,
    section: 'Target',
  }),
  header: opt(Type.String(), {
    help: 'server: extra request headers',
    flag: 'header',
    commands: BENCH,
    arg: 'KEY=VALUE',
    variadic: true,
    section: 'Target',
    check: problemOf(parseKeyValues),
  }),
  extraBody: opt(Type.String(), { help: 'server: fields merged into every request body', flag: 'extra-body', commands: BENCH, arg: 'JSON', section: 'Target', check: problemOf(parseJsonObject) }),
  requestIdPrefix: opt(Type.String(), {
    help: 'server: x-request-id of request i is this prefix and i',
    default: 'bench-',
    flag: 'request-id-prefix',
    commands: BENCH,
    arg: 'P',
    section: 'Target',
  }),
  insecure: opt(Type.Boolean(), { help: 'server: https without certificate verification', default: false, flag: 'insecure', commands: BENCH, section: 'Target' }),
  temperature: opt(num(0, 100), { help: 'server: sampling temperature (sent only when given)', flag: 'temperature', commands: BENCH, section: 'Target' }),
  topP: opt(num(0, 1), { help: 'server: top_p', flag: 'top-p', commands: BENCH, section: 'Target' }),
  topK: opt(int(-1, 1_000_000), { help: 'server: top_k', flag: 'top-k', commands: BENCH, section: 'Target' }),
  minP: opt(num(0, 1), { help: 'server: min_p', flag: 'min-p', commands: BENCH, section: 'Target' }),
  frequencyPenalty: opt(num(-2, 2), { help: 'server: frequency_penalty', flag: 'frequency-penalty', commands: BENCH, section: 'Target' }),
  presencePenalty: opt(num(-2, 2), { help: 'server: presence_penalty', flag: 'presence-penalty', commands: BENCH, section: 'Target' }),
  repetitionPenalty: opt(positive(100), { help: 'server: repetition_penalty', flag: 'repetition-penalty', commands: BENCH, section: 'Target' }),
  logprobs: opt(int(0, 100), { help: 'server: logprobs per token', flag: 'logprobs', commands: BENCH, section: 'Target' }),
  stream: opt(Type.Boolean(), {
    help: 'in-process: stream tokens (client TTFT/ITL); --no-stream: one final chunk per request (fastest; client side measures E2E only)',
    defaultText: 'on, except with --virtual-clock',
    flag: 'stream',
    commands: BENCH,
    section: 'Simulator',
  }),

  // ---- Metrics ----
  percentileMetrics: opt(Type.String(), {
    help: 'metrics with percentiles in the summary and --save-result: ttft, tpot, itl, e2el, ttst, client_queue_time, e2el_including_client_queue',
    default: 'ttft,tpot,itl',
    flag: 'percentile-metrics',
    commands: BENCH,
    arg: 'LIST',
    section: 'Metrics',
    check: problemOf(parsePercentileMetrics),
  }),
  metricPercentiles: opt(Type.String(), {
    help: 'their percentiles',
    default: '99',
    flag: 'metric-percentiles',
    commands: BENCH,
    arg: 'LIST',
    section: 'Metrics',
    check: problemOf(parseMetricPercentiles),
  }),
  goodput: opt(Type.String(), {
    help: 'SLOs in ms (ttft, tpot, e2el): request_goodput counts the requests meeting all of them',
    flag: 'goodput',
    commands: BENCH,
    arg: 'KEY:MS',
    variadic: true,
    section: 'Metrics',
    check: problemOf(parseGoodput),
  }),

  // ---- Output ----
  saveResult: opt(Type.Boolean(), { help: "write vLLM's result JSON (its key names) to --result-dir/--result-filename", default: false, flag: 'save-result', commands: BENCH, section: 'Output' }),
  saveDetailed: opt(Type.Boolean(), { help: 'add the per-request arrays (input_lens, output_lens, ttfts, itls, errors, ...)', default: false, flag: 'save-detailed', commands: BENCH, section: 'Output' }),
  appendResult: opt(Type.Boolean(), { help: 'append the result as one more JSON line to the file', default: false, flag: 'append-result', commands: BENCH, section: 'Output' }),
  resultDir: opt(nonEmpty(), { help: 'directory of the result file (made if missing)', defaultText: '.', flag: 'result-dir', commands: BENCH, arg: 'DIR', section: 'Output' }),
  resultFilename: opt(nonEmpty(), {
    help: 'result file name',
    defaultText: "vLLM's {label}-{rate}qps[-concurrency{N}]-{model}-{YYYYMMDD-HHMMSS}.json",
    flag: 'result-filename',
    commands: BENCH,
    arg: 'FILE',
    section: 'Output',
  }),
  metadata: opt(Type.String(), { help: 'keys added to the result file', flag: 'metadata', commands: BENCH, arg: 'KEY=VALUE', variadic: true, section: 'Output', check: problemOf(parseKeyValues) }),
  label: opt(nonEmpty(), { help: "the result's label and file name prefix", defaultText: 'the --backend', flag: 'label', commands: BENCH, section: 'Output' }),
  plotTimeline: opt(Type.Boolean(), { help: 'with --save-result: the --plot figure next to the result file (.timeline.svg)', default: false, flag: 'plot-timeline', commands: BENCH, section: 'Output' }),
  json: opt(nonEmpty(), { help: 'the full report as JSON (schema: docs/bench.md)', flag: 'json', commands: BENCH, arg: 'FILE', section: 'Output' }),
  dumpRecords: opt(nonEmpty(), { help: 'JSONL, one finished request a line (perf metrics and token counts)', flag: 'dump-records', commands: BENCH, arg: 'FILE', section: 'Output' }),
  metricsOut: opt(nonEmpty(), { help: 'the final /metrics exposition', flag: 'metrics-out', commands: BENCH, arg: 'FILE', section: 'Output' }),
  plot: opt(nonEmpty(), {
    help: 'latency CDFs, throughput and server-metric timelines (SVG); with --sweep the throughput-latency curve',
    flag: 'plot',
    commands: BENCH,
    arg: 'FILE.svg',
    section: 'Output',
    check: (f) => (/\.svg$/i.test(f) ? undefined : `writes SVG: the file name must end in .svg, got ${JSON.stringify(f)}`),
  }),
  quiet: opt(Type.Boolean(), { help: 'no progress on stderr', default: false, flag: 'quiet', aliases: ['disable-tqdm'], commands: BENCH, section: 'Output' }),

  // ---- vLLM flags accepted without effect ----
  tokenizer: opt(nonEmpty(), { help: noEffect('the tokenizer counting tokens'), flag: 'tokenizer', commands: BENCH, arg: 'NAME', section: 'vLLM' }),
  tokenizerMode: opt(nonEmpty(), { help: noEffect("the tokenizer's mode"), flag: 'tokenizer-mode', commands: BENCH, arg: 'MODE', section: 'vLLM' }),
  trustRemoteCode: opt(Type.Boolean(), { help: noEffect("loading the tokenizer's code"), flag: 'trust-remote-code', commands: BENCH, section: 'vLLM' }),
  skipTokenizerInit: opt(Type.Boolean(), { help: noEffect('no client tokenizer'), flag: 'skip-tokenizer-init', commands: BENCH, section: 'vLLM' }),
  skipChatTemplate: opt(Type.Boolean(), {
    help: "accepted, no effect (vLLM: no client-side chat template on custom prompts; there is never one here: --endpoint /v1/chat/completions uses the server's)",
    flag: 'skip-chat-template',
    commands: BENCH,
    section: 'vLLM',
  }),

  engine: group('the in-process simulator (lib/options/engine-table.ts)', ENGINE_OPTIONS),
};
