/**
 * What a Hugging Face model folder says about its tokenizer, read and checked file by file:
 * - `tokenizer.json` (required): the tokenizers library's file (model, vocabulary, added tokens, decoder);
 * - `tokenizer_config.json`: bos/eos/unk/pad tokens (a string or an AddedToken object), `add_bos_token` /
 *   `add_eos_token`, `model_max_length`, `chat_template` (a string or a list of `{name, template}`);
 * - `special_tokens_map.json`: the special tokens again (older folders keep them only here);
 * - `generation_config.json`: `eos_token_id`, an id or a list of ids (every one of them ends a request);
 * - `chat_template.jinja` (or `chat_template.json`): the chat template, which then wins over tokenizer_config's.
 * A missing optional file is fine; a file that is present but malformed is a TokenizerError naming it.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenizerError } from '../errors.js';
import type { NamedTemplate } from './chat-template.js';

export const TOKENIZER_FILE = 'tokenizer.json';

/** The special-token variables chat templates read (transformers' special_tokens_map keys). */
export const SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;

export interface ModelFolder {
  dir: string;
  /** tokenizer.json's text (the tokenizers library parses it) and its parsed JSON (decoder, added tokens). */
  tokenizerJsonText: string;
  tokenizerJson: Record<string, unknown>;
  /** Special tokens by key (bos_token, ...): tokenizer_config.json's, else special_tokens_map.json's. */
  specialTokens: Partial<Record<(typeof SPECIAL_TOKEN_KEYS)[number], string>>;
  /** The file each special token came from (for errors). */
  specialTokenFiles: Partial<Record<(typeof SPECIAL_TOKEN_KEYS)[number], string>>;
  /** additional_special_tokens, for templates that read them. */
  additionalSpecialTokens: string[];
  addBosToken: boolean | undefined;
  addEosToken: boolean | undefined;
  /** model_max_length when it is a real limit (transformers writes 1e30 for "none"). */
  modelMaxLength: number | null;
  /** generation_config.json's eos_token_id as a list (empty when absent). */
  generationEosIds: number[];
  /** The chat template and the file it came from; null when the folder has none. */
  chatTemplate: { source: string | NamedTemplate[]; file: string } | null;
}

type Dict = Record<string, unknown>;

const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Largest model_max_length taken as a real limit (transformers' "unset" is 1e30). */
const MAX_REAL_CONTEXT = 1 << 30;

/** A file's text; null when it is absent and `missing` is undefined, else `missing` explains the absence. */
async function readText(path: string, missing?: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' && missing === undefined) return null;
    if (code === 'ENOENT') throw new TokenizerError(`${path} is missing: ${missing}`);
    throw new TokenizerError(`${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

async function readJsonObject(path: string, missing?: string): Promise<{ text: string; json: Dict } | null> {
  const text = await readText(path, missing);
  if (text === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new TokenizerError(`${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isDict(json)) throw new TokenizerError(`${path} must hold a JSON object`);
  return { text, json };
}

/** A special token's text: a string, or an AddedToken object's `content`. */
function tokenText(v: unknown, path: string, key: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (isDict(v) && typeof v.content === 'string') return v.content;
  throw new TokenizerError(`${path}: "${key}" must be a string or an object with a "content" string`);
}

function optBool(json: Dict, key: string, path: string): boolean | undefined {
  const v = json[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new TokenizerError(`${path}: "${key}" must be true or false`);
  return v;
}

function chatTemplateOf(v: unknown, path: string): string | NamedTemplate[] | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.length > 0 && v.every((t) => isDict(t) && typeof t.name === 'string' && typeof t.template === 'string')) {
    return v.map((t) => ({ name: (t as Dict).name as string, template: (t as Dict).template as string }));
  }
  throw new TokenizerError(`${path}: "chat_template" must be a string or a non-empty list of {"name", "template"} strings`);
}

function idList(v: unknown, path: string, key: string): number[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const id of list) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new TokenizerError(`${path}: "${key}" must be a token id or a list of token ids`);
  }
  return list as number[];
}

/** Reads and checks the tokenizer files of `dir`; `chatTemplateFile` replaces the folder's template. */
export async function readModelFolder(dir: string, chatTemplateFile?: string): Promise<ModelFolder> {
  let isDir = false;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch {
    throw new TokenizerError(`tokenizer folder ${dir} does not exist`);
  }
  if (!isDir) throw new TokenizerError(`tokenizer folder ${dir} is not a directory`);

  const tokPath = join(dir, TOKENIZER_FILE);
  const tok = (await readJsonObject(tokPath, `a tokenizer folder needs the model's ${TOKENIZER_FILE} (and usually tokenizer_config.json)`))!;
  if (!isDict(tok.json.model)) throw new TokenizerError(`${tokPath} has no "model" object: not a tokenizers library file`);

  const cfgPath = join(dir, 'tokenizer_config.json');
  const cfg = (await readJsonObject(cfgPath))?.json ?? {};
  const mapPath = join(dir, 'special_tokens_map.json');
  const map = (await readJsonObject(mapPath))?.json ?? {};
  const genPath = join(dir, 'generation_config.json');
  const gen = (await readJsonObject(genPath))?.json ?? {};

  const specialTokens: ModelFolder['specialTokens'] = {};
  const specialTokenFiles: ModelFolder['specialTokenFiles'] = {};
  for (const key of SPECIAL_TOKEN_KEYS) {
    const fromCfg = tokenText(cfg[key], cfgPath, key);
    const text = fromCfg ?? tokenText(map[key], mapPath, key);
    if (text === undefined) continue;
    specialTokens[key] = text;
    specialTokenFiles[key] = fromCfg !== undefined ? cfgPath : mapPath;
  }
  const additional = cfg.additional_special_tokens ?? map.additional_special_tokens;
  const additionalSpecialTokens: string[] = [];
  if (additional !== undefined && additional !== null) {
    const where = cfg.additional_special_tokens !== undefined ? cfgPath : mapPath;
    if (!Array.isArray(additional)) throw new TokenizerError(`${where}: "additional_special_tokens" must be a list`);
    additional.forEach((t, i) => additionalSpecialTokens.push(tokenText(t, where, `additional_special_tokens[${i}]`) ?? ''));
  }

  const mml = cfg.model_max_length;
  if (mml !== undefined && mml !== null && (typeof mml !== 'number' || !(mml > 0))) throw new TokenizerError(`${cfgPath}: "model_max_length" must be a positive number`);
  const modelMaxLength = typeof mml === 'number' && Number.isInteger(mml) && mml <= MAX_REAL_CONTEXT ? mml : null;

  let chatTemplate: ModelFolder['chatTemplate'] = null;
  if (chatTemplateFile !== undefined) {
    chatTemplate = { source: (await readText(chatTemplateFile, 'the chat template file (--chat-template) does not exist'))!, file: chatTemplateFile };
  } else {
    const jinjaPath = join(dir, 'chat_template.jinja');
    const jinja = await readText(jinjaPath);
    const jsonPath = join(dir, 'chat_template.json');
    const json = jinja === null ? await readJsonObject(jsonPath) : null;
    if (jinja !== null) chatTemplate = { source: jinja, file: jinjaPath };
    else if (json !== null) {
      const source = chatTemplateOf(json.json.chat_template, jsonPath);
      if (source === null) throw new TokenizerError(`${jsonPath} has no "chat_template"`);
      chatTemplate = { source, file: jsonPath };
    } else {
      const source = chatTemplateOf(cfg.chat_template, cfgPath);
      if (source !== null) chatTemplate = { source, file: cfgPath };
    }
  }

  return {
    dir,
    tokenizerJsonText: tok.text,
    tokenizerJson: tok.json,
    specialTokens,
    specialTokenFiles,
    additionalSpecialTokens,
    addBosToken: optBool(cfg, 'add_bos_token', cfgPath),
    addEosToken: optBool(cfg, 'add_eos_token', cfgPath),
    modelMaxLength,
    generationEosIds: idList(gen.eos_token_id, genPath, 'eos_token_id'),
    chatTemplate,
  };
}
