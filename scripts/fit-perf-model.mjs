#!/usr/bin/env node
// Fits the performance model's efficiency factors (native/sim/perf_model_config.h, PerfEfficiency) on
// TensorRT-LLM 0.19.0's published H100 throughput (../shared/calibration/trtllm-0.19.0-h100.json).
//
// Each row runs once on the simulator, every request queued at once as trtllm-bench does; its schedule does
// not depend on time, so the fit replays the recorded work of every iteration under candidate factors
// (testing addon: simRecordWork, simPerfModelMs) and minimizes the mean squared log error of the predicted
// output throughput. Nelder-Mead on unbounded transforms: logit for shares in (0, 1], log for costs. The
// runtime's memory reserve changes the KV capacity, hence the schedule: it is fitted on a grid, each point
// with its own recorded runs.
//
// usage: node scripts/fit-perf-model.mjs [--check] [--data FILE] [--json OUT]
//   --check  no fit: the table and errors of the constants in the source
//   --json   write the per-row table (label, published, predicted, error) to OUT
import { writeFileSync } from 'node:fs';
import { validateEngineOptions } from '../dist/engine-options.js';
import { loadTestingAddon } from '../dist/testing.js';
import { CALIBRATION_FILE, engineOptionsOf, loadCalibration, median } from './calibration/rows.mjs';

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const rows = loadCalibration(value('--data') ?? CALIBRATION_FILE);
const addon = loadTestingAddon();

// The factors and how each is kept in range while the optimizer moves freely.
const share = { to: (x) => 1 / (1 + Math.exp(-x)), from: (v) => Math.log(v / (1 - Math.min(v, 0.999999))) };
const cost = { to: (x) => Math.exp(x), from: (v) => Math.log(Math.max(v, 1e-9)) };
const FACTORS = [
  ['compute', share, 0.5],
  ['memory', share, 0.7],
  ['attention', share, 0.5],
  ['interconnect', share, 0.6],
  ['overheadMs', cost, 1],
  ['allReduceLatencyUs', cost, 20],
];

const RESERVE_GRID_GIB = [1, 2, 3, 4, 5];

/** Every row's run, with the given runtime reserve (undefined: the source's). */
function record(runtimeReserveGiB) {
  const t0 = performance.now();
  const out = rows.map((row) => {
    const native = validateEngineOptions(engineOptionsOf(row)).native;
    if (runtimeReserveGiB !== undefined) native.sim.perf.efficiency = { runtimeReserveGiB };
    const run = addon.simRecordWork(native, { inputLen: row.isl, outputLen: row.osl, numRequests: row.numRequests });
    return { row, native, run };
  });
  const reserve = runtimeReserveGiB === undefined ? "the source's runtime reserve" : `a runtime reserve of ${runtimeReserveGiB} GiB`;
  console.error(`recorded the work of ${rows.length} rows with ${reserve} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return out;
}

let runs = [];
const predict = (efficiency) =>
  runs.map(({ row, native, run }) => run.outputTokens / (addon.simPerfModelMs(native, run.work, efficiency) / 1000));
const lossOf = (predicted) => {
  let sum = 0;
  predicted.forEach((p, i) => (sum += Math.log(p / rows[i].published) ** 2));
  return sum / predicted.length;
};
const decode = (x) => Object.fromEntries(FACTORS.map(([name, t], i) => [name, t.to(x[i])]));

function nelderMead(f, x0, { iterations = 3000, step = 0.5, tolerance = 1e-10 } = {}) {
  const n = x0.length;
  let simplex = [x0, ...x0.map((_, i) => x0.map((v, j) => (i === j ? v + step : v)))].map((x) => ({ x, f: f(x) }));
  for (let k = 0; k < iterations; k++) {
    simplex.sort((a, b) => a.f - b.f);
    if (simplex[n].f - simplex[0].f < tolerance) break;
    const centroid = x0.map((_, j) => simplex.slice(0, n).reduce((s, p) => s + p.x[j], 0) / n);
    const along = (t) => centroid.map((c, j) => c + t * (simplex[n].x[j] - c));
    const r = { x: along(-1) };
    r.f = f(r.x);
    if (r.f < simplex[0].f) {
      const e = { x: along(-2) };
      e.f = f(e.x);
      simplex[n] = e.f < r.f ? e : r;
    } else if (r.f < simplex[n - 1].f) {
      simplex[n] = r;
    } else {
      const c = { x: along(r.f < simplex[n].f ? -0.5 : 0.5) };
      c.f = f(c.x);
      if (c.f < Math.min(r.f, simplex[n].f)) simplex[n] = c;
      else simplex = simplex.map((p, i) => (i === 0 ? p : { x: p.x.map((v, j) => simplex[0].x[j] + 0.5 * (v - simplex[0].x[j])) })).map((p) => ({ x: p.x, f: p.f ?? f(p.x) }));
    }
  }
  simplex.sort((a, b) => a.f - b.f);
  return simplex[0];
}

let efficiency;
if (flag('--check')) {
  runs = record(undefined);
  efficiency = {}; // the constants in the source
} else {
  let best = null;
  let start = FACTORS.map(([, t, v]) => t.from(v));
  for (const reserve of RESERVE_GRID_GIB) {
    runs = record(reserve);
    const found = nelderMead((x) => lossOf(predict(decode(x))), start);
    console.error(`  runtime reserve ${reserve} GiB: loss ${found.f.toExponential(3)}`);
    if (best === null || found.f < best.f) best = { ...found, reserve, runs };
    start = found.x;
  }
  runs = best.runs;
  efficiency = { ...decode(best.x), runtimeReserveGiB: best.reserve };
}

const predicted = predict(efficiency);
const table = rows.map((row, i) => {
  const error = predicted[i] / row.published - 1;
  return { label: row.label, requests: row.numRequests, published: row.published, predicted: predicted[i], error };
});
for (const r of table) {
  console.log(`${r.label.padEnd(34)} ${String(r.requests).padStart(6)} req  published ${r.published.toFixed(1).padStart(9)}  predicted ${r.predicted.toFixed(1).padStart(9)}  error ${(r.error * 100).toFixed(1).padStart(6)}%`);
}
const abs = table.map((r) => Math.abs(r.error));
console.log(`\nrows ${table.length}: median |error| ${(median(abs) * 100).toFixed(1)}%, worst ${(Math.max(...abs) * 100).toFixed(1)}%`);
if (!flag('--check')) {
  console.log('\nPerfEfficiency (native/sim/perf_model_config.h):');
  for (const name of Object.keys(efficiency)) console.log(`    ${name}: ${Number(efficiency[name].toPrecision(4))}`);
}
const out = value('--json');
if (out !== undefined) writeFileSync(out, `${JSON.stringify({ efficiency, rows: table }, null, 2)}\n`);
