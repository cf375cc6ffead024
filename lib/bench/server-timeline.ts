/**
 * The server's metrics during the run: with --metrics-url (or, in-process on a real clock, our own
 * collector), a scrape every --metrics-interval-ms, kept as a timeline of the gauges a serving dashboard
 * watches (requests running and waiting, KV-cache utilization and hit rate) and of the per-second rate of
 * every counter of the metrics prefix (tokens, requests, cached tokens, ...) between consecutive scrapes.
 * Series are summed over the model's series (`model_name`), or over all when the label is absent. aiperf
 * collects the same kind of server-metrics timeline (its --server-metrics-url options).
 */
import { parseExposition, type Sample } from '../metrics/exposition-parse.js';

export interface ServerTimeline {
  source: 'metrics_url' | 'collector';
  prefix: string;
  interval_s: number;
  /** Scrape times, seconds since the first scrape, taken just before the run started (wall clock). */
  t_s: number[];
  /** running, waiting, kv_cache_utilization, kv_cache_hit_rate: the value at each scrape (null: absent). */
  gauges: Record<string, Array<number | null>>;
  /** Counter name (without the prefix and _total) -> increase per second since the previous scrape (null at the first). */
  rates: Record<string, Array<number | null>>;
  /** Scrapes that failed (skipped). */
  failed_scrapes: number;
}

/** The gauges kept, and the names they have (after the prefix) in TensorRT-LLM's and vLLM's sets. */
const GAUGES: Record<string, readonly string[]> = {
  running: ['num_requests_running'],
  waiting: ['num_requests_waiting'],
  kv_cache_utilization: ['kv_cache_utilization', 'kv_cache_usage_perc', 'gpu_cache_usage_perc'],
  kv_cache_hit_rate: ['kv_cache_hit_rate'],
};

function sumOf(samples: readonly Sample[], name: string, match: Record<string, string>): number | null {
  let total = 0;
  let matched = 0;
  let any = 0;
  let all = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    any++;
    all += s.value;
    let ok = true;
    for (const [k, v] of Object.entries(match)) if (s.labels[k] !== v) ok = false;
    if (ok) {
      matched++;
      total += s.value;
    }
  }
  if (matched > 0) return total;
  return any > 0 ? all : null;
}

export class TimelineRecorder {
  private readonly timeline: ServerTimeline;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private previous: { t: number; counters: Map<string, number> } | null = null;
  private t0 = 0;

  constructor(
    private readonly scrape: () => Promise<string>,
    source: ServerTimeline['source'],
    private readonly prefix: string,
    private readonly match: Record<string, string>,
    private readonly intervalMs: number,
  ) {
    this.timeline = { source, prefix, interval_s: intervalMs / 1000, t_s: [], gauges: {}, rates: {}, failed_scrapes: 0 };
    for (const g of Object.keys(GAUGES)) this.timeline.gauges[g] = [];
  }

  /** Takes the first scrape (before the run: the counters' baseline), then one every interval. */
  async start(): Promise<void> {
    this.t0 = performance.now();
    await this.once();
    const tick = (): void => {
      if (this.inFlight === null) this.inFlight = this.once().finally(() => (this.inFlight = null));
    };
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  /** Stops scraping (after the one in flight). */
  async pause(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.inFlight) await this.inFlight;
  }

  /**
   * The timeline (null when no scrape succeeded), ending with `last` when given (the target's final
   * scrape, taken once the server has recorded every request), else with one more scrape.
   */
  async stop(last?: string | null): Promise<ServerTimeline | null> {
    await this.pause();
    if (last) this.add((performance.now() - this.t0) / 1000, parseExposition(last));
    else await this.once();
    return this.timeline.t_s.length > 0 ? this.timeline : null;
  }

  private async once(): Promise<void> {
    let text: string;
    try {
      text = await this.scrape();
    } catch {
      this.timeline.failed_scrapes++;
      return;
    }
    this.add((performance.now() - this.t0) / 1000, parseExposition(text));
  }

  /** Adds one scrape taken at t (s); exported through the class for tests. */
  add(t: number, samples: readonly Sample[]): void {
    const tl = this.timeline;
    const k = tl.t_s.length;
    tl.t_s.push(t);
    for (const [g, names] of Object.entries(GAUGES)) {
      let v: number | null = null;
      for (const n of names) {
        v = sumOf(samples, this.prefix + n, this.match);
        if (v !== null) break;
      }
      tl.gauges[g]!.push(v);
    }
    const counters = new Map<string, number>();
    const names = new Set<string>();
    for (const s of samples) if (s.name.startsWith(this.prefix) && s.name.endsWith('_total')) names.add(s.name);
    for (const name of names) counters.set(name.slice(this.prefix.length, -'_total'.length), sumOf(samples, name, this.match)!);
    const prev = this.previous;
    for (const [name, value] of counters) {
      let series = tl.rates[name];
      if (series === undefined) {
        series = new Array<number | null>(k).fill(null);
        tl.rates[name] = series;
      }
      // A labelled counter appears at its first increment: absent from the previous scrape, it was 0 then.
      const before = prev ? (prev.counters.get(name) ?? 0) : undefined;
      const dt = prev ? t - prev.t : 0;
      // A counter that went down was reset: no rate for that interval.
      series.push(before !== undefined && dt > 0 && value >= before ? (value - before) / dt : null);
    }
    for (const [name, series] of Object.entries(tl.rates)) if (series.length < k + 1) series.push(null);
    this.previous = { t, counters };
  }
}
