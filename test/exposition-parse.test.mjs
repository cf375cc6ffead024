// lib/metrics/exposition-parse.ts, the package's one reader of the text exposition (bench, dashboard, test
// helpers): strict mode against our own renderer's output in both formats, what strict mode rejects and
// lenient mode tolerates, families, HELP unescaping and sample values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { recordBatch } from './helpers/metrics-fixtures.mjs';

const require = createRequire(import.meta.url);
const { parseExposition, parseExpositionText, parseSampleValue, ExpositionParseError } = require('../dist/metrics/exposition-parse.js');
const { MetricsCollector } = require('../dist/metrics/collector.js');
const { RuntimeMetrics } = require('../dist/metrics/runtime-metrics.js');
const { renderRegistries } = require('../dist/metrics/exposition.js');

function loadedCollector() {
  const c = new MetricsCollector({ model_name: 'm "q" \\ \n x' });
  const row = { enqueue: 1e9, scheduled: 1.5e9, lastToken: 4e9, output: 5, prompt: 10, reason: 3 };
  c.logRequestRecords(recordBatch([{ ...row, firstToken: 2e9 }, { ...row, firstToken: 2.1e9 }]));
  new RuntimeMetrics({ registry: c.registry, model: 'm' }).startRequest().end();
  return c;
}

test('strict: our renderer\'s output parses, in both formats, to what the registry holds', async () => {
  const c = loadedCollector();
  const text = await c.registry.metrics();
  const { samples, families } = parseExpositionText(text, { strict: true });
  const lines = text.split('\n');
  assert.equal(samples.length, lines.filter((l) => l !== '' && !l.startsWith('#')).length);
  assert.deepEqual(families.map((f) => f.name), lines.filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]));
  assert.equal(families.reduce((n, f) => n + f.samples.length, 0), samples.length, 'every sample in one family');
  const json = await c.registry.getMetricsAsJSON();
  for (const metric of json) {
    const f = families.find((x) => x.name === metric.name);
    assert.ok(f, metric.name);
    assert.equal(f.type, metric.type);
    assert.equal(f.help, metric.help);
  }
  const ttft = json.find((m) => m.name === 'trtllm_time_to_first_token_seconds');
  const count = ttft.values.find((v) => v.metricName === 'trtllm_time_to_first_token_seconds_count');
  const parsed = samples.find((s) => s.name === 'trtllm_time_to_first_token_seconds_count');
  assert.equal(parsed.value, count.value);
  assert.equal(parsed.labels.model_name, 'm "q" \\ \n x', 'label values unescaped');
  // OpenMetrics: counters are families without _total, samples with it; # EOF is a comment.
  const om = await renderRegistries([c.registry], 'openmetrics');
  const p = parseExpositionText(om, { strict: true });
  const success = p.families.find((f) => f.name === 'trtllm_request_success');
  assert.equal(success.type, 'counter');
  assert.deepEqual(success.samples.map((s) => s.name), ['trtllm_request_success_total']);
  assert.equal(p.samples.length, samples.length);
  c.close();
});

test('strict rejects malformed lines (naming the line); lenient reads what it can', () => {
  const bad = [
    '1abc 1',
    'a{b="1" 1',
    'a{b=1} 1',
    'a{b="x\\q"} 1',
    'a{b="1",b="2"} 1',
    'a{1b="x"} 1',
    'a{b="1"}1',
    'a 1 2 3',
    'a 1 1.5',
    'a 1 x',
    'a',
    'a x',
    '# TYPE a bogus',
    '# TYPE 1a counter',
  ];
  for (const line of bad) {
    assert.throws(() => parseExpositionText(`ok 1\n${line}\n`, { strict: true }), (e) => e instanceof ExpositionParseError && /line 2/.test(e.message), line);
  }
  // Lenient: the first token after the labels is the value; escapes other than \\ \" \n give the character.
  assert.deepEqual(parseExposition('a 1 2 3\na{b="x\\q"} 2\na_bucket{le="1"} 3 # {trace_id="t"} 0.5 1.2'), [
    { name: 'a', labels: {}, value: 1 },
    { name: 'a', labels: { b: 'xq' }, value: 2 },
    { name: 'a_bucket', labels: { le: '1' }, value: 3 },
  ]);
  assert.throws(() => parseExposition('a x'), ExpositionParseError);
});

test('strict accepts what the format allows: timestamps, {}, a trailing comma, spaces in label sets, NaN spellings', () => {
  const { samples } = parseExpositionText('a 1 1700000000000\nb{} 2\nc{x="1",} 3\nd{ x="1" , y="2" } 4\ne NaN\nf Nan\ng -Inf\n# EOF\n', { strict: true });
  assert.deepEqual(samples.map((s) => s.name), ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  assert.deepEqual(samples[3].labels, { x: '1', y: '2' });
  assert.ok(Number.isNaN(samples[4].value) && Number.isNaN(samples[5].value));
  assert.equal(samples[6].value, -Infinity);
});

test('families: HELP unescaped, samples follow their TYPE line, strays get an untyped family of their own', () => {
  const text = [
    'stray 1',
    '# HELP h A \\\\ help\\nline',
    '# TYPE h histogram',
    'h_bucket{le="+Inf"} 2',
    'h_sum 3',
    'h_count 2',
    'other 5',
    '# TYPE g gauge',
    'g 7',
  ].join('\n');
  const { families } = parseExpositionText(text, { strict: true });
  assert.deepEqual(
    families.map((f) => [f.name, f.type, f.help, f.samples.map((s) => s.name)]),
    [
      ['stray', 'untyped', '', ['stray']],
      ['h', 'histogram', 'A \\ help\nline', ['h_bucket', 'h_sum', 'h_count']],
      ['other', 'untyped', '', ['other']],
      ['g', 'gauge', '', ['g']],
    ],
  );
});

test('parseSampleValue: floats and Prometheus\' special values', () => {
  assert.equal(parseSampleValue('+Inf'), Infinity);
  assert.equal(parseSampleValue('Inf'), Infinity);
  assert.equal(parseSampleValue('-Inf'), -Infinity);
  assert.ok(Number.isNaN(parseSampleValue('NaN')));
  assert.equal(parseSampleValue('1e-3'), 0.001);
  assert.equal(parseSampleValue('-2.5'), -2.5);
  assert.throws(() => parseSampleValue(''), ExpositionParseError);
  assert.throws(() => parseSampleValue('x1'), ExpositionParseError);
});
