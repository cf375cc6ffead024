// lib/metrics/histogram-quantile.ts, the package's one histogram_quantile (bench, dashboard, tests): a table of
// every rule of Prometheus' promql/quantile.go, checked here and, when promtool is installed, against
// promtool's own histogram_quantile on the same buckets (one `promtool test rules` run for the whole table).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { histogramQuantile, SMALL_DELTA_TOLERANCE } = require('../dist/metrics/histogram-quantile.js');
const dashboard = require('../dist/dashboard/index.js');
const { parseSampleValue } = require('../dist/metrics/exposition-parse.js');

import { PROMTOOL, skipWithout } from './helpers/tools.mjs';

/**
 * [rule, q, buckets as [le, cumulative count] (le as Prometheus would read it), expected, promtool?]
 * promtool: false where Debian's Prometheus 2.42 predates the rule (it has no small-delta tolerance) or
 * where the case cannot be written as series.
 */
const CASES = [
  ['interpolation inside the bucket', 0.5, [['0.1', 10], ['0.5', 30], ['1', 40], ['+Inf', 50]], 0.4],
  ['rank at the top of a bucket', 0.8, [['0.1', 10], ['0.5', 30], ['1', 40], ['+Inf', 50]], 1],
  ['lowest bucket interpolates from 0 when its bound is > 0', 0.1, [['0.1', 10], ['0.5', 30], ['1', 40], ['+Inf', 50]], 0.05],
  ['q = 0: the lower end of the lowest bucket', 0, [['0.1', 10], ['0.5', 30], ['1', 40], ['+Inf', 50]], 0],
  ['rank in the +Inf bucket: the highest finite bound', 0.9, [['0.1', 10], ['0.5', 30], ['1', 40], ['+Inf', 50]], 1],
  ['q = 1: the highest finite bound', 1, [['0.1', 10], ['0.5', 30], ['1', 40], ['+Inf', 50]], 1],
  ['everything above the highest finite bound', 0.5, [['0.1', 0], ['0.5', 0], ['+Inf', 7]], 0.5],
  ['q < 0: -Inf', -0.1, [['0.1', 10], ['+Inf', 10]], -Infinity],
  ['q > 1: +Inf', 1.1, [['0.1', 10], ['+Inf', 10]], Infinity],
  ['q < 0 wins over bad buckets', -1, [['0.1', 10]], -Infinity],
  ['q NaN: NaN', NaN, [['0.1', 10], ['+Inf', 10]], NaN],
  ['no +Inf bucket: NaN', 0.5, [['0.1', 10], ['1', 10]], NaN],
  ['fewer than 2 buckets: NaN', 0.5, [['+Inf', 10]], NaN],
  ['fewer than 2 buckets after merging equal bounds: NaN', 0.5, [['+Inf', 4], ['+Inf', 6]], NaN, false],
  ['no observations: NaN', 0.5, [['0.1', 0], ['+Inf', 0]], NaN],
  ['no buckets at all: NaN', 0.5, [], NaN, false],
  ['0 / 0 in an empty lowest bucket (q = 0): NaN', 0, [['0.1', 0], ['0.5', 30], ['+Inf', 30]], NaN],
  ['lowest bound <= 0 is returned as is', 0.1, [['-1', 5], ['0', 10], ['1', 20], ['+Inf', 20]], -1],
  ['lowest bound of 0 is returned as is', 0.3, [['0', 4], ['64', 10], ['+Inf', 10]], 0],
  ['negative buckets interpolate', 0.4, [['-1', 5], ['0', 10], ['1', 20], ['+Inf', 20]], -0.4],
  ['a count below the previous is raised to it (monotonicity)', 0.5, [['0.1', 10], ['0.5', 8], ['1', 40], ['+Inf', 50]], 0.75],
  ['a dip is measured against the last accepted count', 0.9, [['1', 10], ['2', 5], ['3', 8], ['4', 12], ['+Inf', 12]], 3.4],
  ['negative counts: increases are accepted', 0.5, [['-1', -5], ['0', -3], ['1', 4], ['+Inf', 4]], 5 / 7],
  ['equal bounds are merged, counts added', 0.5, [['0.5', 10], ['0.50', 5], ['1', 20], ['+Inf', 20]], 1 / 3],
  ['unsorted input', 0.5, [['+Inf', 50], ['1', 40], ['0.1', 10], ['0.5', 30]], 0.4],
  // A count within a relative 1e-12 of the previous one is float noise and taken as equal, so a rank
  // just above 10 falls in (0.5, 1] (without the rule: 0.1 + 0.4 * 1/3 = 0.2333, what Prometheus 2.42 says).
  ['small deltas are float noise', (10 + 0.5e-14) / 20, [['0.1', 10], ['0.5', 10.00000000000001], ['1', 20], ['+Inf', 20]], 0.5, false],
  ['small deltas below the previous count too', 0.75, [['0.1', 10], ['0.5', 10 - 1e-14], ['1', 20], ['+Inf', 20]], 0.75],
  ['a delta above the tolerance is a real count', 0.500003, [['0.1', 10], ['0.5', 10.0001], ['1', 20], ['+Inf', 20]], 0.1 + 0.4 * ((20 * 0.500003 - 10) / (10.0001 - 10))],
];

const asObjects = (pairs) => pairs.map(([b, count]) => ({ upperBound: parseSampleValue(b), count }));
const same = (got, want, what) => {
  if (Number.isNaN(want)) assert.ok(Number.isNaN(got), `${what}: got ${got}, want NaN`);
  else if (!Number.isFinite(want)) assert.equal(got, want, what);
  else assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${what}: got ${got}, want ${want}`);
};

test('every rule, as bucket objects and as columns', () => {
  assert.equal(SMALL_DELTA_TOLERANCE, 1e-12);
  for (const [rule, q, pairs, want] of CASES) {
    const objects = asObjects(pairs);
    const copy = JSON.stringify(objects);
    same(histogramQuantile(q, objects), want, rule);
    assert.equal(JSON.stringify(objects), copy, `${rule}: input unchanged`);
    same(histogramQuantile(q, { bounds: objects.map((b) => b.upperBound), counts: objects.map((b) => b.count) }), want, `${rule} (columns)`);
  }
});

test('the dashboard uses this one function', () => {
  assert.equal(dashboard.histogramQuantile, histogramQuantile);
});

test('equals promtool\'s histogram_quantile on every case of the table it can express', { skip: skipWithout(PROMTOOL, 'apt-get install prometheus') }, () => {
  const series = [];
  const tests = [];
  const num = (v) => (Number.isNaN(v) ? 'NaN' : v === Infinity ? 'Inf' : v === -Infinity ? '-Inf' : String(v));
  CASES.forEach(([rule, q, pairs, want, promtool = true], i) => {
    if (!promtool) return;
    for (const [b, count] of pairs) series.push({ series: `h{case="${i}",le="${b}"}`, values: num(count) });
    const x = `histogram_quantile(${num(q)}, h{case="${i}"})`;
    // A comparison with `bool` is 1 when it holds; NaN != NaN holds.
    const expr = Number.isNaN(want) ? `${x} != bool ${x}` : Number.isFinite(want) ? `abs(${x} - (${num(want)})) < bool 1e-9` : `${x} == bool ${num(want)}`;
    tests.push({ expr, eval_time: '0m', exp_samples: [{ labels: `{case="${i}"}`, value: 1 }], rule });
  });
  const dir = mkdtempSync(join(tmpdir(), 'trtllm-hq-'));
  try {
    writeFileSync(join(dir, 'rules.yml'), JSON.stringify({ groups: [] }));
    const promqlTests = tests.map(({ rule: _rule, ...t }) => t);
    writeFileSync(join(dir, 'test.yml'), JSON.stringify({ rule_files: ['rules.yml'], evaluation_interval: '1m', tests: [{ interval: '1m', input_series: series, promql_expr_test: promqlTests }] }));
    const r = spawnSync(PROMTOOL, ['test', 'rules', 'test.yml'], { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool test rules (cases: ${tests.map((t) => t.rule).join('; ')}):\n${r.stdout}\n${r.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
