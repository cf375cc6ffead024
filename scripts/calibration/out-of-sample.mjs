#!/usr/bin/env node
// The performance model on rows it was not fitted on: TensorRT-LLM's perf overview of the v1.0 docs
// (NVIDIA/TensorRT-LLM docs/source/performance/perf-overview.md at commit 00f37686aa85), whose tables add H200
// and B200 to H100. The model runs with the factors fitted on 0.19.0's H100 rows (no refit); that table's own
// H100 rows are the control (they show how much the engine itself moved between releases). Llama 3.3 70B has
// the dimensions of Llama 3.1 70B. Each row runs its published request count, every request queued at once.
//
// usage: node scripts/calibration/out-of-sample.mjs [--json OUT]
import { writeFileSync } from 'node:fs';
import { validateEngineOptions } from '../../dist/engine-options.js';
import { loadTestingAddon } from '../../dist/testing.js';
import { engineOptionsOf, median } from './rows.mjs';

const LENGTHS = ['128/128', '128/2048', '128/4096', '500/2000', '1000/1000', '1000/2000', '2048/128', '2048/2048', '5000/500', '20000/2000'];
const REQUESTS = { '128/128': 30000, '128/2048': 3000, '128/4096': 1500, '1000/2000': 1500, '2048/128': 3000, '2048/2048': 1500, '5000/500': 1500, '1000/1000': 3000, '500/2000': 3000, '20000/2000': 1000 };
// [model, gpu, quant, tp, throughput per LENGTHS entry (output tokens/s)]
const TABLES = [
  ['llama-3.1-8b', 'h200', 'fp8', 1, [27911, 26221, 18027, 20770, 17744, 16828, 3538, 12194, 3902, 1804]],
  ['llama-3.1-70b', 'h200', 'fp8', 1, [3803, 4336, 2872, 3666, 2909, 2994, 442, 2003, 566, 283]],
  ['llama-3.1-405b', 'h200', 'fp8', 8, [3814, 5348, 4741, 4724, 3330, 3722, 456, 2948, 650, 505]],
  ['llama-3.1-70b', 'b200', 'fp4', 1, [11147, 9922, 6831, 7762, 7007, 6271, 1339, 4783, 1459, 665]],
  ['llama-3.1-405b', 'b200', 'fp4', 4, [6281, 8020, 6345, 6244, 5209, 4933, 749, 4212, 1048, 672]],
  // Control: the same table's H100 rows.
  ['llama-3.1-8b', 'h100', 'fp8', 1, [28312, 22714, 14325, 17660, 15220, 13899, 3450, 9305, 3459, 1351]],
  ['llama-3.1-70b', 'h100', 'fp8', 2, [6378, 6651, 4199, 5222, 4205, 4146, 762, 3082, 898, 437]],
  ['llama-3.1-405b', 'h100', 'fp8', 8, [3627, 4340, 3116, 3994, 2919, 2895, 453, 2296, 610, 345]],
];

const addon = loadTestingAddon();
const results = [];
for (const [model, gpu, quant, tp, published] of TABLES) {
  LENGTHS.forEach((lengths, i) => {
    const [isl, osl] = lengths.split('/').map(Number);
    const row = { model, gpu, quant, tp, isl, osl, numRequests: REQUESTS[lengths], published: published[i] };
    const native = validateEngineOptions(engineOptionsOf(row)).native;
    const run = addon.simRecordWork(native, { inputLen: isl, outputLen: osl, numRequests: row.numRequests });
    const predicted = run.outputTokens / (run.modelledMs / 1000);
    const result = { label: `${model} ${quant} ${gpu} TP${tp} ${lengths}`, gpu, published: row.published, predicted, error: predicted / row.published - 1 };
    results.push(result);
    console.log(`${result.label.padEnd(36)} published ${String(result.published).padStart(6)}  predicted ${predicted.toFixed(0).padStart(6)}  error ${(result.error * 100).toFixed(1).padStart(6)}%`);
  });
}
for (const gpu of ['h200', 'b200', 'h100']) {
  const abs = results.filter((r) => r.gpu === gpu).map((r) => Math.abs(r.error));
  console.log(`${gpu}: ${abs.length} rows, median |error| ${(median(abs) * 100).toFixed(1)}%, worst ${(Math.max(...abs) * 100).toFixed(1)}%`);
}
const out = process.argv.indexOf('--json');
if (out >= 0) writeFileSync(process.argv[out + 1], `${JSON.stringify(results, null, 2)}\n`);
