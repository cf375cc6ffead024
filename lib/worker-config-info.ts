/**
 * The configuration `serve` logs once at start as TensorRT-LLM's info gauges (trtllm_{model,parallel,
 * speculative,kv_cache}_config_info = 1), with the label names trtllm-serve uses
 * (tensorrt_llm/serve/openai_server.py, _log_config_info_metrics): values are strings, booleans written as
 * Python writes them (True / False), sections absent when trtllm-serve leaves them out (speculative without
 * speculative decoding).
 *
 * Sources: the simulator's options and what it reports of itself (simInfo: the modelled GPU, precisions, TP);
 * with TensorRT-LLM, the engine directory's config.json (trtllm-build's pretrained_config and build_config).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigInfo } from './metrics/config-info.js';
import type { NativeSimInfo } from './native.js';

type Dict = Record<string, unknown>;

/** What the worker knows when the engine has started. */
export interface WorkerConfigFacts {
  backend: 'sim' | 'trtllm';
  modelName: string;
  maxModelLen: number | null;
  tokensPerBlock: number;
  enableBlockReuse: boolean;
  freeGpuMemoryFraction: number;
  /** backend sim */
  sim?: { info: NativeSimInfo; modelConfig?: string | undefined; specDraftLength: number };
  /** backend trtllm */
  engineDir?: string | undefined;
}

const pyBool = (b: boolean): string => (b ? 'True' : 'False');

function dict(v: unknown): Dict {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Dict) : {};
}

/** trtllm-build's config.json of an engine directory ({} when it cannot be read). */
function engineConfig(engineDir: string | undefined): Dict {
  if (engineDir === undefined) return {};
  try {
    return dict(JSON.parse(readFileSync(join(engineDir, 'config.json'), 'utf8')));
  } catch {
    return {};
  }
}

/** TensorRT-LLM's QuantAlgo names of the simulator's weight precisions. */
const SIM_QUANT: Record<string, string> = { fp8: 'FP8', fp4: 'NVFP4' };

export function workerConfigInfo(f: WorkerConfigFacts): ConfigInfo {
  let model: string;
  let dtype = 'auto';
  let quantization = 'none';
  let gpuType: string | undefined;
  let tp = 1;
  let pp = 1;
  let cp = 1;
  let cacheDtype = 'auto';
  let spec: Dict | undefined;
  // TensorRT-LLM's tokens per block are known from the first iteration stats: until then, from config.json.
  let tokensPerBlock = f.tokensPerBlock;
  if (f.backend === 'sim') {
    const info = f.sim!.info;
    model = f.sim!.modelConfig ?? 'sim';
    if (info.timingModel === 'perfModel') {
      dtype = info.weightsPrecision ?? 'auto';
      quantization = SIM_QUANT[info.weightsPrecision ?? ''] ?? 'none';
      gpuType = info.gpu;
      tp = info.tp ?? 1;
      cacheDtype = info.kvCachePrecision ?? 'auto';
    }
    if (f.sim!.specDraftLength > 0) spec = { spec_enabled: 'true', spec_num_tokens: String(f.sim!.specDraftLength) };
  } else {
    model = f.engineDir ?? f.modelName;
    const cfg = engineConfig(f.engineDir);
    const pretrained = dict(cfg.pretrained_config);
    const build = dict(cfg.build_config);
    const mapping = dict(pretrained.mapping);
    const quant = dict(pretrained.quantization);
    if (typeof pretrained.dtype === 'string') dtype = pretrained.dtype;
    if (typeof quant.quant_algo === 'string') quantization = quant.quant_algo;
    if (typeof quant.kv_cache_quant_algo === 'string') cacheDtype = quant.kv_cache_quant_algo.toLowerCase();
    const int = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
    tp = int(mapping.tp_size) ?? 1;
    pp = int(mapping.pp_size) ?? 1;
    cp = int(mapping.cp_size) ?? 1;
    if (tokensPerBlock <= 0) {
      const plugin = dict(build.plugin_config);
      tokensPerBlock = int(plugin.tokens_per_block) ?? int(build.tokens_per_block) ?? 0;
    }
    const mode = build.speculative_decoding_mode;
    if (typeof mode === 'string' && mode !== 'none') {
      spec = { spec_enabled: 'true', spec_method: mode };
      const draft = int(build.max_draft_len);
      if (draft !== undefined) spec.spec_num_tokens = String(draft);
    }
  }
  const modelLabels: Dict = { model, served_model_name: f.modelName, dtype, quantization };
  if (f.maxModelLen !== null) modelLabels.max_model_len = String(f.maxModelLen);
  if (gpuType !== undefined) modelLabels.gpu_type = gpuType;
  const out: ConfigInfo = {
    model: modelLabels as ConfigInfo['model'],
    parallel: {
      tensor_parallel_size: String(tp),
      pipeline_parallel_size: String(pp),
      context_parallel_size: String(cp),
      gpu_count: String(tp * pp * cp),
    },
    kvCache: {
      page_size: tokensPerBlock > 0 ? String(tokensPerBlock) : null,
      enable_block_reuse: pyBool(f.enableBlockReuse),
      // The simulator reuses whole blocks only; the C++ executor's KvCacheConfig defaults to partial reuse.
      enable_partial_reuse: pyBool(f.backend === 'trtllm'),
      free_gpu_memory_fraction: String(f.freeGpuMemoryFraction),
      cache_dtype: cacheDtype,
    },
  };
  if (spec !== undefined) out.speculative = spec as ConfigInfo['speculative'];
  return out;
}
