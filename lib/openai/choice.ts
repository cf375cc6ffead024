/**
 * One prompt's engine request, taken as a GenerationSink: each response is decoded as the engine delivers it
 * (output.ts), the request is cancelled once a stop string or stop id has ended the text, and the text goes on:
 * - streamed: to the response's events (ChoiceOutput), at vLLM's stream interval: the first text at once,
 *   then whenever `interval` tokens have arrived since the last send, and what is left at the end (interval 1:
 *   every response that completes some text, as the engine delivered it);
 * - otherwise kept whole in `text`.
 * `done` resolves when the request has finished or failed (never rejects: `failure` says which).
 */
import type { FinishReason, GenerationSink, GenerationStream } from '../engine.js';
import type { RequestPerfMetrics } from '../request-timings.js';
import type { OutputAssembler } from './output.js';

/** Where a streamed choice's text and its end go (generate.ts: the response's SSE events). */
export interface ChoiceOutput {
  text(index: number, text: string): void;
  finished(choice: Choice): void;
}

export class Choice implements GenerationSink {
  /** Text sent before the generated text (echo). */
  echo = '';
  /** The whole generated text (not streamed). */
  text = '';
  finish: FinishReason | null = null;
  cachedTokens = 0;
  /** Set when the request failed. */
  failure: unknown;
  failed = false;
  /** Called once when the request fails (generate.ts cancels the other choices). */
  onFailure: (() => void) | undefined;
  /** Called once, with the first response that carries tokens (or the last one); server.ts times it. */
  onFirstToken: ((requestId: number) => void) | undefined;
  readonly done: Promise<void>;
  stream!: Pick<GenerationStream, 'cancel' | 'requestId'>;
  /** With logprobs: the generated tokens and their log probabilities, response by response (copied). */
  logprobs: { tokens: Int32Array[]; values: Float32Array[] } | null = null;
  private settle!: () => void;
  /** Streamed text not sent yet, and the tokens it came from. */
  private held = '';
  private heldTokens = 0;
  private sentText = false;
  private cancelled = false;

  constructor(
    readonly index: number,
    readonly out: OutputAssembler,
    private readonly output: ChoiceOutput | null,
    private readonly interval: number,
  ) {
    this.done = new Promise<void>((resolve) => {
      this.settle = resolve;
    });
  }

  attach(stream: Pick<GenerationStream, 'cancel' | 'requestId'>, echo: string): void {
    this.stream = stream;
    this.echo = echo;
  }

  /** Streamed: sends the echo text, before any generated text. */
  sendEcho(): void {
    if (this.echo !== '') this.output?.text(this.index, this.echo);
  }

  /** Keeps every token's log probability (the request asked for logprobs). */
  keepLogprobs(): void {
    this.logprobs = { tokens: [], values: [] };
  }

  /** The choice's tokens and log probabilities, each in one array (after keepLogprobs()). */
  joinedLogprobs(): [Int32Array, Float32Array] {
    const parts = this.logprobs ?? { tokens: [], values: [] };
    const n = parts.tokens.reduce((acc, t) => acc + t.length, 0);
    const tokens = new Int32Array(n);
    const values = new Float32Array(n);
    let at = 0;
    for (let i = 0; i < parts.tokens.length; i++) {
      tokens.set(parts.tokens[i]!, at);
      values.set(parts.values[i]!, at);
      at += parts.tokens[i]!.length;
    }
    return [tokens, values];
  }

  onTokens(tokens: Int32Array, start: number, end: number, logProbs: Float32Array | undefined): void {
    this.observe(tokens, start, end, logProbs, false);
    const text = this.out.push(tokens, start, end);
    if (this.out.stopped && !this.cancelled) {
      this.cancelled = true;
      this.stream.cancel();
    }
    this.add(text, end - start, false);
  }

  onFinish(tokens: Int32Array, start: number, end: number, reason: FinishReason, perfMetrics: RequestPerfMetrics | undefined, logProbs: Float32Array | undefined): void {
    this.observe(tokens, start, end, logProbs, true);
    const text = this.out.push(tokens, start, end);
    this.finish = reason;
    this.cachedTokens = perfMetrics?.cachedTokens ?? 0;
    this.add(text + this.out.finish(), end - start, true);
    this.output?.finished(this);
    this.settle();
  }

  onError(error: unknown): void {
    this.failure = error;
    this.failed = true;
    this.onFailure?.();
    this.settle();
  }

  /** The first-token callback and the log probabilities: what a response tells besides its text. */
  private observe(tokens: Int32Array, start: number, end: number, logProbs: Float32Array | undefined, last: boolean): void {
    if (this.onFirstToken !== undefined && (end > start || last)) {
      const notify = this.onFirstToken;
      this.onFirstToken = undefined;
      notify(this.stream.requestId);
    }
    if (this.logprobs !== null && logProbs !== undefined && end > start) {
      this.logprobs.tokens.push(tokens.slice(start, end));
      this.logprobs.values.push(logProbs.slice(start, end));
    }
  }

  private add(text: string, tokens: number, last: boolean): void {
    if (this.output === null) {
      this.text += text;
      return;
    }
    this.held += text;
    this.heldTokens += tokens;
    if (this.held === '' || (!last && this.sentText && this.heldTokens < this.interval)) return;
    this.output.text(this.index, this.held);
    this.held = '';
    this.heldTokens = 0;
    this.sentText = true;
  }
}
