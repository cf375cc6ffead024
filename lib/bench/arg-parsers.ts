/**
 * Parsers of the bench flags whose values have a syntax of their own, written as `vllm bench serve` takes
 * them (vllm/benchmarks/serve.py): `--goodput ttft:500 tpot:50`, `--percentile-metrics ttft,tpot,itl`,
 * `--metric-percentiles 50,90,99`, `--metadata K=V ...`, `--header K=V ...`, `--extra-body JSON`. Each throws
 * InvalidArgumentError with a sentence naming what is wrong (the option table adds the flag).
 */
import { InvalidArgumentError } from '../errors.js';

/** Metrics that take an SLO in --goodput (vLLM's names). */
export const GOODPUT_METRICS = ['ttft', 'tpot', 'e2el'] as const;
export type GoodputMetric = (typeof GOODPUT_METRICS)[number];
export type GoodputSlos = Partial<Record<GoodputMetric, number>>;

/** Metrics --percentile-metrics can select: vLLM's, plus aiperf's time to second token. */
export const PERCENTILE_METRICS = ['ttft', 'tpot', 'itl', 'e2el', 'ttst', 'client_queue_time', 'e2el_including_client_queue'] as const;
export type PercentileMetric = (typeof PERCENTILE_METRICS)[number];

/** "ttft:500 tpot:50" (space- or comma-separated KEY:MS pairs) -> SLOs in milliseconds. */
export function parseGoodput(text: string): GoodputSlos {
  const pairs = text.split(/[\s,]+/).filter((p) => p.length > 0);
  if (pairs.length === 0) throw new InvalidArgumentError('takes KEY:MS pairs, e.g. ttft:500 tpot:50');
  const out: GoodputSlos = {};
  for (const pair of pairs) {
    const m = /^([a-z0-9_]+):([0-9]*\.?[0-9]+(?:e[-+]?\d+)?)$/i.exec(pair);
    if (!m) throw new InvalidArgumentError(`takes KEY:MS pairs (a metric name and milliseconds), got ${JSON.stringify(pair)}`);
    const key = m[1]!.toLowerCase();
    if (!(GOODPUT_METRICS as readonly string[]).includes(key)) {
      throw new InvalidArgumentError(`names an SLO of ${GOODPUT_METRICS.join(', ')}, got ${JSON.stringify(key)}`);
    }
    out[key as GoodputMetric] = Number(m[2]);
  }
  return out;
}

/** "ttft,tpot,itl" -> the metric names (each one once). */
export function parsePercentileMetrics(text: string): PercentileMetric[] {
  const names = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new InvalidArgumentError(`takes a comma-separated list of ${PERCENTILE_METRICS.join(', ')}`);
  for (const n of names) {
    if (!(PERCENTILE_METRICS as readonly string[]).includes(n)) {
      throw new InvalidArgumentError(`takes metrics of ${PERCENTILE_METRICS.join(', ')}, got ${JSON.stringify(n)}`);
    }
  }
  return [...new Set(names)] as PercentileMetric[];
}

/** "50,90,99" -> percentiles in (0, 100]. */
export function parseMetricPercentiles(text: string): number[] {
  const parts = text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new InvalidArgumentError('takes a comma-separated list of percentiles, e.g. 50,90,99');
  return parts.map((p) => {
    const v = /^[0-9]*\.?[0-9]+$/.test(p) ? Number(p) : Number.NaN;
    if (!(v > 0 && v <= 100)) throw new InvalidArgumentError(`takes percentiles in (0, 100], got ${JSON.stringify(p)}`);
    return v;
  });
}

/** vLLM's key of a percentile: "p99", "p99.9" (Python's str of the float, without a trailing ".0"). */
export function percentileKey(p: number): string {
  return `p${String(p)}`;
}

/** "K=V K2=V2" -> pairs in order (the value may hold '='; keys and values are trimmed). */
export function parseKeyValues(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const item of text.split(/\s+/).filter((p) => p.length > 0)) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`takes KEY=VALUE pairs, got ${JSON.stringify(item)}`);
    out.push([item.slice(0, eq).trim(), item.slice(eq + 1).trim()]);
  }
  return out;
}

/** A JSON object (--extra-body). */
export function parseJsonObject(text: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`must be a JSON object: ${(err as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InvalidArgumentError('must be a JSON object');
  return v as Record<string, unknown>;
}
