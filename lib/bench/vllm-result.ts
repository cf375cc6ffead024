/**
 * `--save-result`: the result file of `vllm bench serve` (vllm/benchmarks/serve.py, main_async and
 * benchmark), with its key names, so tooling that reads those files reads ours. Keys in vLLM's order:
 * the setup (date, backend, label, model_id, ..., request_rate, burstiness, max_concurrency, the ramp), the
 * --metadata pairs, then duration, completed, failed, total_input_tokens, total_output_tokens,
 * request_throughput, request_goodput (null without --goodput), output_throughput, total_token_throughput,
 * max_output_tokens_per_s, max_concurrent_requests, and for each --percentile-metrics metric
 * mean_<m>_ms, median_<m>_ms, std_<m>_ms and p<P>_<m>_ms for each --metric-percentiles P. `latencies`
 * and `queue_times` (seconds) are always there, as in vLLM; --save-detailed adds input_lens, output_lens,
 * ttfts, itls, start_times, generated_texts and errors.
 *
 * Statistics as numpy computes them: mean, median, population std and linear-interpolation percentiles,
 * 0 when there are no values (vLLM's `np.mean(x or 0)`). Values come from the request table: the client side,
 * or the engine side on the simulator's virtual clock (request-table.ts). This package's own keys, where
 * vLLM has none, are added after vLLM's: `ttst` statistics when selected, `request_goodput_fraction`,
 * `cancelled`, `errors_by_kind`.
 */
import { appendFileSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { percentileKey, type PercentileMetric } from './arg-parsers.js';
import type { GoodputResult } from './goodput.js';
import { percentileSorted, sortedCopy } from './percentiles.js';
import type { RequestTable } from './request-table.js';

export interface VllmResultSetup {
  date: Date;
  backend: string;
  label: string | null;
  modelId: string;
  tokenizerId: string | null;
  numPrompts: number;
  requestRate: number;
  burstiness: number;
  maxConcurrency: number | null;
  rampUp?: { strategy: string; startRps: number; endRps: number };
  metadata: Array<[string, string]>;
  percentileMetrics: readonly PercentileMetric[];
  metricPercentiles: readonly number[];
  goodput: GoodputResult | null;
  detailed: boolean;
  cancelled: number;
  errorsByKind: Record<string, number>;
}

/** vLLM's date stamp: YYYYMMDD-HHMMSS, local time. */
export function dateStamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Python's str() of a float as vLLM's file names show it: 4 -> "4.0", Infinity -> "inf". */
function pyFloat(x: number): string {
  if (x === Infinity) return 'inf';
  return Number.isInteger(x) ? `${x}.0` : String(x);
}

/** vLLM's default file name: {label}-{rate}qps[-concurrency{N}]-{model}-{date}.json (or the ramp's). */
export function defaultResultFilename(s: VllmResultSetup): string {
  const model = s.modelId.split('/').pop()!;
  const conc = s.maxConcurrency !== null ? `-concurrency${s.maxConcurrency}` : '';
  const label = s.label ?? s.backend;
  if (s.rampUp) return `${label}-ramp-up-${s.rampUp.strategy}-${s.rampUp.startRps}qps-${s.rampUp.endRps}qps${conc}-${model}-${dateStamp(s.date)}.json`;
  return `${label}-${pyFloat(s.requestRate)}qps${conc}-${model}-${dateStamp(s.date)}.json`;
}

interface Stats {
  mean: number;
  median: number;
  std: number;
  percentiles: Array<[number, number]>;
}

/** numpy's statistics of the values, in ms; all 0 without values (vLLM's `x or 0`). */
function statsMs(values: ArrayLike<number>, ps: readonly number[]): Stats {
  const sorted = sortedCopy(values);
  const n = sorted.length;
  if (n === 0) return { mean: 0, median: 0, std: 0, percentiles: ps.map((p) => [p, 0]) };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (sorted[i]! - mean) ** 2;
  return {
    mean: mean * 1000,
    median: percentileSorted(sorted, 50)! * 1000,
    std: Math.sqrt(sq / n) * 1000,
    percentiles: ps.map((p) => [p, percentileSorted(sorted, p)! * 1000]),
  };
}

const finite = (a: ArrayLike<number>, ok: Uint8Array): number[] => {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (ok[i] && Number.isFinite(a[i]!)) out.push(a[i]!);
  return out;
};

/**
 * The busiest second's output tokens and the peak concurrency (vLLM: max_output_tokens_per_s,
 * max_concurrent_requests). Token times: the first output and the ITL gaps after it; the engine side has no
 * per-token times, so its tokens are spread evenly from the first to the last.
 */
function peaks(t: RequestTable): { tokensPerS: number; concurrency: number } {
  let t0 = Infinity;
  let t1 = -Infinity;
  for (let i = 0; i < t.n; i++) {
    if (!t.ok[i]) continue;
    t0 = Math.min(t0, t.start[i]!);
    t1 = Math.max(t1, t.start[i]! + t.e2el[i]!);
  }
  if (!(t1 >= t0)) return { tokensPerS: 0, concurrency: 0 };
  const buckets = new Float64Array(Math.ceil(t1 - t0) + 1);
  const add = (at: number): void => {
    const b = Math.floor(at - t0);
    if (b >= 0 && b < buckets.length) buckets[b]!++;
  };
  const events: Array<[number, number]> = [];
  for (let i = 0; i < t.n; i++) {
    if (!t.ok[i]) continue;
    const s = t.start[i]!;
    // On the nanosecond grid: a replacement starts exactly when its predecessor ended (closed loops).
    events.push([Math.round(s * 1e9), 1], [Math.round((s + t.e2el[i]!) * 1e9), -1]);
    const first = s + t.ttft[i]!;
    if (!Number.isFinite(first)) continue;
    const gaps = t.itl(i);
    if (gaps.length > 0 || t.source === 'client') {
      let at = first;
      add(at);
      for (let k = 0; k < gaps.length; k++) add((at += gaps[k]!));
    } else {
      const out = t.outputLens[i]!;
      const span = t.e2el[i]! - t.ttft[i]!;
      for (let k = 0; k < out; k++) add(first + (out > 1 ? (span * k) / (out - 1) : 0));
    }
  }
  // Half-open intervals: an end at the same time as a start comes first.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let peak = 0;
  for (const [, d] of events) peak = Math.max(peak, (cur += d));
  let max = 0;
  for (const b of buckets) max = Math.max(max, b);
  return { tokensPerS: max, concurrency: peak };
}

export function vllmResult(t: RequestTable, s: VllmResultSetup): Record<string, unknown> {
  const out: Record<string, unknown> = {
    date: dateStamp(s.date),
    endpoint_type: s.backend,
    backend: s.backend,
    label: s.label,
    model_id: s.modelId,
    tokenizer_id: s.tokenizerId ?? s.modelId,
    num_prompts: s.numPrompts,
  };
  for (const [k, v] of s.metadata) out[k] = v;
  out.request_rate = s.requestRate === Infinity ? 'inf' : s.requestRate;
  out.burstiness = s.burstiness;
  out.max_concurrency = s.maxConcurrency;
  if (s.rampUp) {
    out.ramp_up_strategy = s.rampUp.strategy;
    out.ramp_up_start_rps = s.rampUp.startRps;
    out.ramp_up_end_rps = s.rampUp.endRps;
  }
  let completed = 0;
  let totalInput = 0;
  let totalOutput = 0;
  for (let i = 0; i < t.n; i++) {
    if (!t.ok[i]) continue;
    completed++;
    totalInput += t.inputLens[i]!;
    totalOutput += t.outputLens[i]!;
  }
  const d = t.durationS;
  const perS = (x: number): number | null => (d > 0 ? x / d : null);
  const { tokensPerS, concurrency } = peaks(t);
  const zeroNaN = (x: number): number => (Number.isFinite(x) ? x : 0);
  Object.assign(out, {
    duration: d,
    completed,
    failed: t.n - completed,
    total_input_tokens: totalInput,
    total_output_tokens: totalOutput,
    request_throughput: perS(completed),
    request_goodput: s.goodput ? s.goodput.request_goodput : null,
    output_throughput: perS(totalOutput),
    total_token_throughput: perS(totalInput + totalOutput),
  });
  if (s.detailed) {
    out.input_lens = Array.from(t.inputLens);
    out.output_lens = Array.from(t.outputLens);
    out.ttfts = Array.from(t.ttft, zeroNaN);
    out.itls = Array.from({ length: t.n }, (_, i) => Array.from(t.itl(i)));
  }
  out.latencies = Array.from(t.e2el, zeroNaN);
  if (s.detailed) out.start_times = Array.from(t.start);
  out.queue_times = Array.from(t.queue, (x) => (Number.isFinite(x) ? x : null));
  if (s.detailed) {
    out.generated_texts = Array.from({ length: t.n }, (_, i) => t.text(i));
    out.errors = Array.from({ length: t.n }, (_, i) => t.error(i));
  }
  out.max_output_tokens_per_s = tokensPerS;
  out.max_concurrent_requests = concurrency;
  out.rtfx = 0;

  const queueOk = finite(t.queue, t.ok);
  const values: Record<PercentileMetric, () => ArrayLike<number>> = {
    ttft: () => finite(t.ttft, t.ok),
    tpot: () => finite(t.tpot, t.ok),
    itl: () => t.itlAll(),
    e2el: () => finite(t.e2el, t.ok),
    ttst: () => finite(t.ttst, t.ok),
    client_queue_time: () => queueOk,
    e2el_including_client_queue: () => {
      const v: number[] = [];
      for (let i = 0; i < t.n; i++) if (t.ok[i] && Number.isFinite(t.e2el[i]!) && Number.isFinite(t.queue[i]!)) v.push(t.e2el[i]! + t.queue[i]!);
      return v;
    },
  };
  for (const m of s.percentileMetrics) {
    const st = statsMs(values[m](), s.metricPercentiles);
    out[`mean_${m}_ms`] = st.mean;
    out[`median_${m}_ms`] = st.median;
    out[`std_${m}_ms`] = st.std;
    for (const [p, v] of st.percentiles) out[`${percentileKey(p)}_${m}_ms`] = v;
  }
  // This package's additions.
  if (s.goodput) out.request_goodput_fraction = s.goodput.fraction;
  out.cancelled = s.cancelled;
  out.errors_by_kind = s.errorsByKind;
  out.times_from = t.source === 'engine' ? `engine (${t.clock} clock)` : 'client (wall clock)';
  return out;
}

/** Writes (or appends, on a line of its own: vLLM's --append-result) the result; returns the path. */
export function writeVllmResult(result: Record<string, unknown>, dir: string | undefined, filename: string, append: boolean): string {
  const path = dir !== undefined ? join(dir, filename) : filename;
  mkdirSync(dirname(path), { recursive: true });
  const text = JSON.stringify(result, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
  // vLLM's append: a newline before the result when the file already has one.
  if (append) appendFileSync(path, existsSync(path) && statSync(path).size > 0 ? `\n${text}` : text);
  else writeFileSync(path, text);
  return path;
}
