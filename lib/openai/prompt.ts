/**
 * Request prompts -> token ids, shared by the generation routes and POST /tokenize: a completion prompt is
 * encoded (text) or checked (token ids); a conversation goes through the model's chat template and is then
 * encoded (without special tokens by default: the template writes them). The context limit (max_model_len) is
 * checked here, with OpenAI's wording naming the numbers.
 */
import { ChatTemplateError } from '../errors.js';
import { ByteTokenizer, type Tokenizer } from '../tokenizer.js';
import type { TemplateMessage } from '../tokenizer/chat-template.js';
import { ApiError, invalidValue } from './errors.js';
import type { ChatPromptFields, PromptInput } from './validate.js';

/** A prompt ready for the engine, and its text when the request gave one (for echo). */
export interface PreparedPrompt {
  ids: Int32Array;
  text: string | null;
}

/** The prompt text of a conversation. A template that rejects it is a 400 carrying the template's message. */
export function renderChat(tokenizer: Tokenizer, chat: ChatPromptFields): string {
  const template = tokenizer.chatTemplate;
  if (template === null) {
    throw invalidValue(
      'messages',
      "This model's tokenizer has no chat template (tokenizer_config.json has no chat_template and the folder no chat_template.jinja); " +
        'use /v1/completions, or start the worker with --chat-template FILE',
    );
  }
  try {
    return template.render(chat.messages as unknown as TemplateMessage[], {
      addGenerationPrompt: chat.addGenerationPrompt,
      continueFinalMessage: chat.continueFinalMessage,
      tools: chat.tools,
      documents: chat.documents,
      variables: chat.templateVariables,
    });
  } catch (err) {
    if (err instanceof ChatTemplateError) throw invalidValue('messages', err.message);
    throw err;
  }
}

export async function chatPrompt(tokenizer: Tokenizer, chat: ChatPromptFields): Promise<PreparedPrompt> {
  const text = renderChat(tokenizer, chat);
  const ids = await tokenizer.encode(text, { addSpecialTokens: chat.addSpecialTokens });
  if (ids.length === 0) throw invalidValue('messages', 'The prompt encodes to zero tokens');
  return { ids, text };
}

export async function completionPrompt(tokenizer: Tokenizer, prompt: PromptInput, addSpecialTokens: boolean, param: string): Promise<PreparedPrompt> {
  if ('tokens' in prompt) {
    checkTokenIds(tokenizer, prompt.tokens, param);
    return { ids: prompt.tokens, text: null };
  }
  const ids = await tokenizer.encode(prompt.text, { addSpecialTokens });
  if (ids.length === 0) throw invalidValue(param, 'The prompt encodes to zero tokens');
  return { ids, text: prompt.text };
}

/**
 * Token ids outside the tokenizer's vocabulary are a 400 naming the first one. The byte tokenizer is exempt:
 * the simulator's vocabulary is larger than its 259 ids and it renders every id (docs/worker.md).
 */
export function checkTokenIds(tokenizer: Tokenizer, ids: ArrayLike<number>, param: string): void {
  if (tokenizer instanceof ByteTokenizer) return;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i]! >= tokenizer.vocabSize) {
      throw invalidValue(`${param}[${i}]`, `Token id ${ids[i]} is out of vocabulary (the tokenizer has ${tokenizer.vocabSize} ids)`);
    }
  }
}

/** max_tokens for a prompt: the request's (checked against the context limit) or the default, clamped to it. */
export function maxTokensFor(promptLen: number, requested: number | undefined, fallback: number, maxModelLen: number | null, param: string): number {
  if (maxModelLen === null) return requested ?? fallback;
  if (promptLen >= maxModelLen) {
    throw contextError(param, `This model's maximum context length is ${maxModelLen} tokens. However, your request has ${promptLen} input tokens. Please reduce the length of the input.`);
  }
  if (requested === undefined) return Math.min(fallback, maxModelLen - promptLen);
  if (promptLen + requested > maxModelLen) {
    const where = param === 'messages' ? 'messages' : 'prompt';
    throw contextError(
      param,
      `This model's maximum context length is ${maxModelLen} tokens. However, you requested ${promptLen + requested} tokens ` +
        `(${promptLen} in the ${where}, ${requested} in the completion). Please reduce the length of the ${where} or completion.`,
    );
  }
  return requested;
}

/** OpenAI's code for a request over the context length. */
function contextError(param: string, message: string): ApiError {
  return new ApiError(400, message, 'invalid_request_error', param, 'context_length_exceeded');
}
