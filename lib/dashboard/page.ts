/**
 * The HTML of GET /dashboard: one self-contained page (inline CSS and script, uPlot from the package's own
 * /dashboard/assets/ route; no request leaves the worker). It polls dashboard/data every `pollMs`, appends the
 * new points, keeps the last MAX_POINTS and redraws. URLs are relative, so the page also works behind a
 * path-prefixing proxy.
 *
 * For tests and curious people the script exposes `window.__dashboard`: { points, updates, errors, lastError,
 * nonNull: { <series>: count } }, and every chart card carries data-points (non-null values it holds).
 */

export interface PageOptions {
  pollMs: number;
  windowSeconds: number;
}

const STYLE = String.raw`
:root { --bg: #f4f6f9; --card: #fff; --ink: #1d2533; --muted: #64708a; --line: #e2e6ee; --accent: #76b900; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; align-items: center; gap: 16px; padding: 12px 20px; background: #1d2533; color: #fff; }
header h1 { font-size: 17px; font-weight: 600; margin: 0; }
header .model { color: var(--accent); font-weight: 600; }
header .status { margin-left: auto; font-size: 12px; color: #b8c2d6; }
header .dot { display: inline-block; width: 8px; height: 8px; border-radius: 50%; background: #888; margin-right: 6px; vertical-align: middle; }
header .dot.live { background: var(--accent); }
header .dot.error { background: #e5484d; }
main { padding: 14px 20px 24px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: 10px; margin-bottom: 14px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px; }
.tile .label { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.tile .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 14px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px 4px; min-width: 0; }
.card h2 { font-size: 13px; font-weight: 600; margin: 0 0 4px; }
.card h2 small { font-weight: 400; color: var(--muted); margin-left: 6px; }
.card .plot { width: 100%; min-height: 240px; }
.uplot { font-family: inherit; }
.u-legend { font-size: 12px; }
footer { padding: 0 20px 16px; color: var(--muted); font-size: 12px; }
footer a { color: var(--muted); }
`;

const SCRIPT = String.raw`
(function () {
  'use strict';
  var CONFIG = __CONFIG__;
  var MAX_POINTS = 600;
  var state = { points: 0, updates: 0, errors: 0, lastError: null, nonNull: {} };
  window.__dashboard = state;

  var C = { p50: '#2f9e44', p90: '#f08c00', p99: '#e03131', blue: '#1c7ed6', violet: '#7048e8', teal: '#0c8599', grey: '#868e96', lime: '#76b900' };

  function num(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) return '\u2014';
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(1) + 'G';
    if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
    if (a >= 1e4) return (v / 1e3).toFixed(1) + 'k';
    if (a >= 100) return v.toFixed(0);
    var s = v.toFixed(digits === undefined ? 2 : digits);
    return s.indexOf('.') >= 0 ? s.replace(/\.?0+$/, '') : s;
  }
  function dur(v) {
    if (v === null || v === undefined || !isFinite(v)) return '\u2014';
    var a = Math.abs(v);
    if (a === 0) return '0';
    if (a < 1e-3) return num(v * 1e6, 1) + ' \u00b5s';
    if (a < 1) return num(v * 1e3, a < 0.01 ? 2 : 1) + ' ms';
    return num(v, 2) + ' s';
  }
  function pad2(n) { return (n < 10 ? '0' : '') + n; }
  function clock(s) { var d = new Date(s * 1000); return pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds()); }
  function latest(a) {
    for (var i = (a ? a.length : 0) - 1; i >= 0; i--) if (a[i] !== null && a[i] !== undefined) return a[i];
    return null;
  }
  function pct(v) { return v === null || v === undefined || !isFinite(v) ? '\u2014' : (v * 100).toFixed(1) + '%'; }
  function perSec(v) { return v === null || v === undefined || !isFinite(v) ? '\u2014' : num(v, 1) + '/s'; }
  function count(v) { return v === null || v === undefined || !isFinite(v) ? '\u2014' : num(v, 0); }
  var FORMAT = { dur: dur, pct: pct, perSec: perSec, count: count };

  function q(key, title) {
    return { id: key, title: title, sub: 'p50 / p90 / p99 over ' + CONFIG.windowSeconds + ' s', fmt: 'dur', series: [
      { key: key + '_p50', label: 'p50', color: C.p50 },
      { key: key + '_p90', label: 'p90', color: C.p90 },
      { key: key + '_p99', label: 'p99', color: C.p99 }] };
  }
  var CHARTS = [
    q('ttft', 'Time to first token'),
    q('tpot', 'Time per output token'),
    q('e2e', 'End-to-end latency'),
    q('queue', 'Queue time'),
    { id: 'requests', title: 'Request throughput', sub: 'finished requests per second', fmt: 'perSec', series: [
      { key: 'requests_per_s', label: 'requests/s', color: C.blue, fill: 'rgba(28,126,214,0.08)' },
      { key: 'errors_per_s', label: 'errors/s', color: C.p99 }] },
    { id: 'tokens', title: 'Token throughput', sub: 'tokens per second', fmt: 'perSec', series: [
      { key: 'generation_tokens_per_s', label: 'generation', color: C.teal, fill: 'rgba(12,133,153,0.08)' },
      { key: 'prompt_tokens_per_s', label: 'prompt', color: C.violet },
      { key: 'cached_tokens_per_s', label: 'prompt, cached', color: C.grey, dash: [4, 4] }] },
    { id: 'kv', title: 'KV cache', sub: 'utilization and hit rate', fmt: 'pct', range: [0, 1], series: [
      { key: 'kv_utilization', label: 'utilization', color: C.blue, fill: 'rgba(28,126,214,0.08)' },
      { key: 'kv_hit_rate', label: 'hit rate', color: C.lime }] },
    { id: 'scheduler', title: 'Requests in the executor', sub: 'latest iteration', fmt: 'count', series: [
      { key: 'running', label: 'running', color: C.blue },
      { key: 'waiting', label: 'waiting', color: C.p90 },
      { key: 'context_requests', label: 'context', color: C.violet, dash: [4, 4] },
      { key: 'generation_requests', label: 'generation', color: C.teal, dash: [4, 4] }] },
  ];

  var TILES = [
    ['requests', 'Requests', function (d) { return count(d.latest.requests); }],
    ['rps', 'Requests/s', function () { return perSec(lastOf('requests_per_s')); }],
    ['tps', 'Gen tokens/s', function () { return perSec(lastOf('generation_tokens_per_s')); }],
    ['ttft', 'TTFT p90', function () { return dur(lastOf('ttft_p90')); }],
    ['tpot', 'TPOT p90', function () { return dur(lastOf('tpot_p90')); }],
    ['e2e', 'E2E p90', function () { return dur(lastOf('e2e_p90')); }],
    ['running', 'Running', function (d) { return count(d.latest.running); }],
    ['waiting', 'Waiting', function (d) { return count(d.latest.waiting); }],
    ['kvu', 'KV utilization', function (d) { return pct(d.latest.kvUtilization); }],
    ['kvh', 'KV hit rate', function (d) { return pct(d.latest.kvHitRate); }],
  ];

  var t = [];
  var data = {};
  CHARTS.forEach(function (c) { c.series.forEach(function (s) { data[s.key] = []; }); });

  function lastOf(key) {
    var a = data[key];
    for (var i = a.length - 1; i >= 0 && i >= a.length - 3; i--) if (a[i] !== null) return a[i];
    return null;
  }

  var tilesEl = document.getElementById('tiles');
  var tileEls = {};
  TILES.forEach(function (tile) {
    var el = document.createElement('div');
    el.className = 'tile';
    el.innerHTML = '<div class="label"></div><div class="value">\u2014</div>';
    el.firstChild.textContent = tile[1];
    el.dataset.tile = tile[0];
    tilesEl.appendChild(el);
    tileEls[tile[0]] = el.lastChild;
  });

  var gridEl = document.getElementById('grid');
  var plots = [];
  CHARTS.forEach(function (c) {
    var card = document.createElement('section');
    card.className = 'card';
    card.id = 'chart-' + c.id;
    card.dataset.points = '0';
    var h = document.createElement('h2');
    h.textContent = c.title;
    var small = document.createElement('small');
    small.textContent = c.sub;
    h.appendChild(small);
    var plotEl = document.createElement('div');
    plotEl.className = 'plot';
    card.appendChild(h);
    card.appendChild(plotEl);
    gridEl.appendChild(card);
    var fmt = FORMAT[c.fmt];
    var opts = {
      width: Math.max(300, plotEl.clientWidth),
      height: 240,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: c.range ? { range: function () { return c.range; } } : { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } },
      axes: [
        { stroke: '#64708a', space: 70, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600], grid: { stroke: '#eef0f4' }, ticks: { stroke: '#e2e6ee' }, values: function (u, vals) { return vals.map(clock); } },
        { stroke: '#64708a', size: 64, grid: { stroke: '#eef0f4' }, ticks: { stroke: '#e2e6ee' }, values: function (u, vals) { return vals.map(fmt); } },
      ],
      series: [{ label: 'time', value: function (u, v, si, idx) { return idx === null || idx === undefined ? 'latest' : clock(v); } }].concat(c.series.map(function (s) {
        // Without a cursor the legend shows the latest value.
        return { label: s.label, stroke: s.color, width: 2, fill: s.fill, dash: s.dash, points: { show: false }, spanGaps: false,
          value: function (u, v, si, idx) { return fmt(idx === null || idx === undefined ? latest(u.data[si]) : v); } };
      })),
    };
    var plot = new uPlot(opts, [[]].concat(c.series.map(function () { return []; })), plotEl);
    plots.push({ chart: c, plot: plot, el: plotEl, card: card });
  });

  function resize() {
    plots.forEach(function (p) { p.plot.setSize({ width: Math.max(300, p.el.clientWidth), height: 240 }); });
  }
  window.addEventListener('resize', resize);

  function redraw(d) {
    plots.forEach(function (p) {
      var cols = [t];
      var n = 0;
      p.chart.series.forEach(function (s) {
        cols.push(data[s.key]);
        for (var i = 0; i < data[s.key].length; i++) if (data[s.key][i] !== null) n++;
      });
      p.plot.setData(cols);
      p.card.dataset.points = String(n);
    });
    TILES.forEach(function (tile) { tileEls[tile[0]].textContent = tile[2](d); });
    Object.keys(data).forEach(function (k) {
      var n = 0;
      for (var i = 0; i < data[k].length; i++) if (data[k][i] !== null) n++;
      state.nonNull[k] = n;
    });
    state.points = t.length;
    document.documentElement.dataset.points = String(t.length);
  }

  var statusEl = document.getElementById('status');
  var dotEl = document.getElementById('dot');
  var lastT = null;
  var timer = null;

  function setStatus(ok, text) {
    dotEl.className = 'dot ' + (ok ? 'live' : 'error');
    statusEl.textContent = text;
  }

  function poll() {
    var url = 'dashboard/data' + (lastT === null ? '' : '?since=' + encodeURIComponent(String(lastT)));
    fetch(url, { cache: 'no-store' }).then(function (r) {
      if (!r.ok) throw new Error('dashboard/data answered ' + r.status);
      return r.json();
    }).then(function (d) {
      document.getElementById('model').textContent = d.model;
      document.title = 'trtllm-metrics \u00b7 ' + d.model;
      for (var i = 0; i < d.t.length; i++) {
        if (lastT !== null && d.t[i] <= lastT) continue;
        t.push(d.t[i]);
        for (var k in data) data[k].push(d.series[k] ? d.series[k][i] : null);
        lastT = d.t[i];
      }
      if (t.length > MAX_POINTS) {
        var drop = t.length - MAX_POINTS;
        t.splice(0, drop);
        for (var k2 in data) data[k2].splice(0, drop);
      }
      redraw(d);
      state.updates++;
      setStatus(true, 'live \u00b7 ' + new Date(d.now * 1000).toLocaleTimeString() + ' \u00b7 ' + d.profile + ' profile');
    }).catch(function (err) {
      state.errors++;
      state.lastError = String(err && err.message || err);
      setStatus(false, state.lastError);
    }).then(function () {
      timer = setTimeout(poll, CONFIG.pollMs);
    });
  }
  poll();
})();
`;

export function renderPage(options: PageOptions): string {
  const config = JSON.stringify({ pollMs: options.pollMs, windowSeconds: options.windowSeconds });
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>trtllm-metrics</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="dashboard/assets/uplot.min.css">
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>trtllm-metrics <span class="model" id="model"></span></h1>
  <span class="status"><span class="dot" id="dot"></span><span id="status">connecting\u2026</span></span>
</header>
<main>
  <div class="tiles" id="tiles"></div>
  <div class="grid" id="grid"></div>
</main>
<footer>Refreshed every ${options.pollMs / 1000} s from this worker's collector. Raw series: <a href="metrics">/metrics</a>; quantiles interpolated from the histogram buckets as histogram_quantile() does.</footer>
<script src="dashboard/assets/uplot.iife.min.js"></script>
<script>${SCRIPT.replace('__CONFIG__', config)}</script>
</body>
</html>
`;
}
