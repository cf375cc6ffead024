/**
 * vLLM's tokenizer endpoints on the API port:
 *   POST /tokenize    {prompt} or {messages, ...chat template options} -> {count, max_model_len, tokens, token_strs}
 *   POST /detokenize  {tokens}                                         -> {prompt}
 * `model` is optional (when given it must be the served one). The chat form renders the conversation with the
 * model's chat template exactly as a chat completion does, so /tokenize shows the very ids the engine gets.
 * /detokenize keeps special tokens (as transformers' decode does by default).
 */
import type { Tokenizer } from '../tokenizer.js';
import { invalidValue, missingField, modelNotFound, unknownField, ApiError } from './errors.js';
import { chatPrompt, checkTokenIds, completionPrompt } from './prompt.js';
import { describe, expect, isObject, optBool, parseChatPromptFields, parseIdList } from './validate.js';

type Dict = Record<string, unknown>;

const COMPLETION_FIELDS = new Set(['model', 'prompt', 'add_special_tokens', 'return_token_strs']);
const CHAT_FIELDS = new Set([
  'model',
  'messages',
  'add_generation_prompt',
  'continue_final_message',
  'add_special_tokens',
  'tools',
  'documents',
  'chat_template_kwargs',
  'return_token_strs',
]);

export interface TokenizeDeps {
  tokenizer: Tokenizer;
  modelName: string;
  maxModelLen: number | null;
}

function checkBody(body: unknown, fields: ReadonlySet<string>, servedModel: string): Dict {
  if (!isObject(body)) throw new ApiError(400, `The request body must be a JSON object, got ${describe(body)}`, 'invalid_request_error', null, 'invalid_json', 'deserialization');
  for (const k of Object.keys(body)) if (!fields.has(k)) throw unknownField(k);
  const model = body.model;
  if (model !== undefined && model !== null) {
    if (typeof model !== 'string') throw expect('model', 'a string', model);
    if (model !== servedModel) throw modelNotFound(model);
  }
  return body;
}

export async function tokenize(deps: TokenizeDeps, body: unknown): Promise<object> {
  const isChat = isObject(body) && body.messages !== undefined;
  const b = checkBody(body, isChat ? CHAT_FIELDS : COMPLETION_FIELDS, deps.modelName);
  const returnStrs = optBool(b, 'return_token_strs') ?? false;
  let ids: Int32Array;
  if (isChat) ids = (await chatPrompt(deps.tokenizer, parseChatPromptFields(b))).ids;
  else {
    if (b.prompt === undefined || b.prompt === null) throw missingField('prompt');
    if (typeof b.prompt !== 'string') throw expect('prompt', 'a string (or send messages)', b.prompt);
    if (b.prompt === '') throw invalidValue('prompt', "Invalid value for 'prompt': the prompt must not be empty");
    ids = (await completionPrompt(deps.tokenizer, { text: b.prompt }, optBool(b, 'add_special_tokens') ?? true, 'prompt')).ids;
  }
  const tokens = Array.from(ids);
  return {
    count: tokens.length,
    max_model_len: deps.maxModelLen,
    tokens,
    token_strs: returnStrs ? tokens.map((id) => deps.tokenizer.idToToken(id)) : null,
  };
}

export function detokenize(deps: TokenizeDeps, body: unknown): object {
  const b = checkBody(body, new Set(['model', 'tokens']), deps.modelName);
  if (b.tokens === undefined || b.tokens === null) throw missingField('tokens');
  const ids = parseIdList(b.tokens, 'tokens');
  checkTokenIds(deps.tokenizer, ids, 'tokens');
  return { prompt: deps.tokenizer.decode(ids, { skipSpecialTokens: false }) };
}
