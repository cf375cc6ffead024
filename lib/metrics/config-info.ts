/**
 * Configuration info gauges: `*_config_info` = 1 with the configuration as labels (the info-metric pattern
 * of TensorRT-LLM, vLLM and SGLang). Logging a configuration again replaces this collector's series.
 */
import { InvalidArgumentError } from '../errors.js';
import { gaugeFamily, type MetricsContext } from './context.js';
import { isValidLabelName, type FastGauge, type GaugeChild } from './fast-metrics.js';

export type ConfigLabelValue = string | number | boolean | bigint;
export type ConfigLabels = Readonly<Record<string, ConfigLabelValue | null | undefined>>;

export interface ConfigInfo {
  model?: ConfigLabels;
  parallel?: ConfigLabels;
  speculative?: ConfigLabels;
  kvCache?: ConfigLabels;
}

export const CONFIG_INFO_FAMILIES = {
  model: ['model_config_info', 'The model configuration, as labels; the value is 1.'],
  parallel: ['parallel_config_info', 'The parallelism configuration, as labels; the value is 1.'],
  speculative: ['speculative_config_info', 'The speculative decoding configuration, as labels; the value is 1.'],
  kvCache: ['kv_cache_config_info', 'The KV cache configuration, as labels; the value is 1.'],
} as const;

type Kind = keyof typeof CONFIG_INFO_FAMILIES;

let nextId = 1;

export class ConfigInfoMetrics {
  private readonly id = nextId++;
  private readonly families: Record<Kind, FastGauge>;
  private readonly current: Partial<Record<Kind, GaugeChild>> = {};

  constructor(private readonly ctx: MetricsContext) {
    const fams = {} as Record<Kind, FastGauge>;
    for (const kind of Object.keys(CONFIG_INFO_FAMILIES) as Kind[]) {
      const [suffix, help] = CONFIG_INFO_FAMILIES[kind];
      fams[kind] = gaugeFamily(ctx, suffix, help);
    }
    this.families = fams;
  }

  log(info: ConfigInfo): void {
    if (info === null || typeof info !== 'object') throw new InvalidArgumentError('config info must be an object');
    for (const key of Object.keys(info)) {
      if (!Object.prototype.hasOwnProperty.call(CONFIG_INFO_FAMILIES, key)) {
        throw new InvalidArgumentError(
          `config info: unknown section ${key} (known: ${Object.keys(CONFIG_INFO_FAMILIES).join(', ')})`,
        );
      }
    }
    // Validate every section before changing any series.
    const prepared: Array<[Kind, Record<string, string>]> = [];
    for (const kind of Object.keys(CONFIG_INFO_FAMILIES) as Kind[]) {
      const section = info[kind];
      if (section === undefined || section === null) continue;
      const labels = this.labelsOf(kind, section);
      if (labels !== null) prepared.push([kind, labels]);
    }
    for (const [kind, labels] of prepared) {
      const family = this.families[kind];
      const old = this.current[kind];
      if (old !== undefined) family.removeChild(old);
      const key = `${this.id}\u0002${JSON.stringify(labels)}`;
      const child = family.childWithKey(key, labels, this.ctx.owner);
      child.set(1);
      this.current[kind] = child;
    }
  }

  private labelsOf(kind: Kind, section: ConfigLabels): Record<string, string> | null {
    if (typeof section !== 'object' || Array.isArray(section)) {
      throw new InvalidArgumentError(`config info ${kind} must be an object of label values`);
    }
    const labels: Record<string, string> = { ...this.ctx.labels };
    let n = 0;
    for (const name of Object.keys(section)) {
      const v = section[name];
      if (v === undefined || v === null) continue;
      if (!isValidLabelName(name) || name === 'le' || name === 'quantile') {
        throw new InvalidArgumentError(`config info ${kind}: ${JSON.stringify(name)} is not a valid label name`);
      }
      if (Object.prototype.hasOwnProperty.call(this.ctx.labels, name)) {
        throw new InvalidArgumentError(`config info ${kind}: label ${name} collides with a collector label`);
      }
      const t = typeof v;
      if (t !== 'string' && t !== 'number' && t !== 'boolean' && t !== 'bigint') {
        throw new InvalidArgumentError(`config info ${kind}.${name} must be a string, number or boolean, got ${t}`);
      }
      labels[name] = String(v);
      n++;
    }
    // An empty section logs nothing, as TensorRT-LLM does.
    return n > 0 ? labels : null;
  }
}
