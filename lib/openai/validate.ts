/**
 * Validation of POST /v1/completions and /v1/chat/completions bodies. Every problem is a 400 (404 for an
 * unknown model) with OpenAI's error JSON naming the field. Fields OpenAI's API does not have are rejected,
 * except vLLM's extensions this server implements (ignore_eos, top_k, skip_special_tokens,
 * spaces_between_special_tokens, include_stop_str_in_output, stop_token_ids, add_special_tokens, and for chat
 * add_generation_prompt, continue_final_message, documents, chat_template_kwargs); fields it has that this
 * server does not implement are accepted only with their default (no-op) value.
 */
import { RESERVED_TEMPLATE_VARIABLES } from '../tokenizer/chat-template.js';
import { ApiError, invalidValue, missingField, modelNotFound, unknownField, unsupported } from './errors.js';
import { loraTaskIdOf, type LoraModules } from './lora.js';

const NO_ADAPTERS: LoraModules = new Map();

export type EndpointKind = 'completion' | 'chat';

export type ChatRole = 'system' | 'developer' | 'user' | 'assistant' | 'tool';

export interface ChatMessage {
  role: ChatRole;
  content: string;
  name?: string;
  /** assistant: the tool calls it made (passed to the chat template as given). */
  tool_calls?: unknown[];
  /** tool: the call this message answers. */
  tool_call_id?: string;
}

/** A completion prompt: text, or token ids used as they are. */
export type PromptInput = { text: string } | { tokens: Int32Array };

/** How a conversation becomes a prompt (the chat template's inputs); shared with POST /tokenize. */
export interface ChatPromptFields {
  messages: ChatMessage[];
  /** Append the assistant turn's header (default true). */
  addGenerationPrompt: boolean;
  /** Continue the last (assistant) message instead of starting a new one (default false). */
  continueFinalMessage: boolean;
  tools: object[] | null;
  documents: object[] | null;
  /** Extra template variables (chat_template_kwargs). */
  templateVariables: Record<string, unknown>;
  /** Encode the rendered prompt with the tokenizer's special tokens (default false: the template has them). */
  addSpecialTokens: boolean;
}

/** What the handlers need from a valid request. */
export interface ParsedRequest {
  kind: EndpointKind;
  model: string;
  /** completions: the prompts (one, or a batch answered with one choice each); chat: absent. */
  prompts?: PromptInput[];
  /** completions: encode text prompts with the tokenizer's special tokens (add_special_tokens, default true). */
  addSpecialTokens: boolean;
  /** chat: the conversation and the template's options. */
  chat?: ChatPromptFields;
  /** max_tokens (or max_completion_tokens); undefined = the server's default for the endpoint. */
  maxTokens: number | undefined;
  stop: string[];
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  stream: boolean;
  /** stream_options.include_usage. */
  includeUsage: boolean;
  /** ignore_eos (vLLM / trtllm-serve extension): generate max_tokens tokens, never stopping at the end id. */
  ignoreEos: boolean;
  /** echo: the prompt (completions) or the last assistant message (chat) comes first in the output. */
  echo: boolean;
  /** Detokenization (vLLM): leave special tokens out (default true); spaces between added tokens (default true). */
  skipSpecialTokens: boolean;
  spacesBetweenSpecialTokens: boolean;
  /** Keep the matched stop string (or stop token) in the output (default false). */
  includeStopStrInOutput: boolean;
  /** Token ids that end the request besides the end id (vLLM's stop_token_ids). */
  stopTokenIds: number[];
  /** The LoRA task id: of the adapter `model` names, or lora_request's (lib/openai/lora.ts). */
  loraTaskId?: number;
}

type Dict = Record<string, unknown>;

const INT32_MAX = 2147483647;
const MAX_STOP = 4;

/** Fields both endpoints support; past OpenAI's own, the extensions vLLM (and trtllm-serve, mostly) accept. */
const COMMON = [
  'model',
  'max_tokens',
  'n',
  'seed',
  'stop',
  'stream',
  'stream_options',
  'temperature',
  'top_p',
  'top_k',
  'user',
  'ignore_eos',
  'echo',
  'add_special_tokens',
  'skip_special_tokens',
  'spaces_between_special_tokens',
  'include_stop_str_in_output',
  'stop_token_ids',
  'lora_request',
];
const COMPLETION_FIELDS = new Set([...COMMON, 'prompt']);
const CHAT_TEMPLATE_FIELDS = ['messages', 'add_generation_prompt', 'continue_final_message', 'tools', 'documents', 'chat_template_kwargs'];
const CHAT_FIELDS = new Set([...COMMON, ...CHAT_TEMPLATE_FIELDS, 'max_completion_tokens']);

/** OpenAI fields this server does not implement, with the values that mean "off" (accepted). */
const NOOP_VALUES: Record<string, (v: unknown) => boolean> = {
  frequency_penalty: (v) => v === null || v === 0,
  presence_penalty: (v) => v === null || v === 0,
  logit_bias: (v) => v === null || (isObject(v) && Object.keys(v).length === 0),
  logprobs: (v) => v === null || v === false,
  top_logprobs: (v) => v === null || v === 0,
  best_of: (v) => v === null || v === 1,
  suffix: (v) => v === null || v === '',
  response_format: (v) => v === null || (isObject(v) && (v as Dict).type === 'text' && Object.keys(v).length === 1),
  // Tools are rendered into the prompt by the chat template, but tool calls are not parsed out of the output.
  tool_choice: (v) => v === null || v === 'none',
  parallel_tool_calls: (v) => v === null || typeof v === 'boolean',
  store: (v) => v === null || v === false,
  metadata: (v) => v === null || isObject(v),
};
const COMPLETION_NOOP = new Set(['frequency_penalty', 'presence_penalty', 'logit_bias', 'logprobs', 'best_of', 'suffix']);
const CHAT_NOOP = new Set([
  'frequency_penalty',
  'presence_penalty',
  'logit_bias',
  'logprobs',
  'top_logprobs',
  'response_format',
  'tool_choice',
  'parallel_tool_calls',
  'store',
  'metadata',
]);

export function isObject(v: unknown): v is Dict {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

export function expect(param: string, what: string, v: unknown): ApiError {
  return invalidValue(param, `Invalid value for '${param}': expected ${what}, got ${describe(v)}`);
}

function optInt(body: Dict, key: string, min: number, max: number): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw expect(key, `an integer in [${min}, ${max}]`, v);
  return v;
}

function optNum(body: Dict, key: string, min: number, max: number): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw expect(key, `a number in [${min}, ${max}]`, v);
  return v;
}

export function optBool(body: Dict, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw expect(key, 'a boolean', v);
  return v;
}

function checkFields(body: Dict, kind: EndpointKind): void {
  const known = kind === 'completion' ? COMPLETION_FIELDS : CHAT_FIELDS;
  const noop = kind === 'completion' ? COMPLETION_NOOP : CHAT_NOOP;
  for (const key of Object.keys(body)) {
    if (known.has(key)) continue;
    if (noop.has(key)) {
      if (!NOOP_VALUES[key]!(body[key])) {
        throw unsupported(key, `'${key}' is not supported by this server (only its default value is accepted), got ${describe(body[key])}`);
      }
      continue;
    }
    throw unknownField(key);
  }
}

function parseStop(body: Dict): string[] {
  const v = body.stop;
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list)) throw expect('stop', 'a string or an array of strings', v);
  if (list.length > MAX_STOP) throw invalidValue('stop', `Invalid value for 'stop': at most ${MAX_STOP} stop sequences are allowed, got ${list.length}`);
  return list.map((s: unknown, i: number) => {
    if (typeof s !== 'string' || s.length === 0) throw expect(`stop[${i}]`, 'a non-empty string', s);
    return s;
  });
}

export function parseTokenIds(v: unknown[], param: string): Int32Array {
  if (v.length === 0) throw invalidValue(param, `Invalid value for '${param}': the prompt must not be empty`);
  const out = new Int32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const t = v[i];
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > INT32_MAX) throw expect(`${param}[${i}]`, 'a token id (an integer >= 0)', t);
    out[i] = t;
  }
  return out;
}

/** Prompts of one batch request, at most (each is one engine request and one choice). */
export const MAX_BATCH_PROMPTS = 256;

function textPrompt(v: string, param: string): PromptInput {
  if (v.length === 0) throw invalidValue(param, `Invalid value for '${param}': the prompt must not be empty`);
  return { text: v };
}

/** `prompt`: a string, token ids, or a batch of either (a list of strings or of token-id lists). */
function parsePrompts(body: Dict): PromptInput[] {
  const v = body.prompt;
  if (v === undefined || v === null) throw missingField('prompt');
  if (typeof v === 'string') return [textPrompt(v, 'prompt')];
  if (!Array.isArray(v)) throw expect('prompt', 'a string, an array of token ids, or an array of either', v);
  if (v.length === 0) throw invalidValue('prompt', "Invalid value for 'prompt': the prompt must not be empty");
  if (v.every((x) => typeof x === 'number')) return [{ tokens: parseTokenIds(v, 'prompt') }];
  if (v.length > MAX_BATCH_PROMPTS) throw invalidValue('prompt', `Invalid value for 'prompt': at most ${MAX_BATCH_PROMPTS} prompts in one request, got ${v.length}`);
  return v.map((x: unknown, i: number) => {
    if (typeof x === 'string') return textPrompt(x, `prompt[${i}]`);
    if (Array.isArray(x)) return { tokens: parseTokenIds(x, `prompt[${i}]`) };
    throw expect(`prompt[${i}]`, 'a string or an array of token ids', x);
  });
}

const ROLES: readonly ChatRole[] = ['system', 'developer', 'user', 'assistant', 'tool'];

function parseContent(v: unknown, param: string, role: ChatRole): string {
  if (typeof v === 'string') return v;
  if (v === null && role === 'assistant') return '';
  if (!Array.isArray(v)) throw expect(param, 'a string or an array of text parts', v);
  let text = '';
  v.forEach((part: unknown, j: number) => {
    const p = `${param}[${j}]`;
    if (!isObject(part)) throw expect(p, 'a content part object', part);
    if (part.type !== 'text') {
      throw unsupported(`${p}.type`, `Content parts of type ${describe(part.type)} are not supported: only 'text'`);
    }
    for (const k of Object.keys(part)) if (k !== 'type' && k !== 'text') throw unknownField(`${p}.${k}`);
    if (typeof part.text !== 'string') throw expect(`${p}.text`, 'a string', part.text);
    text += part.text;
  });
  return text;
}

const MESSAGE_FIELDS = new Set(['role', 'content', 'name', 'tool_calls', 'tool_call_id']);

function parseMessages(body: Dict): ChatMessage[] {
  const v = body.messages;
  if (v === undefined || v === null) throw missingField('messages');
  if (!Array.isArray(v)) throw expect('messages', 'an array of messages', v);
  if (v.length === 0) throw invalidValue('messages', "Invalid value for 'messages': at least one message is required");
  return v.map((m: unknown, i: number) => {
    const p = `messages[${i}]`;
    if (!isObject(m)) throw expect(p, 'a message object', m);
    for (const k of Object.keys(m)) if (!MESSAGE_FIELDS.has(k)) throw unknownField(`${p}.${k}`);
    if (typeof m.role !== 'string' || !(ROLES as readonly string[]).includes(m.role)) {
      throw expect(`${p}.role`, `one of ${ROLES.map((r) => `'${r}'`).join(', ')}`, m.role);
    }
    const role = m.role as ChatRole;
    const hasToolCalls = role === 'assistant' && m.tool_calls !== undefined && m.tool_calls !== null;
    if (m.content === undefined && !hasToolCalls) throw missingField(`${p}.content`);
    const msg: ChatMessage = { role, content: m.content === undefined ? '' : parseContent(m.content, `${p}.content`, role) };
    if (m.name !== undefined && m.name !== null) {
      if (typeof m.name !== 'string') throw expect(`${p}.name`, 'a string', m.name);
      msg.name = m.name;
    }
    if (hasToolCalls) msg.tool_calls = objectList(m.tool_calls, `${p}.tool_calls`);
    else if (m.tool_calls !== undefined && m.tool_calls !== null) throw invalidValue(`${p}.tool_calls`, `Invalid value for '${p}.tool_calls': only assistant messages have tool calls`);
    if (m.tool_call_id !== undefined && m.tool_call_id !== null) {
      if (role !== 'tool') throw invalidValue(`${p}.tool_call_id`, `Invalid value for '${p}.tool_call_id': only tool messages answer a tool call`);
      if (typeof m.tool_call_id !== 'string') throw expect(`${p}.tool_call_id`, 'a string', m.tool_call_id);
      msg.tool_call_id = m.tool_call_id;
    }
    return msg;
  });
}

function objectList(v: unknown, param: string): object[] {
  if (!Array.isArray(v)) throw expect(param, 'an array of objects', v);
  v.forEach((x, i) => {
    if (!isObject(x)) throw expect(`${param}[${i}]`, 'an object', x);
  });
  return v as object[];
}

/** The chat template's inputs of a chat completion or POST /tokenize body (`addSpecialTokens`: default false). */
export function parseChatPromptFields(body: Dict): ChatPromptFields {
  const addGenerationPrompt = optBool(body, 'add_generation_prompt') ?? true;
  const continueFinalMessage = optBool(body, 'continue_final_message') ?? false;
  if (addGenerationPrompt && continueFinalMessage) {
    throw invalidValue('continue_final_message', "'continue_final_message' continues the last message and 'add_generation_prompt' starts a new one: set 'add_generation_prompt' to false with it");
  }
  const messages = parseMessages(body);
  if (continueFinalMessage && messages[messages.length - 1]!.role !== 'assistant') {
    throw invalidValue('continue_final_message', "'continue_final_message' needs the last message to be the assistant's");
  }
  const tools = body.tools === undefined || body.tools === null ? null : objectList(body.tools, 'tools');
  const documents = body.documents === undefined || body.documents === null ? null : objectList(body.documents, 'documents');
  const kw = body.chat_template_kwargs;
  let templateVariables: Record<string, unknown> = {};
  if (kw !== undefined && kw !== null) {
    if (!isObject(kw)) throw expect('chat_template_kwargs', 'an object', kw);
    for (const k of Object.keys(kw)) {
      if (RESERVED_TEMPLATE_VARIABLES.includes(k)) throw invalidValue(`chat_template_kwargs.${k}`, `Invalid value for 'chat_template_kwargs': '${k}' is set by the request itself`);
    }
    templateVariables = kw;
  }
  return {
    messages,
    addGenerationPrompt,
    continueFinalMessage,
    tools: tools && tools.length > 0 ? tools : null,
    documents,
    templateVariables,
    addSpecialTokens: optBool(body, 'add_special_tokens') ?? false,
  };
}

/**
 * Validates a parsed JSON body. `servedModel` is the model this worker serves, `adapters` its LoRA adapters by
 * name: any other `model` is 404 model_not_found (as OpenAI answers).
 */
export function parseRequest(kind: EndpointKind, body: unknown, servedModel: string, adapters: LoraModules = NO_ADAPTERS): ParsedRequest {
  if (!isObject(body)) throw new ApiError(400, `The request body must be a JSON object, got ${describe(body)}`, 'invalid_request_error', null, 'invalid_json', 'deserialization');
  checkFields(body, kind);
  const model = body.model;
  if (model === undefined || model === null) throw missingField('model');
  if (typeof model !== 'string') throw expect('model', 'a string', model);
  if (model !== servedModel && !adapters.has(model)) throw modelNotFound(model);

  const n = optInt(body, 'n', 1, INT32_MAX);
  if (n !== undefined && n !== 1) throw unsupported('n', `Only n=1 is supported, got ${n}`);

  let maxTokens = optInt(body, 'max_tokens', 1, INT32_MAX);
  if (kind === 'chat') {
    const mct = optInt(body, 'max_completion_tokens', 1, INT32_MAX);
    if (mct !== undefined) {
      if (maxTokens !== undefined && maxTokens !== mct) {
        throw invalidValue('max_completion_tokens', "'max_tokens' and 'max_completion_tokens' disagree: set one of them");
      }
      maxTokens = mct;
    }
  }
  const stream = optBool(body, 'stream') ?? false;
  let includeUsage = false;
  const so = body.stream_options;
  if (so !== undefined && so !== null) {
    if (!stream) throw invalidValue('stream_options', "'stream_options' is only allowed when 'stream' is true");
    if (!isObject(so)) throw expect('stream_options', 'an object', so);
    for (const k of Object.keys(so)) if (k !== 'include_usage') throw unknownField(`stream_options.${k}`);
    includeUsage = optBool(so, 'include_usage') ?? false;
  }
  if (body.user !== undefined && body.user !== null && typeof body.user !== 'string') throw expect('user', 'a string', body.user);

  const ignoreEos = optBool(body, 'ignore_eos') ?? false;
  const stopTokenIds = body.stop_token_ids === undefined || body.stop_token_ids === null ? [] : Array.from(parseIdList(body.stop_token_ids, 'stop_token_ids'));
  const parsed: ParsedRequest = {
    kind,
    model,
    maxTokens,
    stop: parseStop(body),
    stream,
    includeUsage,
    ignoreEos,
    echo: optBool(body, 'echo') ?? false,
    addSpecialTokens: optBool(body, 'add_special_tokens') ?? true,
    skipSpecialTokens: optBool(body, 'skip_special_tokens') ?? true,
    spacesBetweenSpecialTokens: optBool(body, 'spaces_between_special_tokens') ?? true,
    includeStopStrInOutput: optBool(body, 'include_stop_str_in_output') ?? false,
    stopTokenIds,
  };
  const temperature = optNum(body, 'temperature', 0, 2);
  if (temperature !== undefined) parsed.temperature = temperature;
  const topP = optNum(body, 'top_p', 0, 1);
  if (topP !== undefined) parsed.topP = topP;
  const topK = optInt(body, 'top_k', 0, INT32_MAX);
  if (topK !== undefined) parsed.topK = topK;
  const seed = optInt(body, 'seed', 0, Number.MAX_SAFE_INTEGER);
  if (seed !== undefined) parsed.seed = seed;
  const loraTaskId = loraTaskIdOf(model, body.lora_request, adapters);
  if (loraTaskId !== undefined) parsed.loraTaskId = loraTaskId;
  if (kind === 'completion') parsed.prompts = parsePrompts(body);
  else {
    parsed.chat = parseChatPromptFields(body);
    parsed.addSpecialTokens = parsed.chat.addSpecialTokens;
  }
  return parsed;
}

/** A list of token ids (stop_token_ids, /detokenize's tokens); may be empty. */
export function parseIdList(v: unknown, param: string): Int32Array {
  if (!Array.isArray(v)) throw expect(param, 'an array of token ids', v);
  return v.length === 0 ? new Int32Array(0) : parseTokenIds(v, param);
}
