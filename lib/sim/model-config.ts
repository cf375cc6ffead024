/**
 * The model of the simulator's performance model (`--model-config NAME|FILE`, options.sim.perf.modelConfig): a
 * built-in name, or a Hugging Face config.json read here. The native layer gets the numbers only
 * (native/backends/sim/sim_perf_model.h); the GPU table and every formula are in native/sim/perf_model.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../errors.js';

/** The dimensions the performance model reads, under the names the native layer takes. */
export interface ModelDims {
  numLayers: number;
  hiddenSize: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  tieWordEmbeddings: boolean;
}

/** The fields of config.json the model is read from (Llama-style decoder-only transformers). */
interface HfConfig {
  num_hidden_layers?: unknown;
  hidden_size?: unknown;
  num_attention_heads?: unknown;
  num_key_value_heads?: unknown;
  head_dim?: unknown;
  intermediate_size?: unknown;
  vocab_size?: unknown;
  tie_word_embeddings?: unknown;
  text_config?: unknown;
}

const LLAMA_3_1_COMMON = { num_key_value_heads: 8, head_dim: 128, vocab_size: 128256, tie_word_embeddings: false };

/**
 * Built-in models: the config.json fields of Meta's Llama 3.1 releases
 * (https://huggingface.co/meta-llama/Llama-3.1-8B-Instruct/blob/main/config.json and the 70B / 405B ones).
 */
export const BUILTIN_MODEL_CONFIGS: Readonly<Record<string, HfConfig>> = {
  'llama-3.1-8b': { num_hidden_layers: 32, hidden_size: 4096, num_attention_heads: 32, intermediate_size: 14336, ...LLAMA_3_1_COMMON },
  'llama-3.1-70b': { num_hidden_layers: 80, hidden_size: 8192, num_attention_heads: 64, intermediate_size: 28672, ...LLAMA_3_1_COMMON },
  'llama-3.1-405b': { num_hidden_layers: 126, hidden_size: 16384, num_attention_heads: 128, intermediate_size: 53248, ...LLAMA_3_1_COMMON },
};

function positiveInt(cfg: HfConfig, key: keyof HfConfig, where: string, fallback?: number): number {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1) {
    throw new InvalidArgumentError(`${where}: "${key}" must be a positive integer${v === undefined ? ' (missing)' : `, got ${JSON.stringify(v)}`}`);
  }
  return v;
}

/** The dimensions of a config.json object; `where` names it in errors. */
export function modelDimsOf(json: unknown, where: string): ModelDims {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new InvalidArgumentError(`${where}: a config.json must be a JSON object`);
  let cfg = json as HfConfig;
  // Multimodal configs keep the language model's dimensions under text_config.
  if (cfg.num_hidden_layers === undefined && cfg.text_config !== null && typeof cfg.text_config === 'object') cfg = cfg.text_config as HfConfig;
  const numHeads = positiveInt(cfg, 'num_attention_heads', where);
  const hiddenSize = positiveInt(cfg, 'hidden_size', where);
  const dims: ModelDims = {
    numLayers: positiveInt(cfg, 'num_hidden_layers', where),
    hiddenSize,
    numHeads,
    numKvHeads: positiveInt(cfg, 'num_key_value_heads', where, numHeads),
    headDim: positiveInt(cfg, 'head_dim', where, Number.isInteger(hiddenSize / numHeads) ? hiddenSize / numHeads : undefined),
    intermediateSize: positiveInt(cfg, 'intermediate_size', where),
    vocabSize: positiveInt(cfg, 'vocab_size', where),
    tieWordEmbeddings: cfg.tie_word_embeddings === true,
  };
  if (dims.numHeads % dims.numKvHeads !== 0) {
    throw new InvalidArgumentError(`${where}: "num_attention_heads" (${dims.numHeads}) must be a multiple of "num_key_value_heads" (${dims.numKvHeads})`);
  }
  return dims;
}

/** A built-in name, or the path of a config.json; `name` is how errors name the option. */
export function resolveModelConfig(nameOrFile: string, name: string): ModelDims {
  const builtin = BUILTIN_MODEL_CONFIGS[nameOrFile];
  if (builtin !== undefined) return modelDimsOf(builtin, `${name} ${nameOrFile}`);
  let text: string;
  try {
    text = readFileSync(nameOrFile, 'utf8');
  } catch (err) {
    const known = Object.keys(BUILTIN_MODEL_CONFIGS).join(', ');
    throw new InvalidArgumentError(`${name}: "${nameOrFile}" is neither a built-in model (${known}) nor a readable config.json (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`${name}: ${nameOrFile} is not valid JSON (${(err as Error).message})`);
  }
  return modelDimsOf(json, `${name} ${nameOrFile}`);
}
