/**
 * The worker's options (`trtllm-metrics serve`, lib/worker.ts): the engine's table, both servers' shared
 * limits and credentials, and what only the worker has. Flags and --config keys come from the leaves.
 */
import { Type } from '@sinclair/typebox';
import { ENGINE_OPTIONS } from './engine-table.js';
import { group, HOUR_MS, int, nonEmpty, oneOf, opt } from './define.js';
import { HTTP_AUTH, HTTP_LIMITS, METRICS_SERVER_OPTIONS } from './server-table.js';
import { KV_EVENT_TRANSPORT_OPTIONS } from './fleet-table.js';
import { checkLoraModules } from '../openai/lora.js';
import { COLLECTOR_BUCKET_OPTIONS, METRICS_OPTIONS } from './metrics-table.js';

const SERVE = ['serve'] as const;

// What a client that reads slowly or not at all may cost (lib/openai/slow-readers.ts, docs/reliability.md).
const slowReaders = group('bounds on the output a streamed response keeps for a client that does not read (lib/openai/slow-readers.ts)', {
  maxUnsentBytes: opt(int(0, 1 << 30), {
    help: "output of a streamed response not yet received by its client (queued in the worker or the kernel's send queue) beyond which the request is cancelled and its connection closed; 0 = no bound",
    unit: 'bytes',
    default: 32 * 1024,
    flag: 'stream-max-unsent-bytes',
    commands: SERVE,
    section: 'Health',
  }),
  stallTimeoutMs: opt(int(0, HOUR_MS), {
    help: 'a response whose client takes none of its waiting output for this long is cancelled and its connection closed; 0 = never',
    unit: 'ms',
    default: 30_000,
    flag: 'stream-stall-timeout-ms',
    commands: SERVE,
    section: 'Health',
  }),
});

// The worker's health (lib/health, docs/reliability.md "Faults").
const health = group("the worker's health: stall watchdog and canary health checks (lib/health)", {
  stallTimeoutMs: opt(int(0, HOUR_MS), {
    help: 'requests in flight and no iteration for this long is a stall: /health answers 503 with the reason until iterations resume (/live does not change); 0 = no watchdog',
    unit: 'ms',
    default: 60_000,
    flag: 'stall-timeout-ms',
    commands: SERVE,
    section: 'Health',
  }),
  exitOnStall: opt(Type.Boolean(), {
    help: 'a stall also ends serve with exit code 4 (after the grace period), so that a supervisor restarts it',
    default: false,
    flag: 'exit-on-stall',
    commands: SERVE,
    section: 'Health',
  }),
  checkIntervalMs: opt(int(0, HOUR_MS), {
    help: 'after this long without progress, send the engine a one-token canary request (as Dynamo\'s workers do); one that fails or times out makes /health 503; 0 = canaries only on demand (GET /health_generate)',
    unit: 'ms',
    default: 0,
    flag: 'health-check-interval-ms',
    commands: SERVE,
    section: 'Health',
  }),
  checkTimeoutMs: opt(int(1, HOUR_MS), {
    help: 'a canary that has not finished after this long failed',
    unit: 'ms',
    default: 3000,
    flag: 'health-check-timeout-ms',
    commands: SERVE,
    section: 'Health',
  }),
});

export const WORKER_OPTIONS = {
  engine: group('the engine (lib/options/engine-table.ts)', ENGINE_OPTIONS),
  host: opt(nonEmpty(), {
    help: 'listen address of both ports (0.0.0.0 for all interfaces)',
    default: '127.0.0.1',
    flag: 'host',
    commands: SERVE,
    arg: 'ADDR',
    section: 'Server',
  }),
  metricsPort: METRICS_SERVER_OPTIONS.port,
  httpPort: opt(int(0, 65535), {
    help: 'OpenAI API port; 0 = any free port',
    default: 8000,
    flag: 'http-port',
    commands: SERVE,
    section: 'Server',
  }),
  shutdownGraceMs: opt(int(0, HOUR_MS), {
    help: 'on SIGINT/SIGTERM, time in-flight HTTP requests get before they are cancelled',
    unit: 'ms',
    default: 5000,
    flag: 'shutdown-grace-ms',
    commands: SERVE,
    section: 'Server',
  }),
  perfMetricsMaxRequests: opt(int(0, 1_000_000), {
    help: 'finished requests kept for GET /perf_metrics between two reads; 0 = off',
    unit: 'requests',
    default: 1000,
    flag: 'perf-metrics-max-requests',
    commands: SERVE,
    section: 'Server',
  }),
  loraModules: opt(nonEmpty(), {
    help: 'LoRA adapters served as models: NAME=TASK_ID,... (a request naming NAME as its model runs with that adapter; /v1/models lists them)',
    flag: 'lora-modules',
    commands: SERVE,
    arg: 'NAME=ID,...',
    section: 'Server',
    check: checkLoraModules,
  }),
  streamInterval: opt(int(1, 1_000_000), {
    help: "a streamed choice sends its text every N tokens (vLLM's --stream-interval: the first text at once, then every N tokens, the rest at the end); 1 sends every response as it comes, more sends fewer, bigger SSE events",
    unit: 'tokens',
    default: 1,
    maps: 'the OpenAI API (lib/openai/choice.ts)',
    flag: 'stream-interval',
    commands: SERVE,
    section: 'Server',
  }),
  metricsProfile: opt(oneOf('full', 'basic'), {
    help: 'full: the extended trtllm_ set; basic: the five seed metrics',
    default: 'full',
    flag: 'metrics-profile',
    commands: SERVE,
    arg: 'full|basic',
    section: 'Metrics',
  }),
  metricsMaxAgeMs: METRICS_SERVER_OPTIONS.maxRenderAgeMs,
  exemplars: METRICS_OPTIONS.exemplars,
  buckets: group("histogram bucket tables of the trtllm_ metrics (MetricsCollector's buckets; defaults: TensorRT-LLM's)", COLLECTOR_BUCKET_OPTIONS),
  requestDurationBuckets: METRICS_OPTIONS.requestDurationBuckets,
  tokenizer: opt(nonEmpty(), {
    help: "the model's Hugging Face tokenizer folder (tokenizer.json, tokenizer_config.json, generation_config.json, ...): prompts, text, end ids and the chat template; the simulator takes its vocabulary",
    defaultText: 'the byte tokenizer (sim); the engine directory when it holds tokenizer.json (trtllm)',
    maps: 'loadTokenizer(dir)',
    flag: 'tokenizer',
    commands: SERVE,
    arg: 'DIR',
    section: 'Model',
  }),
  chatTemplate: opt(nonEmpty(), {
    help: "a Jinja chat template file used instead of the tokenizer folder's (needs --tokenizer)",
    maps: 'loadTokenizer(dir, { chatTemplate })',
    flag: 'chat-template',
    commands: SERVE,
    arg: 'FILE',
    section: 'Model',
  }),
  maxModelLen: opt(int(1), {
    help: 'context limit of a request (prompt + max_tokens); beyond it the API answers 400, and a missing max_tokens is clamped to it',
    unit: 'tokens',
    defaultText: "the simulator's --max-seq-len; trtllm: the engine's max_seq_len (config.json), else the tokenizer's model_max_length",
    flag: 'max-model-len',
    commands: SERVE,
    section: 'Model',
  }),
  health,
  slowReaders,
  limits: group('HTTP limits of both ports (maxBodyBytes: the API)', HTTP_LIMITS),
  auth: group('credentials both ports require (not /health, /live)', HTTP_AUTH),
  kvEvents: group('KV events published out of process for KV-aware routers (lib/fleet, docs/fleet.md)', KV_EVENT_TRANSPORT_OPTIONS),
};
