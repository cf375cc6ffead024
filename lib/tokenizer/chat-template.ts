/**
 * Chat templates: a conversation -> one prompt string, rendered with @huggingface/jinja (the Jinja subset Hugging
 * Face made for chat templates) the way transformers' `apply_chat_template` renders it:
 * - variables: `messages`, `tools` and `documents` (None when not given), `add_generation_prompt`, the
 *   tokenizer's special tokens (`bos_token`, `eos_token`, ...), then the caller's extra variables (vLLM's
 *   `chat_template_kwargs`); `raise_exception` and `strftime_now` are globals; trim_blocks and lstrip_blocks on;
 * - a list of named templates picks `tool_use` when tools are given and it exists, else `default`;
 * - `continue_final_message` cuts the rendering right after the last message's content, so the model goes on
 *   with that message instead of starting a new one.
 * Any error while rendering (raise_exception, a filter applied to a missing value, ...) is a ChatTemplateError
 * carrying the template's own message; the API answers it with a 400.
 */
import type { Template as JinjaTemplate } from '@huggingface/jinja' with { 'resolution-mode': 'import' };
import { ChatTemplateError, TokenizerError } from '../errors.js';

// The package is an ES module with a CommonJS build: its types are declared for `import`, the code is required.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Template } = require('@huggingface/jinja') as { Template: typeof JinjaTemplate };
type Template = JinjaTemplate;

/** One message as the template sees it (role, content and whatever else the request carried: name, tool_calls, ...). */
export type TemplateMessage = { readonly role: string; readonly content: string } & Readonly<Record<string, unknown>>;

export interface ChatRenderOptions {
  /** Append the header of a new assistant turn (default true). */
  addGenerationPrompt?: boolean;
  /** End the prompt inside the last message, which the model then continues (default false). */
  continueFinalMessage?: boolean;
  /** Tool definitions, passed to the template as `tools` (None when absent). */
  tools?: readonly unknown[] | null;
  /** Documents for retrieval-augmented templates, passed as `documents` (None when absent). */
  documents?: readonly unknown[] | null;
  /** Further template variables; they may not replace messages, tools, documents or add_generation_prompt. */
  variables?: Readonly<Record<string, unknown>>;
}

/** A named template of tokenizer_config.json's list form. */
export interface NamedTemplate {
  name: string;
  template: string;
}

/** Variables the renderer sets itself; extra variables cannot replace them. */
export const RESERVED_TEMPLATE_VARIABLES: readonly string[] = ['messages', 'tools', 'documents', 'add_generation_prompt'];

export class ChatTemplate {
  private readonly templates = new Map<string, Template>();

  /**
   * Parses the template(s) once. `origin` names where they came from (a file) for the error of a template that
   * does not parse. `specialTokens` are the tokenizer's special-token variables (bos_token, eos_token, ...).
   */
  constructor(
    source: string | readonly NamedTemplate[],
    readonly specialTokens: Readonly<Record<string, unknown>>,
    readonly origin: string,
  ) {
    const named = typeof source === 'string' ? [{ name: 'default', template: source }] : source;
    for (const { name, template } of named) {
      try {
        this.templates.set(name, new Template(template));
      } catch (err) {
        const which = named.length > 1 ? ` (template "${name}")` : '';
        throw new TokenizerError(`${origin}: the chat template${which} does not parse: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** The names of the templates (one, `default`, for a plain string). */
  get names(): string[] {
    return [...this.templates.keys()];
  }

  /** The prompt text of a conversation. Throws ChatTemplateError when the template rejects it. */
  render(messages: readonly TemplateMessage[], options: ChatRenderOptions = {}): string {
    const tools = options.tools ?? null;
    const template = this.pick(tools !== null);
    const addGenerationPrompt = options.addGenerationPrompt ?? true;
    const continueFinal = options.continueFinalMessage ?? false;
    if (continueFinal && addGenerationPrompt) {
      throw new ChatTemplateError('continue_final_message and add_generation_prompt cannot both be true: the first continues the last message, the second starts a new one');
    }
    let rendered: string;
    try {
      rendered = template.render({
        ...this.specialTokens,
        ...options.variables,
        messages,
        tools,
        documents: options.documents ?? null,
        add_generation_prompt: addGenerationPrompt,
      });
    } catch (err) {
      throw new ChatTemplateError(`the chat template rejected the request: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
    return continueFinal ? cutAfterFinalMessage(rendered, messages) : rendered;
  }

  private pick(hasTools: boolean): Template {
    if (hasTools && this.templates.has('tool_use')) return this.templates.get('tool_use')!;
    const t = this.templates.get('default') ?? (this.templates.size === 1 ? [...this.templates.values()][0] : undefined);
    if (t === undefined) throw new ChatTemplateError(`${this.origin} has several chat templates (${this.names.join(', ')}) and none is named "default"`);
    return t;
  }
}

/** transformers' continue_final_message: the rendering up to the end of the last message's content. */
function cutAfterFinalMessage(rendered: string, messages: readonly TemplateMessage[]): string {
  const last = messages[messages.length - 1];
  const content = last?.content ?? '';
  const at = rendered.lastIndexOf(content.trim());
  if (content.trim() === '' || at < 0) {
    throw new ChatTemplateError('continue_final_message is set but the final message does not appear in the rendered chat template');
  }
  // A template that keeps the message's spacing keeps it whole; one that strips it is cut after the stripped text.
  const keepsSpacing = rendered.slice(at, at + content.trimStart().length) === content;
  return rendered.slice(0, at + (keepsSpacing ? content.trimStart().length : content.trim().length));
}

/**
 * The byte tokenizer's template: ChatML, `developer` rendered as `system`, a `name` as `{role} name={name}`
 * (docs/worker.md). Tool messages keep their role.
 */
export const CHATML_TEMPLATE =
  "{%- for message in messages -%}\n" +
  "{{ '<|im_start|>' + ('system' if message.role == 'developer' else message.role) }}" +
  "{% if message.name is defined and message.name is not none %}{{ ' name=' + message.name }}{% endif %}" +
  "{{ '\\n' + message.content + '<|im_end|>\\n' }}\n" +
  "{%- endfor -%}\n" +
  "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}{%- endif -%}";

let chatMl: ChatTemplate | undefined;

/** The ChatML template (parsed on first use). */
export function chatMlTemplate(): ChatTemplate {
  chatMl ??= new ChatTemplate(CHATML_TEMPLATE, {}, 'the built-in ChatML template');
  return chatMl;
}
