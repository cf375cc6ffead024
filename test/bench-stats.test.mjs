// bench: exact percentiles (numpy's linear method), Prometheus' histogram_quantile emulation against
// hand-computed cases, and the exposition reader the comparison uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { percentile, percentileSorted, summarize } = require('../dist/bench/percentiles.js');
const { histogramQuantile, bucketize, cumulativeBuckets } = require('../dist/metrics/histogram-quantile.js');
const { parseExposition, histogramFromSamples, histogramDelta, sumSamples } = require('../dist/metrics/exposition-parse.js');

const close = (a, b, eps = 1e-12) => assert.ok(Math.abs(a - b) <= eps * Math.max(1, Math.abs(b)), `${a} != ${b}`);

test('percentiles: numpy.percentile (method "linear") on known data', () => {
  // Values from numpy 1.26: np.percentile(x, p).
  close(percentile([1, 2, 3, 4], 50), 2.5);
  close(percentile([1, 2, 3, 4], 90), 3.7);
  close(percentile([1, 2, 3, 4], 99), 3.97);
  close(percentile([15, 20, 35, 40, 50], 40), 29);
  close(percentile([15, 20, 35, 40, 50], 0), 15);
  close(percentile([15, 20, 35, 40, 50], 100), 50);
  close(percentile([3, 1, 2], 50), 2); // unsorted input
  close(percentile([7], 99), 7);
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  close(percentile(hundred, 99), 99.01);
  close(percentile(hundred, 50), 50.5);
  close(percentile(Array.from({ length: 10 }, (_, i) => i + 1), 90), 9.1);
  assert.equal(percentile([], 50), null);
  assert.throws(() => percentileSorted([1], 101), RangeError);
  // Numeric (not lexicographic) order.
  close(percentile([10, 9, 100, 2], 50), 9.5);
});

test('summarize: mean, population std, min, max, p50/p90/p99', () => {
  const s = summarize([2, 4, 4, 4, 5, 5, 7, 9]);
  assert.equal(s.count, 8);
  close(s.mean, 5);
  close(s.std, 2);
  assert.equal(s.min, 2);
  assert.equal(s.max, 9);
  close(s.p50, 4.5);
  close(s.p90, 7.6);
  close(s.p99, 8.86);
  assert.deepEqual(summarize([]), { count: 0, mean: null, std: null, min: null, max: null, p50: null, p90: null, p99: null });
});

const B = (pairs) => pairs.map(([upperBound, count]) => ({ upperBound, count }));

test('histogram_quantile: interpolation inside the bucket, lowest bucket from 0, +Inf bucket', () => {
  // le 0.1: 10, 0.5: 30, 1: 40, +Inf: 50 (cumulative).
  const h = B([[0.1, 10], [0.5, 30], [1, 40], [Infinity, 50]]);
  close(histogramQuantile(0.5, h), 0.4); // rank 25 in (0.1, 0.5]: 0.1 + 0.4 * 15/20
  close(histogramQuantile(0.1, h), 0.05); // rank 5 in [0, 0.1]: lower bound 0
  close(histogramQuantile(0.8, h), 1); // rank 40: the top of (0.5, 1]
  close(histogramQuantile(0.7, h), 0.75); // rank 35: 0.5 + 0.5 * 5/10
  assert.equal(histogramQuantile(0.9, h), 1); // rank 45 lies in +Inf: the second-highest bound
  assert.equal(histogramQuantile(1, h), 1);
  assert.equal(histogramQuantile(0, h), 0);
  // Input order does not matter.
  close(histogramQuantile(0.5, [...h].reverse()), 0.4);
});

test('histogram_quantile: special cases', () => {
  const h = B([[0.1, 10], [Infinity, 10]]);
  assert.equal(histogramQuantile(-0.1, h), -Infinity);
  assert.equal(histogramQuantile(1.1, h), Infinity);
  assert.ok(Number.isNaN(histogramQuantile(Number.NaN, h)));
  assert.ok(Number.isNaN(histogramQuantile(0.5, B([[0.1, 10], [1, 10]]))), 'no +Inf bucket');
  assert.ok(Number.isNaN(histogramQuantile(0.5, B([[Infinity, 10]]))), 'fewer than 2 buckets');
  assert.ok(Number.isNaN(histogramQuantile(0.5, B([[0.1, 0], [Infinity, 0]]))), 'no observations');
  assert.ok(Number.isNaN(histogramQuantile(0.5, [])));
  // q = 0 with an empty lowest bucket: 0/0 inside it.
  assert.ok(Number.isNaN(histogramQuantile(0, B([[0.1, 0], [0.5, 30], [Infinity, 30]]))));
  // Everything above the highest finite bound.
  assert.equal(histogramQuantile(0.5, B([[0.1, 0], [0.5, 0], [Infinity, 7]])), 0.5);
});

test('histogram_quantile: a lowest bound <= 0 is returned as is; negative buckets interpolate', () => {
  const h = B([[-1, 5], [0, 10], [1, 20], [Infinity, 20]]);
  assert.equal(histogramQuantile(0.1, h), -1); // rank 2 in the lowest bucket, bound <= 0
  close(histogramQuantile(0.4, h), -0.4); // rank 8 in (-1, 0]: -1 + 1 * 3/5
  close(histogramQuantile(0.75, h), 0.5); // rank 15 in (0, 1]: 0 + 1 * 5/10
  // A cached-tokens style table whose first bound is 0: values of 0 land in it.
  assert.equal(histogramQuantile(0.3, B([[0, 4], [64, 10], [Infinity, 10]])), 0);
});

test('histogram_quantile: non-monotonic counts, duplicate bounds and float noise', () => {
  // 0.5's count dips: raised to 10 (the envelope), so rank 25 falls in (0.5, 1]: 0.5 + 0.5 * 15/30.
  close(histogramQuantile(0.5, B([[0.1, 10], [0.5, 8], [1, 40], [Infinity, 50]])), 0.75);
  // Equal bounds are merged by adding their counts: 0.5 -> 15; rank 10 in [0, 0.5]: 0.5 * 10/15.
  close(histogramQuantile(0.5, B([[0.5, 10], [0.5, 5], [1, 20], [Infinity, 20]])), 1 / 3);
  // A relative difference <= 1e-12 is float noise: the count is taken as equal to the previous one, so a
  // rank just above 10 moves past (0.1, 0.5] into (0.5, 1] (without the rule: about 0.1 + 0.4 * 0.5 = 0.3).
  const noisy = B([[0.1, 10], [0.5, 10 + 1e-14], [1, 20], [Infinity, 20]]);
  const q = (10 + 0.5e-14) / 20;
  assert.ok(q * 20 > 10 && q * 20 < 10 + 1e-14);
  close(histogramQuantile(q, noisy), 0.5, 1e-9);
});

test('bucketize and cumulativeBuckets fill buckets as a Prometheus client does (value <= bound)', () => {
  assert.deepEqual(bucketize([0.05, 0.1, 0.3, 2], [0.1, 0.5, 1]), B([[0.1, 2], [0.5, 3], [1, 3], [Infinity, 4]]));
  assert.deepEqual(cumulativeBuckets([1, 2], [3, 4], 5), B([[1, 3], [2, 7], [Infinity, 12]]));
  // Against exact percentiles: uniform data in fine buckets gives close estimates.
  const values = Array.from({ length: 1000 }, (_, i) => (i + 0.5) / 1000);
  const bounds = Array.from({ length: 100 }, (_, i) => (i + 1) / 100);
  const h = bucketize(values, bounds);
  for (const q of [0.5, 0.9, 0.99]) close(histogramQuantile(q, h), percentile(values, q * 100), 2e-3);
});

test('exposition reader: labels with escapes, series summed by le, _sum/_count, deltas', () => {
  const text = [
    '# HELP trtllm_x_seconds A "help" line',
    '# TYPE trtllm_x_seconds histogram',
    'trtllm_x_seconds_bucket{model_name="a",engine_type="trtllm",le="0.5"} 1',
    'trtllm_x_seconds_bucket{model_name="a",engine_type="trtllm",le="+Inf"} 3',
    'trtllm_x_seconds_sum{model_name="a",engine_type="trtllm"} 2.5',
    'trtllm_x_seconds_count{model_name="a",engine_type="trtllm"} 3',
    'trtllm_x_seconds_bucket{model_name="b\\"q\\\\z\\n",engine_type="trtllm",le="0.5"} 4',
    'trtllm_x_seconds_bucket{model_name="b\\"q\\\\z\\n",engine_type="trtllm",le="+Inf"} 4',
    'trtllm_x_seconds_sum{model_name="b\\"q\\\\z\\n",engine_type="trtllm"} 1',
    'trtllm_x_seconds_count{model_name="b\\"q\\\\z\\n",engine_type="trtllm"} 4',
    'trtllm_request_success_total{model_name="a",finished_reason="stop"} 2 1700000000000',
    'trtllm_request_success_total{model_name="a",finished_reason="length"} 1',
    'up 1',
    '# EOF',
  ].join('\n');
  const samples = parseExposition(text);
  assert.equal(samples.length, 11);
  assert.equal(samples[6].labels.model_name, 'b"q\\z\n');
  assert.equal(samples[1].value, 3);
  const all = histogramFromSamples(samples, 'trtllm_x_seconds');
  assert.deepEqual(all.buckets, B([[0.5, 5], [Infinity, 7]]));
  assert.equal(all.sum, 3.5);
  assert.equal(all.count, 7);
  assert.equal(all.series, 2);
  const a = histogramFromSamples(samples, 'trtllm_x_seconds', { model_name: 'a' });
  assert.deepEqual(a.buckets, B([[0.5, 1], [Infinity, 3]]));
  assert.equal(histogramFromSamples(samples, 'trtllm_y_seconds'), null);
  assert.equal(sumSamples(samples, 'trtllm_request_success_total'), 3);
  assert.equal(sumSamples(samples, 'trtllm_request_success_total', { finished_reason: 'stop' }), 2);
  const later = { buckets: B([[0.5, 9], [Infinity, 12]]), sum: 10, count: 12, series: 2 };
  assert.deepEqual(histogramDelta(all, later), { buckets: B([[0.5, 4], [Infinity, 5]]), sum: 6.5, count: 5, series: 2 });
  // A reset (count went down): the later scrape is the increase.
  assert.deepEqual(histogramDelta(later, all), all);
});
