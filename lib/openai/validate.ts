/**
 * Validation of POST /v1/completions and /v1/chat/completions bodies. Every problem is a 400 (404 for an
 * unknown model) with OpenAI's error JSON naming the field. Fields OpenAI's API does not have are rejected;
 * fields it has that this server does not implement are accepted only with their default (no-op) value.
 */
import { ApiError, invalidValue, missingField, modelNotFound, unknownField, unsupported } from './errors.js';
import { loraTaskIdOf, type LoraModules } from './lora.js';

const NO_ADAPTERS: LoraModules = new Map();

export type EndpointKind = 'completion' | 'chat';

export type ChatRole = 'system' | 'developer' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
  name?: string;
}

/** What the handlers need from a valid request. */
export interface ParsedRequest {
  kind: EndpointKind;
  model: string;
  /** completions: the prompt as text or as token ids; chat: absent (see messages). */
  prompt?: { text: string } | { tokens: Int32Array };
  /** chat: the conversation. */
  messages?: ChatMessage[];
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
  /** The LoRA task id: of the adapter `model` names, or lora_request's (lib/openai/lora.ts). */
  loraTaskId?: number;
}

type Dict = Record<string, unknown>;

const INT32_MAX = 2147483647;
const MAX_STOP = 4;

/** Fields both endpoints support. `top_k` and `ignore_eos` are extensions that trtllm-serve and vLLM accept too. */
const COMMON = ['model', 'max_tokens', 'n', 'seed', 'stop', 'stream', 'stream_options', 'temperature', 'top_p', 'top_k', 'user', 'ignore_eos', 'lora_request'];
const COMPLETION_FIELDS = new Set([...COMMON, 'prompt']);
const CHAT_FIELDS = new Set([...COMMON, 'messages', 'max_completion_tokens']);

/** OpenAI fields this server does not implement, with the values that mean "off" (accepted). */
const NOOP_VALUES: Record<string, (v: unknown) => boolean> = {
  frequency_penalty: (v) => v === null || v === 0,
  presence_penalty: (v) => v === null || v === 0,
  logit_bias: (v) => v === null || (isObject(v) && Object.keys(v).length === 0),
  logprobs: (v) => v === null || v === false,
  top_logprobs: (v) => v === null || v === 0,
  best_of: (v) => v === null || v === 1,
  echo: (v) => v === null || v === false,
  suffix: (v) => v === null || v === '',
  response_format: (v) => v === null || (isObject(v) && (v as Dict).type === 'text' && Object.keys(v).length === 1),
  tools: (v) => v === null || (Array.isArray(v) && v.length === 0),
  tool_choice: (v) => v === null || v === 'none',
  parallel_tool_calls: (v) => v === null || typeof v === 'boolean',
  store: (v) => v === null || v === false,
  metadata: (v) => v === null || isObject(v),
};
const COMPLETION_NOOP = new Set(['frequency_penalty', 'presence_penalty', 'logit_bias', 'logprobs', 'best_of', 'echo', 'suffix']);
const CHAT_NOOP = new Set([
  'frequency_penalty',
  'presence_penalty',
  'logit_bias',
  'logprobs',
  'top_logprobs',
  'response_format',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'store',
  'metadata',
]);

function isObject(v: unknown): v is Dict {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function expect(param: string, what: string, v: unknown): ApiError {
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

function optBool(body: Dict, key: string): boolean | undefined {
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

function parseTokenIds(v: unknown[], param: string): Int32Array {
  if (v.length === 0) throw invalidValue(param, `Invalid value for '${param}': the prompt must not be empty`);
  const out = new Int32Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const t = v[i];
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > INT32_MAX) throw expect(`${param}[${i}]`, 'a token id (an integer >= 0)', t);
    out[i] = t;
  }
  return out;
}

function parsePrompt(body: Dict): { text: string } | { tokens: Int32Array } {
  const v = body.prompt;
  if (v === undefined || v === null) throw missingField('prompt');
  if (typeof v === 'string') {
    if (v.length === 0) throw invalidValue('prompt', "Invalid value for 'prompt': the prompt must not be empty");
    return { text: v };
  }
  if (!Array.isArray(v)) throw expect('prompt', 'a string or an array of token ids', v);
  if (v.length > 0 && v.every((x) => typeof x === 'number')) return { tokens: parseTokenIds(v, 'prompt') };
  // A list of prompts (strings or token lists): one is accepted as that prompt, several are a batch.
  if (v.length === 1 && typeof v[0] === 'string') return parsePrompt({ prompt: v[0] });
  if (v.length === 1 && Array.isArray(v[0])) return { tokens: parseTokenIds(v[0] as unknown[], 'prompt[0]') };
  if (v.length > 1 && v.every((x) => typeof x === 'string' || Array.isArray(x))) {
    throw unsupported('prompt', `Batch prompts are not supported: send one prompt per request (got ${v.length} prompts)`);
  }
  if (v.length === 0) throw invalidValue('prompt', "Invalid value for 'prompt': the prompt must not be empty");
  throw expect('prompt', 'a string or an array of token ids', v);
}

const ROLES: readonly ChatRole[] = ['system', 'developer', 'user', 'assistant'];

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

function parseMessages(body: Dict): ChatMessage[] {
  const v = body.messages;
  if (v === undefined || v === null) throw missingField('messages');
  if (!Array.isArray(v)) throw expect('messages', 'an array of messages', v);
  if (v.length === 0) throw invalidValue('messages', "Invalid value for 'messages': at least one message is required");
  return v.map((m: unknown, i: number) => {
    const p = `messages[${i}]`;
    if (!isObject(m)) throw expect(p, 'a message object', m);
    for (const k of Object.keys(m)) if (k !== 'role' && k !== 'content' && k !== 'name') throw unknownField(`${p}.${k}`);
    if (typeof m.role !== 'string' || !(ROLES as readonly string[]).includes(m.role)) {
      throw expect(`${p}.role`, `one of ${ROLES.map((r) => `'${r}'`).join(', ')}`, m.role);
    }
    const role = m.role as ChatRole;
    if (m.content === undefined) throw missingField(`${p}.content`);
    const msg: ChatMessage = { role, content: parseContent(m.content, `${p}.content`, role) };
    if (m.name !== undefined && m.name !== null) {
      if (typeof m.name !== 'string') throw expect(`${p}.name`, 'a string', m.name);
      msg.name = m.name;
    }
    return msg;
  });
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
  const parsed: ParsedRequest = { kind, model, maxTokens, stop: parseStop(body), stream, includeUsage, ignoreEos };
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
  if (kind === 'completion') parsed.prompt = parsePrompt(body);
  else parsed.messages = parseMessages(body);
  return parsed;
}
