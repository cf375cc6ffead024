#!/usr/bin/env node
/**
 * The `trtllm-metrics` command. `trtllm-metrics serve [options]` starts a worker (lib/worker.ts): the engine
 * (simulator by default), the OpenAI-compatible API and the metrics/health server. Options come from the
 * flags, a JSON --config file (same names), and DYN_SYSTEM_PORT; flags win. A bad flag or value, a port in use
 * or a missing engine directory: one line on stderr and exit code 2. See docs/worker.md ("Exit codes").
 */
import { runBench } from './bench/cli.js';
import { runKvEvents } from './fleet/kv-events-cli.js';
import { statSync } from 'node:fs';
import { UsageError } from './errors.js';
import { validateEngineOptions } from './engine-options.js';
import { flagsOf, helpText, parseCommandLine } from './options/command-line.js';
import { WORKER_OPTIONS } from './options/worker-table.js';
import { Worker, WorkerStartError, type WorkerOptions } from './worker.js';

/** serve's exit codes (docs/worker.md, "Exit codes"). */
export const EXIT_CODES = {
  /** Stopped by SIGINT / SIGTERM after a clean drain. */
  ok: 0,
  /** An internal error, an error during shutdown, or a second signal. */
  error: 1,
  /** A bad command line, config or environment; a port in use; an engine that cannot start. */
  usage: 2,
  /** The executor failed (a fatal error of its forward step). */
  executorFailed: 3,
  /** The executor stalled and --exit-on-stall was given. */
  stalled: 4,
} as const;
const EXIT_USAGE = EXIT_CODES.usage;
/** Beyond the grace period, how long a shutdown after a fatal event may take before serve exits anyway, ms. */
const FATAL_EXIT_SLACK_MS = 5000;

function usage(): string {
  return helpText(WORKER_OPTIONS, 'serve', {
    intro: [
      'Usage: trtllm-metrics serve [options]',
      '',
      'Start a worker: an engine (the simulator by default), an OpenAI-compatible API on --http-port',
      '(/v1/completions, /v1/chat/completions, /v1/models, /tokenize, /detokenize, /stats, /kv_cache_events,',
      '/perf_metrics) and Prometheus metrics and health on --port (/metrics, /health, /live).',
    ],
    sections: [
      ['Server', 'Server'],
      ['Model', 'Model (tokenizer and context)'],
      ['HTTP limits', 'HTTP limits (both ports)'],
      ['Executor', 'Executor'],
      ['Simulator', 'Simulator (--backend sim)'],
      ['Performance model', 'Performance model of the simulator (a model on a GPU)'],
      ['Simulator faults', 'Simulator faults (--backend sim; seeded, off by default; docs/reliability.md)'],
      ['Metrics', 'Metrics'],
      ['Health', 'Health (docs/reliability.md)'],
      ['KV events', 'KV events for KV-aware routers (docs/fleet.md)'],
    ],
    outro: [
      'Stop with SIGINT or SIGTERM: in-flight requests finish (within the grace period), then it exits 0.',
      'Exit codes: 0 stopped by a signal, 1 internal error, 2 bad usage or startup failure, 3 the executor failed,',
      '4 the executor stalled (--exit-on-stall). Every option, its range and what it sets: docs/options.md.',
    ],
  });
}

/** The resolved worker options of a `serve` command line. Throws UsageError. */
export function resolveServeOptions(args: readonly string[], env: Readonly<Record<string, string | undefined>>): WorkerOptions | 'help' {
  const cl = parseCommandLine(WORKER_OPTIONS, 'serve', args, env);
  if (cl.help) return 'help';
  const options = cl.values as WorkerOptions;
  const engine = (options.engine ??= {});
  const backend = engine.backend ?? 'sim';
  for (const [flag, { entry }] of cl.given) {
    if (entry.backend !== undefined && entry.backend !== backend) throw new UsageError(`--${flag} applies only to --backend ${entry.backend}`);
  }
  // Every leaf was checked as it was read; what is left are the rules joining options, worded with flags.
  const flagOf = new Map(flagsOf(WORKER_OPTIONS, 'serve').map((f) => [f.path.slice(1).join('.'), `--${f.flag}`]));
  try {
    validateEngineOptions(engine, 'serve', (path) => flagOf.get(path) ?? `"${path}" (--config)`);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (engine.engineDir !== undefined) checkEngineDir(engine.engineDir);
  return options;
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
    const stop = (code: number): void => {
      stopping = true;
      worker.shutdown({ afterFault: code !== EXIT_CODES.ok }).then(
        () => resolve(code),
        (err: unknown) => {
          process.stderr.write(`trtllm-metrics: error during shutdown: ${oneLine(String((err as Error)?.message ?? err))}\n`);
          resolve(code === EXIT_CODES.ok ? EXIT_CODES.error : code);
        },
      );
    };
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        process.stderr.write(`trtllm-metrics: ${signal} again, exiting now\n`);
        process.exit(EXIT_CODES.error);
      }
      process.stderr.write(`trtllm-metrics: ${signal}: shutting down (in-flight requests get ${worker.graceMs} ms)\n`);
      stop(EXIT_CODES.ok);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    worker.onFatal((event) => {
      if (stopping) return;
      const code = event.kind === 'stalled' ? EXIT_CODES.stalled : EXIT_CODES.executorFailed;
      process.stderr.write(`trtllm-metrics: ${oneLine(event.message)}; shutting down (exit code ${code}; in-flight requests get ${worker.graceMs} ms)\n`);
      // A hung executor may never answer shutdown: exit anyway once the grace period and some slack are over.
      setTimeout(() => {
        process.stderr.write(`trtllm-metrics: shutdown did not finish within ${worker.graceMs + FATAL_EXIT_SLACK_MS} ms, exiting\n`);
        process.exit(code);
      }, worker.graceMs + FATAL_EXIT_SLACK_MS).unref();
      stop(code);
    });
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(
      'Usage: trtllm-metrics serve [options]   run a worker (trtllm-metrics serve --help)\n' +
        '       trtllm-metrics bench [options]   benchmark an engine or a server (trtllm-metrics bench --help)\n' +
        '       trtllm-metrics kv-events [options]   print the KV events a worker publishes (trtllm-metrics kv-events --help)\n',
    );
    return command === undefined ? EXIT_USAGE : 0;
  }
  if (command === 'serve') return serve(rest);
  if (command === 'bench') return runBench([...rest]);
  if (command === 'kv-events') return runKvEvents(rest);
  return fail(`unknown command ${JSON.stringify(command)} (available: serve, bench, kv-events)`);
}

if (require.main === module) {
  // main() ends with process.exit(); an event loop that empties before it means a stall: say so, never exit 0.
  process.once('beforeExit', () => {
    process.stderr.write('trtllm-metrics: internal error: stopped with work unfinished (nothing left to wait on)\n');
    process.exit(1);
  });
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`trtllm-metrics: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
