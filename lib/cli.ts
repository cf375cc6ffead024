#!/usr/bin/env node
/**
 * The `trtllm-metrics` command. `trtllm-metrics serve [options]` starts a worker (lib/worker.ts): the engine
 * (simulator by default), the OpenAI-compatible API and the metrics/health server. Options come from the
 * flags, a JSON --config file (same names), and DYN_SYSTEM_PORT; flags win. A bad flag or value, a port in use
 * or a missing engine directory: one line on stderr and exit code 2. See docs/worker.md.
 */
import { runBench } from './bench/cli.js';
import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { EngineOptions, ExecutorConfigOptions, KvCacheConfigOptions, SimOptions } from './engine-options.js';
import type { HttpLimits } from './http-guard.js';
import { BYTE_VOCAB_SIZE } from './tokenizer.js';
import { Worker, WorkerStartError, type WorkerOptions } from './worker.js';

const EXIT_USAGE = 2;

/** A problem with the command line, the config file or the environment: exit code 2. */
class UsageError extends Error {}

type Kind = 'string' | 'int' | 'number' | 'bool' | 'enum';

interface Spec {
  kind: Kind;
  help: string;
  arg?: string;
  min?: number;
  max?: number;
  /** min is exclusive */
  above?: boolean;
  choices?: readonly string[];
  simOnly?: boolean;
  group: 'server' | 'executor' | 'sim' | 'metrics';
}

const INT32 = 2147483647;

/** Every serve option, by flag name. The config file uses the same names (or their camelCase). */
const SPECS: Record<string, Spec> = {
  backend: { kind: 'enum', choices: ['sim', 'trtllm'], help: 'sim (default; the embedded simulator) or trtllm (a TensorRT-LLM engine)', group: 'server' },
  'engine-dir': { kind: 'string', arg: 'DIR', help: 'TensorRT-LLM engine directory (required with --backend trtllm)', group: 'server' },
  model: { kind: 'string', arg: 'NAME', help: 'served model name (default: sim-llama, or the engine directory name)', group: 'server' },
  host: { kind: 'string', arg: 'ADDR', help: 'listen address of both ports (default 127.0.0.1; 0.0.0.0 for all interfaces)', group: 'server' },
  port: { kind: 'int', min: 0, max: 65535, arg: 'N', help: 'metrics/health port (default: DYN_SYSTEM_PORT, else 8081; 0 = any free port)', group: 'server' },
  'http-port': { kind: 'int', min: 0, max: 65535, arg: 'N', help: 'OpenAI API port (default 8000; 0 = any free port)', group: 'server' },
  'shutdown-grace-ms': { kind: 'int', min: 0, max: 3_600_000, arg: 'MS', help: 'on SIGINT/SIGTERM, time in-flight requests get before they are cancelled (default 5000)', group: 'server' },
  'auth-token': { kind: 'string', arg: 'TOKEN', help: 'require "Authorization: Bearer TOKEN" on both ports (not on /health, /live); env TRTLLM_METRICS_AUTH_TOKEN', group: 'server' },
  'basic-auth': { kind: 'string', arg: 'USER:PASS', help: 'require HTTP basic auth on both ports (not on /health, /live); env TRTLLM_METRICS_BASIC_AUTH', group: 'server' },
  'max-connections': { kind: 'int', min: 0, max: 1 << 20, arg: 'N', help: 'open connections per port beyond which new ones are closed (default 2048; 0 = no cap)', group: 'server' },
  'max-body-bytes': { kind: 'int', min: 0, max: 1 << 30, arg: 'N', help: 'API request body limit, 413 beyond it (default 1048576)', group: 'server' },
  'max-header-bytes': { kind: 'int', min: 1024, max: 1 << 24, arg: 'N', help: 'request line + headers limit, 431 beyond it (default 16384)', group: 'server' },
  'headers-timeout-ms': { kind: 'int', min: 1, max: 3_600_000, arg: 'MS', help: 'time a client has to send its request headers, else 408 (default 20000)', group: 'server' },
  'request-timeout-ms': { kind: 'int', min: 0, max: 3_600_000, arg: 'MS', help: 'time a client has to send its whole request, else 408 (default 60000; 0 = none)', group: 'server' },
  'keep-alive-timeout-ms': { kind: 'int', min: 1, max: 3_600_000, arg: 'MS', help: 'idle keep-alive connections are closed after this (default 5000)', group: 'server' },
  'perf-metrics-max-requests': { kind: 'int', min: 0, max: 1_000_000, arg: 'N', help: 'finished requests kept for GET /perf_metrics (default 1000; 0 = off)', group: 'server' },
  'max-batch-size': { kind: 'int', min: 1, max: INT32, arg: 'N', help: 'requests in one iteration', group: 'executor' },
  'max-num-tokens': { kind: 'int', min: 1, max: INT32, arg: 'N', help: 'token budget of one iteration', group: 'executor' },
  'max-queue-size': { kind: 'int', min: 1, max: INT32, arg: 'N', help: 'waiting requests before new ones get 503', group: 'executor' },
  'tokens-per-block': { kind: 'int', min: 1, max: 65536, arg: 'N', help: 'tokens per KV-cache block (sim; an engine has its own)', simOnly: true, group: 'executor' },
  'kv-blocks': { kind: 'int', min: 1, max: INT32, arg: 'N', help: 'KV-cache blocks (sim)', simOnly: true, group: 'executor' },
  'enable-block-reuse': { kind: 'bool', help: 'KV-cache prefix reuse (default on; --no-enable-block-reuse turns it off)', group: 'executor' },
  'event-buffer-size': { kind: 'int', min: 0, max: INT32, arg: 'N', help: 'KV-cache event buffer (default 1024; 0 = no KV events)', group: 'executor' },
  'iter-stats-max-iterations': { kind: 'int', min: 0, max: INT32, arg: 'N', help: 'iteration stats the executor keeps (default 1000)', group: 'executor' },
  'free-gpu-memory-fraction': { kind: 'number', min: 0, above: true, max: 1, arg: 'F', help: 'GPU memory share for the KV cache (trtllm; default 0.9)', group: 'executor' },
  'speedup-ratio': { kind: 'number', min: 0, above: true, max: 1e9, arg: 'X', help: 'divide the modelled latencies by X (default 1)', simOnly: true, group: 'sim' },
  'virtual-clock': { kind: 'bool', help: 'advance a virtual clock instead of sleeping (as fast as the CPU allows)', simOnly: true, group: 'sim' },
  'mean-output-tokens': { kind: 'number', min: 1, max: 1e9, arg: 'N', help: 'mean output length before the end id (default 128)', simOnly: true, group: 'sim' },
  'output-length-mode': { kind: 'enum', choices: ['endIdGeometric', 'maxTokens'], arg: 'MODE', help: 'endIdGeometric (default) or maxTokens (always run to max_tokens)', simOnly: true, group: 'sim' },
  seed: { kind: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, arg: 'N', help: 'base seed of the simulated token stream (default 0)', simOnly: true, group: 'sim' },
  'vocab-size': { kind: 'int', min: BYTE_VOCAB_SIZE, max: INT32, arg: 'N', help: `simulated vocabulary (default 32000; >= ${BYTE_VOCAB_SIZE}, the byte tokenizer's ids)`, simOnly: true, group: 'sim' },
  'max-seq-len': { kind: 'int', min: 2, max: INT32, arg: 'N', help: 'limit on prompt + max_tokens (default 8192)', simOnly: true, group: 'sim' },
  'metrics-profile': { kind: 'enum', choices: ['full', 'basic'], help: 'full (default: the extended trtllm_ set) or basic (the five seed metrics)', group: 'metrics' },
  'metrics-max-age-ms': { kind: 'int', min: 0, max: 60_000, arg: 'MS', help: 'answer a scrape with a render begun at most MS before it (default 0: always a fresh render; e.g. 250 for scrape storms)', group: 'metrics' },
};

type Values = Record<string, string | number | boolean>;

const HELP_GROUPS: Array<[Spec['group'], string]> = [
  ['server', 'Server'],
  ['executor', 'Executor'],
  ['sim', 'Simulator (--backend sim)'],
  ['metrics', 'Metrics'],
];

function column(s: string): string {
  return s.length >= 38 ? `${s}  ` : s.padEnd(40);
}

function usage(): string {
  const lines = [
    'Usage: trtllm-metrics serve [options]',
    '',
    'Start a worker: an engine (the simulator by default), an OpenAI-compatible API on --http-port',
    '(/v1/completions, /v1/chat/completions, /v1/models, /stats, /kv_cache_events, /perf_metrics) and',
    'Prometheus metrics and health on --port (/metrics, /health, /live).',
    '',
  ];
  for (const [group, title] of HELP_GROUPS) {
    lines.push(`${title}:`);
    for (const [name, spec] of Object.entries(SPECS)) {
      if (spec.group !== group) continue;
      const arg = spec.kind === 'bool' ? '' : ` ${spec.arg ?? (spec.choices ? spec.choices.join('|') : 'VALUE')}`;
      lines.push(column(`  --${name}${arg}`) + spec.help);
    }
    lines.push('');
  }
  lines.push('Other:');
  lines.push(column('  --config FILE') + 'JSON object of the options above (flag names or camelCase); flags win');
  lines.push(column('  -h, --help') + 'this text');
  lines.push('');
  lines.push('Stop with SIGINT or SIGTERM: in-flight requests finish (within the grace period), then it exits 0.');
  return lines.join('\n');
}

/** `label` names the option in messages; `fromText`: the raw value is command-line text (numbers are parsed). */
function parseValue(label: string, spec: Spec, raw: unknown, fromText: boolean): string | number | boolean {
  const bad = (what: string): never => {
    throw new UsageError(`${label} must be ${what}, got ${JSON.stringify(raw)}`);
  };
  switch (spec.kind) {
    case 'bool':
      if (typeof raw !== 'boolean') bad('true or false');
      return raw as boolean;
    case 'string':
      if (typeof raw !== 'string' || raw === '') bad('a non-empty string');
      return raw as string;
    case 'enum':
      if (typeof raw !== 'string' || !spec.choices!.includes(raw)) bad(`one of ${spec.choices!.join(', ')}`);
      return raw as string;
    case 'int':
    case 'number': {
      let n: number;
      if (typeof raw === 'number') n = raw;
      else if (typeof raw === 'string' && fromText && /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(raw)) n = Number(raw);
      else n = NaN;
      const range = `${spec.above ? '>' : '>='} ${spec.min}${spec.max !== undefined ? ` and <= ${spec.max}` : ''}`;
      if (spec.kind === 'int' && (!Number.isInteger(n) || n < spec.min! || n > spec.max!)) bad(`an integer ${range}`);
      if (!Number.isFinite(n) || (spec.above ? n <= spec.min! : n < spec.min!) || n > spec.max!) bad(`a number ${range}`);
      return n;
    }
  }
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function readConfig(file: string): Values {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new UsageError(code === 'ENOENT' ? `config file ${file} does not exist` : `cannot read config file ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new UsageError(`config file ${file} must hold a JSON object`);
  const out: Values = {};
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    const name = kebab(key);
    // Own keys only: "__proto__" or "constructor" would otherwise find Object.prototype's.
    const spec = Object.hasOwn(SPECS, name) ? SPECS[name] : undefined;
    if (!spec) throw new UsageError(`config file ${file}: unknown option "${key}" (see trtllm-metrics serve --help)`);
    if (value === null) continue;
    out[name] = parseValue(`config file ${file}: "${key}"`, spec, value, false);
  }
  return out;
}

/** The resolved worker options of a `serve` command line. */
export function resolveServeOptions(args: readonly string[], env: Readonly<Record<string, string | undefined>>): WorkerOptions | 'help' {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } };
  for (const [name, spec] of Object.entries(SPECS)) options[name] = { type: spec.kind === 'bool' ? 'boolean' : 'string' };
  options['no-enable-block-reuse'] = { type: 'boolean' };
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: true }) as typeof parsed;
  } catch (err) {
    throw new UsageError(oneLine((err as Error).message).replace(/ To specify a positional argument.*$/, ''));
  }
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[0])}`);
  const flags = parsed.values;
  if (flags.help) return 'help';

  const fromFlags: Values = {};
  for (const [name, raw] of Object.entries(flags)) {
    if (raw === undefined || name === 'config' || name === 'help' || name === 'no-enable-block-reuse') continue;
    fromFlags[name] = parseValue(`--${name}`, SPECS[name]!, raw, true);
  }
  if (flags['no-enable-block-reuse']) {
    if (flags['enable-block-reuse']) throw new UsageError('--enable-block-reuse and --no-enable-block-reuse contradict each other');
    fromFlags['enable-block-reuse'] = false;
  }
  const fromConfig = typeof flags.config === 'string' ? readConfig(flags.config) : {};
  const v: Values = { ...fromConfig, ...fromFlags };

  let metricsPort: number;
  if (fromFlags.port !== undefined) metricsPort = fromFlags.port as number;
  else if (env.DYN_SYSTEM_PORT !== undefined && env.DYN_SYSTEM_PORT.trim() !== '') {
    const s = env.DYN_SYSTEM_PORT.trim();
    const n = /^\d+$/.test(s) ? Number(s) : NaN;
    if (!(n >= 0 && n <= 65535)) throw new UsageError(`DYN_SYSTEM_PORT must be a port number (0..65535), got ${JSON.stringify(env.DYN_SYSTEM_PORT)}`);
    metricsPort = n;
  } else metricsPort = (v.port as number | undefined) ?? 8081;

  const backend = (v.backend as 'sim' | 'trtllm' | undefined) ?? 'sim';
  if (backend !== 'sim') {
    for (const name of Object.keys(v)) if (SPECS[name]!.simOnly) throw new UsageError(`--${name} applies only to --backend sim`);
  }
  const engineDir = v['engine-dir'] as string | undefined;
  if (backend === 'trtllm' && engineDir === undefined) throw new UsageError('--backend trtllm needs --engine-dir DIR (a TensorRT-LLM engine directory)');
  if (engineDir !== undefined) checkEngineDir(engineDir);

  const kv: KvCacheConfigOptions = { eventBufferMaxSize: (v['event-buffer-size'] as number | undefined) ?? 1024 };
  if (v['enable-block-reuse'] !== undefined) kv.enableBlockReuse = v['enable-block-reuse'] as boolean;
  if (v['free-gpu-memory-fraction'] !== undefined) kv.freeGpuMemoryFraction = v['free-gpu-memory-fraction'] as number;
  const ec: ExecutorConfigOptions = { kvCacheConfig: kv };
  if (v['max-batch-size'] !== undefined) ec.maxBatchSize = v['max-batch-size'] as number;
  if (v['max-num-tokens'] !== undefined) ec.maxNumTokens = v['max-num-tokens'] as number;
  if (v['max-queue-size'] !== undefined) ec.maxQueueSize = v['max-queue-size'] as number;
  if (v['iter-stats-max-iterations'] !== undefined) ec.iterStatsMaxIterations = v['iter-stats-max-iterations'] as number;

  const engine: EngineOptions = { backend, executorConfig: ec };
  if (v.model !== undefined) engine.modelName = v.model as string;
  if (engineDir !== undefined) engine.engineDir = engineDir;
  if (backend === 'sim') {
    const sim: SimOptions = {};
    const simKeys: Array<[string, keyof SimOptions]> = [
      ['tokens-per-block', 'tokensPerBlock'],
      ['kv-blocks', 'numKvBlocks'],
      ['speedup-ratio', 'speedupRatio'],
      ['virtual-clock', 'virtualClock'],
      ['mean-output-tokens', 'meanOutputTokens'],
      ['output-length-mode', 'outputLengthMode'],
      ['seed', 'seed'],
      ['vocab-size', 'vocabSize'],
      ['max-seq-len', 'maxSeqLen'],
    ];
    for (const [flag, key] of simKeys) if (v[flag] !== undefined) (sim as Record<string, unknown>)[key] = v[flag];
    engine.sim = sim;
  }
  const out: WorkerOptions = {
    engine,
    host: (v.host as string | undefined) ?? '127.0.0.1',
    metricsPort,
    httpPort: (v['http-port'] as number | undefined) ?? 8000,
    metricsProfile: (v['metrics-profile'] as 'full' | 'basic' | undefined) ?? 'full',
    shutdownGraceMs: (v['shutdown-grace-ms'] as number | undefined) ?? 5000,
    perfMetricsMaxRequests: (v['perf-metrics-max-requests'] as number | undefined) ?? 1000,
  };
  if (v['metrics-max-age-ms'] !== undefined) out.metricsMaxAgeMs = v['metrics-max-age-ms'] as number;
  const token = (v['auth-token'] as string | undefined) ?? nonEmpty(env.TRTLLM_METRICS_AUTH_TOKEN);
  const basic = (v['basic-auth'] as string | undefined) ?? nonEmpty(env.TRTLLM_METRICS_BASIC_AUTH);
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) throw new UsageError('--auth-token / TRTLLM_METRICS_AUTH_TOKEN must be visible ASCII characters without spaces');
  if (basic !== undefined && !/^[^:\r\n]+:[^\r\n]*$/.test(basic)) throw new UsageError('--basic-auth / TRTLLM_METRICS_BASIC_AUTH must be USER:PASSWORD (a non-empty user name without a colon)');
  if (token !== undefined || basic !== undefined) {
    out.auth = {};
    if (token !== undefined) out.auth.token = token;
    if (basic !== undefined) out.auth.basic = basic;
  }
  if (v['max-body-bytes'] !== undefined) out.maxBodyBytes = v['max-body-bytes'] as number;
  const limitFlags: Array<[string, keyof HttpLimits]> = [
    ['max-connections', 'maxConnections'],
    ['max-header-bytes', 'maxHeaderBytes'],
    ['headers-timeout-ms', 'headersTimeoutMs'],
    ['request-timeout-ms', 'requestTimeoutMs'],
    ['keep-alive-timeout-ms', 'keepAliveTimeoutMs'],
  ];
  for (const [flag, key] of limitFlags) {
    if (v[flag] === undefined) continue;
    out.limits ??= {};
    out.limits[key] = v[flag] as number;
  }
  return out;
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

function checkEngineDir(dir: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new UsageError(`engine directory ${dir} does not exist (--engine-dir)`);
  }
  if (!isDir) throw new UsageError(`engine directory ${dir} is not a directory (--engine-dir)`);
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

function fail(message: string): number {
  process.stderr.write(`trtllm-metrics: error: ${oneLine(message)}\n`);
  return EXIT_USAGE;
}

async function serve(args: readonly string[]): Promise<number> {
  let options: WorkerOptions | 'help';
  try {
    options = resolveServeOptions(args, process.env);
  } catch (err) {
    if (err instanceof UsageError) return fail(err.message);
    throw err;
  }
  if (options === 'help') {
    process.stdout.write(usage() + '\n');
    return 0;
  }
  let worker: Worker;
  try {
    worker = await Worker.start(options);
  } catch (err) {
    if (err instanceof WorkerStartError) return fail(err.message);
    throw err;
  }
  process.stdout.write(
    `trtllm-metrics serve: backend=${worker.backend} model=${worker.modelName} ` +
      `api=${worker.apiAddress!.url} metrics=${worker.metricsAddress!.url}\n`,
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`trtllm-metrics: ${signal} again, exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      process.stderr.write(`trtllm-metrics: ${signal}: shutting down (in-flight requests get ${options.shutdownGraceMs} ms)\n`);
      worker.shutdown().then(
        () => resolve(0),
        (err: unknown) => {
          process.stderr.write(`trtllm-metrics: error during shutdown: ${oneLine(String((err as Error)?.message ?? err))}\n`);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(
      'Usage: trtllm-metrics serve [options]   run a worker (trtllm-metrics serve --help)\n' +
        '       trtllm-metrics bench [options]   benchmark an engine or a server (trtllm-metrics bench --help)\n',
    );
    return command === undefined ? EXIT_USAGE : 0;
  }
  if (command === 'serve') return serve(rest);
  if (command === 'bench') return runBench([...rest]);
  return fail(`unknown command ${JSON.stringify(command)} (available: serve, bench)`);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`trtllm-metrics: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
