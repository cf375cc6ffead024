/**
 * What every metric group of a collector shares: the registry, the name prefix, the collector's base labels,
 * and the bookkeeping of the families it uses (so that close() can release its series).
 */
import type { Registry } from 'prom-client';
import {
  obtainCounter,
  obtainGauge,
  obtainHistogram,
  type FastCounter,
  type FastFamily,
  type FastGauge,
  type FastHistogram,
  type LabelSet,
} from './fast-metrics.js';

export interface MetricsContext {
  readonly registry: Registry;
  /** Metric name prefix, e.g. `trtllm_`. */
  readonly prefix: string;
  /** The collector's base label values, in exposition order (model_name, engine_type, extras). */
  readonly labels: LabelSet;
  readonly labelNames: readonly string[];
  /** The owner of every series this collector creates. */
  readonly owner: object;
  /** Every family this collector has series in. */
  readonly families: Set<FastFamily>;
}

export function counterFamily(ctx: MetricsContext, suffix: string, help: string, extra: readonly string[] = []): FastCounter {
  const f = obtainCounter(ctx.registry, { name: ctx.prefix + suffix, help, labelNames: [...ctx.labelNames, ...extra] });
  ctx.families.add(f);
  return f;
}

export function gaugeFamily(ctx: MetricsContext, suffix: string, help: string, extra: readonly string[] = []): FastGauge {
  const f = obtainGauge(ctx.registry, { name: ctx.prefix + suffix, help, labelNames: [...ctx.labelNames, ...extra] });
  ctx.families.add(f);
  return f;
}

export function histogramFamily(
  ctx: MetricsContext,
  suffix: string,
  help: string,
  buckets: readonly number[],
  extra: readonly string[] = [],
): FastHistogram {
  const f = obtainHistogram(ctx.registry, {
    name: ctx.prefix + suffix,
    help,
    labelNames: [...ctx.labelNames, ...extra],
    buckets,
  });
  ctx.families.add(f);
  return f;
}

/** The base labels plus extra label values (the extra keys come last). */
export function withLabels(ctx: MetricsContext, extra: Readonly<Record<string, string>>): LabelSet {
  return { ...ctx.labels, ...extra };
}

/** A context for a metric group that lives beside a collector (same registry, prefix and base labels). */
export function standaloneContext(options: { registry: Registry; labels: Readonly<Record<string, string>>; prefix?: string }, owner: object): MetricsContext {
  return {
    registry: options.registry,
    prefix: options.prefix ?? 'trtllm_',
    labels: options.labels,
    labelNames: Object.keys(options.labels),
    owner,
    families: new Set<FastFamily>(),
  };
}
