/**
 * Prometheus text exposition (0.0.4) and OpenMetrics 1.0 rendering, written to produce byte for byte what
 * prom-client's `Registry.metrics()` produces for the same metric objects, so that a scrape served by our
 * renderer and a user's `registry.metrics()` agree. Our own families (fast-metrics.ts) render themselves
 * synchronously from precomputed line prefixes; any other prom-client metric in the registry is rendered
 * from its `get()` output, the way prom-client does.
 */
import type { Registry } from 'prom-client';

/** Content-Type of the Prometheus text format 0.0.4 (what prom-client's Registry reports). */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
/** Content-Type of OpenMetrics 1.0.0. */
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

/**
 * A metric object that renders its own family: it appends the pieces of its text (HELP, TYPE and sample
 * lines, no trailing newline) to `out`. Pieces are flat strings joined once per scrape; building one long
 * string with `+=` would leave a rope that costs more to flatten than to build.
 */
export const RENDER: unique symbol = Symbol.for('trtllm-metrics.render');
export interface SelfRendering {
  [RENDER](openMetrics: boolean, out: string[]): void;
}

/** The text of one self-rendering family. */
export function renderFamily(metric: SelfRendering, openMetrics = false): string {
  const out: string[] = [];
  metric[RENDER](openMetrics, out);
  return out.join('');
}

export function isSelfRendering(m: unknown): m is SelfRendering {
  return typeof m === 'object' && m !== null && typeof (m as Record<symbol, unknown>)[RENDER] === 'function';
}

/** HELP text and metric-name escaping: backslash and newline. */
export function escapeHelp(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Label-value escaping: backslash, newline and double quote. Non-strings are written as String(v). */
export function escapeLabelValue(v: unknown): string {
  if (typeof v !== 'string') return `${v as string}`;
  return escapeHelp(v).replace(/"/g, '\\"');
}

/** Sample values the way prom-client writes them (`Nan` is prom-client's spelling; we never emit NaN). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

/** `a="x",b="y"` in the object's key order, skipping keys present in `exclude`. */
export function formatLabelPairs(labels: Readonly<Record<string, unknown>>, exclude?: object): string {
  let out = '';
  for (const key of Object.keys(labels)) {
    if (exclude !== undefined && Object.prototype.hasOwnProperty.call(exclude, key)) continue;
    if (out.length > 0) out += ',';
    out += `${key}="${escapeLabelValue(labels[key])}"`;
  }
  return out;
}

interface SampleLike {
  value: number;
  labels?: Record<string, unknown>;
  sharedLabels?: Record<string, unknown>;
  metricName?: string;
  exemplar?: { labelSet: Record<string, unknown>; value: number; timestamp: number } | null;
}
interface FamilyDataLike {
  name: string;
  help: string;
  type: string;
  values?: SampleLike[];
}
interface MetricLike {
  name: string;
  type?: string;
  get(): Promise<FamilyDataLike> | FamilyDataLike;
  getForPromString?(): Promise<FamilyDataLike> | FamilyDataLike;
}

/** Renders one family from the data a prom-client metric returns (any metric, ours included). */
export async function renderMetricGeneric(
  metric: MetricLike,
  openMetrics: boolean,
  defaultLabels: Readonly<Record<string, unknown>> | null,
): Promise<string> {
  const data =
    typeof metric.getForPromString === 'function' ? await metric.getForPromString() : await metric.get();
  return formatFamilyData(data, openMetrics, defaultLabels);
}

/** Formats family data (the shape of prom-client's get()/getForPromString()). */
export function formatFamilyData(
  data: FamilyDataLike,
  openMetrics: boolean,
  defaultLabels: Readonly<Record<string, unknown>> | null,
): string {
  const isCounter = data.type === 'counter';
  const familyName = escapeHelp(openMetrics && isCounter ? data.name.replace(/_total$/, '') : data.name);
  let out = `# HELP ${familyName} ${escapeHelp(data.help)}\n# TYPE ${familyName} ${data.type}`;
  for (const val of data.values ?? []) {
    let name = val.metricName === undefined ? familyName : val.metricName;
    if (openMetrics && isCounter) name = `${name}_total`;
    let labels: Record<string, unknown> = val.labels === undefined ? {} : val.labels;
    const shared = val.sharedLabels === undefined ? {} : val.sharedLabels;
    if (defaultLabels) labels = { ...labels, ...defaultLabels, ...labels };
    const own = formatLabelPairs(labels, shared);
    const sharedStr = formatLabelPairs(shared);
    const inner = own && sharedStr ? `${own},${sharedStr}` : own || sharedStr;
    out += `\n${name}${inner ? `{${inner}}` : ''} ${formatValue(val.value)}`;
    const ex = val.exemplar;
    if (ex && openMetrics) {
      out += ` # {${formatLabelPairs(ex.labelSet)}} ${formatValue(ex.value)} ${ex.timestamp}`;
    }
  }
  return out;
}

function defaultLabelsOf(registry: Registry): Readonly<Record<string, unknown>> | null {
  const d = (registry as unknown as { _defaultLabels?: Record<string, unknown> })._defaultLabels;
  return d && Object.keys(d).length > 0 ? d : null;
}

/**
 * Renders every metric of the registries, in registration order, as one exposition. Equal, byte for byte,
 * to `registry.metrics()` of a registry holding the same metrics in the requested format (prom-client's
 * OpenMetrics output is reproduced without mutating counter names, as prom-client itself does).
 * Our families render synchronously; other metrics are awaited (their collect() may be async).
 */
export async function renderRegistries(
  registries: readonly Registry[],
  format: ExpositionFormat = 'prometheus',
): Promise<string> {
  const om = format === 'openmetrics';
  const sep = om ? '\n' : '\n\n';
  const out: string[] = [];
  const pending: Array<[number, Promise<string>]> = [];
  let first = true;
  for (const registry of registries) {
    const defaults = defaultLabelsOf(registry);
    for (const metric of registry.getMetricsAsArray() as unknown as MetricLike[]) {
      if (!first) out.push(sep);
      first = false;
      if (defaults === null && isSelfRendering(metric)) {
        metric[RENDER](om, out);
      } else {
        pending.push([out.length, renderMetricGeneric(metric, om, defaults)]);
        out.push('');
      }
    }
  }
  if (pending.length > 0) {
    const texts = await Promise.all(pending.map((p) => p[1]));
    for (let i = 0; i < pending.length; i++) out[pending[i][0]] = texts[i];
  }
  out.push(om ? '\n# EOF\n' : '\n');
  return out.join('');
}

/**
 * Chooses the format from an HTTP Accept header: OpenMetrics when the client lists
 * application/openmetrics-text (version 1.0.0 or unversioned) with a q-value at least that of the text
 * format (text/plain, or a wildcard), else the Prometheus text format.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (!accept) return 'prometheus';
  let omQ = -1;
  let textQ = -1;
  for (const part of accept.split(',')) {
    const params = part.split(';');
    const type = params[0].trim().toLowerCase();
    let q = 1;
    let version: string | undefined;
    for (let i = 1; i < params.length; i++) {
      const eq = params[i].indexOf('=');
      if (eq < 0) continue;
      const key = params[i].slice(0, eq).trim().toLowerCase();
      const value = params[i].slice(eq + 1).trim();
      if (key === 'q') {
        const n = Number(value);
        q = Number.isFinite(n) ? n : 0;
      } else if (key === 'version') {
        version = value;
      }
    }
    if (type === 'application/openmetrics-text') {
      if (version === undefined || version === '1.0.0') omQ = Math.max(omQ, q);
    } else if (type === 'text/plain' || type === '*/*' || type === 'text/*') {
      textQ = Math.max(textQ, q);
    }
  }
  return omQ > 0 && omQ >= textQ ? 'openmetrics' : 'prometheus';
}

/** True when the Accept-Encoding header lists gzip without q=0. */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (!value) return false;
  for (const part of value.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== 'x-gzip') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}
