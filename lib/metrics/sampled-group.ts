/**
 * A group of metric families that lives beside a collector (same registry, prefix and base labels) and whose
 * values are sampled from a source at scrape time, once per scrape: the worker's health, the slow-reader cuts.
 */
import type { Registry } from 'prom-client';
import { standaloneContext, type MetricsContext } from './context.js';
import { OncePerPass, releaseFamilies } from './fast-metrics.js';

export interface SampledGroupOptions {
  registry: Registry;
  /** Base labels of every series, e.g. { model_name, engine_type } (a MetricsCollector's `labels`). */
  labels: Readonly<Record<string, string>>;
  /** Default `trtllm_`. */
  prefix?: string;
}

export class SampledGroup {
  private readonly ctx: MetricsContext;
  private readonly hook: OncePerPass;
  private closed = false;

  /** `define` creates the families and series in `ctx` and returns what copies the source's values into them. */
  constructor(options: SampledGroupOptions, define: (ctx: MetricsContext, owner: object) => () => void) {
    this.ctx = standaloneContext(options, this);
    const sample = define(this.ctx, this);
    this.hook = new OncePerPass(() => {
      if (!this.closed) sample();
    });
    for (const f of this.ctx.families) f.addScrapeHook(this.hook.run);
    this.hook.run();
  }

  /** Removes the group's series from the registry. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.ctx.families) f.removeScrapeHook(this.hook.run);
    releaseFamilies(this.ctx.registry, this.ctx.families, this);
  }
}
