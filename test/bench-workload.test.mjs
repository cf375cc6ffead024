// bench: the seeded generator, length distributions, Poisson arrivals, datasets and workloads are
// reproducible for a seed and have the intended shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Rng, mixSeed } = require('../dist/bench/rng.js');
const { parseDistribution, formatDistribution, sampleLengths, DistributionSyntaxError } = require('../dist/bench/distributions.js');
const { poissonArrivals } = require('../dist/bench/arrivals.js');
const { parseDataset, DatasetError } = require('../dist/bench/dataset.js');
const { Workload, TOKEN_ID_MIN, TOKEN_ID_MAX } = require('../dist/bench/workload.js');

const draws = (rng, n, f = () => rng.uint32()) => Array.from({ length: n }, f);

test('Rng: the same seed gives the same sequence, another seed another one', () => {
  assert.deepEqual(draws(new Rng(42), 50), draws(new Rng(42), 50));
  assert.notDeepEqual(draws(new Rng(42), 50), draws(new Rng(43), 50));
  // A pinned prefix: the sequence must not change across releases (reports name their seed).
  const pinned = draws(new Rng(0), 4);
  assert.deepEqual(draws(new Rng(0), 4), pinned);
  const r = new Rng(7);
  for (let i = 0; i < 10_000; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    const k = r.int(3, 9);
    assert.ok(Number.isInteger(k) && k >= 3 && k <= 9);
  }
  assert.notEqual(mixSeed(1, 7, 0), mixSeed(1, 7, 1));
  assert.notEqual(mixSeed(1, 7, 0), mixSeed(2, 7, 0));
  assert.equal(mixSeed(2 ** 40 + 5, 3), mixSeed(2 ** 40 + 5, 3));
  assert.notEqual(mixSeed(2 ** 40 + 5, 3), mixSeed(5, 3));
});

test('Rng: uniform ints cover the range evenly; normal and exponential have the right moments', () => {
  const r = new Rng(1);
  const counts = new Array(10).fill(0);
  const N = 100_000;
  for (let i = 0; i < N; i++) counts[r.int(0, 9)]++;
  for (const c of counts) assert.ok(Math.abs(c - N / 10) < 600, `bucket count ${c}`);
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < N; i++) {
    const z = r.normal();
    s += z;
    s2 += z * z;
  }
  assert.ok(Math.abs(s / N) < 0.02);
  assert.ok(Math.abs(s2 / N - 1) < 0.03);
  let e = 0;
  for (let i = 0; i < N; i++) e += r.exponential(4);
  assert.ok(Math.abs(e / N - 0.25) < 0.005);
});

test('distributions: parse, format and sample fixed, uniform and normal', () => {
  assert.deepEqual(parseDistribution('fixed:128'), { kind: 'fixed', value: 128 });
  assert.deepEqual(parseDistribution('64'), { kind: 'fixed', value: 64 });
  assert.deepEqual(parseDistribution('uniform:64:256'), { kind: 'uniform', min: 64, max: 256 });
  assert.deepEqual(parseDistribution('normal:200:50'), { kind: 'normal', mean: 200, stddev: 50 });
  for (const s of ['fixed:128', 'uniform:64:256', 'normal:200:50']) assert.equal(formatDistribution(parseDistribution(s)), s);
  for (const bad of ['', 'fixed', 'fixed:0', 'fixed:-1', 'fixed:1.5', 'uniform:5', 'uniform:9:3', 'normal:0:1', 'normal:10:-1', 'poisson:3', 'fixed:1:2']) {
    assert.throws(() => parseDistribution(bad), DistributionSyntaxError, bad);
  }
  const N = 20_000;
  assert.ok(sampleLengths(parseDistribution('fixed:7'), 100, new Rng(1)).every((v) => v === 7));
  const u = sampleLengths(parseDistribution('uniform:10:20'), N, new Rng(2));
  assert.ok(u.every((v) => v >= 10 && v <= 20));
  assert.ok(u.includes(10) && u.includes(20), 'both ends are reachable');
  const n = sampleLengths(parseDistribution('normal:200:50'), N, new Rng(3));
  const mean = n.reduce((a, b) => a + b, 0) / N;
  assert.ok(Math.abs(mean - 200) < 2, `mean ${mean}`);
  const clamped = sampleLengths(parseDistribution('normal:2:10'), N, new Rng(4));
  assert.ok(clamped.every((v) => v >= 1 && Number.isInteger(v)), 'clamped to >= 1');
  assert.ok(clamped.filter((v) => v === 1).length > N / 4, 'the clamp is hit');
  assert.deepEqual(sampleLengths(parseDistribution('normal:200:50'), 100, new Rng(9)), sampleLengths(parseDistribution('normal:200:50'), 100, new Rng(9)));
});

test('Poisson arrivals: seeded, start at 0, non-decreasing, mean gap 1/rate; inf sends all at once', () => {
  const a = poissonArrivals(50_000, 20, new Rng(5));
  assert.deepEqual(a, poissonArrivals(50_000, 20, new Rng(5)));
  assert.notDeepEqual(a, poissonArrivals(50_000, 20, new Rng(6)));
  assert.equal(a[0], 0);
  for (let i = 1; i < a.length; i++) assert.ok(a[i] >= a[i - 1]);
  const meanGap = a[a.length - 1] / (a.length - 1);
  assert.ok(Math.abs(meanGap - 0.05) < 0.05 * 0.02, `mean gap ${meanGap}`);
  // Exponential gaps: the coefficient of variation is 1, and P(gap > mean) = 1/e.
  let over = 0;
  for (let i = 1; i < a.length; i++) if (a[i] - a[i - 1] > 0.05) over++;
  assert.ok(Math.abs(over / (a.length - 1) - Math.exp(-1)) < 0.01);
  assert.ok(poissonArrivals(100, Infinity, new Rng(1)).every((t) => t === 0));
  assert.throws(() => poissonArrivals(3, 0, new Rng(1)), RangeError);
});

test('datasets: lengths, texts and ShareGPT conversations (JSONL or a JSON array)', () => {
  const jsonl = [
    '{"prompt_len": 100, "output_len": 20}',
    '',
    '{"prompt": "héllo", "output": "abc"}',
    '{"conversations": [{"from": "system", "value": "x"}, {"from": "human", "value": "hi there"}, {"from": "gpt", "value": "hello!"}]}',
    '{"conversations": [{"from": "human", "value": "unanswered"}]}',
    '{"prompt": "p", "output_len": 9}',
  ].join('\n');
  const d = parseDataset(jsonl, 'x.jsonl');
  assert.equal(d.skipped, 1);
  assert.equal(d.hasText, true);
  assert.deepEqual(d.entries, [
    { promptLen: 100, outputLen: 20 },
    { promptLen: 6, outputLen: 3, prompt: 'héllo' }, // byte tokenizer: one token per UTF-8 byte
    { promptLen: 8, outputLen: 6, prompt: 'hi there' },
    { promptLen: 1, outputLen: 9, prompt: 'p' },
  ]);
  const arr = parseDataset('[{"prompt_len": 3, "output_len": 4}]', 'a.json');
  assert.deepEqual(arr.entries, [{ promptLen: 3, outputLen: 4 }]);
  assert.throws(() => parseDataset('{"prompt_len": 0}', 'bad.jsonl'), (e) => e instanceof DatasetError && /bad\.jsonl:1: prompt_len/.test(e.message));
  assert.throws(() => parseDataset('{"a": 1}\nnot json', 'b.jsonl'), (e) => e instanceof DatasetError && /b\.jsonl:1/.test(e.message));
  assert.throws(() => parseDataset('{"prompt_len": 5}\n{oops', 'c.jsonl'), (e) => e instanceof DatasetError && /c\.jsonl:2: not valid JSON/.test(e.message));
  assert.throws(() => parseDataset('\n\n', 'e.jsonl'), /no usable entries/);
});

const dist = parseDistribution;

test('workload: a seed fixes lengths, arrivals, prompts and the prefix-sharing requests', () => {
  const opts = { numRequests: 2000, seed: 11, requestRate: 50, inputLen: dist('uniform:16:64'), outputLen: dist('normal:32:8'), prefixShare: { fraction: 0.25, tokens: 48 } };
  const a = new Workload(opts);
  const b = new Workload(opts);
  const c = new Workload({ ...opts, seed: 12 });
  assert.deepEqual(a.inputLens, b.inputLens);
  assert.deepEqual(a.outputLens, b.outputLens);
  assert.deepEqual(a.arrivals, b.arrivals);
  assert.deepEqual(a.sharesPrefix, b.sharesPrefix);
  assert.notDeepEqual(a.inputLens, c.inputLens);
  assert.notDeepEqual(a.arrivals, c.arrivals);
  for (const i of [0, 1, 999, 1999]) assert.deepEqual(a.promptTokens(i), b.promptTokens(i));
  assert.notDeepEqual(a.promptTokens(5), c.promptTokens(5));

  // Exactly round(F * N) requests share the prefix, which is prepended: their length is T + the drawn one.
  const shared = [...a.sharesPrefix].reduce((s, x) => s + x, 0);
  assert.equal(shared, 500);
  assert.equal(a.totals().sharedPrefixRequests, 500);
  for (let i = 0; i < 2000; i++) {
    const p = a.promptTokens(i);
    assert.equal(p.length, a.inputLens[i]);
    if (a.sharesPrefix[i]) {
      assert.ok(p.length >= 48 + 16 && p.length <= 48 + 64);
      assert.deepEqual(p.subarray(0, 48), a.prefixTokens);
    } else {
      assert.ok(p.length >= 16 && p.length <= 64);
    }
    assert.ok(p.every((t) => t >= TOKEN_ID_MIN && t < TOKEN_ID_MAX));
  }
  // Two requests without the shared prefix have no common prefix.
  const own = [...a.sharesPrefix.keys()].filter((i) => !a.sharesPrefix[i]).slice(0, 2);
  assert.notDeepEqual(a.promptTokens(own[0]).subarray(0, 8), a.promptTokens(own[1]).subarray(0, 8));
  // The same request gets the same prompt whatever else was generated before it.
  const fresh = new Workload(opts);
  assert.deepEqual(fresh.promptTokens(1234), a.promptTokens(1234));
});

test('workload: dataset entries are taken in a seeded order; --output-len overrides the dataset', () => {
  const d = parseDataset(['{"prompt_len": 10, "output_len": 1}', '{"prompt_len": 20, "output_len": 2}', '{"prompt": "abc", "output": "xy"}'].join('\n'), 'd');
  const base = { numRequests: 9, seed: 3, requestRate: Infinity, inputLen: dist('fixed:5'), outputLen: dist('fixed:77'), dataset: d };
  const w = new Workload(base);
  assert.deepEqual(w.inputLens, new Workload(base).inputLens);
  assert.deepEqual([...w.inputLens].sort((x, y) => x - y), [3, 3, 3, 10, 10, 10, 20, 20, 20]);
  for (let i = 0; i < 9; i++) {
    const expectedOut = { 10: 1, 20: 2, 3: 2 }[w.inputLens[i]];
    assert.equal(w.outputLens[i], expectedOut);
    if (w.inputLens[i] === 3) {
      assert.equal(w.promptText(i), 'abc');
      assert.deepEqual([...w.promptTokens(i)], [...Buffer.from('abc')].map((b) => b + 3));
    } else {
      assert.equal(w.promptText(i), null);
    }
  }
  const o = new Workload({ ...base, outputLenOverride: true });
  assert.ok(o.outputLens.every((v) => v === 77));
  const p = new Workload({ ...base, prefixShare: { fraction: 1, tokens: 4 } });
  for (let i = 0; i < 9; i++) {
    const text = p.promptText(i);
    if (text !== null) assert.equal(text, p.prefixText + 'abc');
    assert.equal(p.promptTokens(i).length, p.inputLens[i]);
  }
});
