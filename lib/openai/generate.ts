/**
 * One completion or chat completion: validated body -> engine request -> JSON response or SSE stream.
 * The engine request carries the HTTP request's AbortSignal, so a client that disconnects cancels it (the
 * engine finishes it as `cancelled`).
 */
import type { ServerResponse } from 'node:http';
import type { Engine, FinishReason, GenerationStream } from '../engine.js';
import type { GenerateRequest, SamplingOptions } from '../request-options.js';
import type { LoraModules } from './lora.js';
import type { Tokenizer } from '../tokenizer.js';
import { renderChatPrompt } from './chat-template.js';
import { fromEngineError, invalidValue, type ApiError } from './errors.js';
import { OutputAssembler } from './output.js';
import { chatResponse, completionResponse, newResponseMeta, openAIFinishReason, streamChunk, usage, usageChunk } from './responses.js';
import { SseWriter } from './sse.js';
import { parseRequest, type EndpointKind } from './validate.js';

export interface GenerationDeps {
  engine: Pick<Engine, 'generate'>;
  tokenizer: Tokenizer;
  modelName: string;
  /** LoRA adapters by name (serve --lora-modules); requests name them as their model. */
  loraModules: LoraModules;
  /** max_tokens when the request has none: completions 16 (OpenAI's default), chat 1024. */
  defaultMaxTokens: { completion: number; chat: number };
}

export interface GenerationIO {
  signal: AbortSignal;
  res: ServerResponse;
  sendJson(status: number, body: unknown): void;
  /** Counts an error that happened after the stream started (it is sent as an SSE error event). */
  onStreamError(err: ApiError): void;
  /** Told the size of every SSE write. */
  addResponseBytes(n: number): void;
}

/** What finished, for logs and tests. */
export interface GenerationOutcome {
  finishReason: FinishReason | null;
  promptTokens: number;
  completionTokens: number;
}

/** Runs one generation request. Throws ApiError for anything that must be answered as an error response. */
export async function runGeneration(deps: GenerationDeps, kind: EndpointKind, body: unknown, io: GenerationIO): Promise<GenerationOutcome> {
  const { tokenizer } = deps;
  const p = parseRequest(kind, body, deps.modelName, deps.loraModules);
  let promptTokens: Int32Array;
  if (p.prompt && 'tokens' in p.prompt) promptTokens = p.prompt.tokens;
  else promptTokens = tokenizer.encode(kind === 'chat' ? renderChatPrompt(p.messages!) : (p.prompt as { text: string }).text);
  if (promptTokens.length === 0) throw invalidValue(kind === 'chat' ? 'messages' : 'prompt', 'The prompt encodes to zero tokens');
  const stopWords = p.stop.map((s) => tokenizer.encode(s));

  const request: GenerateRequest = {
    inputTokenIds: promptTokens,
    maxTokens: p.maxTokens ?? deps.defaultMaxTokens[kind],
    streaming: p.stream,
    returnPerfMetrics: true,
    signal: io.signal,
  };
  if (!p.ignoreEos) request.endId = tokenizer.eosId;
  if (stopWords.length > 0) request.stopWords = stopWords;
  const sampling: SamplingOptions = {};
  if (p.temperature !== undefined) sampling.temperature = p.temperature;
  if (p.topP !== undefined) sampling.topP = p.topP;
  if (p.topK !== undefined) sampling.topK = p.topK;
  if (p.seed !== undefined) sampling.seed = p.seed;
  if (Object.keys(sampling).length > 0) request.samplingConfig = sampling;
  if (p.loraTaskId !== undefined) request.loraConfig = { taskId: p.loraTaskId };

  let stream: GenerationStream;
  try {
    stream = deps.engine.generate(request);
  } catch (err) {
    throw fromEngineError(err);
  }
  const out = new OutputAssembler(tokenizer, stopWords);
  const meta = newResponseMeta(kind, p.model);

  if (!p.stream) {
    let result;
    try {
      result = await stream.collect();
    } catch (err) {
      throw fromEngineError(err);
    }
    const text = out.push(result.tokens) + out.finish(result.finishReason);
    const u = usage(promptTokens.length, result.tokens.length, result.perfMetrics?.cachedTokens ?? 0);
    const finish = openAIFinishReason(result.finishReason);
    io.sendJson(200, kind === 'chat' ? chatResponse(meta, text, finish, u) : completionResponse(meta, text, finish, u));
    return { finishReason: result.finishReason, promptTokens: promptTokens.length, completionTokens: result.tokens.length };
  }

  const sse = new SseWriter(io.res, io.addResponseBytes);
  let first = true;
  let finishReason: FinishReason | null = null;
  let cachedTokens = 0;
  try {
    for await (const chunk of stream) {
      let text = out.push(chunk.tokens);
      if (chunk.isFinal) {
        finishReason = chunk.finishReason;
        cachedTokens = chunk.perfMetrics?.cachedTokens ?? 0;
        text += out.finish(finishReason);
      }
      // After a disconnect, keep consuming until the engine reports the cancellation.
      if (text === '' || sse.closed) continue;
      await sse.send(streamChunk(kind, meta, text, null, { first, includeUsage: p.includeUsage }));
      first = false;
    }
  } catch (err) {
    const apiErr = fromEngineError(err);
    if (!sse.started) throw apiErr;
    io.onStreamError(apiErr);
    await sse.send(apiErr.toJSON());
    await sse.done();
    return { finishReason: null, promptTokens: promptTokens.length, completionTokens: out.tokenCount };
  }
  await sse.send(streamChunk(kind, meta, '', openAIFinishReason(finishReason), { first, includeUsage: p.includeUsage }));
  if (p.includeUsage) await sse.send(usageChunk(kind, meta, usage(promptTokens.length, out.tokenCount, cachedTokens)));
  await sse.done();
  return { finishReason, promptTokens: promptTokens.length, completionTokens: out.tokenCount };
}
