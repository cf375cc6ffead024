/**
 * loadTokenizer(dir): a model's Hugging Face tokenizer folder -> a Tokenizer (its vocabulary, special tokens,
 * end ids and chat template). Every problem with the folder is a TokenizerError whose one-line message names
 * the file (the CLI prints it and exits with code 2).
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { TokenizerError } from '../errors.js';
import { HfTokenizer } from './hf-tokenizer.js';
import { readModelFolder, TOKENIZER_FILE } from './model-folder.js';

export interface LoadTokenizerOptions {
  /** A Jinja file that replaces the folder's chat template (vLLM's --chat-template). */
  chatTemplate?: string;
}

export async function loadTokenizer(dir: string, options: LoadTokenizerOptions = {}): Promise<HfTokenizer> {
  const folder = await readModelFolder(dir, options.chatTemplate);
  let rust: RustTokenizer;
  try {
    rust = RustTokenizer.fromString(folder.tokenizerJsonText);
  } catch (err) {
    const msg = String((err as Error)?.message ?? err).replace(/\s+/g, ' ');
    throw new TokenizerError(`${join(dir, TOKENIZER_FILE)} cannot be loaded by the tokenizers library: ${msg}`, { cause: err });
  }
  const tokenizer = new HfTokenizer(rust, folder);
  await tokenizer.init();
  return tokenizer;
}

/** Whether `dir` holds a tokenizer (its tokenizer.json), e.g. a TensorRT-LLM engine folder that ships one. */
export async function hasTokenizer(dir: string): Promise<boolean> {
  try {
    await access(join(dir, TOKENIZER_FILE));
    return true;
  } catch {
    return false;
  }
}
