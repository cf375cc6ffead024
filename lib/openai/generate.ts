/**
 * One completion or chat completion: validated body -> prompt ids (the model's tokenizer and chat template,
 * prompt.ts) -> one engine request per prompt (a batch of completion prompts gets one choice each, in order)
 * -> JSON response or SSE stream. Each engine request carries the HTTP request's AbortSignal, so a client that
 * disconnects cancels it (the engine finishes it as `cancelled`). Stop strings are also given to the engine as
 * token sequences (it stops on their usual tokenization); the text match (output.ts) catches the rest, and
 * then the engine request is cancelled, so such a request counts as `cancelled` in the engine's metrics while
 * its response says `stop` (docs/worker.md).
 */
import type { ServerResponse } from 'node:http';
import type { Engine, FinishReason, GenerationStream } from '../engine.js';
import type { GenerateRequest, SamplingOptions } from '../request-options.js';
import type { LoraModules } from './lora.js';
import type { DecodeOptions, Tokenizer } from '../tokenizer.js';
import { fromEngineError, type ApiError } from './errors.js';
import { OutputAssembler } from './output.js';
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
} from './responses.js';
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
}

export interface GenerationIO {
  signal: AbortSignal;
  res: ServerResponse;
  /** The slow-reader guard of a streamed response (slow-readers.ts): told every write, asked after every event. */
  guardStream?: () => { wrote(n: number): void; check(): void };
  sendJson(status: number, body: unknown): void;
  /** Counts an error that happened after the stream started (it is sent as an SSE error event). */
  onStreamError(err: ApiError): void;
  /** Told the size of every SSE write. */
  addResponseBytes(n: number): void;
}

/** What finished, for logs and tests (the first choice's finish reason; token counts of every choice). */
export interface GenerationOutcome {
  finishReason: FinishReason | null;
  promptTokens: number;
  completionTokens: number;
}

/** One prompt's engine request and the text assembled from it. */
interface Choice {
  stream: GenerationStream;
  out: OutputAssembler;
  /** Text sent before the generated text (echo). */
  echo: string;
  finish: FinishReason | null;
  cachedTokens: number;
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

  const choices: Choice[] = [];
  try {
    for (let i = 0; i < prompts.length; i++) {
      const stream = deps.engine.generate(engineRequest(p, prompts[i]!.ids, maxTokens[i]!, stopWords, tokenizer, io.signal));
      const out = new OutputAssembler(tokenizer, { stop: p.stop, includeStopStr: p.includeStopStrInOutput, stopTokenIds: stopIds, decode });
      choices.push({ stream, out, echo: p.echo ? echoText(tokenizer, p, prompts[i]!, decode) : '', finish: null, cachedTokens: 0 });
    }
  } catch (err) {
    for (const c of choices) c.stream.cancel();
    throw fromEngineError(err);
  }
  const meta = newResponseMeta(kind, p.model);
  const promptTokens = prompts.reduce((n, pr) => n + pr.ids.length, 0);
  const outcome = (): GenerationOutcome => ({
    finishReason: choices[0]!.finish,
    promptTokens,
    completionTokens: choices.reduce((n, c) => n + c.out.tokenCount, 0),
  });
  const totalUsage = () => usage(promptTokens, outcome().completionTokens, choices.reduce((n, c) => n + c.cachedTokens, 0));

  if (!p.stream) {
    let texts: string[];
    try {
      texts = await allChoices(choices, (c) => consume(c, null));
    } catch (err) {
      throw fromEngineError(err);
    }
    const u = totalUsage();
    if (kind === 'chat') io.sendJson(200, chatResponse(meta, choices[0]!.echo + texts[0]!, finishOf(choices[0]!), u));
    else io.sendJson(200, completionResponse(meta, choices.map((c, i) => ({ text: c.echo + texts[i]!, finish: finishOf(c) })), u));
    return outcome();
  }

  const guard = io.guardStream?.();
  const sse = new SseWriter(io.res, (n) => {
    io.addResponseBytes(n);
    guard?.wrote(n);
  });
  let first = true;
  const send = async (index: number, text: string, finish: OpenAIFinishReason): Promise<void> => {
    // After a disconnect (or a cut), keep consuming until the engine reports the cancellation.
    if (sse.closed) return;
    const chunk = streamChunk(kind, meta, text, finish, { first, includeUsage: p.includeUsage, index });
    first = false;
    await sse.send(chunk);
    guard?.check();
  };
  try {
    await allChoices(choices, async (c, index) => {
      if (c.echo !== '') await send(index, c.echo, null);
      await consume(c, (text) => send(index, text, null));
      await send(index, '', finishOf(c));
      return '';
    });
  } catch (err) {
    const apiErr = fromEngineError(err);
    if (!sse.started) throw apiErr;
    io.onStreamError(apiErr);
    await sse.send(apiErr.toJSON());
    await sse.done();
    return outcome();
  }
  if (p.includeUsage) await sse.send(usageChunk(kind, meta, totalUsage()));
  await sse.done();
  return outcome();
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

/** Reads a choice's engine stream to its end; `onText` gets each piece of text (null: returns it all). */
async function consume(c: Choice, onText: ((text: string) => Promise<void>) | null): Promise<string> {
  let all = '';
  let cancelled = false;
  for await (const chunk of c.stream) {
    let text = c.out.push(chunk.tokens);
    if (chunk.isFinal) {
      c.finish = chunk.finishReason;
      c.cachedTokens = chunk.perfMetrics?.cachedTokens ?? 0;
      text += c.out.finish();
    } else if (c.out.stopped && !cancelled) {
      cancelled = true;
      c.stream.cancel();
    }
    if (text === '') continue;
    if (onText) await onText(text);
    else all += text;
  }
  return all;
}

/** Runs `fn` on every choice at once; the first failure cancels the others, waits for them, and is rethrown. */
async function allChoices(choices: readonly Choice[], fn: (c: Choice, index: number) => Promise<string>): Promise<string[]> {
  let failure: { err: unknown } | null = null;
  const results = await Promise.all(
    choices.map((c, i) =>
      fn(c, i).catch((err: unknown) => {
        if (failure === null) {
          failure = { err };
          for (const o of choices) o.stream.cancel();
        }
        return '';
      }),
    ),
  );
  if (failure !== null) throw (failure as { err: unknown }).err;
  return results;
}

/** A stop string or stop id ended the text: `stop`, whatever the engine says (it was cancelled then). */
function finishOf(c: Choice): OpenAIFinishReason {
  return c.out.stopped ? 'stop' : openAIFinishReason(c.finish);
}
