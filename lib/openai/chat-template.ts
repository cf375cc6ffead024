/**
 * The chat template: messages -> one prompt string (ChatML layout), documented in docs/worker.md.
 *
 *   <|im_start|>{role}\n{content}<|im_end|>\n      for every message, in order
 *   <|im_start|>assistant\n                        the generation prompt, always appended
 *
 * `developer` messages are rendered with the role `system`; a message `name` becomes `{role} name={name}`.
 * The markers are plain text to the byte tokenizer (no special ids).
 */
import type { ChatMessage } from './validate.js';

export const IM_START = '<|im_start|>';
export const IM_END = '<|im_end|>';

export function renderChatPrompt(messages: readonly ChatMessage[]): string {
  let out = '';
  for (const m of messages) {
    const role = m.role === 'developer' ? 'system' : m.role;
    const header = m.name !== undefined ? `${role} name=${m.name}` : role;
    out += `${IM_START}${header}\n${m.content}${IM_END}\n`;
  }
  return out + `${IM_START}assistant\n`;
}
