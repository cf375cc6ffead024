/**
 * `trtllm-metrics bench`: runBench(argv) runs one benchmark and returns the exit code (0: at least one
 * request completed; 1: none did, or the target failed; 2: bad usage, printed as one line on stderr).
 * See docs/bench.md.
 */
import { writeFileSync } from 'node:fs';
import { ClientResults } from './client-results.js';
import { DatasetError, loadDataset, type Dataset } from './dataset.js';
import { formatDistribution } from './distributions.js';
import { formatReport } from './format.js';
import { UsageError } from '../errors.js';
import { DEFAULT_MODEL, parseBenchArgs, usage, type BenchOptions } from './options.js';
import { renderPlot } from './plot.js';
import { Progress } from './progress.js';
import { buildReport, reportToJson, type BenchReport, type ReportConfig } from './report.js';
import { runWorkload } from './runner.js';
import { EngineTarget } from './target-engine.js';
import { HttpTarget, TargetUnavailableError } from './target-http.js';
import type { Target } from './target.js';
import { Workload } from './workload.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface RunBenchIo {
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
  /** Progress on a terminal (default: process.stderr.isTTY). */
  tty?: boolean;
}

function reportConfig(o: BenchOptions, model: string): ReportConfig {
  return {
    target: o.url !== undefined ? 'url' : 'in-process',
    url: o.url ?? null,
    model,
    num_requests: o.numRequests,
    concurrency: Number.isFinite(o.concurrency) ? o.concurrency : null,
    request_rate: Number.isFinite(o.requestRate) ? o.requestRate : null,
    seed: o.seed,
    input_len: o.dataset !== undefined ? null : formatDistribution(o.inputLen),
    output_len: o.dataset !== undefined && !o.outputLenSet ? null : formatDistribution(o.outputLen),
    dataset: o.dataset ?? null,
    prefix_share: o.prefixShare ?? null,
    stream: o.stream,
    virtual_clock: o.virtualClock,
    speedup_ratio: o.engine.sim?.speedupRatio ?? null,
    engine:
      o.url !== undefined
        ? null
        : {
            max_batch_size: o.engine.executorConfig?.maxBatchSize ?? null,
            max_num_tokens: o.engine.executorConfig?.maxNumTokens ?? null,
            kv_blocks: o.engine.sim?.numKvBlocks ?? null,
            tokens_per_block: o.engine.sim?.tokensPerBlock ?? null,
          },
    metrics_url: o.metricsUrl ?? null,
    metrics_prefix: o.metricsPrefix,
  };
}

/** Runs a benchmark from already-parsed options; returns the report (null when the target failed to start). */
export async function runBenchWithOptions(o: BenchOptions, io: RunBenchIo = {}): Promise<{ code: number; report: BenchReport | null }> {
  const out = io.stdout ?? ((s: string) => process.stdout.write(s));
  const err = io.stderr ?? ((s: string) => process.stderr.write(s));
  const startedAt = new Date();
  const harnessStart = performance.now();

  let dataset: Dataset | undefined;
  if (o.dataset !== undefined) {
    try {
      dataset = loadDataset(o.dataset);
    } catch (e) {
      if (e instanceof DatasetError) throw new UsageError(`--dataset: ${e.message}`);
      throw e;
    }
  }
  const workload = new Workload({
    numRequests: o.numRequests,
    seed: o.seed,
    requestRate: o.requestRate,
    inputLen: o.inputLen,
    outputLen: o.outputLen,
    dataset,
    outputLenOverride: o.outputLenSet,
    prefixShare: o.prefixShare,
  });
  const results = new ClientResults(o.numRequests);
  const notes: string[] = [];
  let target: Target;
  if (o.url !== undefined) {
    target = new HttpTarget(
      { url: o.url, model: o.model, metricsUrl: o.metricsUrl, perfMetrics: o.perfMetrics, ignoreEos: o.ignoreEos, requestTimeoutS: o.requestTimeoutS },
      workload,
      results,
    );
    if (dataset?.hasText) notes.push('text prompts are sent as text; their lengths were counted with the byte tokenizer (one token per UTF-8 byte), so the server counts differently');
  } else {
    target = new EngineTarget(
      {
        model: o.model ?? DEFAULT_MODEL,
        streaming: o.stream,
        virtualClock: o.virtualClock,
        // Closed loop on the virtual clock: the simulator waits for each replacement (lockstep).
        lockstep: o.virtualClock && o.concurrency < o.numRequests,
        seed: o.seed,
        engine: o.engine,
      },
      workload,
      results,
    );
    if (o.virtualClock) {
      notes.push('virtual clock: the client-side table is wall time, the engine-side table simulated time; they are not comparable');
    }
    if (!o.stream) notes.push('non-streaming: client-side TTFT, TPOT and ITL are not measured (see the engine side)');
  }

  try {
    await target.start();
    if (target instanceof EngineTarget && target.engineNote !== null) notes.push(target.engineNote);
  } catch (e) {
    await target.abort().catch(() => undefined);
    if (e instanceof TargetUnavailableError) {
      err(`trtllm-metrics bench: ${e.message}\n`);
      return { code: EXIT_FAILED, report: null };
    }
    err(`trtllm-metrics bench: the target failed to start: ${(e as Error).message}\n`);
    return { code: EXIT_FAILED, report: null };
  }

  const progress = new Progress({ total: o.numRequests, get completed() { return results.completed; }, get failed() { return results.failed; } }, {
    quiet: o.quiet,
    tty: io.tty,
    write: err,
  });
  progress.start();
  let timing;
  let final;
  try {
    timing = await runWorkload(workload, target, { concurrency: o.concurrency });
    progress.stop();
    if (timing.lockstepStalls) {
      notes.push(`virtual clock: ${timing.lockstepStalls} lockstep pause(s) were released by the watchdog (a replacement was not sent in time); the closed loop is approximate there`);
    }
    final = await target.finish();
  } catch (e) {
    progress.stop();
    await target.abort().catch(() => undefined);
    err(`trtllm-metrics bench: the run failed: ${(e as Error).message}\n`);
    return { code: EXIT_FAILED, report: null };
  }
  if (final.recordsDropped > 0) notes.push(`${final.recordsDropped} finished-request records were dropped by the bridge (record queue full); the engine side is incomplete`);
  if (target instanceof HttpTarget && target.perfMetricsError) notes.push(`GET /perf_metrics failed: ${target.perfMetricsError}`);
  if (final.recordsSource === 'perf_metrics') notes.push("engine side from /perf_metrics: arrival is the executor's arrival time; TPOT needs token counts, which its entries lack");

  const { report, distributions } = buildReport({
    config: reportConfig(o, target.model),
    startedAt,
    results,
    runWallS: timing.wallS,
    final,
    engineClock: target.engineClock,
    harnessWallS: 0,
    notes,
  });

  const files: string[] = [];
  try {
    if (o.dumpRecords !== undefined && final.records !== null) {
      final.records.writeJsonl(o.dumpRecords);
      files.push(o.dumpRecords);
    }
    if (o.metricsOut !== undefined && final.exposition !== null) {
      writeFileSync(o.metricsOut, final.exposition);
      files.push(o.metricsOut);
    }
    if (o.plot !== undefined) {
      writeFileSync(o.plot, await renderPlot(report, distributions));
      files.push(o.plot);
    }
    report.harness_wall_s = (performance.now() - harnessStart) / 1000;
    if (o.json !== undefined) {
      writeFileSync(o.json, reportToJson(report));
      files.push(o.json);
    }
  } catch (e) {
    out(formatReport(report));
    err(`trtllm-metrics bench: cannot write the output: ${(e as Error).message}\n`);
    return { code: EXIT_FAILED, report };
  }
  out(formatReport(report));
  if (files.length > 0) out(`wrote ${files.join(', ')}\n`);
  return { code: results.completed > 0 ? EXIT_OK : EXIT_FAILED, report };
}

/** The `bench` subcommand: argv are the arguments after `bench`. Returns the exit code. */
export async function runBench(argv: string[], io: RunBenchIo = {}): Promise<number> {
  const err = io.stderr ?? ((s: string) => process.stderr.write(s));
  let o: BenchOptions;
  try {
    o = parseBenchArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`trtllm-metrics bench: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  if (o.help) {
    (io.stdout ?? ((s: string) => process.stdout.write(s)))(usage());
    return EXIT_OK;
  }
  try {
    return (await runBenchWithOptions(o, io)).code;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`trtllm-metrics bench: ${e.message}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
}
