/**
 * One completion or chat completion: validated body -> prompt ids (the model's tokenizer and chat template,
 * prompt.ts) -> one engine request per prompt (a batch of completion prompts gets one choice each, in order)
 * -> JSON response or SSE stream. Each engine request carries the HTTP request's AbortSignal, so a client that
 * disconnects cancels it (the engine finishes it as `cancelled`). Stop strings are also given to the engine as
 * token sequences (it stops on their usual tokenization); the text match (output.ts) catches the rest, and
 * then the engine request is cancelled, so such a request counts as `cancelled` in the engine's metrics while
 * its response says `stop` (docs/worker.md).
 *
 * Output is taken as the engine delivers it (choice.ts: a GenerationSink per prompt, no promise or object per
 * token); a streamed response queues its events on one SseWriter (sse.ts), which writes each response once
 * per delivery. The function itself awaits only the end of its choices.
 */
import type { ServerResponse } from 'node:http';
import type { Engine, FinishReason, GenerateChunk, GenerationSink, GenerationStream } from '../engine.js';
import type { GenerateRequest, SamplingOptions } from '../request-options.js';
import type { LoraModules } from './lora.js';
import type { DecodeOptions, Tokenizer } from '../tokenizer.js';
import type { TrtllmMetricsError } from '../errors.js';
import { fromEngineError, type ApiError } from './errors.js';
import { Choice, type ChoiceOutput } from './choice.js';
import { OutputAssembler } from './output.js';
import { chatLogprobs, completionLogprobs } from './logprobs.js';
import { chatPrompt, checkTokenIds, completionPrompt, maxTokensFor, type PreparedPrompt } from './prompt.js';
import {
  chatResponse,
  completionResponse,
  newResponseMeta,
  openAIFinishReason,
  streamChunk,
  usage,
  usageChunk,
  type OpenAIFinishReason,
  type ResponseMeta,
} from './responses.js';
import { DeltaEvents } from './sse-events.js';
import { SseWriter } from './sse.js';
import { parseRequest, type EndpointKind, type ParsedRequest } from './validate.js';

export interface GenerationDeps {
  engine: Pick<Engine, 'generate'>;
  tokenizer: Tokenizer;
  modelName: string;
  /** LoRA adapters by name (serve --lora-modules); requests name them as their model. */
  loraModules: LoraModules;
  /** max_tokens when the request has none: completions 16 (OpenAI's default), chat 1024 (both clamped to the context). */
  defaultMaxTokens: { completion: number; chat: number };
  /** The context limit: prompt + max_tokens beyond it is a 400; null for none. */
  maxModelLen: number | null;
  /** A streamed choice sends its text every this many tokens (vLLM's --stream-interval; default 1: every response). */
  streamInterval?: number;
}

export interface GenerationIO {
  signal: AbortSignal;
  res: ServerResponse;
  /** The slow-reader guard of a streamed response (slow-readers.ts): told every write, asked after every event. */
  guardStream?: (pending: () => number) => StreamGuardHook;
  sendJson(status: number, body: unknown): void;
  /** Counts an error that happened after the stream started (it is sent as an SSE error event). */
  onStreamError(err: ApiError): void;
  /** Told the size of every SSE write. */
  addResponseBytes(n: number): void;
  /** Told the engine request id of each choice as soon as it is enqueued (perf metrics, exemplars). */
  onEngineRequest?(requestId: number): void;
  /** Told when a choice's first tokens (non-streaming: its result) reach the server. */
  onFirstToken?(requestId: number): void;
}

/** What the slow-reader guard is told (slow-readers.ts StreamGuard): each write's size, and asked after events. */
export interface StreamGuardHook {
  wrote(n: number): void;
  check(): void;
}

/** What finished, for logs and tests (the first choice's finish reason; token counts of every choice). */
export interface GenerationOutcome {
  finishReason: FinishReason | null;
  promptTokens: number;
  completionTokens: number;
}

/** Runs one generation request. Throws ApiError for anything that must be answered as an error response. */
export async function runGeneration(deps: GenerationDeps, kind: EndpointKind, body: unknown, io: GenerationIO): Promise<GenerationOutcome> {
  const { tokenizer } = deps;
  const p = parseRequest(kind, body, deps.modelName, deps.loraModules);
  const prompts = await preparePrompts(tokenizer, p);
  const maxTokens = prompts.map((pr, i) =>
    maxTokensFor(pr.ids.length, p.maxTokens, deps.defaultMaxTokens[kind], deps.maxModelLen, kind === 'chat' ? 'messages' : promptParam(p, i)),
  );
  checkTokenIds(tokenizer, p.stopTokenIds, 'stop_token_ids');
  const stopIds = [...(p.ignoreEos ? [] : tokenizer.extraEndIds), ...p.stopTokenIds];
  const stopWords = (await Promise.all(p.stop.map((s) => tokenizer.encode(s, { addSpecialTokens: false })))).filter((w) => w.length > 0);
  for (const id of stopIds) stopWords.push(Int32Array.of(id));
  const decode: DecodeOptions = { skipSpecialTokens: p.skipSpecialTokens, spacesBetweenSpecialTokens: p.spacesBetweenSpecialTokens };

  const meta = newResponseMeta(kind, p.model);
  const output = p.stream ? streamedOutput(kind, meta, p.includeUsage, io) : null;
  const choices: Choice[] = [];
  try {
    for (let i = 0; i < prompts.length; i++) {
      const out = new OutputAssembler(tokenizer, { stop: p.stop, includeStopStr: p.includeStopStrInOutput, stopTokenIds: stopIds, decode });
      const choice = new Choice(i, out, output, output ? (deps.streamInterval ?? 1) : 0);
      const stream = deps.engine.generate(engineRequest(p, prompts[i]!.ids, maxTokens[i]!, stopWords, tokenizer, io.signal), choice);
      choice.attach(stream, p.echo ? echoText(tokenizer, p, prompts[i]!, decode) : '');
      io.onEngineRequest?.(stream.requestId);
      choice.onFirstToken = io.onFirstToken;
      if (p.logprobs) choice.keepLogprobs();
      // An engine that does not take sinks (a stand-in) is read through its iterator.
      if (stream.sink !== choice) void readInto(stream, choice);
      choices.push(choice);
    }
  } catch (err) {
    for (const c of choices) c.stream.cancel();
    throw fromEngineError(err);
  }
  const promptTokens = prompts.reduce((n, pr) => n + pr.ids.length, 0);
  const outcome = (): GenerationOutcome => ({
    finishReason: choices[0]!.finish,
    promptTokens,
    completionTokens: choices.reduce((n, c) => n + c.out.tokenCount, 0),
  });
  const totalUsage = () => usage(promptTokens, outcome().completionTokens, choices.reduce((n, c) => n + c.cachedTokens, 0));

  // The first failure cancels the other choices; all of them end before the response does.
  for (const c of choices) c.onFailure = () => choices.forEach((o) => o.stream.cancel());
  if (output) for (const c of choices) c.sendEcho();
  await Promise.all(choices.map((c) => c.done));
  const failed = choices.find((c) => c.failed);

  if (!output) {
    if (failed) throw fromEngineError(failed.failure);
    const u = totalUsage();
    if (kind === 'chat') {
      const c = choices[0]!;
      io.sendJson(200, chatResponse(meta, c.echo + c.text, finishOf(c), u, c.logprobs ? chatLogprobs(tokenizer, ...c.joinedLogprobs()) : null));
    } else {
      io.sendJson(
        200,
        completionResponse(
          meta,
          choices.map((c) => ({ text: c.echo + c.text, finish: finishOf(c), logprobs: c.logprobs ? completionLogprobs(tokenizer, ...c.joinedLogprobs(), c.echo.length) : null })),
          u,
        ),
      );
    }
    return outcome();
  }
  const sse = output.sse;
  if (failed) {
    const apiErr = fromEngineError(failed.failure);
    if (!sse.started) throw apiErr;
    io.onStreamError(apiErr);
    sse.send(apiErr.toJSON());
  } else if (p.includeUsage) {
    sse.send(usageChunk(kind, meta, totalUsage()));
  }
  await sse.end();
  return outcome();
}

/** A streamed response: the choices' text and finish events, in the order they happen, on one SseWriter. */
function streamedOutput(kind: EndpointKind, meta: ResponseMeta, includeUsage: boolean, io: GenerationIO): StreamedOutput {
  let guard: StreamGuardHook | undefined;
  const sse = new SseWriter(io.res, (n) => {
    io.addResponseBytes(n);
    guard?.wrote(n);
    guard?.check();
  });
  // The guard counts what waits in the writer too (events queued while the socket does not drain).
  guard = io.guardStream?.(() => sse.pendingBytes);
  return new StreamedOutput(kind, meta, includeUsage, sse, guard);
}

class StreamedOutput implements ChoiceOutput {
  /** No event sent yet: the next one is the first chunk (chat: it carries the role). */
  private first = true;
  private readonly events: DeltaEvents[] = [];

  constructor(
    private readonly kind: EndpointKind,
    private readonly meta: ResponseMeta,
    private readonly includeUsage: boolean,
    readonly sse: SseWriter,
    private readonly guard: StreamGuardHook | undefined,
  ) {}

  text(index: number, text: string): void {
    if (this.first) return this.chunk(index, text, null);
    const events = (this.events[index] ??= new DeltaEvents(this.kind, this.meta, index, this.includeUsage));
    events.send(this.sse, text);
    // Written at the end of the turn, unless the socket is not draining: then the bound is checked as it grows.
    if (this.sse.waiting) this.guard?.check();
  }

  finished(choice: Choice): void {
    this.chunk(choice.index, '', finishOf(choice));
  }

  private chunk(index: number, text: string, finish: OpenAIFinishReason): void {
    // After a disconnect the writer discards events; the engine still reports the cancellation.
    this.sse.send(streamChunk(this.kind, this.meta, text, finish, { first: this.first, includeUsage: this.includeUsage, index }));
    this.first = false;
  }
}

/** Drives a sink from a stream's iterator (an engine stand-in that ignores the sink given to generate()). */
async function readInto(stream: AsyncIterable<GenerateChunk>, sink: GenerationSink): Promise<void> {
  try {
    for await (const chunk of stream) {
      if (chunk.isFinal) return sink.onFinish(chunk.tokens, 0, chunk.tokens.length, chunk.finishReason ?? 'not_finished', chunk.perfMetrics, chunk.logProbs);
      sink.onTokens(chunk.tokens, 0, chunk.tokens.length, chunk.logProbs);
    }
    sink.onFinish(new Int32Array(0), 0, 0, 'not_finished', undefined, undefined);
  } catch (err) {
    sink.onError(err as TrtllmMetricsError);
  }
}

function promptParam(p: ParsedRequest, i: number): string {
  return p.prompts!.length > 1 ? `prompt[${i}]` : 'prompt';
}

async function preparePrompts(tokenizer: Tokenizer, p: ParsedRequest): Promise<PreparedPrompt[]> {
  if (p.kind === 'chat') return [await chatPrompt(tokenizer, p.chat!)];
  return Promise.all(p.prompts!.map((x, i) => completionPrompt(tokenizer, x, p.addSpecialTokens, promptParam(p, i))));
}

function engineRequest(
  p: ParsedRequest,
  ids: Int32Array,
  maxTokens: number,
  stopWords: Int32Array[],
  tokenizer: Tokenizer,
  signal: AbortSignal,
): GenerateRequest {
  // Stop strings need the tokens as they come, to cancel the request at a match, even when the client does not stream.
  const request: GenerateRequest = { inputTokenIds: ids, maxTokens, streaming: p.stream || p.stop.length > 0, returnPerfMetrics: true, signal };
  if (!p.ignoreEos) request.endId = tokenizer.eosId;
  if (p.logprobs) request.returnLogProbs = true;
  if (stopWords.length > 0) request.stopWords = stopWords;
  const sampling: SamplingOptions = {};
  if (p.temperature !== undefined) sampling.temperature = p.temperature;
  if (p.topP !== undefined) sampling.topP = p.topP;
  if (p.topK !== undefined) sampling.topK = p.topK;
  if (p.seed !== undefined) sampling.seed = p.seed;
  if (Object.keys(sampling).length > 0) request.samplingConfig = sampling;
  if (p.loraTaskId !== undefined) request.loraConfig = { taskId: p.loraTaskId };
  return request;
}

/** echo: a completion's prompt (token prompts decoded), or a chat's last message when it is the assistant's (vLLM). */
function echoText(tokenizer: Tokenizer, p: ParsedRequest, prompt: PreparedPrompt, decode: DecodeOptions): string {
  if (p.kind === 'chat') {
    const last = p.chat!.messages[p.chat!.messages.length - 1]!;
    return last.role === 'assistant' ? last.content : '';
  }
  return prompt.text ?? tokenizer.decode(prompt.ids, decode);
}

/** A stop string or stop id ended the text: `stop`, whatever the engine says (it was cancelled then). */
function finishOf(c: Choice): OpenAIFinishReason {
  return c.out.stopped ? 'stop' : openAIFinishReason(c.finish);
}
