/**
 * `trtllm-metrics bench`: runBench(argv) runs one benchmark (or a sweep of them) and returns the exit code
 * (0: at least one request completed; 1: none did, or the target failed; 2: bad usage, printed as one line
 * on stderr). See docs/bench.md.
 */
import { writeFileSync } from 'node:fs';
import { ClientResults } from './client-results.js';
import { DatasetError, parseDataset, readDatasetFile, type Dataset } from './dataset.js';
import { formatDistribution } from './distributions.js';
import type { RecordStore } from './engine-records.js';
import { formatReport } from './format.js';
import { computeGoodput, type GoodputResult } from './goodput.js';
import { UsageError } from '../errors.js';
import { DEFAULT_MODEL, parseBenchArgs, usage, type BenchOptions } from './options.js';
import { renderPlot } from './plot.js';
import { Progress } from './progress.js';
import { buildReport, reportToJson, type BenchReport, type ReportConfig } from './report.js';
import { clientTable, engineTable, type RequestTable } from './request-table.js';
import { runWorkload } from './runner.js';
import { TimelineRecorder, type ServerTimeline } from './server-timeline.js';
import { runSweep } from './sweep.js';
import { EngineTarget } from './target-engine.js';
import { HttpTarget, TargetUnavailableError } from './target-http.js';
import type { Target } from './target.js';
import { looksLikeTrace, parseTrace, type Trace } from './trace.js';
import { defaultResultFilename, vllmResult, writeVllmResult, type VllmResultSetup } from './vllm-result.js';
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

/** What one run produced (a sweep collects one per point). */
export interface RunOutcome {
  code: number;
  report: BenchReport | null;
  /** vLLM's result object (always built; written with --save-result). */
  result: Record<string, unknown> | null;
  table: RequestTable | null;
  /** Files written. */
  files: string[];
}

function reportConfig(o: BenchOptions, model: string, numRequests: number): ReportConfig {
  const fileBased = o.dataset !== undefined || o.datasetName === 'prefix_repetition';
  return {
    target: o.url !== undefined ? 'url' : 'in-process',
    url: o.url ?? null,
    model,
    num_requests: numRequests,
    concurrency: Number.isFinite(o.concurrency) ? o.concurrency : null,
    request_rate: Number.isFinite(o.requestRate) ? o.requestRate : null,
    seed: o.seed,
    input_len: fileBased ? null : formatDistribution(o.inputLen),
    output_len: fileBased && !o.outputLenSet ? null : formatDistribution(o.outputLen),
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
    dataset_name: o.datasetName,
    endpoint: o.url !== undefined ? o.endpoint : null,
    load: {
      burstiness: o.burstiness,
      ramp_up: o.rampUp ? { strategy: o.rampUp.strategy, start_rps: o.rampUp.startRps, end_rps: o.rampUp.endRps } : null,
      warmup_requests: o.warmups,
      duration_s: o.durationS ?? null,
      cancel_rate: o.cancelRate,
      cancel_after_ms: o.cancelAfterMs,
    },
  };
}

/** The dataset file: a Mooncake trace or a dataset of prompts (--dataset-name, or recognized). */
function loadInputs(o: BenchOptions): { dataset?: Dataset; trace?: Trace } {
  if (o.dataset === undefined) return {};
  try {
    const text = readDatasetFile(o.dataset);
    if (o.datasetName === 'mooncake_trace' || (o.datasetName === 'file' && looksLikeTrace(text))) return { trace: parseTrace(text, o.dataset) };
    const dataset = parseDataset(text, o.dataset);
    if (o.datasetName === 'custom' && dataset.entries.some((e) => e.prompt === undefined)) {
      throw new DatasetError(`${o.dataset}: a custom dataset is JSONL of {"prompt": "..."} lines`);
    }
    return { dataset };
  } catch (e) {
    if (e instanceof DatasetError) throw new UsageError(`--dataset-path: ${e.message}`);
    throw e;
  }
}

/** The request table the result file, goodput and sweeps read: engine side on the virtual clock, else the client's. */
function requestTable(o: BenchOptions, results: ClientResults, workload: Workload, report: BenchReport, store: RecordStore | null): RequestTable {
  if (o.virtualClock && store !== null && report.engine !== null) return engineTable(store, 'simulated', report.engine.duration_s);
  return clientTable(results, workload, report.client.duration_s);
}

/** Runs one benchmark from already-parsed options. */
export async function runOnce(o: BenchOptions, io: RunBenchIo = {}): Promise<RunOutcome> {
  const out = io.stdout ?? ((s: string) => process.stdout.write(s));
  const err = io.stderr ?? ((s: string) => process.stderr.write(s));
  const startedAt = new Date();
  const harnessStart = performance.now();

  const { dataset, trace } = loadInputs(o);
  let numRequests = o.numRequests;
  if (trace && !o.numRequestsSet) numRequests = trace.entries.length;
  if (dataset && !o.oversample) numRequests = Math.min(numRequests, dataset.entries.length);
  const workload = new Workload({
    numRequests,
    seed: o.seed,
    requestRate: o.requestRate,
    burstiness: o.burstiness,
    rampUp: o.rampUp,
    durationS: o.durationS,
    inputLen: o.inputLen,
    outputLen: o.outputLen,
    dataset,
    outputLenOverride: o.outputLenSet,
    shuffle: o.shuffle,
    prefixShare: o.prefixShare,
    prefixRepetition: o.prefixRepetition,
    trace,
    traceBlockSize: o.traceBlockSize,
    selfTimed: o.selfTimed,
    cancelRate: o.cancelRate,
  });
  const results = new ClientResults(workload.numRequests, { keepTexts: o.saveDetailed });
  const notes: string[] = [];
  let target: Target;
  if (o.url !== undefined) {
    target = new HttpTarget(
      {
        url: o.url,
        endpoint: o.endpoint,
        model: o.model,
        servedModelName: o.servedModelName,
        metricsUrl: o.metricsUrl,
        perfMetrics: o.perfMetrics,
        ignoreEos: o.ignoreEos,
        requestTimeoutS: o.requestTimeoutS,
        headers: o.headers,
        extraBody: o.extraBody,
        requestIdPrefix: o.requestIdPrefix,
        insecure: o.insecure,
        readyCheckTimeoutS: o.readyCheckTimeoutS,
        warmups: o.warmups,
        concurrency: o.concurrency,
        cancelAfterMs: o.cancelAfterMs,
      },
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
        lockstep: o.virtualClock && (o.concurrency < workload.numRequests || (o.durationS !== undefined && o.concurrency < Infinity)),
        seed: o.seed,
        engine: o.engine,
        warmups: o.warmups,
        concurrency: o.concurrency,
        cancelAfterMs: o.cancelAfterMs,
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
    const message = e instanceof TargetUnavailableError ? e.message : `the target failed to start: ${(e as Error).message}`;
    err(`trtllm-metrics bench: ${message}\n`);
    return { code: EXIT_FAILED, report: null, result: null, table: null, files: [] };
  }

  // The server-metrics timeline: --metrics-url, or our collector on a real clock.
  let recorder: TimelineRecorder | null = null;
  if (o.metricsUrl !== undefined) {
    const url = o.metricsUrl;
    const scrape = async (): Promise<string> => {
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`answered ${res.status}`);
      return res.text();
    };
    recorder = new TimelineRecorder(scrape, 'metrics_url', o.metricsPrefix, { model_name: target.model }, o.metricsIntervalMs);
  } else if (target instanceof EngineTarget && !o.virtualClock) {
    recorder = new TimelineRecorder(() => target.exposition(), 'collector', 'trtllm_', { model_name: target.model }, o.metricsIntervalMs);
  }

  const progress = new Progress({ total: workload.numRequests, get completed() { return results.completed; }, get failed() { return results.failed + results.cancelled; } }, {
    quiet: o.quiet,
    tty: io.tty,
    write: err,
  });
  progress.start();
  let timing;
  let final;
  let serverTimeline: ServerTimeline | null = null;
  let runCpuS = 0;
  const cpu0 = process.cpuUsage();
  try {
    await recorder?.start();
    timing = await runWorkload(workload, target, {
      concurrency: o.concurrency,
      durationS: o.durationS,
      ensure: (n) => {
        workload.ensure(n);
        results.ensure(workload.numRequests);
      },
    });
    progress.stop();
    runCpuS = ((u) => (u.user + u.system) / 1e6)(process.cpuUsage(cpu0));
    await recorder?.pause();
    if (timing.lockstepStalls) {
      notes.push(`virtual clock: ${timing.lockstepStalls} lockstep pause(s) were released by the watchdog (a replacement was not sent in time); the closed loop is approximate there`);
    }
    final = await target.finish();
    // The target's final exposition ends the timeline: --metrics-url's last scrape, or the collector's once the
    // engine has delivered every record.
    serverTimeline = recorder ? await recorder.stop(final.exposition) : null;
  } catch (e) {
    progress.stop();
    await recorder?.stop().catch(() => null);
    await target.abort().catch(() => undefined);
    err(`trtllm-metrics bench: the run failed: ${(e as Error).message}\n`);
    return { code: EXIT_FAILED, report: null, result: null, table: null, files: [] };
  }
  if (final.recordsDropped > 0) notes.push(`${final.recordsDropped} finished-request records were dropped by the bridge (record queue full); the engine side is incomplete`);
  if (target instanceof HttpTarget && target.perfMetricsError) notes.push(`GET /perf_metrics failed: ${target.perfMetricsError}`);
  if (final.recordsSource === 'perf_metrics') notes.push("engine side from /perf_metrics: arrival is the executor's arrival time; TPOT needs token counts, which its entries lack");
  if (serverTimeline && serverTimeline.failed_scrapes > 0) notes.push(`${serverTimeline.failed_scrapes} timeline scrape(s) failed and were skipped`);
  const itl = results.pooledItl();
  let zeros = 0;
  for (let k = 0; k < itl.length; k++) if (itl[k] === 0) zeros++;
  if (o.url !== undefined && timing.wallS >= 1 && runCpuS > 0.9 * timing.wallS) {
    notes.push(`the harness used ${((100 * runCpuS) / timing.wallS).toFixed(0)}% of a core during the run: the client may limit these figures (docs/bench.md "The harness's own ceiling")`);
  }
  if (zeros > 0) {
    notes.push(`${((100 * zeros) / itl.length).toFixed(1)}% of the ITL gaps are 0: those outputs arrived in the same read as the one before (coalesced by the server, the network or a busy client)`);
  }

  const { report, distributions } = buildReport({
    config: reportConfig(o, target.model, workload.numRequests),
    startedAt,
    results,
    runWallS: timing.wallS,
    runT0SteadyS: Number(process.hrtime.bigint()) / 1e9 - (performance.now() - timing.t0) / 1000,
    runCpuS,
    final,
    engineClock: target.engineClock,
    harnessWallS: 0,
    notes,
    serverTimeline,
  });
  const table = requestTable(o, results, workload, report, final.records);
  let goodput: GoodputResult | null = null;
  if (o.goodput) {
    goodput = computeGoodput(table, o.goodput);
    report.goodput = goodput;
    if (table.source === 'engine') notes.push('goodput on the virtual clock: checked against the engine-side (simulated) times');
  }
  const setup: VllmResultSetup = {
    date: startedAt,
    backend: o.backend,
    label: o.label ?? null,
    modelId: o.model ?? target.model,
    tokenizerId: o.tokenizer ?? null,
    numPrompts: o.numRequests,
    requestRate: o.requestRate,
    burstiness: o.burstiness,
    maxConcurrency: Number.isFinite(o.concurrency) ? o.concurrency : null,
    rampUp: o.rampUp,
    metadata: o.metadata,
    percentileMetrics: o.percentileMetrics,
    metricPercentiles: o.metricPercentiles,
    goodput,
    detailed: o.saveDetailed,
    cancelled: results.cancelled,
    errorsByKind: report.requests.errors_by_kind ?? {},
  };
  const result = vllmResult(table, setup);

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
    let resultPath: string | null = null;
    if (o.saveResult || o.appendResult) {
      resultPath = writeVllmResult(result, o.resultDir, o.resultFilename ?? defaultResultFilename(setup), o.appendResult);
      files.push(resultPath);
    }
    const plots = [o.plot, o.plotTimeline && resultPath !== null ? resultPath.replace(/(\.json)?$/, '.timeline.svg') : undefined].filter((p): p is string => p !== undefined);
    if (plots.length > 0) {
      const svg = await renderPlot(report, distributions);
      for (const p of plots) {
        writeFileSync(p, svg);
        files.push(p);
      }
    }
    report.harness_wall_s = (performance.now() - harnessStart) / 1000;
    if (o.json !== undefined) {
      writeFileSync(o.json, reportToJson(report));
      files.push(o.json);
    }
  } catch (e) {
    out(formatReport(report, result, o));
    err(`trtllm-metrics bench: cannot write the output: ${(e as Error).message}\n`);
    return { code: EXIT_FAILED, report, result, table, files };
  }
  out(formatReport(report, result, o));
  if (files.length > 0) out(`wrote ${files.join(', ')}\n`);
  return { code: results.completed > 0 ? EXIT_OK : EXIT_FAILED, report, result, table, files };
}

/** Runs a benchmark (or a sweep) from already-parsed options; returns the report (null when the target failed to start). */
export async function runBenchWithOptions(o: BenchOptions, io: RunBenchIo = {}): Promise<{ code: number; report: BenchReport | null }> {
  if (o.sweep) return runSweep(o, io, runOnce);
  const r = await runOnce(o, io);
  return { code: r.code, report: r.report };
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
