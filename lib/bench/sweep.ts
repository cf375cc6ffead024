/**
 * `--sweep PARAM=V1,V2,...`: one benchmark per value with the same seed (so the same workload), each with
 * its own outputs (--save-result writes vLLM's file per point, its name carrying the rate or concurrency;
 * --json FILE becomes FILE with `.PARAM-VALUE` before the extension), then a table of the points and, with
 * --plot, the throughput-latency curve: TTFT and TPOT p50/p99 against output throughput, with the --goodput
 * SLOs drawn as rules (the shape of vLLM's `vllm bench sweep` plots and aiperf's Pareto plots).
 */
import { writeFileSync } from 'node:fs';
import type { RunBenchIo, RunOutcome } from './cli.js';
import type { BenchOptions } from './options.js';
import { percentileSorted, sortedCopy } from './percentiles.js';
import { renderSpec } from './plot.js';
import type { BenchReport } from './report.js';
import type { RequestTable } from './request-table.js';

export interface SweepPoint {
  param: string;
  value: number;
  completed: number;
  request_throughput: number | null;
  output_throughput: number | null;
  ttft_p50_ms: number | null;
  ttft_p99_ms: number | null;
  tpot_p50_ms: number | null;
  tpot_p99_ms: number | null;
  request_goodput: number | null;
  /** Whose times (request-table.ts). */
  times: string;
}

/** The options of one point. */
export function pointOptions(o: BenchOptions, value: number): BenchOptions {
  const p: BenchOptions = { ...o, sweep: undefined, plot: undefined };
  if (o.sweep!.param === 'request-rate') p.requestRate = value;
  else if (o.sweep!.param === 'max-concurrency') p.concurrency = value;
  else p.burstiness = value;
  if (o.json !== undefined) p.json = o.json.replace(/(\.json)?$/i, (ext) => `.${o.sweep!.param}-${value}${ext || '.json'}`);
  return p;
}

function ms(values: Float64Array, ok: Uint8Array, p: number): number | null {
  const v: number[] = [];
  for (let i = 0; i < values.length; i++) if (ok[i] && Number.isFinite(values[i]!)) v.push(values[i]!);
  const x = percentileSorted(sortedCopy(v), p);
  return x === null ? null : x * 1000;
}

export function sweepPoint(param: string, value: number, t: RequestTable, result: Record<string, unknown>): SweepPoint {
  return {
    param,
    value,
    completed: result.completed as number,
    request_throughput: result.request_throughput as number | null,
    output_throughput: result.output_throughput as number | null,
    ttft_p50_ms: ms(t.ttft, t.ok, 50),
    ttft_p99_ms: ms(t.ttft, t.ok, 99),
    tpot_p50_ms: ms(t.tpot, t.ok, 50),
    tpot_p99_ms: ms(t.tpot, t.ok, 99),
    request_goodput: result.request_goodput as number | null,
    times: String(result.times_from),
  };
}

/** The Vega-Lite spec of the curve (exported for tests and restyling). */
export function sweepSpec(points: readonly SweepPoint[], slos: { ttft?: number; tpot?: number } = {}, title = 'trtllm-metrics bench sweep'): Record<string, unknown> {
  const rows: Array<{ value: number; x: number; metric: string; stat: string; ms: number }> = [];
  for (const p of points) {
    if (p.output_throughput === null) continue;
    const add = (metric: string, stat: string, v: number | null): void => {
      if (v !== null) rows.push({ value: p.value, x: p.output_throughput!, metric, stat, ms: v });
    };
    add('TTFT', 'p50', p.ttft_p50_ms);
    add('TTFT', 'p99', p.ttft_p99_ms);
    add('TPOT', 'p50', p.tpot_p50_ms);
    add('TPOT', 'p99', p.tpot_p99_ms);
  }
  const param = points[0]?.param ?? '';
  const panel = (metric: 'TTFT' | 'TPOT', slo: number | undefined): Record<string, unknown> => {
    const layers: Record<string, unknown>[] = [
      {
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: 'output throughput (tokens/s)' },
          y: { field: 'ms', type: 'quantitative', title: `${metric} (ms)` },
          color: { field: 'stat', type: 'nominal', title: null },
          order: { field: 'value', type: 'quantitative' },
        },
      },
      {
        mark: { type: 'text', dy: -9, fontSize: 9 },
        transform: [{ filter: "datum.stat === 'p99'" }],
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'ms', type: 'quantitative' }, text: { field: 'value', type: 'quantitative' } },
      },
    ];
    if (slo !== undefined) {
      layers.push({
        data: { values: [{ slo }] },
        mark: { type: 'rule', strokeDash: [6, 4], color: 'firebrick' },
        encoding: { y: { field: 'slo', type: 'quantitative' } },
      });
      layers.push({
        data: { values: [{ slo, label: `goodput SLO ${slo} ms` }] },
        mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: 'firebrick', fontSize: 10 },
        encoding: { y: { field: 'slo', type: 'quantitative' }, x: { value: 0 }, text: { field: 'label' } },
      });
    }
    return {
      title: `${metric} against throughput (labels: ${param})`,
      width: 380,
      height: 240,
      transform: [{ filter: `datum.metric === '${metric}'` }],
      layer: layers,
    };
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    background: 'white',
    data: { values: rows },
    hconcat: [panel('TTFT', slos.ttft), panel('TPOT', slos.tpot)],
    config: { legend: { orient: 'top' } },
  };
}

function cell(v: number | null, digits = 1): string {
  return v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

export async function runSweep(
  o: BenchOptions,
  io: RunBenchIo,
  runOnce: (o: BenchOptions, io: RunBenchIo) => Promise<RunOutcome>,
): Promise<{ code: number; report: BenchReport | null }> {
  const out = io.stdout ?? ((s: string) => process.stdout.write(s));
  const spec = o.sweep!;
  const points: SweepPoint[] = [];
  let last: BenchReport | null = null;
  for (const value of spec.values) {
    out(`=== sweep ${spec.param}=${value} ===\n`);
    const r = await runOnce(pointOptions(o, value), io);
    if (r.report === null || r.table === null || r.result === null) return { code: r.code, report: null };
    last = r.report;
    points.push(sweepPoint(spec.param, value, r.table, r.result));
  }
  const header = [spec.param, 'completed', 'req/s', 'out tok/s', 'TTFT p50', 'TTFT p99', 'TPOT p50', 'TPOT p99', 'goodput/s'];
  const rows = points.map((p) => [String(p.value), String(p.completed), cell(p.request_throughput, 2), cell(p.output_throughput), cell(p.ttft_p50_ms, 2), cell(p.ttft_p99_ms, 2), cell(p.tpot_p50_ms, 2), cell(p.tpot_p99_ms, 2), cell(p.request_goodput, 2)]);
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  const line = (cells: string[]): string => cells.map((c, k) => (k === 0 ? c.padEnd(widths[k]!) : c.padStart(widths[k]!))).join('  ');
  out(`\nSweep of ${spec.param} (same seed; latencies in ms, ${points[0]?.times ?? ''})\n${line(header)}\n${rows.map(line).join('\n')}\n`);
  if (o.plot !== undefined) {
    const svg = await renderSpec(sweepSpec(points, { ttft: o.goodput?.ttft, tpot: o.goodput?.tpot }, `trtllm-metrics bench: sweep of ${spec.param}, ${last?.config.model ?? ''}`), 'bench --sweep');
    writeFileSync(o.plot, svg);
    out(`wrote ${o.plot}\n`);
  }
  return { code: points.some((p) => p.completed > 0) ? 0 : 1, report: last };
}
