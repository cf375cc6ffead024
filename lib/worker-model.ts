/**
 * The worker's model-facing setup: which tokenizer the API speaks and the context limit it enforces.
 * - tokenizer: a Tokenizer object (API use), a folder (--tokenizer), else with --backend trtllm the engine
 *   folder when it holds tokenizer.json (a real engine needs its model's tokenizer: it is an error without
 *   one), else the simulator's byte tokenizer;
 * - max_model_len: --max-model-len, else the engine's limit (the simulator's --max-seq-len; a TensorRT-LLM
 *   engine's build_config.max_seq_len in its config.json), else the tokenizer's model_max_length, else none.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from './errors.js';
import { ByteTokenizer, type Tokenizer } from './tokenizer.js';
import { hasTokenizer, loadTokenizer } from './tokenizer/load.js';

export interface TokenizerChoice {
  tokenizer?: string | Tokenizer | undefined;
  chatTemplate?: string | undefined;
  backend: 'sim' | 'trtllm';
  engineDir?: string | undefined;
}

const isTokenizer = (v: unknown): v is Tokenizer =>
  v !== null && typeof v === 'object' && typeof (v as Tokenizer).encode === 'function' && typeof (v as Tokenizer).createDecoder === 'function';

/** The worker's tokenizer (loading a folder takes about a second for a 128k vocabulary). */
export async function workerTokenizer(c: TokenizerChoice): Promise<Tokenizer> {
  const given = c.tokenizer;
  if (given !== undefined && typeof given !== 'string' && !isTokenizer(given)) {
    throw new InvalidArgumentError('options.tokenizer (--tokenizer) must be a tokenizer folder or a Tokenizer object');
  }
  if (isTokenizer(given)) {
    if (c.chatTemplate !== undefined) throw new InvalidArgumentError('options.chatTemplate (--chat-template) applies to a tokenizer folder, not to a Tokenizer object');
    return given;
  }
  let dir = given;
  if (dir === undefined && c.backend === 'trtllm') {
    if (c.engineDir === undefined || !(await hasTokenizer(c.engineDir))) {
      throw new InvalidArgumentError(
        `--backend trtllm needs the model's tokenizer: ${c.engineDir ?? 'the engine directory'} holds no tokenizer.json; pass --tokenizer DIR (the model's Hugging Face folder)`,
      );
    }
    dir = c.engineDir;
  }
  if (dir === undefined) {
    if (c.chatTemplate !== undefined) throw new InvalidArgumentError('--chat-template needs --tokenizer (the byte tokenizer has its fixed ChatML template)');
    return new ByteTokenizer();
  }
  return loadTokenizer(dir, c.chatTemplate !== undefined ? { chatTemplate: c.chatTemplate } : {});
}

/** max_seq_len of a TensorRT-LLM engine folder's config.json (build_config, or builder_config of older releases), or null. */
function engineMaxSeqLen(engineDir: string): number | null {
  try {
    const cfg = JSON.parse(readFileSync(join(engineDir, 'config.json'), 'utf8')) as Record<string, Record<string, unknown> | undefined>;
    const v = cfg.build_config?.max_seq_len ?? cfg.builder_config?.max_seq_len;
    return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null;
  } catch {
    return null;
  }
}

export interface ContextChoice {
  explicit: number | undefined;
  backend: 'sim' | 'trtllm';
  simMaxSeqLen: number;
  engineDir?: string | undefined;
  tokenizer: Tokenizer;
}

/** The context limit the API enforces (null: none known). */
export function maxModelLen(c: ContextChoice): number | null {
  if (c.backend === 'sim') {
    if (c.explicit !== undefined && c.explicit > c.simMaxSeqLen) {
      throw new InvalidArgumentError(`options.maxModelLen (--max-model-len) ${c.explicit} exceeds the simulator's limit, options.engine.sim.maxSeqLen (--max-seq-len) ${c.simMaxSeqLen}`);
    }
    return c.explicit ?? c.simMaxSeqLen;
  }
  return c.explicit ?? (c.engineDir !== undefined ? engineMaxSeqLen(c.engineDir) : null) ?? c.tokenizer.modelMaxLength;
}
