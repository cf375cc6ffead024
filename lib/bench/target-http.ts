/**
 * The --url target: any OpenAI-compatible server (ours, trtllm-serve, vLLM, ...). Each request is a
 * streaming POST /v1/completions (`stream: true`, `stream_options.include_usage: true`) whose prompt is the
 * workload's text when the dataset gives one, else its token ids (an array of integers, which vLLM,
 * trtllm-serve and this package's server accept). Client-side times use the wall clock: TTFT at the first
 * chunk with non-empty text, ITL between consecutive such chunks, E2E at the end of the stream. Output
 * tokens come from the final usage (completion_tokens) when the server sends it, else the count of text
 * chunks.
 *
 * Engine side (optional): --perf-metrics polls GET /perf_metrics (trtllm-serve's per-request timing,
 * drained on every read) during the run; --metrics-url scrapes a Prometheus exposition before and after the
 * run, and the histograms' increase gives the histogram_quantile comparison.
 */
import { TrtllmMetricsError } from '../errors.js';
import type { ClientResults } from './client-results.js';
import { RecordStore, storeFromPerfEntries } from './engine-records.js';
import { sseData } from './sse.js';
import type { Target, TargetFinal } from './target.js';
import type { Workload } from './workload.js';

export interface HttpTargetOptions {
  /** Base URL of the server (a trailing /v1 is accepted and removed). */
  url: string;
  /** Model name; default: the first model of GET /v1/models. */
  model?: string;
  /** Prometheus exposition URL to scrape before and after the run. */
  metricsUrl?: string;
  /** Poll GET /perf_metrics for the engine-side table. */
  perfMetrics: boolean;
  /** Send `ignore_eos: true` (vLLM, trtllm-serve) so every request produces max_tokens. */
  ignoreEos: boolean;
  /** Per-request timeout, seconds. */
  requestTimeoutS: number;
}

/** A failure reaching the server at all (the run cannot start): exit code 1 with this message. */
export class TargetUnavailableError extends TrtllmMetricsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TRTLLM_BENCH_TARGET_UNAVAILABLE', message, options);
  }
}

const PERF_POLL_MS = 500;

export function normalizeBaseUrl(url: string): string {
  let u = url.replace(/\/+$/, '');
  if (u.endsWith('/v1')) u = u.slice(0, -3);
  return u;
}

export class HttpTarget implements Target {
  readonly description: string;
  readonly engineClock: 'steady' | null;
  readonly streaming = true;
  /** A server runs on the wall clock: requests are sent at their arrival times. */
  readonly pacing = null;
  model: string;
  private readonly base: string;
  private expositionBefore: string | null = null;
  private perfEntries: unknown[] = [];
  private perfTimer: NodeJS.Timeout | null = null;
  private perfPolling: Promise<void> | null = null;
  private perfError: string | null = null;

  constructor(
    private readonly o: HttpTargetOptions,
    private readonly workload: Workload,
    private readonly results: ClientResults,
  ) {
    this.base = normalizeBaseUrl(o.url);
    this.model = o.model ?? '';
    this.engineClock = o.perfMetrics ? 'steady' : null;
    this.description = `${this.base}/v1/completions (streaming)`;
  }

  async start(): Promise<void> {
    if (!this.model) {
      let body: { data?: Array<{ id?: unknown }> };
      try {
        const res = await fetch(`${this.base}/v1/models`, { signal: AbortSignal.timeout(10_000) });
        if (!res.ok) throw new Error(`GET /v1/models answered ${res.status}`);
        body = (await res.json()) as typeof body;
      } catch (err) {
        throw new TargetUnavailableError(`cannot reach ${this.base}: ${describeFetchError(err)} (pass --model to skip the model lookup)`);
      }
      const id = body.data?.[0]?.id;
      if (typeof id !== 'string') throw new TargetUnavailableError(`${this.base}/v1/models lists no model: pass --model`);
      this.model = id;
    }
    if (this.o.metricsUrl) this.expositionBefore = await this.scrape();
    if (this.o.perfMetrics) {
      await this.pollPerf(); // drain what earlier requests left
      this.perfEntries = [];
      this.perfTimer = setInterval(() => {
        if (this.perfPolling === null) this.perfPolling = this.pollPerf().finally(() => (this.perfPolling = null));
      }, PERF_POLL_MS);
      this.perfTimer.unref();
    }
  }

  private async scrape(): Promise<string> {
    try {
      const res = await fetch(this.o.metricsUrl!, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`answered ${res.status}`);
      return await res.text();
    } catch (err) {
      throw new TargetUnavailableError(`cannot scrape ${this.o.metricsUrl}: ${describeFetchError(err)}`);
    }
  }

  private async pollPerf(): Promise<void> {
    try {
      const res = await fetch(`${this.base}/perf_metrics`, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new Error(`GET /perf_metrics answered ${res.status}`);
      const body = (await res.json()) as unknown;
      if (Array.isArray(body)) for (const e of body) this.perfEntries.push(e);
    } catch (err) {
      this.perfError ??= describeFetchError(err);
    }
  }

  async send(i: number, t0: number): Promise<void> {
    const r = this.results;
    const w = this.workload;
    const text = w.promptText(i);
    const body: Record<string, unknown> = {
      model: this.model,
      prompt: text ?? Array.from(w.promptTokens(i)),
      max_tokens: w.outputLens[i]!,
      stream: true,
      stream_options: { include_usage: true },
    };
    if (this.o.ignoreEos) body.ignore_eos = true;
    r.promptTokens[i] = w.inputLens[i]!;
    const payload = JSON.stringify(body);
    const now = (): number => (performance.now() - t0) / 1000;
    const sent = now();
    r.sendTime[i] = sent;
    let chunks = 0;
    let prev = Number.NaN;
    let reason: string | null = null;
    let usageTokens = -1;
    try {
      const res = await fetch(`${this.base}/v1/completions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream' },
        body: payload,
        signal: AbortSignal.timeout(this.o.requestTimeoutS * 1000),
      });
      if (!res.ok || res.body === null) {
        let detail = '';
        try {
          const j = (await res.json()) as { error?: { message?: string }; message?: string; detail?: string };
          detail = j.error?.message ?? j.message ?? j.detail ?? '';
        } catch {
          // not JSON
        }
        r.fail(i, `HTTP ${res.status}${detail ? `: ${detail}` : ''}`, now());
        return;
      }
      for await (const data of sseData(res.body)) {
        if (data === '[DONE]') break;
        let msg: {
          choices?: Array<{ text?: string; finish_reason?: string | null }>;
          usage?: { completion_tokens?: number; prompt_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null } | null;
          error?: { message?: string };
        };
        try {
          msg = JSON.parse(data) as typeof msg;
        } catch {
          continue;
        }
        if (msg.error) {
          r.fail(i, `stream error: ${msg.error.message ?? JSON.stringify(msg.error)}`, now());
          return;
        }
        const choice = msg.choices?.[0];
        if (choice && typeof choice.text === 'string' && choice.text.length > 0) {
          const t = now();
          if (chunks === 0) r.firstTokenTime[i] = t;
          else r.itl.push(t - prev);
          prev = t;
          chunks++;
        }
        if (choice?.finish_reason) reason = choice.finish_reason;
        if (msg.usage) {
          if (typeof msg.usage.completion_tokens === 'number') usageTokens = msg.usage.completion_tokens;
          if (typeof msg.usage.prompt_tokens === 'number') r.promptTokens[i] = msg.usage.prompt_tokens;
          const cached = msg.usage.prompt_tokens_details?.cached_tokens;
          if (typeof cached === 'number') r.cachedTokens[i] = cached;
        }
      }
    } catch (err) {
      r.fail(i, describeFetchError(err), now());
      return;
    }
    r.lastTokenTime[i] = now();
    r.outputTokens[i] = usageTokens >= 0 ? usageTokens : chunks;
    r.succeed(i, reason ?? 'unknown');
  }

  async finish(): Promise<TargetFinal> {
    let records: RecordStore | null = null;
    if (this.o.perfMetrics) {
      if (this.perfTimer) clearInterval(this.perfTimer);
      this.perfTimer = null;
      if (this.perfPolling) await this.perfPolling;
      // Records are stored when a request finishes; give the last ones a moment to land.
      await new Promise((r) => setTimeout(r, 200));
      await this.pollPerf();
      records = storeFromPerfEntries(this.perfEntries);
    }
    let exposition: string | null = null;
    if (this.o.metricsUrl) {
      await new Promise((r) => setTimeout(r, 200));
      exposition = await this.scrape();
    }
    const match: Record<string, string> = {};
    if (this.model) match.model_name = this.model;
    return {
      records,
      recordsSource: records ? 'perf_metrics' : null,
      exposition,
      expositionBefore: this.expositionBefore,
      recordsDropped: 0,
      seriesMatch: match,
    };
  }

  /** A problem polling /perf_metrics, if any (reported, not fatal). */
  get perfMetricsError(): string | null {
    return this.perfError;
  }

  async abort(): Promise<void> {
    if (this.perfTimer) clearInterval(this.perfTimer);
    this.perfTimer = null;
  }
}

/** fetch() errors hide the reason in `cause` (ECONNREFUSED, ...). */
export function describeFetchError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'timed out';
  const cause = e?.cause;
  if (cause?.code) return `${e.message} (${cause.code})`;
  if (cause?.message) return `${e.message} (${cause.message})`;
  return e?.message ?? String(err);
}
