/**
 * Fast-recording metric families.
 *
 * prom-client hashes the label object on every observe()/inc() (a string built from every label, then a
 * map lookup). Our label sets are fixed when a collector is built, so each series ("child") is an object the
 * collector holds directly: recording is a bucket search and three additions on a Float64Array, no hashing.
 *
 * The families are real prom-client metric objects (subclasses of Counter, Gauge and Histogram), registered
 * in a prom-client Registry: `registry.metrics()`, `getSingleMetric`, `getMetricsAsJSON` and
 * `Registry.merge` see them as ordinary metrics, and their `get()` returns exactly what a plain prom-client
 * metric returns after the same observations (series in first-use order; a series appears on its first
 * observation, as in prom-client). prom-client's own recording methods (inc, dec, set, observe, labels,
 * remove, zero, reset, startTimer) keep working on them: they go, through the slow label-keyed path, into
 * the same series.
 *
 * A family may be shared by several collectors (one per model) registered in one registry; each owns its
 * series, and two owners may not claim the same label values.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { InvalidArgumentError } from '../errors.js';
import { escapeHelp, escapeLabelValue, formatLabelPairs, formatValue, RENDER, type SelfRendering } from './exposition.js';
import { sameBuckets } from './buckets.js';
import { EXEMPLAR_LABEL, type Exemplar } from './exemplars.js';

export type LabelSet = Readonly<Record<string, string>>;

/** The fields every prom-client metric has at runtime (its typings do not declare them). */
interface PromMetricFields {
  name: string;
  help: string;
  aggregator: string;
}
function pf(m: object): PromMetricFields {
  return m as unknown as PromMetricFields;
}

const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export function isValidLabelName(name: string): boolean {
  return LABEL_NAME_RE.test(name) && !name.startsWith('__');
}
export function isValidMetricName(name: string): boolean {
  return METRIC_NAME_RE.test(name);
}

/** Runs once per scrape (before a family is read): refreshes values that are sampled, not recorded. */
export type ScrapeHook = () => void;

export type AnyChild = CounterChild | GaugeChild | HistogramChild;

/** The series bookkeeping shared by the three family kinds. */
export class FamilyCore<C extends AnyChild> {
  readonly byKey = new Map<string, C>();
  /** Series that have been used, in first-use order (the order prom-client would list them). */
  active: C[] = [];
  readonly hooks: ScrapeHook[] = [];

  constructor(readonly labelNames: readonly string[]) {}

  keyOf(labels: Readonly<Record<string, unknown>>): string {
    let key = '';
    for (const n of this.labelNames) {
      const v = labels[n];
      key += v === undefined ? '\u0000' : String(v);
      key += '\u0001';
    }
    return key;
  }

  activate(child: C): void {
    child.active = true;
    this.active.push(child);
  }

  deactivate(child: C): void {
    if (!child.active) return;
    child.active = false;
    const i = this.active.indexOf(child);
    if (i >= 0) this.active.splice(i, 1);
  }

  runHooks(): void {
    for (let i = 0; i < this.hooks.length; i++) this.hooks[i]();
  }
}

function copyLabels(labels: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(labels)) {
    const v = labels[k];
    if (v !== undefined) out[k] = String(v);
  }
  return out;
}

function checkLabelNames(family: string, allowed: readonly string[], labels: object): void {
  for (const key of Object.keys(labels)) {
    if (!allowed.includes(key)) {
      throw new Error(`Added label "${key}" is not included in initial labelset: [ ${allowed.map((n) => `'${n}'`).join(', ')} ] (${family})`);
    }
  }
}

function isLabelObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

function defineMethod(target: object, name: string, fn: (...args: never[]) => unknown): void {
  Object.defineProperty(target, name, { value: fn, writable: true, configurable: true, enumerable: true });
}

function labelsFromArgs(labelNames: readonly string[], args: unknown[]): Record<string, unknown> {
  if (isLabelObject(args[0])) return args[0];
  if (args.length !== labelNames.length) {
    throw new Error(
      `Invalid number of arguments (${args.length}): "${args.join(', ')}" for label names (${labelNames.length}): "${labelNames.join(', ')}".`,
    );
  }
  const out: Record<string, unknown> = {};
  for (let i = 0; i < labelNames.length; i++) out[labelNames[i]] = args[i];
  return out;
}

function claim<C extends AnyChild>(core: FamilyCore<C>, family: string, key: string, owner: object | null, child: C): C {
  const existing = core.byKey.get(key);
  if (existing !== undefined) {
    if (owner !== null && existing.owner !== null && existing.owner !== owner) {
      throw new InvalidArgumentError(
        `series ${family}{${existing.labelStr}} is already recorded by another collector in this registry ` +
          `(give each collector distinct label values, e.g. a distinct model_name)`,
      );
    }
    if (owner !== null) existing.owner = owner;
    return existing;
  }
  core.byKey.set(key, child);
  return child;
}

// ---------------------------------------------------------------------------------------------------------
// Counter

export class CounterChild {
  value = 0;
  active = false;
  /** Sample line prefixes: `name{labels} ` in the Prometheus text format and in OpenMetrics. */
  readonly prefix: string;
  readonly prefixOM: string;

  constructor(
    readonly core: FamilyCore<CounterChild>,
    readonly labels: LabelSet,
    readonly labelStr: string,
    readonly key: string,
    public owner: object | null,
    name: string,
    omName: string,
  ) {
    const braces = labelStr ? `{${labelStr}}` : '';
    this.prefix = `${name}${braces} `;
    this.prefixOM = `${omName}${braces} `;
  }

  /** Adds v (>= 0). NaN, a negative value or one that would make the total non-finite is ignored: a counter is never corrupted. */
  inc(v: number): void {
    const next = this.value + v;
    if (!(v >= 0 && next <= Number.MAX_VALUE)) return;
    this.value = next;
    if (!this.active) this.core.activate(this);
  }

  /** Sets the cumulative value (for counters sampled at scrape from a monotonic source). */
  setTotal(v: number): void {
    this.value = v;
    if (!this.active) this.core.activate(this);
  }

  clear(): void {
    this.value = 0;
  }

  /** Exposes the series (at its current value) before its first increment. */
  show(): void {
    if (!this.active) this.core.activate(this);
  }
}

export interface FamilySpec {
  name: string;
  help: string;
  labelNames: readonly string[];
}

export class FastCounter extends Counter<string> implements SelfRendering {
  /** The name registered (prom-client may rename `name` of counters in an OpenMetrics registry). */
  readonly familyName: string;
  readonly core: FamilyCore<CounterChild>;
  private readonly headProm: string;
  private readonly headOM: string;
  private readonly omSampleName: string;

  constructor(spec: FamilySpec, registry: Registry | null) {
    super({ name: spec.name, help: spec.help, labelNames: [...spec.labelNames], registers: [] });
    this.familyName = spec.name;
    this.core = new FamilyCore<CounterChild>([...spec.labelNames]);
    const name = escapeHelp(spec.name);
    const base = escapeHelp(spec.name.replace(/_total$/, ''));
    const help = escapeHelp(spec.help);
    this.headProm = `# HELP ${name} ${help}\n# TYPE ${name} counter`;
    this.headOM = `# HELP ${base} ${help}\n# TYPE ${base} counter`;
    this.omSampleName = `${base}_total`;
    this.installRouting();
    if (registry) registry.registerMetric(this);
  }

  /** The series with these label values, created unused (it appears at its first inc). */
  child(labels: LabelSet, owner: object | null): CounterChild {
    const key = this.core.keyOf(labels);
    const found = this.core.byKey.get(key);
    if (found !== undefined) return claim(this.core, this.familyName, key, owner, found);
    const copy = Object.freeze(copyLabels(labels));
    const c = new CounterChild(this.core, copy, formatLabelPairs(copy), key, owner, escapeHelp(this.familyName), this.omSampleName);
    return claim(this.core, this.familyName, key, owner, c);
  }

  /** A series keyed by an explicit key (series whose label names vary, e.g. config info). */
  childWithKey(key: string, labels: LabelSet, owner: object | null): CounterChild {
    const found = this.core.byKey.get(key);
    if (found !== undefined) return claim(this.core, this.familyName, key, owner, found);
    const copy = Object.freeze(copyLabels(labels));
    const c = new CounterChild(this.core, copy, formatLabelPairs(copy), key, owner, escapeHelp(this.familyName), this.omSampleName);
    return claim(this.core, this.familyName, key, owner, c);
  }

  /** Removes every series owned by `owner`; returns how many series remain. */
  release(owner: object): number {
    return releaseOwner(this.core, owner);
  }

  addScrapeHook(hook: ScrapeHook): void {
    this.core.hooks.push(hook);
  }
  removeScrapeHook(hook: ScrapeHook): void {
    removeHook(this.core, hook);
  }

  override async get(): ReturnType<Counter<string>['get']> {
    this.core.runHooks();
    const data = {
      help: pf(this).help,
      name: pf(this).name,
      type: 'counter',
      values: this.core.active.map((c) => ({ value: c.value, labels: { ...c.labels } })),
      aggregator: pf(this).aggregator,
    };
    return data as unknown as Awaited<ReturnType<Counter<string>['get']>>;
  }

  override reset(): void {
    super.reset();
    if (this.core !== undefined) resetCore(this.core);
  }

  [RENDER](openMetrics: boolean, out: string[]): void {
    this.core.runHooks();
    out.push(openMetrics ? this.headOM : this.headProm);
    const active = this.core.active;
    for (let i = 0; i < active.length; i++) {
      const c = active[i];
      out.push(`\n${openMetrics ? c.prefixOM : c.prefix}${formatValue(c.value)}`);
    }
  }

  private slowChild(labels: Record<string, unknown>): CounterChild {
    checkLabelNames(this.familyName, this.core.labelNames, labels);
    return this.child(copyLabels(labels), null);
  }

  private installRouting(): void {
    const inc = (labels?: unknown, value?: number): void => {
      let lbl: Record<string, unknown> = {};
      let v: unknown = value;
      if (isLabelObject(labels)) lbl = labels;
      else v = labels;
      if (v && !Number.isFinite(v)) throw new TypeError(`Value is not a valid number: ${String(v)}`);
      if ((v as number) < 0) throw new Error('It is not possible to decrease a counter');
      if (v === null || v === undefined) v = 1;
      this.slowChild(lbl).inc(v as number);
    };
    defineMethod(this, 'inc', inc);
    defineMethod(this, 'labels', (...args: unknown[]) => {
      const lbl = labelsFromArgs(this.core.labelNames, args);
      return { inc: (value?: number) => inc(lbl, value) };
    });
    defineMethod(this, 'remove', (...args: unknown[]) => {
      removeSlow(this.core, labelsFromArgs(this.core.labelNames, args));
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Gauge

export class GaugeChild {
  value = 0;
  active = false;
  readonly prefix: string;

  constructor(
    readonly core: FamilyCore<GaugeChild>,
    readonly labels: LabelSet,
    readonly labelStr: string,
    readonly key: string,
    public owner: object | null,
    name: string,
  ) {
    this.prefix = `${name}${labelStr ? `{${labelStr}}` : ''} `;
  }

  /** Sets the value; NaN or an infinity (e.g. a ratio over a zero-ish denominator) is ignored. */
  set(v: number): void {
    if (!(v <= Number.MAX_VALUE && v >= -Number.MAX_VALUE)) return;
    this.value = v;
    if (!this.active) this.core.activate(this);
  }

  add(v: number): void {
    const next = this.value + v;
    if (!(next <= Number.MAX_VALUE && next >= -Number.MAX_VALUE)) return;
    this.value = next;
    if (!this.active) this.core.activate(this);
  }

  clear(): void {
    this.value = 0;
  }

  show(): void {
    if (!this.active) this.core.activate(this);
  }
}

export class FastGauge extends Gauge<string> implements SelfRendering {
  readonly familyName: string;
  readonly core: FamilyCore<GaugeChild>;
  private readonly head: string;

  constructor(spec: FamilySpec, registry: Registry | null) {
    super({ name: spec.name, help: spec.help, labelNames: [...spec.labelNames], registers: [] });
    this.familyName = spec.name;
    this.core = new FamilyCore<GaugeChild>([...spec.labelNames]);
    const name = escapeHelp(spec.name);
    this.head = `# HELP ${name} ${escapeHelp(spec.help)}\n# TYPE ${name} gauge`;
    this.installRouting();
    if (registry) registry.registerMetric(this);
  }

  child(labels: LabelSet, owner: object | null): GaugeChild {
    return this.childWithKey(this.core.keyOf(labels), labels, owner);
  }

  childWithKey(key: string, labels: LabelSet, owner: object | null): GaugeChild {
    const found = this.core.byKey.get(key);
    if (found !== undefined) return claim(this.core, this.familyName, key, owner, found);
    const copy = Object.freeze(copyLabels(labels));
    const c = new GaugeChild(this.core, copy, formatLabelPairs(copy), key, owner, escapeHelp(this.familyName));
    return claim(this.core, this.familyName, key, owner, c);
  }

  /** Removes one series (it disappears from the exposition). */
  removeChild(child: GaugeChild): void {
    this.core.deactivate(child);
    this.core.byKey.delete(child.key);
  }

  release(owner: object): number {
    return releaseOwner(this.core, owner);
  }

  addScrapeHook(hook: ScrapeHook): void {
    this.core.hooks.push(hook);
  }
  removeScrapeHook(hook: ScrapeHook): void {
    removeHook(this.core, hook);
  }

  override async get(): ReturnType<Gauge<string>['get']> {
    this.core.runHooks();
    const data = {
      help: pf(this).help,
      name: pf(this).name,
      type: 'gauge',
      values: this.core.active.map((c) => ({ value: c.value, labels: { ...c.labels } })),
      aggregator: pf(this).aggregator,
    };
    return data as unknown as Awaited<ReturnType<Gauge<string>['get']>>;
  }

  override reset(): void {
    super.reset();
    if (this.core !== undefined) resetCore(this.core);
  }

  [RENDER](_openMetrics: boolean, out: string[]): void {
    this.core.runHooks();
    out.push(this.head);
    const active = this.core.active;
    for (let i = 0; i < active.length; i++) {
      const c = active[i];
      out.push(`\n${c.prefix}${formatValue(c.value)}`);
    }
  }

  private slowChild(labels: Record<string, unknown>): GaugeChild {
    checkLabelNames(this.familyName, this.core.labelNames, labels);
    return this.child(copyLabels(labels), null);
  }

  private installRouting(): void {
    const parse = (labels: unknown, value: unknown, dflt: number | undefined): [Record<string, unknown>, number] => {
      let lbl: Record<string, unknown> = {};
      let v = value;
      if (isLabelObject(labels)) lbl = labels;
      else v = labels;
      if (v === undefined && dflt !== undefined) v = dflt;
      if (typeof v !== 'number') throw new TypeError(`Value is not a valid number: ${String(v)}`);
      return [lbl, v];
    };
    const set = (labels?: unknown, value?: unknown): void => {
      const [lbl, v] = parse(labels, value, undefined);
      this.slowChild(lbl).set(v);
    };
    const inc = (labels?: unknown, value?: unknown): void => {
      const [lbl, v] = parse(labels, value, 1);
      this.slowChild(lbl).add(v);
    };
    const dec = (labels?: unknown, value?: unknown): void => {
      const [lbl, v] = parse(labels, value, 1);
      this.slowChild(lbl).add(-v);
    };
    defineMethod(this, 'set', set);
    defineMethod(this, 'inc', inc);
    defineMethod(this, 'dec', dec);
    defineMethod(this, 'labels', (...args: unknown[]) => {
      const lbl = labelsFromArgs(this.core.labelNames, args);
      return {
        inc: (v?: number) => inc(lbl, v),
        dec: (v?: number) => dec(lbl, v),
        set: (v: number) => set(lbl, v),
        setToCurrentTime: () => set(lbl, Date.now() / 1000),
        startTimer: () => {
          const start = process.hrtime.bigint();
          return (end?: Record<string, unknown>) => {
            const s = Number(process.hrtime.bigint() - start) / 1e9;
            set({ ...lbl, ...end }, s);
            return s;
          };
        },
      };
    });
    defineMethod(this, 'remove', (...args: unknown[]) => {
      removeSlow(this.core, labelsFromArgs(this.core.labelNames, args));
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Histogram

export class HistogramChild {
  /** Non-cumulative counts; index bounds.length is the overflow (+Inf only) bucket. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  active = false;
  private dirty = true;
  private cached = '';
  /** Each bucket's latest exemplar (OpenMetrics only): trace id (null: none), value, timestamp; null until the first. */
  private exemplarIds: Array<string | null> | null = null;
  private exemplarValues: Float64Array | null = null;
  private exemplarTimes: Float64Array | null = null;
  private omDirty = true;
  private omCached = '';
  /** Line prefixes (newline, name, labels, space): one per bound, then +Inf, _sum, _count. */
  readonly prefixes: string[];

  constructor(
    readonly core: FamilyCore<HistogramChild>,
    readonly bounds: Float64Array,
    readonly labels: LabelSet,
    readonly labelStr: string,
    readonly key: string,
    public owner: object | null,
    name: string,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
    const tail = labelStr ? `,${labelStr}}` : '}';
    const braces = labelStr ? `{${labelStr}}` : '';
    const prefixes: string[] = [];
    for (let i = 0; i < bounds.length; i++) prefixes.push(`\n${name}_bucket{le="${bounds[i]}"${tail} `);
    prefixes.push(`\n${name}_bucket{le="+Inf"${tail} `, `\n${name}_sum${braces} `, `\n${name}_count${braces} `);
    this.prefixes = prefixes;
  }

  /** Records one value. NaN, an infinity or a value that would make the sum non-finite is ignored. */
  observe(v: number): void {
    const sum = this.sum + v;
    if (!(sum <= Number.MAX_VALUE && sum >= -Number.MAX_VALUE)) return;
    const b = this.bounds;
    const n = b.length;
    let i = 0;
    while (i < n && v > b[i]) i++;
    this.counts[i] += 1;
    this.sum = sum;
    this.count += 1;
    this.dirty = true;
    this.omDirty = true;
    if (!this.active) this.core.activate(this);
  }

  clear(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
    this.dirty = true;
    this.omDirty = true;
    this.exemplarIds = null;
  }

  /**
   * Attaches an exemplar to the bucket `value` falls in (call it after observe(value): a bucket's exemplar
   * is one of its own observations). It replaces that bucket's previous exemplar.
   */
  setExemplar(value: number, traceId: string, timestamp: number): void {
    if (!(value <= Number.MAX_VALUE && value >= -Number.MAX_VALUE)) return;
    const b = this.bounds;
    const n = b.length;
    let i = 0;
    while (i < n && value > b[i]) i++;
    if (this.exemplarIds === null) {
      this.exemplarIds = new Array<string | null>(n + 1).fill(null);
      this.exemplarValues = new Float64Array(n + 1);
      this.exemplarTimes = new Float64Array(n + 1);
    }
    this.exemplarIds[i] = traceId;
    this.exemplarValues![i] = value;
    this.exemplarTimes![i] = timestamp;
    this.omDirty = true;
  }

  /** The exemplar of bucket `i` (bounds.length: +Inf), if any. */
  exemplarAt(i: number): Exemplar | undefined {
    const id = this.exemplarIds?.[i];
    return id === null || id === undefined ? undefined : { traceId: id, value: this.exemplarValues![i]!, timestamp: this.exemplarTimes![i]! };
  }

  /** The sample lines in the OpenMetrics format: as text(), with each bucket's exemplar. */
  textOM(): string {
    const ids = this.exemplarIds;
    if (ids === null) return this.text();
    if (!this.omDirty) return this.omCached;
    const p = this.prefixes;
    const counts = this.counts;
    const n = counts.length - 1;
    const parts: string[] = [];
    let acc = 0;
    for (let i = 0; i <= n; i++) {
      acc = i < n ? acc + counts[i] : this.count;
      parts.push(p[i], String(acc));
      const id = ids[i];
      if (id !== null) parts.push(` # {${EXEMPLAR_LABEL}="${escapeLabelValue(id)}"} ${formatValue(this.exemplarValues![i]!)} ${this.exemplarTimes![i]!.toFixed(3)}`);
    }
    parts.push(p[n + 1], formatValue(this.sum), p[n + 2], String(this.count));
    this.omCached = parts.join('');
    this.omDirty = false;
    return this.omCached;
  }

  /** Exposes the series (all buckets at their current counts) before its first observation. */
  show(): void {
    if (!this.active) this.core.activate(this);
  }

  /** The series' sample lines (cached until the next observation), each preceded by a newline. */
  text(): string {
    if (!this.dirty) return this.cached;
    const p = this.prefixes;
    const counts = this.counts;
    const n = counts.length - 1;
    // Array join yields a flat string: a long `+=` chain would leave a rope that every scrape re-walks.
    const parts: string[] = new Array(2 * n + 6);
    let acc = 0;
    let j = 0;
    for (let i = 0; i < n; i++) {
      acc += counts[i];
      parts[j++] = p[i];
      parts[j++] = String(acc);
    }
    parts[j++] = p[n];
    parts[j++] = String(this.count);
    parts[j++] = p[n + 1];
    parts[j++] = formatValue(this.sum);
    parts[j++] = p[n + 2];
    parts[j] = String(this.count);
    const out = parts.join('');
    this.cached = out;
    this.dirty = false;
    return out;
  }
}

export interface HistogramSpec extends FamilySpec {
  buckets: readonly number[];
}

export class FastHistogram extends Histogram<string> implements SelfRendering {
  readonly familyName: string;
  readonly core: FamilyCore<HistogramChild>;
  readonly bounds: Float64Array;
  /** The bucket upper bounds (without +Inf). */
  readonly bucketList: readonly number[];
  private readonly head: string;

  constructor(spec: HistogramSpec, registry: Registry | null) {
    super({ name: spec.name, help: spec.help, labelNames: [...spec.labelNames], buckets: [...spec.buckets], registers: [] });
    this.familyName = spec.name;
    this.core = new FamilyCore<HistogramChild>([...spec.labelNames]);
    this.bounds = Float64Array.from(spec.buckets);
    this.bucketList = Object.freeze([...spec.buckets]);
    const name = escapeHelp(spec.name);
    this.head = `# HELP ${name} ${escapeHelp(spec.help)}\n# TYPE ${name} histogram`;
    this.installRouting();
    if (registry) registry.registerMetric(this);
  }


  child(labels: LabelSet, owner: object | null): HistogramChild {
    const key = this.core.keyOf(labels);
    const found = this.core.byKey.get(key);
    if (found !== undefined) return claim(this.core, this.familyName, key, owner, found);
    const copy = Object.freeze(copyLabels(labels));
    const c = new HistogramChild(this.core, this.bounds, copy, formatLabelPairs(copy), key, owner, escapeHelp(this.familyName));
    return claim(this.core, this.familyName, key, owner, c);
  }

  release(owner: object): number {
    return releaseOwner(this.core, owner);
  }

  addScrapeHook(hook: ScrapeHook): void {
    this.core.hooks.push(hook);
  }
  removeScrapeHook(hook: ScrapeHook): void {
    removeHook(this.core, hook);
  }

  /** What prom-client's Histogram returns before splaying labels (the registry prefers this method). */
  async getForPromString() {
    this.core.runHooks();
    const name = pf(this).name;
    const bucketName = `${name}_bucket`;
    const bounds = this.bucketList;
    const values: Array<{
      labels: Record<string, string | number>;
      sharedLabels: Record<string, string>;
      value: number;
      metricName: string;
      exemplar: null | undefined;
    }> = [];
    for (const c of this.core.active) {
      const shared = { ...c.labels };
      let acc = 0;
      for (let i = 0; i < bounds.length; i++) {
        acc += c.counts[i];
        values.push({ labels: { le: bounds[i] }, sharedLabels: shared, value: acc, metricName: bucketName, exemplar: null });
      }
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: shared, value: c.count, metricName: bucketName, exemplar: null },
        { labels: {}, sharedLabels: shared, value: c.sum, metricName: `${name}_sum`, exemplar: undefined },
        { labels: {}, sharedLabels: shared, value: c.count, metricName: `${name}_count`, exemplar: undefined },
      );
    }
    return { name, help: pf(this).help, type: 'histogram', values, aggregator: pf(this).aggregator };
  }

  override reset(): void {
    super.reset();
    if (this.core !== undefined) resetCore(this.core);
  }

  [RENDER](openMetrics: boolean, out: string[]): void {
    this.core.runHooks();
    out.push(this.head);
    const active = this.core.active;
    if (openMetrics) for (let k = 0; k < active.length; k++) out.push(active[k].textOM());
    else for (let k = 0; k < active.length; k++) out.push(active[k].text());
  }

  private slowChild(labels: Record<string, unknown>): HistogramChild {
    checkLabelNames(this.familyName, this.core.labelNames, labels);
    return this.child(copyLabels(labels), null);
  }

  private installRouting(): void {
    const observe = (labels: unknown, value?: unknown): void => {
      let lbl: Record<string, unknown> = {};
      let v = value;
      if (isLabelObject(labels)) lbl = labels;
      else v = labels;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`Value is not a valid number: ${String(v)}`);
      this.slowChild(lbl).observe(v);
    };
    defineMethod(this, 'observe', observe);
    defineMethod(this, 'labels', (...args: unknown[]) => {
      const lbl = labelsFromArgs(this.core.labelNames, args);
      return {
        observe: (v: number) => observe(lbl, v),
        startTimer: () => {
          const start = process.hrtime.bigint();
          return (end?: Record<string, unknown>) => {
            const s = Number(process.hrtime.bigint() - start) / 1e9;
            observe({ ...lbl, ...end }, s);
            return s;
          };
        },
      };
    });
    defineMethod(this, 'zero', (labels: Record<string, unknown>) => {
      const c = this.slowChild(labels);
      c.clear();
      if (!c.active) this.core.activate(c);
    });
    defineMethod(this, 'remove', (...args: unknown[]) => {
      removeSlow(this.core, labelsFromArgs(this.core.labelNames, args));
    });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Shared helpers

function resetCore<C extends AnyChild>(core: FamilyCore<C>): void {
  for (const c of core.byKey.values()) {
    c.clear();
    c.active = false;
  }
  core.active = [];
}

function releaseOwner<C extends AnyChild>(core: FamilyCore<C>, owner: object): number {
  for (const [key, c] of core.byKey) {
    if (c.owner === owner) {
      core.deactivate(c);
      core.byKey.delete(key);
    }
  }
  return core.byKey.size;
}

function removeSlow<C extends AnyChild>(core: FamilyCore<C>, labels: Record<string, unknown>): void {
  const key = core.keyOf(labels);
  const c = core.byKey.get(key);
  if (c === undefined) return;
  c.clear();
  core.deactivate(c);
  if (c.owner === null) core.byKey.delete(key);
}

function removeHook<C extends AnyChild>(core: FamilyCore<C>, hook: ScrapeHook): void {
  const i = core.hooks.indexOf(hook);
  if (i >= 0) core.hooks.splice(i, 1);
}

export type FastFamily = FastCounter | FastGauge | FastHistogram;

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((n) => s.has(n));
}

function existingOrNull<T extends FastFamily>(
  registry: Registry,
  ctor: new (...args: never[]) => T,
  spec: FamilySpec,
  buckets?: readonly number[],
): T | null {
  const existing = registry.getSingleMetric(spec.name) as unknown;
  if (existing === undefined) return null;
  const problem =
    !(existing instanceof ctor)
      ? 'by something else (another metric type or a plain prom-client metric)'
      : !sameNames(existing.core.labelNames, spec.labelNames)
        ? `with other label names (${existing.core.labelNames.join(', ')} vs ${spec.labelNames.join(', ')})`
        : pf(existing).help !== spec.help
          ? 'with another HELP text'
          : buckets !== undefined && !sameBuckets((existing as FastHistogram).bucketList, buckets)
            ? 'with other buckets'
            : null;
  if (problem !== null) {
    throw new InvalidArgumentError(`metric ${spec.name} is already registered in this registry ${problem}`);
  }
  return existing as T;
}

/** The counter family of this name in the registry: the existing one (shared) or a new one. */
export function obtainCounter(registry: Registry, spec: FamilySpec): FastCounter {
  return existingOrNull(registry, FastCounter, spec) ?? new FastCounter(spec, registry);
}
export function obtainGauge(registry: Registry, spec: FamilySpec): FastGauge {
  return existingOrNull(registry, FastGauge, spec) ?? new FastGauge(spec, registry);
}
export function obtainHistogram(registry: Registry, spec: HistogramSpec): FastHistogram {
  return existingOrNull(registry, FastHistogram, spec, spec.buckets) ?? new FastHistogram(spec, registry);
}

/**
 * Releases an owner's series from families; a family left without series is unregistered (if it is still
 * the one registered under its name).
 */
export function releaseFamilies(registry: Registry, families: Iterable<FastFamily>, owner: object): void {
  for (const f of families) {
    const remaining = f.release(owner);
    if (remaining === 0 && f.core.hooks.length === 0 && registry.getSingleMetric(f.familyName) === (f as unknown)) {
      registry.removeSingleMetric(f.familyName);
    }
  }
}

/**
 * Coalesces per-scrape work: `run()` calls `fn` at most once per synchronous pass (a scrape reads all
 * families in one pass, in prom-client as in our renderer), then allows it again on the next microtask.
 */
export class OncePerPass {
  private armed = true;
  constructor(private readonly fn: () => void) {}
  run = (): void => {
    if (!this.armed) return;
    this.armed = false;
    queueMicrotask(() => {
      this.armed = true;
    });
    this.fn();
  };
}
