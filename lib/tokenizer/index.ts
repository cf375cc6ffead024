/** A model's own tokenizer: its folder, its chat template, streamed detokenization and stop strings. */
export { loadTokenizer, hasTokenizer, type LoadTokenizerOptions } from './load.js';
export { HfTokenizer } from './hf-tokenizer.js';
export { ChatTemplate, chatMlTemplate, CHATML_TEMPLATE, type ChatRenderOptions, type NamedTemplate, type TemplateMessage } from './chat-template.js';
export { StopStringMatcher } from './stop-strings.js';
