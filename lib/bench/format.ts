/** The human-readable summary printed after a run (stdout). Latencies in milliseconds. */
import { percentileKey, type PercentileMetric } from './arg-parsers.js';
import type { BenchReport, EngineMetricKey } from './report.js';
import type { Summary } from './percentiles.js';

function num(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  return v.toFixed(digits);
}

function ms(v: number | null | undefined): string {
  return v === null || v === undefined ? '-' : num(v * 1000, v * 1000 >= 100 ? 1 : 2);
}

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
}

function summaryCells(s: Summary | null | undefined): string[] {
  if (!s || s.count === 0) return ['-', '-', '-', '-'];
  return [ms(s.mean), ms(s.p50), ms(s.p90), ms(s.p99)];
}

function pct(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '-';
  return `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}%`;
}

/** What the vLLM-style block needs to know (BenchOptions' fields). */
export interface FormatSelection {
  percentileMetrics: readonly PercentileMetric[];
  metricPercentiles: readonly number[];
}

const METRIC_TITLES: Record<PercentileMetric, string> = {
  ttft: 'TTFT',
  ttst: 'TTST',
  tpot: 'TPOT',
  itl: 'ITL',
  e2el: 'E2EL',
  client_queue_time: 'Client queue',
  e2el_including_client_queue: 'E2EL + queue',
};

export function formatReport(r: BenchReport, result?: Record<string, unknown> | null, sel?: FormatSelection): string {
  const out: string[] = [];
  const c = r.config;
  const ramp = c.load?.ramp_up;
  const gamma = c.load && c.load.burstiness !== 1 ? ` (burstiness ${c.load.burstiness})` : '';
  const rate = (ramp ? `${ramp.strategy} ramp ${ramp.start_rps}->${ramp.end_rps}/s` : c.request_rate === null ? 'inf' : `${c.request_rate}/s`) + gamma;
  const conc = c.concurrency === null ? 'unbounded' : String(c.concurrency);
  const timed = c.load?.duration_s ? ` in ${c.load.duration_s} s` : '';
  out.push(`trtllm-metrics bench: ${r.requests.sent} requests${timed} to ${c.target === 'url' ? c.url : 'the in-process simulator'} (model ${c.model})`);
  out.push(`  request rate ${rate}, concurrency ${conc}, seed ${c.seed}, input ${c.dataset ?? c.input_len}, output ${c.dataset && !c.output_len ? 'dataset' : c.output_len}` +
    (c.prefix_share ? `, prefix share ${c.prefix_share.fraction}:${c.prefix_share.tokens}` : ''));
  const reasons = Object.entries(r.requests.finish_reasons).map(([k, v]) => `${k} ${v}`).join(', ');
  out.push(`  completed ${r.requests.completed}, failed ${r.requests.failed}${reasons ? ` (${reasons})` : ''}`);
  const kinds = Object.entries(r.requests.errors_by_kind ?? {}).map(([k, v]) => `${k} ${v}`).join(', ');
  if (kinds) out.push(`  not completed by kind: ${kinds}`);
  for (const e of r.requests.errors.slice(0, 5)) out.push(`  error x${e.count}: ${e.message}`);
  const g = r.goodput;
  if (g) {
    const slos = Object.entries(g.slos_ms).map(([k, v]) => `${k} <= ${v} ms`).join(', ');
    out.push(`  goodput: ${g.good} of ${g.completed} completed requests met ${slos} (${pct(g.fraction).replace('+', '')}), ${num(g.request_goodput)} req/s (${g.reference} side)`);
  }
  out.push('');

  const e = r.engine;
  const engineClock = e ? (e.clock === 'simulated' ? 'engine (simulated clock)' : 'engine (steady clock)') : null;
  const tw = [24, 16, ...(e ? [26] : [])];
  out.push(pad(['', 'client (wall)', ...(engineClock ? [engineClock] : [])], tw));
  const row = (label: string, cv: string, ev: string): void => {
    out.push(pad([label, cv, ...(e ? [ev] : [])], tw));
  };
  row('Duration (s)', num(r.client.duration_s, 3), num(e?.duration_s, 3));
  row('Requests/s', num(r.client.request_throughput), num(e?.request_throughput));
  row('Output tokens/s', num(r.client.output_token_throughput, 1), num(e?.output_token_throughput, 1));
  row('Total tokens/s', num(r.client.total_token_throughput, 1), num(e?.total_token_throughput, 1));
  const pair = (a: number | null, b: number | null): string => (a === null || b === null ? '-' : `${a}/${b}`);
  row('Input / output tokens', pair(r.client.input_tokens, r.client.output_tokens), e ? pair(e.input_tokens, e.output_tokens) : '');
  const count = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : String(v));
  if (e || r.client.cached_tokens !== null) row('Cached prompt tokens', count(r.client.cached_tokens), count(e?.cached_tokens));
  if (e?.kv_cache.hit_rate !== null && e) row('KV block hit rate', '', pct(e.kv_cache.hit_rate).replace('+', ''));
  out.push('');

  const w = [12, 9, 9, 9, 9];
  const header = ['(ms)', 'mean', 'p50', 'p90', 'p99'];
  const block = (title: string, rows: Array<[string, Summary | null | undefined]>): void => {
    out.push(title);
    out.push(pad(header, w));
    for (const [label, s] of rows) out.push(pad([label, ...summaryCells(s)], w));
    out.push('');
  };
  block('Client side (wall clock)', [
    ['TTFT', r.client.ttft_s],
    ['TTST', r.client.ttst_s],
    ['TPOT', r.client.tpot_s],
    ['ITL', r.client.itl_s],
    ['E2E', r.client.e2e_s],
  ]);
  if (e) {
    block(`Engine side (perf metrics, ${e.clock} clock)`, [
      ['TTFT', e.ttft_s],
      ['TPOT', e.tpot_s],
      ['E2E', e.e2e_s],
      ['Queue', e.queue_s],
      ['Prefill', e.prefill_s],
      ['Decode', e.decode_s],
    ]);
  }
  const p = r.prometheus;
  if (p) {
    out.push(`Prometheus histogram_quantile vs exact ${p.reference}-side percentile (ms; error relative to exact)`);
    const pw = [12, 26, 26, 26];
    out.push(pad(['', 'p50 prom/exact err', 'p90 prom/exact err', 'p99 prom/exact err'], pw));
    const labels: Record<EngineMetricKey, string> = { ttft_s: 'TTFT', tpot_s: 'TPOT', e2e_s: 'E2E', queue_s: 'Queue', prefill_s: 'Prefill', decode_s: 'Decode' };
    for (const [key, m] of Object.entries(p.metrics) as Array<[EngineMetricKey, NonNullable<(typeof p.metrics)[EngineMetricKey]>]>) {
      const cells = m.quantiles.map((q) => `${ms(q.prometheus)}/${ms(q.exact)} ${pct(q.relative_error)}`);
      out.push(pad([labels[key], ...cells], pw));
    }
    out.push('');
  }
  if (result && sel) {
    const ps = sel.metricPercentiles.map(percentileKey);
    out.push(`vLLM's result keys (${String(result.times_from)}; --percentile-metrics, --metric-percentiles)`);
    const vw = [14, 10, 10, 10, ...ps.map(() => 10)];
    out.push(pad(['(ms)', 'mean', 'median', 'std', ...ps], vw));
    const v = (k: string): string => num(result[k] as number | null);
    for (const m of sel.percentileMetrics) {
      out.push(pad([METRIC_TITLES[m], v(`mean_${m}_ms`), v(`median_${m}_ms`), v(`std_${m}_ms`), ...ps.map((p) => v(`${p}_${m}_ms`))], vw));
    }
    out.push(`request_throughput ${v('request_throughput')}  request_goodput ${v('request_goodput')}  output_throughput ${v('output_throughput')}  max_concurrent_requests ${v('max_concurrent_requests')}`);
    out.push('');
  }
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n').replace(/\n*$/, '\n');
}
