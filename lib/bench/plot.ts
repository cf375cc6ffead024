/**
 * --plot FILE.svg: latency CDFs (client and engine side, one panel per metric; engine side only with the
 * virtual clock, whose simulated times share no scale with the client's wall times) above a throughput time
 * series, described as a Vega-Lite spec and rendered to SVG headless by Vega (no browser, no canvas).
 * vega and vega-lite are ES modules, loaded on demand only when a plot is asked for.
 */
import { importOptional } from '../optional-dependency.js';
import { percentileSorted, sortedCopy } from './percentiles.js';

/** Optional peer dependencies the plot needs (package.json peerDependenciesMeta). */
const PLOT_PACKAGES = ['vega', 'vega-lite'] as const;
import type { BenchReport, Distributions } from './report.js';

/** Points per CDF line (evenly spaced quantiles). */
const CDF_POINTS = 200;

const LABELS: Record<string, string> = {
  ttft_s: 'TTFT',
  tpot_s: 'TPOT',
  itl_s: 'ITL',
  e2e_s: 'E2E',
  queue_s: 'Queue',
};

interface CdfPoint {
  metric: string;
  side: string;
  ms: number;
  fraction: number;
}

function cdfPoints(values: Float64Array, metric: string, side: string, out: CdfPoint[]): void {
  if (values.length === 0) return;
  const sorted = sortedCopy(values);
  for (let k = 0; k <= CDF_POINTS; k++) {
    const f = k / CDF_POINTS;
    out.push({ metric, side, ms: percentileSorted(sorted, f * 100)! * 1000, fraction: f });
  }
}

/** The Vega-Lite spec of the figure (exported for tests and for users who want to restyle it). */
export function plotSpec(report: BenchReport, d: Distributions): Record<string, unknown> {
  const points: CdfPoint[] = [];
  const clientSide = 'client (wall)';
  const engineSide = report.engine ? `engine (${report.engine.clock})` : 'engine';
  // With the virtual clock, client wall times and simulated engine times share no scale: engine side only.
  const showClient = report.engine === null || report.engine.clock !== 'simulated';
  if (showClient) for (const key of ['ttft_s', 'tpot_s', 'itl_s', 'e2e_s'] as const) cdfPoints(d.client[key], LABELS[key]!, clientSide, points);
  if (d.engine) for (const key of ['ttft_s', 'tpot_s', 'e2e_s', 'queue_s'] as const) cdfPoints(d.engine[key], LABELS[key]!, engineSide, points);
  const ts = report.timeseries;
  const series = ts
    ? ts.output_tokens_per_s.map((v, i) => ({ t: (i + 0.5) * ts.bin_s, tokens_per_s: v, requests_per_s: ts.requests_per_s[i] }))
    : [];
  const metricsOrder = ['TTFT', 'TPOT', 'ITL', 'E2E', 'Queue'].filter((m) => points.some((p) => p.metric === m));
  const panels: Record<string, unknown>[] = [];
  if (points.length > 0) {
    panels.push({
      title: 'Latency CDFs',
      data: { values: points },
      facet: { field: 'metric', type: 'nominal', sort: metricsOrder, title: null },
      columns: 3,
      spec: {
        width: 240,
        height: 160,
        mark: { type: 'line', interpolate: 'step-after' },
        encoding: {
          x: { field: 'ms', type: 'quantitative', title: 'latency (ms)' },
          y: { field: 'fraction', type: 'quantitative', title: 'cumulative fraction', scale: { domain: [0, 1] } },
          color: { field: 'side', type: 'nominal', title: null },
        },
      },
      resolve: { scale: { x: 'independent' } },
    });
  }
  if (series.length > 0) {
    panels.push({
      title: `Output throughput over time (${ts!.clock} clock)`,
      data: { values: series },
      width: 780,
      height: 180,
      mark: { type: 'line', interpolate: 'monotone' },
      encoding: {
        x: { field: 't', type: 'quantitative', title: 'time since first arrival (s)' },
        y: { field: 'tokens_per_s', type: 'quantitative', title: 'output tokens/s' },
      },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `trtllm-metrics bench: ${report.requests.completed} requests, ${report.config.model}`,
    background: 'white',
    vconcat: panels,
    config: { legend: { orient: 'top' } },
  };
}

/** The few entry points used (vega and vega-lite are ES modules; this package compiles to CommonJS). */
interface VegaView {
  toSVG(): Promise<string>;
  finalize(): void;
}
interface VegaModule {
  parse(spec: unknown): unknown;
  View: new (runtime: unknown, options: { renderer: 'none' }) => VegaView;
}
interface VegaLiteModule {
  compile(spec: unknown): { spec: unknown };
}

/** Renders the figure to an SVG string. */
export async function renderPlot(report: BenchReport, d: Distributions): Promise<string> {
  return renderSpec(plotSpec(report, d), 'bench --plot');
}

/** Renders a Vega-Lite spec to an SVG string (`feature` names what needs vega in the missing-package error). */
export async function renderSpec(spec: Record<string, unknown>, feature: string): Promise<string> {
  const vega = await importOptional<VegaModule>('vega', PLOT_PACKAGES, feature);
  const vl = await importOptional<VegaLiteModule>('vega-lite', PLOT_PACKAGES, feature);
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
