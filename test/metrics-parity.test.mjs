// Parity with TensorRT-LLM's collector that stays true: a `serve` process under load (speculative decoding,
// a host KV tier under pressure, log probabilities, an error) is scraped, and its trtllm_ families are compared
// with the checked-in description of upstream's (test/fixtures/trtllm-collector-families.json): every family
// the C++ executor can feed is there with upstream's type, labels and buckets; every family left out is absent;
// nothing of ours is undescribed. The same scrape passes `promtool check metrics` and Python's
// prometheus_client parsers (text format, and OpenMetrics with exemplars).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parseExpositionText } from '../dist/metrics/exposition-parse.js';
import { spawnServe } from './helpers/serve-process.mjs';
import { PROMTOOL, requireTool } from './helpers/tools.mjs';
import { eventually, post } from './helpers/worker-fixtures.mjs';

const FIXTURE = JSON.parse(readFileSync(new URL('./fixtures/trtllm-collector-families.json', import.meta.url), 'utf8'));
const PYTHON = '/usr/bin/python3';
const BASE = new Set(FIXTURE.baseLabels);
const fed = FIXTURE.families.filter((f) => f.status === 'fed');

/** Every fed family has a sample: the load below reaches each of them. */
function missingFamilies(text) {
  const names = new Set(parseExpositionText(text).families.filter((f) => f.samples.length > 0).map((f) => f.name));
  return fed.map((f) => f.name).filter((n) => !names.has(n));
}

function pythonMissing() {
  if (process.env.CI) return false;
  const r = spawnSync(PYTHON, ['-c', 'import prometheus_client'], { encoding: 'utf8' });
  return r.status === 0 ? false : `${PYTHON} with prometheus_client not installed (apt-get install python3-prometheus-client)`;
}

describe('parity with TensorRT-LLM\'s collector, on a live serve', () => {
  let serve;
  let text;
  let openMetrics;
  before(async () => {
    serve = await spawnServe([
      '--model', 'parity-model', '--port', '0', '--http-port', '0',
      '--spec-draft-length', '2', '--kv-blocks', '48', '--tokens-per-block', '16', '--host-cache-size', String(16 * 4 * 2 ** 20),
      '--speedup-ratio', '50', '--exemplars', 'request-id',
    ]);
    assert.ok(serve.api, `serve did not start: ${JSON.stringify(serve.exited)}`);
    const api = serve.api;
    const chat = (content, extra = {}) => post(`${api}/v1/chat/completions`, { model: 'parity-model', messages: [{ role: 'user', content }], max_tokens: 8, ...extra });
    // Long distinct prompts fill the 48-block GPU pool, so cached blocks are offloaded to the host tier; their
    // repeats reuse them (from GPU or host).
    const prompts = Array.from({ length: 24 }, (_, i) => `prompt ${i}: ${'the quick brown fox jumps over the lazy dog '.repeat(4 + (i % 3))}`);
    for (const round of [0, 1]) {
      const rs = await Promise.all(prompts.map((p, i) => chat(p, round === 1 && i % 4 === 0 ? { logprobs: true } : {})));
      for (const r of rs) assert.equal(r.status, 200, r.text);
    }
    const streamed = await fetch(`${api}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ model: 'parity-model', prompt: 'stream me', max_tokens: 6, stream: true }) });
    await streamed.text();
    assert.equal((await post(`${api}/v1/completions`, { model: 'parity-model', prompt: 'x', max_tokens: -1 })).status, 400);
    text = await eventually(async () => {
      const t = await (await fetch(`${serve.metrics}/metrics`)).text();
      return missingFamilies(t).length === 0 ? t : null;
    }, 30_000, `every fed family in the scrape (missing: ${missingFamilies(await (await fetch(`${serve.metrics}/metrics`)).text()).join(', ')})`).catch(async (err) => {
      throw new Error(`${err.message}: missing ${missingFamilies(await (await fetch(`${serve.metrics}/metrics`)).text()).join(', ')}`);
    });
    openMetrics = await (await fetch(`${serve.metrics}/metrics`, { headers: { Accept: 'application/openmetrics-text; version=1.0.0' } })).text();
  });
  after(async () => {
    serve?.child?.kill('SIGTERM');
    await serve?.done;
  });

  test('every family the C++ executor feeds: present, with upstream\'s type, labels and buckets', () => {
    const families = new Map(parseExpositionText(text, { strict: true }).families.map((f) => [f.name, f]));
    for (const spec of fed) {
      const fam = families.get(spec.name);
      assert.ok(fam, `${spec.name} is missing`);
      assert.equal(fam.type, spec.type, spec.name);
      const labels = new Set();
      for (const s of fam.samples) for (const k of Object.keys(s.labels)) if (!BASE.has(k) && k !== 'le') labels.add(k);
      const required = spec.labels.filter((l) => !(spec.optionalLabels ?? []).includes(l));
      for (const l of required) assert.ok(labels.has(l), `${spec.name} lacks label ${l}`);
      for (const l of labels) assert.ok(spec.labels.includes(l), `${spec.name} has label ${l}, which upstream's has not`);
      for (const s of fam.samples) for (const b of BASE) assert.ok(b in s.labels, `${spec.name} lacks ${b}`);
      if (spec.type === 'histogram') {
        const first = fam.samples.find((s) => s.name === `${spec.name}_bucket`);
        const series = fam.samples.filter((s) => s.name === `${spec.name}_bucket` && JSON.stringify({ ...s.labels, le: '' }) === JSON.stringify({ ...first.labels, le: '' }));
        assert.deepEqual(series.map((s) => s.labels.le), [...spec.buckets.map(String), '+Inf'], `${spec.name} buckets`);
      }
    }
  });

  test('every family left out is absent, and every trtllm_ family of ours is described', () => {
    const names = parseExpositionText(text).families.map((f) => f.name);
    const described = new Set([...FIXTURE.families.map((f) => f.name), ...Object.keys(FIXTURE.ours)]);
    for (const spec of FIXTURE.families.filter((f) => f.status === 'left-out')) {
      assert.ok(!names.includes(spec.name), `${spec.name} is left out (${spec.reason}) but was exposed`);
      assert.ok(spec.reason.length > 20, `${spec.name} needs its reason`);
    }
    for (const n of names.filter((x) => x.startsWith('trtllm_'))) assert.ok(described.has(n), `${n} is not in test/fixtures/trtllm-collector-families.json`);
  });

  test('promtool check metrics accepts the scrape', () => {
    requireTool(PROMTOOL, 'apt-get install prometheus');
    const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool failed:\n${r.stdout}\n${r.stderr}`);
    assert.equal(r.stdout.trim(), '', `promtool reported:\n${r.stdout}`);
  });

  test('Python\'s prometheus_client parses the scrape (text format) and the OpenMetrics one with its exemplars', { skip: pythonMissing() }, () => {
    const script = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
text, om = json.load(sys.stdin)
out = {"text": {}, "om": {}, "exemplars": []}
for f in text_string_to_metric_families(text):
    out["text"][f.name] = [f.type, len(f.samples)]
for f in om_families(om):
    out["om"][f.name] = [f.type, len(f.samples)]
    for s in f.samples:
        if s.exemplar is not None:
            out["exemplars"].append([s.name, s.exemplar.labels, s.exemplar.value])
print(json.dumps(out))
`;
    const r = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify([text, openMetrics]), encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, r.stderr);
    const parsed = JSON.parse(r.stdout);
    const ours = parseExpositionText(text).families;
    // prometheus_client names a counter family without _total.
    const pyName = (f) => (f.type === 'counter' ? f.name.replace(/_total$/, '') : f.name);
    for (const f of ours) {
      const py = parsed.text[pyName(f)];
      assert.ok(py, `prometheus_client did not read ${f.name}`);
      assert.equal(py[0], f.type, f.name);
      assert.equal(py[1], f.samples.length, `${f.name} samples`);
      assert.ok(parsed.om[pyName(f)], `the OpenMetrics parser did not read ${f.name}`);
    }
    const ex = parsed.exemplars.filter((e) => e[0].startsWith('trtllm_time_to_first_token_seconds_bucket'));
    assert.ok(ex.length > 0, 'TTFT buckets carry exemplars');
    for (const [, labels, value] of ex) {
      assert.deepEqual(Object.keys(labels), ['trace_id']);
      assert.ok(value > 0);
    }
  });
});

test('the fixture describes upstream\'s families completely', () => {
  assert.ok(existsSync(new URL('./fixtures/trtllm-collector-families.json', import.meta.url)));
  for (const f of FIXTURE.families) {
    assert.match(f.name, /^trtllm_[a-z0-9_]+$/);
    assert.ok(['counter', 'gauge', 'histogram'].includes(f.type), f.name);
    assert.ok(f.type !== 'counter' || f.name.endsWith('_total'), f.name);
    assert.ok(f.type !== 'histogram' || (Array.isArray(f.buckets) && f.buckets.length > 0), f.name);
    assert.ok(f.status === 'fed' ? typeof f.source === 'string' : typeof f.reason === 'string', f.name);
    assert.ok(FIXTURE.sources[f.defined_in], `${f.name}: unknown source ${f.defined_in}`);
  }
  assert.equal(new Set(FIXTURE.families.map((f) => f.name)).size, FIXTURE.families.length, 'no family twice');
});
