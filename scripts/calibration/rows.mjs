// The calibration rows (TensorRT-LLM 0.19.0's published H100 throughput, ../shared/calibration at the repo
// root) as simulator runs: engine options, workload and the published figure. Shared by the fitting script and
// the calibration test.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * The published rows live beside the repository (../shared/calibration, as in CI), not in it;
 * TRTLLM_METRICS_SHARED names that shared folder where a checkout sits elsewhere.
 */
export const CALIBRATION_FILE = join(process.env.TRTLLM_METRICS_SHARED ?? join(ROOT, '..', 'shared'), 'calibration', 'trtllm-0.19.0-h100.json');

const MODELS = { 'Llama 3.1 8B': 'llama-3.1-8b', 'Llama 3.1 70B': 'llama-3.1-70b', 'Llama 3.1 405B': 'llama-3.1-405b' };
const GPUS = { 'H100 SXM 80GB': 'h100' };
// The published table gives the request count per ISL/OSL; it lists none for 1024/2048, which we run like its
// neighbours 1000/2000 and 2048/2048 (1500 requests).
const DEFAULT_REQUESTS = 1500;
// "kv_cache_free_gpu_mem_fraction": 0.95 usually (0.9 as a fallback on out-of-memory, for rows it does not name).
const FREE_GPU_MEMORY_FRACTION = 0.95;

export function loadCalibration(file = CALIBRATION_FILE) {
  const data = JSON.parse(readFileSync(file, 'utf8'));
  const counts = data.source.method.num_requests;
  return data.rows.map((row) => {
    const model = MODELS[row.model];
    const gpu = GPUS[row.gpu];
    if (model === undefined || gpu === undefined) throw new Error(`calibration row of an unknown model or GPU: ${row.model} on ${row.gpu}`);
    const numRequests = counts[`${row.isl}/${row.osl}`] ?? DEFAULT_REQUESTS;
    return {
      label: `${row.model} ${row.quant} TP${row.tp} ${row.isl}/${row.osl}`,
      model,
      gpu,
      quant: row.quant.toLowerCase(),
      tp: row.tp,
      isl: row.isl,
      osl: row.osl,
      numRequests,
      published: row.output_tokens_per_s,
    };
  });
}

/** The engine options of a row, as `trtllm-metrics bench` builds them from its flags. */
export function engineOptionsOf(row) {
  return {
    executorConfig: { kvCacheConfig: { freeGpuMemoryFraction: FREE_GPU_MEMORY_FRACTION } },
    sim: {
      virtualClock: true,
      perf: { modelConfig: row.model, gpu: row.gpu, quant: row.quant, tp: row.tp, targetInputLen: row.isl, targetOutputLen: row.osl },
    },
  };
}

/** The bench command line that reproduces a row (docs/simulator.md "Calibration"). */
export function benchArgsOf(row, numRequests = row.numRequests) {
  return [
    '--virtual-clock', '--gpu', row.gpu, '--model-config', row.model, '--quant', row.quant, '--tp', String(row.tp),
    '--free-gpu-memory-fraction', String(FREE_GPU_MEMORY_FRACTION),
    '--input-len', `fixed:${row.isl}`, '--output-len', `fixed:${row.osl}`, '--num-requests', String(numRequests),
  ];
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
