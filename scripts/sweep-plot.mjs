#!/usr/bin/env node
// The concurrency sweep of docs/simulator.md "Shapes": the simulator with the performance model (Llama 3.1 8B
// FP8 on one H100 by default) under closed-loop load at rising concurrency, for two prompt lengths, through
// `trtllm-metrics bench` (virtual clock). Plots output throughput, TPOT and TTFT (engine side, means) against
// concurrency with Vega-Lite, and prints the points.
//
// usage: node scripts/sweep-plot.mjs [--out docs/simulator-sweep.svg] [--json FILE]
//                                    [--model-config NAME] [--gpu GPU] [--quant Q] [--tp N]
import { writeFileSync } from 'node:fs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench } from '../dist/bench/cli.js';
import { renderSpec } from '../dist/bench/plot.js';

const args = process.argv.slice(2);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const model = value('--model-config', 'llama-3.1-8b');
const gpu = value('--gpu', 'h100');
const quant = value('--quant', 'fp8');
const tp = value('--tp', '1');
const out = value('--out', 'docs/simulator-sweep.svg');
const CONCURRENCY = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const PROMPTS = [512, 4096];
const OUTPUT = 256;

const dir = mkdtempSync(join(tmpdir(), 'sweep-'));
const points = [];
try {
  for (const prompt of PROMPTS) {
    for (const concurrency of CONCURRENCY) {
      const json = join(dir, `${prompt}-${concurrency}.json`);
      let stderr = '';
      const code = await runBench(
        ['--virtual-clock', '--model-config', model, '--gpu', gpu, '--quant', quant, '--tp', tp,
          '--concurrency', String(concurrency), '--num-requests', String(Math.max(64, 4 * concurrency)),
          '--input-len', `fixed:${prompt}`, '--output-len', `fixed:${OUTPUT}`, '--json', json, '--quiet'],
        { stdout: () => {}, stderr: (s) => (stderr += s) },
      );
      if (code !== 0) throw new Error(`bench failed at prompt ${prompt}, concurrency ${concurrency}: ${stderr}`);
      const e = JSON.parse(readFileSync(json, 'utf8')).engine;
      const point = { prompt: `prompt ${prompt}`, concurrency, throughput: e.output_token_throughput, tpot_ms: e.tpot_s.mean * 1e3, ttft_ms: e.ttft_s.mean * 1e3 };
      points.push(point);
      console.log(`prompt ${String(prompt).padStart(5)} concurrency ${String(concurrency).padStart(5)}: ${point.throughput.toFixed(0).padStart(6)} output tokens/s, TPOT ${point.tpot_ms.toFixed(2).padStart(7)} ms, TTFT ${point.ttft_ms.toFixed(1).padStart(8)} ms`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const panel = (field, title, log) => ({
  width: 260,
  height: 200,
  mark: { type: 'line', point: true },
  encoding: {
    x: { field: 'concurrency', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'concurrency (requests in flight)' },
    y: { field, type: 'quantitative', title, ...(log ? { scale: { type: 'log' } } : {}) },
    color: { field: 'prompt', type: 'nominal', title: null },
  },
});
const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: `Simulated ${model} ${quant} on ${tp}x ${gpu}: closed-loop sweep, ${OUTPUT} output tokens (virtual clock)`,
  background: 'white',
  data: { values: points },
  hconcat: [panel('throughput', 'output tokens/s', false), panel('tpot_ms', 'TPOT mean (ms)', false), panel('ttft_ms', 'TTFT mean (ms)', true)],
  config: { legend: { orient: 'top' } },
};
writeFileSync(out, await renderSpec(spec, 'scripts/sweep-plot.mjs'));
const json = value('--json');
if (json !== undefined) writeFileSync(json, `${JSON.stringify(points, null, 2)}\n`);
console.log(`wrote ${out}`);
