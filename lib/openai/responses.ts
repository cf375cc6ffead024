/**
 * The response objects of the OpenAI API: completions, chat completions, their stream chunks, usage and the
 * model list. finish_reason: `stop` (end id or a stop sequence), `length`, and for the TensorRT-LLM reasons
 * OpenAI has no word for, the finished_reason label values `timeout` and `cancelled` (docs/worker.md).
 */
import { randomFillSync } from 'node:crypto';
import type { FinishReason } from '../engine.js';
import type { EndpointKind } from './validate.js';

export type OpenAIFinishReason = 'stop' | 'length' | 'timeout' | 'cancelled' | null;

export function openAIFinishReason(reason: FinishReason | null): OpenAIFinishReason {
  switch (reason) {
    case 'end_id':
    case 'stop_words':
      return 'stop';
    case 'length':
      return 'length';
    case 'timed_out':
      return 'timeout';
    case 'cancelled':
      return 'cancelled';
    default:
      return null;
  }
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export function usage(promptTokens: number, completionTokens: number, cachedTokens: number): Usage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: cachedTokens },
  };
}

/** Identity shared by every chunk of one response. */
export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
}

// Response ids draw 12 random bytes from a pool refilled 256 ids at a time: one getrandom call per response
// cost ~9 us here and was a few percent of the event loop under streaming load.
const ID_BYTES = 12;
const idPool = Buffer.alloc(ID_BYTES * 256);
let idAt = idPool.length;

function randomIdHex(): string {
  if (idAt === idPool.length) {
    randomFillSync(idPool);
    idAt = 0;
  }
  const hex = idPool.toString('hex', idAt, idAt + ID_BYTES);
  idAt += ID_BYTES;
  return hex;
}

export function newResponseMeta(kind: EndpointKind, model: string): ResponseMeta {
  const prefix = kind === 'chat' ? 'chatcmpl-' : 'cmpl-';
  return { id: prefix + randomIdHex(), created: Math.floor(Date.now() / 1000), model };
}

/** One choice of a completion (a batch of prompts has one per prompt, in order). */
export interface CompletionChoice {
  text: string;
  finish: OpenAIFinishReason;
  /** The choice's `logprobs` (lib/openai/logprobs.ts) when the request asked for them. */
  logprobs?: object | null;
}

export function completionResponse(meta: ResponseMeta, choices: readonly CompletionChoice[], u: Usage): object {
  return {
    id: meta.id,
    object: 'text_completion',
    created: meta.created,
    model: meta.model,
    choices: choices.map((c, index) => ({ index, text: c.text, logprobs: c.logprobs ?? null, finish_reason: c.finish })),
    usage: u,
  };
}

export function chatResponse(meta: ResponseMeta, text: string, finish: OpenAIFinishReason, u: Usage, logprobs: object | null = null): object {
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs, finish_reason: finish }],
    usage: u,
  };
}

/**
 * One stream chunk of choice `index` (default 0). `delta` is the new text (chat: `role` is added to the first
 * chunk); `finish` is set on the last chunk of the choice. With include_usage every chunk carries
 * `usage: null` and a final chunk with empty choices carries the usage (OpenAI's layout).
 */
export function streamChunk(
  kind: EndpointKind,
  meta: ResponseMeta,
  delta: string,
  finish: OpenAIFinishReason,
  opts: { first?: boolean; includeUsage?: boolean; index?: number } = {},
): object {
  const index = opts.index ?? 0;
  const base = { id: meta.id, object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', created: meta.created, model: meta.model };
  let choice: object;
  if (kind === 'chat') {
    const d: Record<string, string> = {};
    if (opts.first) d.role = 'assistant';
    if (delta !== '' || opts.first) d.content = delta;
    choice = { index, delta: d, logprobs: null, finish_reason: finish };
  } else {
    choice = { index, text: delta, logprobs: null, finish_reason: finish };
  }
  return opts.includeUsage ? { ...base, choices: [choice], usage: null } : { ...base, choices: [choice] };
}

export function usageChunk(kind: EndpointKind, meta: ResponseMeta, u: Usage): object {
  return {
    id: meta.id,
    object: kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
    created: meta.created,
    model: meta.model,
    choices: [],
    usage: u,
  };
}

/** The model list; `max_model_len` (vLLM's field) is the context limit the API enforces, when there is one. */
export function modelList(model: string, created: number, maxModelLen: number | null = null, ownedBy = 'trtllm-metrics'): object {
  const card: Record<string, unknown> = { id: model, object: 'model', created, owned_by: ownedBy };
  if (maxModelLen !== null) card.max_model_len = maxModelLen;
  return { object: 'list', data: [card] };
}
