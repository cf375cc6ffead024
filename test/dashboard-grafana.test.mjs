// The Grafana dashboard (observability/grafana/dashboards/trtllm-metrics.json) and observability/prometheus.yml:
// - the JSON is what observability/build-dashboard.mjs generates, and is well formed (ids, grid, targets);
// - every PromQL expression (panel targets and the selectors of the template variables) parses: they become
//   one recording rule each, template variables substituted, and `promtool check rules` must accept the file;
// - every metric name an expression uses is one a real worker exports (engine + collector + servers under a
//   little load, families that only show up under some conditions fed through the collector's log* methods),
//   and every label a selector matches on is one of that metric's labels (or Prometheus' job / instance);
// - every trtllm_ and dynamo_component_ family the worker exports is charted somewhere;
// - `promtool check config` accepts prometheus.yml, which scrapes localhost:8081.
// The promtool checks are skipped when /usr/bin/promtool (Debian package prometheus) is missing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dashboard as generated } from '../observability/build-dashboard.mjs';
import { parseExpositionText } from '../dist/metrics/exposition-parse.js';
import { iterationStats } from './helpers/metrics-fixtures.mjs';
import { post, scrape, startWorker } from './helpers/worker-fixtures.mjs';

const ROOT = new URL('..', import.meta.url).pathname;
const DASHBOARD = join(ROOT, 'observability/grafana/dashboards/trtllm-metrics.json');
const PROMETHEUS_YML = join(ROOT, 'observability/prometheus.yml');
import { PROMTOOL, skipWithout } from './helpers/tools.mjs';

const noPromtool = skipWithout(PROMTOOL, 'apt-get install prometheus');

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));

/** Every panel, rows' nested panels included. */
function allPanels(panels = dashboard.panels) {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** [{ where, expr }] of every PromQL expression: panel targets, and the selector of label_values() variables. */
function expressions() {
  const out = [];
  for (const p of allPanels()) {
    for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
  }
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : v.query.query;
    const m = /^\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/s.exec(q) ?? /^\s*query_result\((.*)\)\s*$/s.exec(q);
    assert.ok(m, `variable ${v.name}: unsupported query ${q}`);
    out.push({ where: `variable $${v.name}`, expr: m[1] });
  }
  return out;
}

const INTERVALS = new Set(['__rate_interval', '__interval', '__range', '__range_s', '__range_ms', '__interval_ms']);
const variableNames = new Set(dashboard.templating.list.map((v) => v.name));

/** Grafana's variables replaced: intervals by 5m, the dashboard's own variables by a regex-safe `.*`. */
function substitute(expr) {
  return expr.replace(/\$\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}|\[\[([a-zA-Z_][a-zA-Z0-9_]*)\]\]|\$([a-zA-Z_][a-zA-Z0-9_]*)/g, (all, a, b, c) => {
    const name = a ?? b ?? c;
    if (INTERVALS.has(name)) return '5m';
    if (variableNames.has(name)) return '.*';
    throw new Error(`unknown template variable ${all} in ${expr}`);
  });
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan', 'atan2']);

/** Metric names an expression selects, and the label names each selector matches on. */
function selectors(expr) {
  const s = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const out = [];
  const re = /([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*(\{[^}]*\})?/g;
  let m;
  while ((m = re.exec(s)) !== null) {
    if (m[0] === '') {
      re.lastIndex++;
      continue;
    }
    const [, ident, braces] = m;
    const rest = s.slice(re.lastIndex);
    const before = s.slice(0, m.index);
    if (ident && !braces && /^\s*(\(|(by|without)\s*\()/.test(rest)) continue; // a function or aggregation
    if (ident && KEYWORDS.has(ident.toLowerCase()) && !braces) continue;
    if (ident && /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*$/.test(before)) continue; // a grouping label
    if (ident && /\[[^\]]*$/.test(before)) continue; // inside a range
    if (!ident && !braces) continue;
    const labels = braces ? [...braces.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1]) : [];
    out.push({ name: ident ?? null, labels, nameRegex: braces && /__name__\s*=~\s*""/.test(braces) ? regexOf(expr) : null });
  }
  return out;
}

function regexOf(expr) {
  const m = /__name__\s*=~\s*"((?:[^"\\]|\\.)*)"/.exec(expr);
  return m ? new RegExp(`^(?:${m[1]})$`) : null;
}

test('the dashboard JSON is what observability/build-dashboard.mjs generates', () => {
  assert.deepEqual(dashboard, JSON.parse(JSON.stringify(generated)), 'run `node observability/build-dashboard.mjs`');
});

test('the dashboard is well formed', () => {
  assert.equal(typeof dashboard.uid, 'string');
  assert.ok(dashboard.schemaVersion >= 36);
  const panels = allPanels();
  const ids = panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  const cells = new Set();
  for (const p of panels) {
    const g = p.gridPos;
    assert.ok(g && g.w > 0 && g.h > 0 && g.x >= 0 && g.x + g.w <= 24, `gridPos of "${p.title}"`);
    for (let x = g.x; x < g.x + g.w; x++) {
      for (let y = g.y; y < g.y + g.h; y++) {
        assert.ok(!cells.has(`${x},${y}`), `"${p.title}" overlaps another panel at ${x},${y}`);
        cells.add(`${x},${y}`);
      }
    }
    if (p.type === 'row') continue;
    assert.ok(['timeseries', 'stat', 'table'].includes(p.type), `panel type ${p.type}`);
    assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `datasource of "${p.title}"`);
    assert.ok(p.targets.length > 0, `"${p.title}" has targets`);
    const refs = p.targets.map((t) => t.refId);
    assert.equal(new Set(refs).size, refs.length, `refIds of "${p.title}" are unique`);
    for (const t of p.targets) assert.deepEqual(t.datasource, p.datasource);
  }
  assert.deepEqual(
    dashboard.templating.list.map((v) => v.name),
    ['datasource', 'model', 'instance', 'endpoint'],
  );
});

test('every expression parses: promtool check rules', { skip: noPromtool }, () => {
  const exprs = expressions();
  assert.ok(exprs.length > 100, `${exprs.length} expressions`);
  const dir = mkdtempSync(join(tmpdir(), 'trtllm-dash-'));
  try {
    const rules = exprs.map((e, i) => ({ record: `dashboard:expr_${i}`, expr: substitute(e.expr) }));
    for (const r of rules) assert.doesNotMatch(r.expr, /\$/, 'every variable substituted');
    const file = join(dir, 'dashboard-rules.yml');
    writeFileSync(file, JSON.stringify({ groups: [{ name: 'trtllm-dashboard', rules }] }, null, 1)); // JSON is YAML
    const r = spawnSync(PROMTOOL, ['check', 'rules', file], { encoding: 'utf8' });
    assert.equal(r.error, undefined);
    const where = (out) => out.replace(/dashboard:expr_(\d+)/g, (all, i) => `${all} (${exprs[i].where}: ${exprs[i].expr})`);
    assert.equal(r.status, 0, `promtool check rules failed:\n${where(r.stdout)}\n${where(r.stderr)}`);
    assert.match(r.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));

    // The check is real: a broken expression is rejected.
    writeFileSync(file, JSON.stringify({ groups: [{ name: 'x', rules: [{ record: 'x:y', expr: 'sum(rate(a[5m])' }] }] }));
    assert.notEqual(spawnSync(PROMTOOL, ['check', 'rules', file], { encoding: 'utf8' }).status, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('prometheus.yml is valid and scrapes the worker on localhost:8081', { skip: noPromtool }, () => {
  const r = spawnSync(PROMTOOL, ['check', 'config', PROMETHEUS_YML], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const text = readFileSync(PROMETHEUS_YML, 'utf8');
  assert.match(text, /targets:\s*\[\s*'localhost:8081'\s*\]/);
  assert.match(text, /metrics_path:\s*\/metrics/);
});

describe('the expressions against a real exposition', () => {
  let w;
  let text;
  /** sample name -> label names seen on it */
  const labelsBySample = new Map();
  /** family name -> sample names */
  const families = new Map();

  before(async () => {
    w = await startWorker({ model: 'dash-model' });
    const prompts = Array.from({ length: 12 }, (_, i) => 'the same long prefix of a prompt '.repeat(4) + i);
    await Promise.all(prompts.map((prompt) => w.client.completions.create({ model: w.model, prompt, max_tokens: 12 })));
    await post(`${w.api}/v1/completions`, '{not json');
    await post(`${w.api}/v1/completions`, { model: 'no-such-model', prompt: 'x' });
    // Families with no sample until used: spec decoding, config info, KV events other than `stored`.
    const c = w.worker.collector;
    c.logRequestMetrics({
      finishReason: 'stop', arrivalTime: 1, firstScheduledTime: 1.01, firstTokenTime: 1.1, lastTokenTime: 1.5,
      promptTokens: 40, outputTokens: 9, cachedTokens: 32, specDraftTokens: 12, specAcceptedTokens: 7,
      generationLogProbSum: -4.5, generationLogProbCount: 9,
    });
    c.logIterationStats(iterationStats({
      iter: 1_000_000,
      specDecodingStats: { numDraftTokens: 12, numAcceptedTokens: 7, numRequestsWithDraftTokens: 2, acceptanceLength: 1.6, iterLatencyMS: 1, draftOverhead: 0.2 },
    }));
    c.logConfigInfo({ model: { dtype: 'float16' }, parallel: { tp_size: 1 }, speculative: { method: 'eagle' }, kvCache: { tokens_per_block: 32 } });
    c.logKvCacheEvents([
      { event_id: 999_998, data: { type: 'created', num_blocks_per_cache_level: [4096, 64] }, window_size: 4096 },
      { event_id: 999_999, data: { type: 'updated', block_hash: 3n, cache_level: { type: 'event_diff', old_value: 0, new_value: 1 }, priority: null }, window_size: 4096 },
      { event_id: 1_000_000, data: { type: 'removed', block_hashes: [1n, 2n] }, window_size: 4096 },
      { event_id: 1_000_003, data: { type: 'updated', block_hash: 1n, cache_level: null, priority: { type: 'event_diff', old_value: 35, new_value: 50 } }, window_size: 4096 },
    ]);
    text = await scrape(w.metrics);
    for (const family of parseExpositionText(text, { strict: true }).families) {
      families.set(family.name, new Set(family.samples.map((x) => x.name)));
      for (const x of family.samples) {
        const labels = labelsBySample.get(x.name) ?? new Set();
        for (const k of Object.keys(x.labels)) labels.add(k);
        labelsBySample.set(x.name, labels);
      }
    }
  });
  after(() => w?.stop());

  test('every metric name the dashboard uses is exported (with samples), with the labels it matches on', () => {
    const used = new Set();
    for (const { where, expr } of expressions()) {
      const sels = selectors(expr);
      assert.ok(sels.length > 0, `${where}: no selector found in ${expr}`);
      for (const sel of sels) {
        if (sel.name === null) {
          assert.ok(sel.nameRegex, `${where}: a selector without metric name must match __name__: ${expr}`);
          const hits = [...labelsBySample.keys()].filter((n) => sel.nameRegex.test(n));
          assert.ok(hits.length > 0, `${where}: ${sel.nameRegex} matches no exported series`);
          continue;
        }
        used.add(sel.name);
        assert.ok(labelsBySample.has(sel.name), `${where}: ${sel.name} is not exported (no sample) — in ${expr}`);
        const allowed = new Set([...labelsBySample.get(sel.name), 'job', 'instance', '__name__']);
        for (const l of sel.labels) assert.ok(allowed.has(l), `${where}: ${sel.name} has no label ${l}`);
      }
    }
    assert.ok(used.size > 60, `${used.size} metric names used`);
  });

  test('every trtllm_ and dynamo_component_ family is on the dashboard', () => {
    const used = new Set(expressions().flatMap(({ expr }) => selectors(expr).map((s) => s.name)));
    const missing = [];
    for (const [family, names] of families) {
      if (!/^(trtllm_|dynamo_component_)/.test(family)) continue;
      assert.ok(names.size > 0, `${family} has samples (feed it in before())`);
      if (![...names].some((n) => used.has(n))) missing.push(family);
    }
    assert.deepEqual(missing, [], 'families not charted');
    assert.ok(families.size >= 60, `${families.size} families exported`);
  });
});
