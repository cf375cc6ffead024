/**
 * The --url target: any OpenAI-compatible server (ours, trtllm-serve, vLLM, ...). Each request is a
 * streaming POST of /v1/completions (the prompt as token ids, or the dataset's text) or /v1/chat/completions
 * (one user message of text), with `stream_options.include_usage`, as `vllm bench serve`'s openai and
 * openai-chat backends send them. The client is node:http with keep-alive connections and an incremental
 * SSE reader (sse.ts): each event is timed when the socket read that completed it returned (client-results.ts
 * has the formulas). Output tokens come from the final usage (completion_tokens) when the server sends it,
 * else the count of output events.
 *
 * Engine side (optional): --perf-metrics polls GET /perf_metrics (trtllm-serve's per-request timing,
 * drained on every read) during the run; --metrics-url scrapes a Prometheus exposition before and after the
 * run, and the histograms' increase gives the histogram_quantile comparison.
 */
import http from 'node:http';
import https from 'node:https';
import { TrtllmMetricsError } from '../errors.js';
import { ClientResults, OutputClock, type ErrorKind } from './client-results.js';
import { RecordStore, storeFromPerfEntries } from './engine-records.js';
import { SseParser } from './sse.js';
import type { Target, TargetFinal } from './target.js';
import type { Workload } from './workload.js';

export type EndpointKind = 'completions' | 'chat';

export interface HttpTargetOptions {
  /** Base URL of the server (a trailing /v1 is accepted and removed). */
  url: string;
  /** The API path (default /v1/completions; /v1/chat/completions for chat). */
  endpoint?: string;
  /** Model name; default: the first model of GET /v1/models. */
  model?: string;
  /** The name sent in requests when it differs from --model (vLLM's --served-model-name). */
  servedModelName?: string;
  /** Prometheus exposition URL to scrape before and after the run. */
  metricsUrl?: string;
  /** Poll GET /perf_metrics for the engine-side table. */
  perfMetrics: boolean;
  /** Send `ignore_eos: true` (vLLM, trtllm-serve) so every request produces max_tokens. */
  ignoreEos: boolean;
  /** Per-request timeout, seconds. */
  requestTimeoutS: number;
  /** Extra request headers, extra body fields (sampling parameters, --extra-body). */
  headers?: Record<string, string>;
  extraBody?: Record<string, unknown>;
  /** x-request-id of request i is this prefix + i. */
  requestIdPrefix?: string;
  /** https: accept any certificate. */
  insecure?: boolean;
  /** Wait up to this long for GET /v1/models to answer 200 before starting (0: one try). */
  readyCheckTimeoutS?: number;
  /** Requests sent before the run (request 0's prompt), not counted. */
  warmups?: number;
  /** Most requests in flight (sizes the connection pool; Infinity: no cap). */
  concurrency?: number;
  /** Cancelled requests (workload.cancels) are aborted this long after they were sent. */
  cancelAfterMs?: number;
  /** Keep every output text (vLLM's --save-detailed generated_texts). */
  keepTexts?: boolean;
}

/** A failure reaching the server at all (the run cannot start): exit code 1 with this message. */
export class TargetUnavailableError extends TrtllmMetricsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_TRTLLM_BENCH_TARGET_UNAVAILABLE', message, options);
  }
}

const PERF_POLL_MS = 500;
/** Bytes of an error response kept for the message. */
const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * The time of the socket read being handled (performance.now()). node:http emits one 'data' per HTTP chunk,
 * so the chunks of one socket read arrive as several synchronous callbacks; they all get the time stamp of
 * the first, which is cleared when the read's callback returns (the microtask queue runs after it).
 */
let readStamp = Number.NaN;
function readTime(): number {
  if (readStamp !== readStamp) {
    readStamp = performance.now();
    queueMicrotask(() => (readStamp = Number.NaN));
  }
  return readStamp;
}

export function normalizeBaseUrl(url: string): string {
  let u = url.replace(/\/+$/, '');
  if (u.endsWith('/v1')) u = u.slice(0, -3);
  return u;
}

/** The kind of a node:http / socket error. */
function errorKind(err: unknown): ErrorKind {
  const e = err as { name?: string; code?: string };
  if (e?.name === 'TimeoutError') return 'timeout';
  if (typeof e?.code === 'string' && /^E[A-Z]+/.test(e.code)) return 'connection';
  return 'protocol';
}

class RequestTimeout extends TrtllmMetricsError {
  constructor(seconds: number) {
    super('ERR_TRTLLM_BENCH_TIMEOUT', `timed out after ${seconds} s (--request-timeout)`);
    this.name = 'TimeoutError';
  }
}

interface StreamMessage {
  choices?: Array<{ text?: string | null; delta?: { content?: string | null } | null; finish_reason?: string | null }>;
  usage?: { completion_tokens?: number; prompt_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null } | null;
  error?: { message?: string };
}

export class HttpTarget implements Target {
  readonly description: string;
  readonly engineClock: 'steady' | null;
  readonly streaming = true;
  /** A server runs on the wall clock: requests are sent at their arrival times. */
  readonly pacing = null;
  model: string;
  private readonly base: string;
  private readonly endpoint: string;
  private readonly kind: EndpointKind;
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
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
    this.endpoint = o.endpoint ?? '/v1/completions';
    this.kind = this.endpoint.endsWith('chat/completions') ? 'chat' : 'completions';
    this.url = new URL(this.base + this.endpoint);
    this.model = o.model ?? '';
    this.engineClock = o.perfMetrics ? 'steady' : null;
    this.description = `${this.base}${this.endpoint} (streaming)`;
    const secure = this.url.protocol === 'https:';
    const maxSockets = o.concurrency !== undefined && Number.isFinite(o.concurrency) ? o.concurrency : Infinity;
    this.agent = secure
      ? new https.Agent({ keepAlive: true, maxSockets, noDelay: true, rejectUnauthorized: o.insecure !== true } as https.AgentOptions)
      : new http.Agent({ keepAlive: true, maxSockets, noDelay: true } as http.AgentOptions);
    this.request = (secure ? https.request : http.request) as typeof http.request;
  }

  async start(): Promise<void> {
    if (!this.model || (this.o.readyCheckTimeoutS ?? 0) > 0) {
      const deadline = performance.now() + (this.o.readyCheckTimeoutS ?? 0) * 1000;
      let body: { data?: Array<{ id?: unknown }> } | undefined;
      for (;;) {
        try {
          const res = await fetch(`${this.base}/v1/models`, { signal: AbortSignal.timeout(10_000), headers: this.o.headers });
          if (!res.ok) throw new Error(`GET /v1/models answered ${res.status}`);
          body = (await res.json()) as typeof body;
          break;
        } catch (err) {
          if (performance.now() >= deadline) {
            throw new TargetUnavailableError(`cannot reach ${this.base}: ${describeFetchError(err)} (pass --model to skip the model lookup)`);
          }
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      if (!this.model) {
        const id = body?.data?.[0]?.id;
        if (typeof id !== 'string') throw new TargetUnavailableError(`${this.base}/v1/models lists no model: pass --model`);
        this.model = id;
      }
    }
    const warmups = this.o.warmups ?? 0;
    if (warmups > 0) await this.warmup(warmups);
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

  /** vLLM's warm-up: request 0's prompt `count` times, at most `concurrency` at once; results dropped. */
  private async warmup(count: number): Promise<void> {
    const scratch = new ClientResults(1);
    const cap = Math.min(count, this.o.concurrency ?? Infinity);
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < count) {
        next++;
        await this.stream(0, performance.now(), scratch, false);
      }
    };
    await Promise.all(Array.from({ length: cap }, lane));
    if (scratch.failed > 0) throw new TargetUnavailableError(`the warm-up request failed: ${[...scratch.errors.keys()][0]}`);
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

  /** The JSON body of workload request i. */
  private body(i: number): string {
    const w = this.workload;
    const maxTokens = w.outputLens[i]!;
    const body: Record<string, unknown> = { model: this.o.servedModelName ?? this.model };
    if (this.kind === 'chat') {
      body.messages = [{ role: 'user', content: w.promptAsText(i) }];
      body.max_completion_tokens = maxTokens;
    } else {
      body.prompt = w.promptText(i) ?? Array.from(w.promptTokens(i));
      body.max_tokens = maxTokens;
    }
    body.stream = true;
    body.stream_options = { include_usage: true };
    if (this.o.ignoreEos) body.ignore_eos = true;
    if (this.o.extraBody) Object.assign(body, this.o.extraBody);
    return JSON.stringify(body);
  }

  send(i: number, t0: number): Promise<void> {
    return this.stream(i, t0, this.results, this.workload.cancels[i] === 1);
  }

  /**
   * One streamed request into `r` at index i (the warm-up passes its own results). Resolves when it has
   * finished, failed or been cancelled; never rejects.
   */
  private stream(i: number, t0: number, r: ClientResults, cancel: boolean): Promise<void> {
    const payload = this.body(i);
    r.promptTokens[i] = this.workload.inputLens[i]!;
    const now = (): number => (performance.now() - t0) / 1000;
    r.markSent(i, now());
    const chat = this.kind === 'chat';
    const keepTexts = r.texts !== null;
    return new Promise<void>((resolve) => {
      let settled = false;
      let reason: string | null = null;
      let usageTokens = -1;
      let text = '';
      const clock = new OutputClock(r, i);
      let timer: NodeJS.Timeout | undefined;
      let cancelTimer: NodeJS.Timeout | undefined;
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(cancelTimer);
        fn();
        resolve();
      };
      const fail = (message: string, kind: ErrorKind): void => settle(() => r.fail(i, message, now(), kind));
      const onData = (data: string, t: number): void => {
        if (settled || data === '[DONE]') return;
        let msg: StreamMessage;
        try {
          msg = JSON.parse(data) as StreamMessage;
        } catch {
          return; // not JSON (a comment-like payload): ignored, as vLLM does
        }
        if (msg.error) {
          req.destroy();
          fail(`stream error: ${msg.error.message ?? JSON.stringify(msg.error)}`, 'stream_error');
          return;
        }
        const choice = msg.choices?.[0];
        if (choice) {
          const piece = chat ? choice.delta?.content : choice.text;
          if (typeof piece === 'string' && piece.length > 0) {
            clock.output(t);
            if (keepTexts) text += piece;
          }
          if (choice.finish_reason) reason = choice.finish_reason;
        }
        const usage = msg.usage;
        if (usage) {
          if (typeof usage.completion_tokens === 'number') usageTokens = usage.completion_tokens;
          if (typeof usage.prompt_tokens === 'number') r.promptTokens[i] = usage.prompt_tokens;
          const cached = usage.prompt_tokens_details?.cached_tokens;
          if (typeof cached === 'number') r.cachedTokens[i] = cached;
        }
      };
      const headers: Record<string, string | number> = {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        'content-length': Buffer.byteLength(payload),
        'x-request-id': `${this.o.requestIdPrefix ?? ''}${i}`,
        ...this.o.headers,
      };
      const req = this.request(this.url, { method: 'POST', agent: this.agent, headers }, (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          const parts: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            if (size < ERROR_BODY_LIMIT) parts.push(c);
            size += c.length;
          });
          res.on('end', () => fail(`HTTP ${status}${errorDetail(Buffer.concat(parts).toString('utf8'))}`, status >= 500 ? 'http_5xx' : 'http_4xx'));
          res.on('error', (err) => fail(describeFetchError(err), errorKind(err)));
          return;
        }
        const parser = new SseParser();
        res.on('data', (chunk: Buffer) => {
          const t = (readTime() - t0) / 1000;
          parser.push(chunk, (d) => onData(d, t));
        });
        res.on('end', () => {
          const t = now();
          parser.end((d) => onData(d, t));
          settle(() => {
            r.lastTokenTime[i] = clock.outputs > 0 ? clock.last : t;
            r.outputTokens[i] = usageTokens >= 0 ? usageTokens : clock.outputs;
            if (keepTexts) r.texts!.set(i, text);
            r.succeed(i, reason ?? 'unknown');
          });
        });
        res.on('error', (err) => fail(describeFetchError(err), errorKind(err)));
      });
      req.on('error', (err) => {
        if (settled) return;
        fail(describeFetchError(err), errorKind(err));
      });
      timer = setTimeout(() => {
        const err = new RequestTimeout(this.o.requestTimeoutS);
        req.destroy(err);
        fail(err.message, 'timeout');
      }, this.o.requestTimeoutS * 1000);
      req.end(payload, () => {
        // aiperf's rule: the cancellation delay runs from the moment the request is fully sent.
        if (cancel && !settled) {
          cancelTimer = setTimeout(() => {
            req.destroy();
            settle(() => r.cancel(i, now()));
          }, this.o.cancelAfterMs ?? 0);
        }
      });
    });
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
    this.agent.destroy();
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
    this.agent.destroy();
  }
}

/** ": message" from an OpenAI-style error body, or nothing. */
function errorDetail(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: string }; message?: string; detail?: string };
    const m = j.error?.message ?? j.message ?? j.detail;
    return typeof m === 'string' && m ? `: ${m}` : '';
  } catch {
    return '';
  }
}

/** fetch() and socket errors hide the reason in `cause` or `code` (ECONNREFUSED, ...). */
export function describeFetchError(err: unknown): string {
  const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return e.message && !/aborted/.test(e.message) ? e.message : 'timed out';
  const cause = e?.cause;
  if (cause?.code) return `${e.message} (${cause.code})`;
  if (cause?.message) return `${e.message} (${cause.message})`;
  if (e?.code && !e.message?.includes(e.code)) return `${e.message} (${e.code})`;
  return e?.message ?? String(err);
}
