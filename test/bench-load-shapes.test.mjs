// bench: the load shapes have the statistics they are meant to have over many draws (gamma gaps of shape B:
// mean 1/R, coefficient of variation 1/sqrt(B); ramps reach their end rate; seeded cancellation shares),
// and each is reproducible from its seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Rng, mixSeed } = require('../dist/bench/rng.js');
const { ArrivalSchedule, rampRate, poissonArrivals } = require('../dist/bench/arrivals.js');
const { Workload } = require('../dist/bench/workload.js');
const { parseDistribution } = require('../dist/bench/distributions.js');

function gaps(process, n, seed = 1, planned = n + 1, durationS) {
  const s = new ArrivalSchedule(process, new Rng(mixSeed(seed, 3)), planned, durationS);
  const t = Array.from({ length: n + 1 }, () => s.next());
  return t.slice(1).map((x, i) => x - t[i]);
}

function moments(xs) {
  const n = xs.length;
  const mean = xs.reduce((a, x) => a + x, 0) / n;
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / n);
  return { mean, cv: sd / mean };
}

test('Rng.gamma: mean k theta and variance k theta^2, for shapes below and above 1', () => {
  const r = new Rng(9);
  for (const [k, theta] of [[0.5, 2], [1, 1], [2.5, 0.4], [9, 0.1]]) {
    const xs = Array.from({ length: 40_000 }, () => r.gamma(k, theta));
    assert.ok(xs.every((x) => x >= 0));
    const { mean, cv } = moments(xs);
    assert.ok(Math.abs(mean / (k * theta) - 1) < 0.03, `shape ${k}: mean ${mean} vs ${k * theta}`);
    assert.ok(Math.abs(cv / (1 / Math.sqrt(k)) - 1) < 0.04, `shape ${k}: cv ${cv} vs ${1 / Math.sqrt(k)}`);
  }
});

test('--burstiness 0.5: over 10,000 gaps the mean is 1/R and the coefficient of variation sqrt(2)', () => {
  const R = 20;
  const g = gaps({ rate: R, burstiness: 0.5 }, 10_000);
  const { mean, cv } = moments(g);
  // Standard errors over 10,000 gamma(0.5) gaps: 1.4% on the mean, about 3% on the CV.
  assert.ok(Math.abs(mean * R - 1) < 0.05, `mean gap ${mean} vs ${1 / R}`);
  assert.ok(Math.abs(cv - Math.SQRT2) < 0.12, `cv ${cv} vs ${Math.SQRT2}`);
  // Burstier than Poisson: more tiny gaps than an exponential has. P(gap < mean / 10) is erf(sqrt(0.05)) =
  // 0.248 for gamma(0.5), 1 - exp(-0.1) = 0.095 for the exponential.
  const tiny = g.filter((x) => x < 0.1 / R).length / g.length;
  assert.ok(Math.abs(tiny - 0.248) < 0.02, `share of gaps under a tenth of the mean: ${tiny}`);

  // B = 1 is the Poisson process (the same draws as poissonArrivals), B = 4 is more regular.
  const poisson = moments(gaps({ rate: R, burstiness: 1 }, 10_000));
  assert.ok(Math.abs(poisson.cv - 1) < 0.05, `Poisson cv ${poisson.cv}`);
  const fromPoisson = poissonArrivals(101, R, new Rng(mixSeed(1, 3)));
  const s = new ArrivalSchedule({ rate: R, burstiness: 1 }, new Rng(mixSeed(1, 3)), 101);
  assert.deepEqual(Array.from(fromPoisson), Array.from({ length: 101 }, () => s.next()));
  const regular = moments(gaps({ rate: R, burstiness: 4 }, 10_000));
  assert.ok(Math.abs(regular.cv - 0.5) < 0.04, `B=4 cv ${regular.cv}`);
  assert.ok(Math.abs(regular.mean * R - 1) < 0.03);

  // Seeded: the same seed, the same gaps.
  assert.deepEqual(gaps({ rate: R, burstiness: 0.5 }, 100, 7), gaps({ rate: R, burstiness: 0.5 }, 100, 7));
  assert.notDeepEqual(gaps({ rate: R, burstiness: 0.5 }, 100, 7), gaps({ rate: R, burstiness: 0.5 }, 100, 8));
});

test('ramps: the rate follows the ramp over the requests and reaches the end rate', () => {
  assert.equal(rampRate({ strategy: 'linear', startRps: 2, endRps: 10 }, 0.5), 6);
  assert.equal(rampRate({ strategy: 'exponential', startRps: 2, endRps: 32 }, 0.5), 8);
  assert.equal(rampRate({ strategy: 'linear', startRps: 2, endRps: 10 }, 1.7), 10, 'clamped to the end');
  for (const ramp of [{ strategy: 'linear', startRps: 5, endRps: 200 }, { strategy: 'exponential', startRps: 5, endRps: 200 }]) {
    const n = 20_000;
    const g = gaps({ rate: Infinity, burstiness: 1, ramp }, n - 1, 3, n);
    // The local rate over the last 2,000 gaps (progress 0.9-1.0) and the first 2,000.
    const rate = (xs) => xs.length / xs.reduce((a, x) => a + x, 0);
    const end = rate(g.slice(-2000));
    const expectedEnd = 1 / ((1 / 2000) * g.slice(-2000).reduce((a, _, k) => a + 1 / rampRate(ramp, (n - 2000 + k) / (n - 1)), 0));
    assert.ok(Math.abs(end / expectedEnd - 1) < 0.06, `${ramp.strategy}: end rate ${end} vs ${expectedEnd}`);
    assert.ok(end > 0.85 * ramp.endRps, `${ramp.strategy}: reaches ${end} of ${ramp.endRps}`);
    const start = rate(g.slice(0, 2000));
    assert.ok(start < end / 2, `${ramp.strategy}: starts slower (${start}) than it ends (${end})`);
  }
  // Over a duration (--duration): the progress is the elapsed time; the last second runs at the end rate.
  const ramp = { strategy: 'linear', startRps: 10, endRps: 1000 };
  const s = new ArrivalSchedule({ rate: Infinity, burstiness: 1, ramp }, new Rng(5), 0, 10);
  const times = [];
  for (let t = 0; t < 10; t = s.next()) times.push(t);
  // The expected count is the integral of the rate: 10 * (10 + 1000) / 2 = 5050.
  assert.ok(Math.abs(times.length / 5050 - 1) < 0.05, `${times.length} arrivals in 10 s`);
  const lastSecond = times.filter((t) => t >= 9).length;
  assert.ok(Math.abs(lastSecond / 950.5 - 1) < 0.1, `${lastSecond} arrivals in the last second (the rate goes 901 -> 1000)`);
});

test('request cancellation: a seeded share of the requests, the same for the same seed', () => {
  const base = { numRequests: 20_000, seed: 4, requestRate: Infinity, inputLen: parseDistribution('fixed:8'), outputLen: parseDistribution('fixed:8'), cancelRate: 0.25 };
  const w = new Workload(base);
  const share = w.cancels.reduce((a, x) => a + x, 0) / w.numRequests;
  assert.ok(Math.abs(share - 0.25) < 0.015, `cancelled share ${share}`);
  assert.deepEqual(w.cancels, new Workload(base).cancels);
  assert.notDeepEqual(w.cancels, new Workload({ ...base, seed: 5 }).cancels);
  assert.ok(new Workload({ ...base, cancelRate: 0 }).cancels.every((x) => x === 0));
});

test('a timed workload extends with the same requests a longer run would have', () => {
  const base = { numRequests: 100, seed: 8, requestRate: 50, burstiness: 0.7, inputLen: parseDistribution('uniform:8:64'), outputLen: parseDistribution('uniform:1:9'), cancelRate: 0.1 };
  const grown = new Workload({ ...base, durationS: 100 });
  grown.ensure(400);
  const big = new Workload({ ...base, numRequests: 400, durationS: 100 });
  assert.equal(grown.numRequests, 400);
  assert.deepEqual(grown.inputLens, big.inputLens);
  assert.deepEqual(grown.outputLens, big.outputLens);
  assert.deepEqual(grown.arrivals, big.arrivals);
  assert.deepEqual(grown.cancels, big.cancels);
  assert.deepEqual(grown.promptTokens(321), big.promptTokens(321));
});
