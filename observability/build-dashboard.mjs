#!/usr/bin/env node
// Writes observability/grafana/dashboards/trtllm-metrics.json, the Grafana dashboard of the trtllm_ families
// and Dynamo's dynamo_component_* runtime metrics. Edit this file, not the JSON, then run
// `node observability/build-dashboard.mjs` (test/dashboard-grafana.test.mjs checks that the JSON is current,
// that every expression parses with promtool and that every metric it names is one the server exports).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DASHBOARD_PATH = fileURLToPath(new URL('./grafana/dashboards/trtllm-metrics.json', import.meta.url));

const DS = { type: 'prometheus', uid: '${datasource}' };
/** Selector of the trtllm_ series of the chosen models and instances. */
const T = 'model_name=~"$model", instance=~"$instance"';
/** Selector of the dynamo_component_ series (label `model`) of the chosen models, instances and endpoints. */
const D = 'model=~"$model", instance=~"$instance", dynamo_endpoint=~"$endpoint"';
const RI = '$__rate_interval';

const quantile = (q, hist, sel = T, by = 'model_name') =>
  `histogram_quantile(${q}, sum by (${by ? `le, ${by}` : 'le'}) (rate(${hist}_bucket{${sel}}[${RI}])))`;
const mean = (hist, sel = T, by = 'model_name') =>
  `sum by (${by}) (rate(${hist}_sum{${sel}}[${RI}])) / sum by (${by}) (rate(${hist}_count{${sel}}[${RI}]))`;

/** Targets p50/p90/p99 (+ mean) of a histogram. */
function quantileTargets(hist, { sel = T, by = 'model_name', legend = '{{model_name}}', withMean = true } = {}) {
  const t = [0.5, 0.9, 0.99].map((q) => ({ expr: quantile(q, hist, sel, by), legendFormat: `p${Math.round(q * 100)} ${legend}` }));
  if (withMean) t.push({ expr: mean(hist, sel, by), legendFormat: `mean ${legend}` });
  return t;
}

let nextId = 1;
let y = 0;
let x = 0;
let rowHeight = 0;
const panels = [];

function place(w, h) {
  if (x + w > 24) {
    x = 0;
    y += rowHeight;
    rowHeight = 0;
  }
  const pos = { h, w, x, y };
  x += w;
  rowHeight = Math.max(rowHeight, h);
  return pos;
}

function row(title) {
  if (x > 0) {
    y += rowHeight;
    x = 0;
    rowHeight = 0;
  }
  panels.push({ type: 'row', id: nextId++, title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
  y += 1;
}

function targets(list) {
  return list.map((t, i) => ({
    datasource: DS,
    refId: String.fromCharCode(65 + i),
    expr: t.expr,
    legendFormat: t.legendFormat ?? '__auto',
    range: t.instant ? false : true,
    instant: t.instant ?? false,
    ...(t.format ? { format: t.format } : {}),
  }));
}

/** A time series panel. */
function ts(title, description, unit, list, { w = 8, h = 8, min = 0, max, stack = false, bars = false } = {}) {
  panels.push({
    type: 'timeseries',
    id: nextId++,
    title,
    description,
    datasource: DS,
    gridPos: place(w, h),
    fieldConfig: {
      defaults: {
        unit,
        ...(min !== undefined ? { min } : {}),
        ...(max !== undefined ? { max } : {}),
        custom: {
          drawStyle: bars ? 'bars' : 'line',
          lineWidth: 1,
          fillOpacity: stack || bars ? 40 : 8,
          showPoints: 'never',
          spanNulls: false,
          stacking: { mode: stack ? 'normal' : 'none', group: 'A' },
        },
      },
      overrides: [],
    },
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
    targets: targets(list),
  });
}

/** A single-value stat panel. */
function stat(title, description, unit, expr, { w = 4, h = 4, decimals, thresholds } = {}) {
  panels.push({
    type: 'stat',
    id: nextId++,
    title,
    description,
    datasource: DS,
    gridPos: place(w, h),
    fieldConfig: {
      defaults: {
        unit,
        ...(decimals !== undefined ? { decimals } : {}),
        color: { mode: 'thresholds' },
        thresholds: { mode: 'absolute', steps: thresholds ?? [{ color: 'green', value: null }] },
      },
      overrides: [],
    },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: 'area',
      justifyMode: 'auto',
      textMode: 'auto',
      orientation: 'auto',
    },
    targets: targets([{ expr, legendFormat: title }]),
  });
}

/** A table of the labels of an info gauge (instant query). */
function infoTable(title, description, metric, { w = 12, h = 5 } = {}) {
  panels.push({
    type: 'table',
    id: nextId++,
    title,
    description,
    datasource: DS,
    gridPos: place(w, h),
    fieldConfig: { defaults: {}, overrides: [] },
    options: { showHeader: true, cellHeight: 'sm' },
    transformations: [{ id: 'organize', options: { excludeByName: { Time: true, Value: true, __name__: true, job: true } } }],
    targets: targets([{ expr: `${metric}{${T}}`, instant: true, format: 'table' }]),
  });
}

const RED = [{ color: 'green', value: null }, { color: 'red', value: 1 }];

// ---- Overview -------------------------------------------------------------------------------------------
row('Overview');
stat('Requests / s', 'Finished requests per second, every finished_reason.', 'reqps',
  `sum(rate(trtllm_request_success_total{${T}}[${RI}]))`);
stat('Output tokens / s', 'Generated tokens per second.', 'short',
  `sum(rate(trtllm_generation_tokens_total{${T}}[${RI}]))`);
stat('TTFT p90', 'Time to first token, 90th percentile.', 's', quantile(0.9, 'trtllm_time_to_first_token_seconds', T, ''));
stat('Running / waiting', 'Requests in the batch and in the queue (latest iteration).', 'short',
  `sum(trtllm_num_requests_running{${T}}) + sum(trtllm_num_requests_waiting{${T}})`);
stat('KV cache utilization', 'Used / max KV-cache blocks (highest instance).', 'percentunit',
  `max(trtllm_kv_cache_utilization{${T}})`, {
    thresholds: [{ color: 'green', value: null }, { color: 'orange', value: 0.8 }, { color: 'red', value: 0.95 }],
  });
stat('Worker uptime', 'dynamo_component_uptime_seconds of the oldest selected worker.', 's',
  `max(dynamo_component_uptime_seconds{instance=~"$instance"})`);

// ---- Requests -------------------------------------------------------------------------------------------
row('Requests and tokens');
ts('Request rate by finished_reason', 'rate(trtllm_request_success_total) by finished_reason.', 'reqps', [
  { expr: `sum by (model_name, finished_reason) (rate(trtllm_request_success_total{${T}}[${RI}]))`, legendFormat: '{{finished_reason}} {{model_name}}' },
], { stack: true });
ts('Request errors by HTTP code', 'trtllm_request_error_total: error responses of the serving layer.', 'reqps', [
  { expr: `sum by (model_name, http_code) (rate(trtllm_request_error_total{${T}}[${RI}]))`, legendFormat: '{{http_code}} {{model_name}}' },
], { stack: true });
ts('Completed requests (iteration stats)', 'trtllm_num_requests_completed_total: numCompletedRequests per iteration.', 'reqps', [
  { expr: `sum by (model_name) (rate(trtllm_num_requests_completed_total{${T}}[${RI}]))`, legendFormat: '{{model_name}}' },
]);
ts('Token throughput', 'Prompt, generated and cache-served prompt tokens per second.', 'short', [
  { expr: `sum by (model_name) (rate(trtllm_prompt_tokens_total{${T}}[${RI}]))`, legendFormat: 'prompt {{model_name}}' },
  { expr: `sum by (model_name) (rate(trtllm_generation_tokens_total{${T}}[${RI}]))`, legendFormat: 'generation {{model_name}}' },
  { expr: `sum by (model_name) (rate(trtllm_prompt_cached_tokens_total{${T}}[${RI}]))`, legendFormat: 'cached prompt {{model_name}}' },
]);
ts('Prompt tokens served from cache', 'Share of prompt tokens that were reused from the KV cache.', 'percentunit', [
  { expr: `sum by (model_name) (rate(trtllm_prompt_cached_tokens_total{${T}}[${RI}])) / sum by (model_name) (rate(trtllm_prompt_tokens_total{${T}}[${RI}]))`, legendFormat: '{{model_name}}' },
], { max: 1 });
ts('Cached prompt tokens per request', 'trtllm_prompt_cached_tokens_per_request quantiles.', 'short',
  quantileTargets('trtllm_prompt_cached_tokens_per_request'));
ts('Generation perplexity', 'trtllm_generation_perplexity: exp of the mean negative log probability of a request\'s generated tokens (requests that asked for log probabilities).', 'short',
  quantileTargets('trtllm_generation_perplexity'));

// ---- Latency --------------------------------------------------------------------------------------------
row('Latency');
ts('Time to first token', 'trtllm_time_to_first_token_seconds: arrival to first token.', 's', quantileTargets('trtllm_time_to_first_token_seconds'));
ts('Time per output token', 'trtllm_time_per_output_token_seconds: decode time / (output tokens - 1).', 's', quantileTargets('trtllm_time_per_output_token_seconds'));
ts('End-to-end request latency', 'trtllm_e2e_request_latency_seconds: arrival to last token.', 's', quantileTargets('trtllm_e2e_request_latency_seconds'));
ts('Queue time', 'trtllm_request_queue_time_seconds: arrival to first scheduling (WAITING phase).', 's', quantileTargets('trtllm_request_queue_time_seconds'));
ts('Prefill time', 'trtllm_request_prefill_time_seconds: first scheduling to first token.', 's', quantileTargets('trtllm_request_prefill_time_seconds'));
ts('Decode time', 'trtllm_request_decode_time_seconds: first to last token.', 's', quantileTargets('trtllm_request_decode_time_seconds'));
ts('Inference time', 'trtllm_request_inference_time_seconds: first scheduling to last token.', 's', quantileTargets('trtllm_request_inference_time_seconds'));
ts('Iteration latency', 'trtllm_iteration_latency_seconds of the latest executor iteration.', 's', [
  { expr: `trtllm_iteration_latency_seconds{${T}}`, legendFormat: '{{model_name}} {{instance}}' },
]);

// ---- Scheduler ------------------------------------------------------------------------------------------
row('Scheduler');
ts('Running and waiting requests', 'trtllm_num_requests_running / _waiting and the limit trtllm_max_num_active_requests.', 'short', [
  { expr: `sum by (model_name) (trtllm_num_requests_running{${T}})`, legendFormat: 'running {{model_name}}' },
  { expr: `sum by (model_name) (trtllm_num_requests_waiting{${T}})`, legendFormat: 'waiting {{model_name}}' },
  { expr: `sum by (model_name) (trtllm_max_num_active_requests{${T}})`, legendFormat: 'max active {{model_name}}' },
]);
ts('Context and generation requests', 'In-flight batching: requests in the context (prefill) and generation phases, paused and scheduled.', 'short', [
  { expr: `sum by (model_name) (trtllm_num_context_requests{${T}})`, legendFormat: 'context {{model_name}}' },
  { expr: `sum by (model_name) (trtllm_num_generation_requests{${T}})`, legendFormat: 'generation {{model_name}}' },
  { expr: `sum by (model_name) (trtllm_num_paused_requests{${T}})`, legendFormat: 'paused {{model_name}}' },
  { expr: `sum by (model_name) (trtllm_num_scheduled_requests{${T}})`, legendFormat: 'scheduled {{model_name}}' },
]);
ts('Prefill batch occupancy', 'trtllm_prefill_batch_occupancy: context requests / max active requests.', 'percentunit', [
  { expr: `trtllm_prefill_batch_occupancy{${T}}`, legendFormat: '{{model_name}} {{instance}}' },
], { max: 1 });
ts('Context tokens per iteration', 'trtllm_total_context_tokens (latest iteration) and trtllm_prefill_batch_tokens quantiles.', 'short', [
  { expr: `trtllm_total_context_tokens{${T}}`, legendFormat: 'latest {{model_name}} {{instance}}' },
  ...quantileTargets('trtllm_prefill_batch_tokens', { withMean: false }),
]);
ts('Decoded tokens per iteration', 'trtllm_avg_decoded_tokens_per_iter (above 1 with speculative decoding).', 'short', [
  { expr: `trtllm_avg_decoded_tokens_per_iter{${T}}`, legendFormat: '{{model_name}} {{instance}}' },
]);
ts('Scheduled batch size by rank', 'trtllm_scheduled_batch_size: requests in the latest batch of each rank (0 when idle).', 'short', [
  { expr: `sum by (model_name, rank) (trtllm_scheduled_batch_size{${T}})`, legendFormat: 'rank {{rank}} {{model_name}}' },
]);
ts('Batch limits', 'trtllm_max_batch_size_static / _runtime and trtllm_max_num_tokens_runtime.', 'short', [
  { expr: `trtllm_max_batch_size_static{${T}}`, legendFormat: 'max batch size, static {{model_name}}' },
  { expr: `trtllm_max_batch_size_runtime{${T}}`, legendFormat: 'max batch size, runtime {{model_name}}' },
  { expr: `trtllm_max_num_tokens_runtime{${T}}`, legendFormat: 'max num tokens, runtime {{model_name}}' },
]);

// ---- KV cache -------------------------------------------------------------------------------------------
row('KV cache');
ts('KV cache utilization and hit rate', 'trtllm_kv_cache_utilization (used / max blocks) and trtllm_kv_cache_hit_rate.', 'percentunit', [
  { expr: `trtllm_kv_cache_utilization{${T}}`, legendFormat: 'utilization {{model_name}} {{instance}}' },
  { expr: `trtllm_kv_cache_hit_rate{${T}}`, legendFormat: 'hit rate {{model_name}} {{instance}}' },
  { expr: `sum by (model_name) (rate(trtllm_kv_cache_reused_blocks_total{${T}}[${RI}])) / (sum by (model_name) (rate(trtllm_kv_cache_reused_blocks_total{${T}}[${RI}])) + sum by (model_name) (rate(trtllm_kv_cache_missed_blocks_total{${T}}[${RI}])))`, legendFormat: 'block reuse (window) {{model_name}}' },
], { max: 1 });
ts('KV cache blocks', 'trtllm_kv_cache_used_blocks, _free_blocks and _max_blocks.', 'short', [
  { expr: `sum by (model_name) (trtllm_kv_cache_used_blocks{${T}})`, legendFormat: 'used {{model_name}}' },
  { expr: `sum by (model_name) (trtllm_kv_cache_free_blocks{${T}})`, legendFormat: 'free {{model_name}}' },
  { expr: `sum by (model_name) (trtllm_kv_cache_max_blocks{${T}})`, legendFormat: 'max {{model_name}}' },
]);
ts('KV block reuse', 'trtllm_kv_cache_reused_blocks_total and _missed_blocks_total per second.', 'short', [
  { expr: `sum by (model_name) (rate(trtllm_kv_cache_reused_blocks_total{${T}}[${RI}]))`, legendFormat: 'reused {{model_name}}' },
  { expr: `sum by (model_name) (rate(trtllm_kv_cache_missed_blocks_total{${T}}[${RI}]))`, legendFormat: 'missed {{model_name}}' },
]);
ts('Per-iteration reuse', 'trtllm_kv_cache_iter_reuse_rate (latest iteration with lookups), and trtllm_kv_cache_iter_reused_blocks_total / _iter_missed_blocks_total per second.', 'short', [
  { expr: `trtllm_kv_cache_iter_reuse_rate{${T}}`, legendFormat: 'reuse rate {{model_name}} {{instance}}' },
  { expr: `sum by (model_name) (rate(trtllm_kv_cache_iter_reused_blocks_total{${T}}[${RI}]))`, legendFormat: 'reused {{model_name}}' },
  { expr: `sum by (model_name) (rate(trtllm_kv_cache_iter_missed_blocks_total{${T}}[${RI}]))`, legendFormat: 'missed {{model_name}}' },
]);
ts('Host KV tier', 'trtllm_kv_cache_host_utilization: share of the host tier holding offloaded blocks.', 'percentunit', [
  { expr: `trtllm_kv_cache_host_utilization{${T}}`, legendFormat: '{{model_name}} {{instance}}' },
], { max: 1 });
stat('Tokens per block', 'trtllm_kv_cache_tokens_per_block.', 'short', `max(trtllm_kv_cache_tokens_per_block{${T}})`);
stat('Max blocks', 'trtllm_kv_cache_max_blocks (sum over the selection).', 'short', `sum(trtllm_kv_cache_max_blocks{${T}})`);
stat('Max KV tokens', 'trtllm_kv_cache_max_blocks x trtllm_kv_cache_tokens_per_block.', 'short',
  `sum(trtllm_kv_cache_max_blocks{${T}} * trtllm_kv_cache_tokens_per_block{${T}})`);

// ---- Memory ---------------------------------------------------------------------------------------------
row('Memory');
ts('Memory usage', 'trtllm_gpu_memory_usage_bytes, _cpu_ and _pinned_ (latest iteration).', 'bytes', [
  { expr: `trtllm_gpu_memory_usage_bytes{${T}}`, legendFormat: 'GPU {{model_name}} {{instance}}' },
  { expr: `trtllm_cpu_memory_usage_bytes{${T}}`, legendFormat: 'CPU {{model_name}} {{instance}}' },
  { expr: `trtllm_pinned_memory_usage_bytes{${T}}`, legendFormat: 'pinned {{model_name}} {{instance}}' },
], { w: 24 });

// ---- Speculative decoding -------------------------------------------------------------------------------
row('Speculative decoding');
ts('Draft tokens (per request)', 'trtllm_spec_decode_drafted_tokens_total / _accepted_tokens_total by token_position.', 'short', [
  { expr: `sum by (model_name, token_position) (rate(trtllm_spec_decode_drafted_tokens_total{${T}}[${RI}]))`, legendFormat: 'drafted {{token_position}} {{model_name}}' },
  { expr: `sum by (model_name, token_position) (rate(trtllm_spec_decode_accepted_tokens_total{${T}}[${RI}]))`, legendFormat: 'accepted {{token_position}} {{model_name}}' },
]);
ts('Draft tokens (per iteration)', 'trtllm_spec_decode_num_draft_tokens_total / _num_accepted_tokens_total and the acceptance rate.', 'short', [
  { expr: `sum by (model_name) (rate(trtllm_spec_decode_num_draft_tokens_total{${T}}[${RI}]))`, legendFormat: 'draft {{model_name}}' },
  { expr: `sum by (model_name) (rate(trtllm_spec_decode_num_accepted_tokens_total{${T}}[${RI}]))`, legendFormat: 'accepted {{model_name}}' },
  { expr: `sum by (model_name) (rate(trtllm_spec_decode_num_accepted_tokens_total{${T}}[${RI}])) / sum by (model_name) (rate(trtllm_spec_decode_num_draft_tokens_total{${T}}[${RI}]))`, legendFormat: 'acceptance rate {{model_name}}' },
]);
ts('Acceptance length and draft overhead', 'trtllm_spec_decode_acceptance_length and trtllm_spec_decode_draft_overhead (latest iteration).', 'short', [
  { expr: `trtllm_spec_decode_acceptance_length{${T}}`, legendFormat: 'acceptance length {{model_name}} {{instance}}' },
  { expr: `trtllm_spec_decode_draft_overhead{${T}}`, legendFormat: 'draft overhead {{model_name}} {{instance}}' },
]);

// ---- Worker health ---------------------------------------------------------------------------------------
row('Worker health (docs/reliability.md)');
stat('Healthy workers', 'trtllm_worker_healthy: workers whose /health answers ready.', 'short', `sum(trtllm_worker_healthy{${T}})`);
stat('Stalled workers', 'trtllm_engine_stalled: requests in flight and no executor progress for --stall-timeout-ms.', 'short',
  `sum(trtllm_engine_stalled{${T}})`, { thresholds: RED, decimals: 0 });
stat('Failed executors', 'trtllm_engine_failed: workers whose executor failed (a fatal error of its forward step).', 'short',
  `sum(trtllm_engine_failed{${T}})`, { thresholds: RED, decimals: 0 });
stat('Stalls and failures (1h)', 'trtllm_engine_stalls_total + trtllm_executor_failures_total over the last hour.', 'short',
  `(sum(increase(trtllm_engine_stalls_total{${T}}[1h])) or vector(0)) + (sum(increase(trtllm_executor_failures_total{${T}}[1h])) or vector(0))`,
  { thresholds: RED, decimals: 0 });
ts('Seconds since executor progress', 'trtllm_engine_seconds_since_progress: time since the last iteration or response (grows while idle).', 's', [
  { expr: `trtllm_engine_seconds_since_progress{${T}}`, legendFormat: '{{model_name}} {{instance}}' },
]);
ts('Canary health checks', 'trtllm_health_checks_total by outcome (ok, failed, timeout).', 'short', [
  { expr: `sum by (outcome) (increase(trtllm_health_checks_total{${T}}[${RI}]))`, legendFormat: '{{outcome}}' },
], { bars: true });
ts('Slow streams cut', 'trtllm_slow_stream_cancellations_total by reason: streamed responses cut because their client stopped reading (unsent_bytes over --stream-max-unsent-bytes, or stall: nothing taken for --stream-stall-timeout-ms).', 'short', [
  { expr: `sum by (reason) (increase(trtllm_slow_stream_cancellations_total{${T}}[${RI}]))`, legendFormat: '{{reason}}' },
], { bars: true });

// ---- KV events and bridge -------------------------------------------------------------------------------
row('KV-cache events and bridge health');
stat('Event loss (1h)', 'Lost KV events: id gaps + dropped by the executor + dropped by the bridge queue.', 'short',
  `(sum(increase(trtllm_kv_event_id_gap_events_total{${T}}[1h])) or vector(0)) + (sum(increase(trtllm_kv_event_executor_dropped_total{${T}}[1h])) or vector(0)) + (sum(increase(trtllm_bridge_dropped_total{${T}, stream="kv_events"}[1h])) or vector(0))`,
  { thresholds: RED, decimals: 0 });
stat('Bridge drops (1h)', 'trtllm_bridge_dropped_total, every stream: items dropped because a bounded bridge queue was full.', 'short',
  `sum(increase(trtllm_bridge_dropped_total{${T}}[1h])) or vector(0)`, { thresholds: RED, decimals: 0 });
stat('KV event buffer', 'trtllm_kv_event_buffer_capacity (eventBufferMaxSize).', 'short', `sum(trtllm_kv_event_buffer_capacity{${T}})`);
stat('Event id gaps (1h)', 'trtllm_kv_event_id_gap_events_total: event ids that never arrived.', 'short',
  `sum(increase(trtllm_kv_event_id_gap_events_total{${T}}[1h])) or vector(0)`, { thresholds: RED, decimals: 0 });
stat('Executor event drops (1h)', 'trtllm_kv_event_executor_dropped_total: events the executor dropped (buffer full).', 'short',
  `sum(increase(trtllm_kv_event_executor_dropped_total{${T}}[1h])) or vector(0)`, { thresholds: RED, decimals: 0 });
stat('Bridge queue depth', 'trtllm_bridge_queue_depth: items waiting in the bridge queues now, every stream.', 'short',
  `sum(trtllm_bridge_queue_depth{${T}})`);
ts('KV cache events', 'Blocks stored and removed, and update events, per second.', 'short', [
  { expr: `sum by (model_name) (rate(trtllm_kv_cache_blocks_stored_total{${T}}[${RI}]))`, legendFormat: 'stored {{model_name}}' },
  { expr: `sum by (model_name) (rate(trtllm_kv_cache_blocks_removed_total{${T}}[${RI}]))`, legendFormat: 'removed {{model_name}}' },
  { expr: `sum by (model_name) (rate(trtllm_kv_cache_blocks_updated_total{${T}}[${RI}]))`, legendFormat: 'updated {{model_name}}' },
]);
ts('KV event loss', 'Id gaps, executor drops and bridge drops of the kv_events stream.', 'short', [
  { expr: `sum by (model_name) (increase(trtllm_kv_event_id_gap_events_total{${T}}[${RI}]))`, legendFormat: 'id gaps {{model_name}}' },
  { expr: `sum by (model_name) (increase(trtllm_kv_event_executor_dropped_total{${T}}[${RI}]))`, legendFormat: 'executor dropped {{model_name}}' },
  { expr: `sum by (model_name) (increase(trtllm_bridge_dropped_total{${T}, stream="kv_events"}[${RI}]))`, legendFormat: 'bridge dropped {{model_name}}' },
], { bars: true });
ts('KV event drain batch size', 'trtllm_kv_event_drain_batch_size: events per delivered batch.', 'short',
  quantileTargets('trtllm_kv_event_drain_batch_size'));
ts('Bridge throughput by stream', 'trtllm_bridge_produced_total and _delivered_total per second.', 'short', [
  { expr: `sum by (stream) (rate(trtllm_bridge_produced_total{${T}}[${RI}]))`, legendFormat: 'produced {{stream}}' },
  { expr: `sum by (stream) (rate(trtllm_bridge_delivered_total{${T}}[${RI}]))`, legendFormat: 'delivered {{stream}}' },
]);
ts('Bridge drops by stream', 'trtllm_bridge_dropped_total: items dropped by a full bridge queue.', 'short', [
  { expr: `sum by (stream) (increase(trtllm_bridge_dropped_total{${T}}[${RI}]))`, legendFormat: '{{stream}}' },
], { bars: true });
ts('Bridge queue depth by stream', 'trtllm_bridge_queue_depth: items waiting to be delivered to JavaScript.', 'short', [
  { expr: `sum by (stream) (trtllm_bridge_queue_depth{${T}})`, legendFormat: '{{stream}}' },
]);

// ---- Configuration --------------------------------------------------------------------------------------
row('Configuration');
infoTable('Model', 'trtllm_model_config_info', 'trtllm_model_config_info');
infoTable('Parallelism', 'trtllm_parallel_config_info', 'trtllm_parallel_config_info');
infoTable('Speculative decoding', 'trtllm_speculative_config_info', 'trtllm_speculative_config_info');
infoTable('KV cache', 'trtllm_kv_cache_config_info', 'trtllm_kv_cache_config_info');

// ---- Dynamo runtime -------------------------------------------------------------------------------------
row('Dynamo runtime (dynamo_component_*)');
ts('Requests by endpoint', 'dynamo_component_requests_total per second.', 'reqps', [
  { expr: `sum by (dynamo_endpoint) (rate(dynamo_component_requests_total{${D}}[${RI}]))`, legendFormat: '{{dynamo_endpoint}}' },
]);
ts('Request duration', 'dynamo_component_request_duration_seconds (request received to response finished).', 's',
  quantileTargets('dynamo_component_request_duration_seconds', { sel: D, by: 'dynamo_endpoint', legend: '{{dynamo_endpoint}}' }));
ts('In-flight requests', 'dynamo_component_inflight_requests.', 'short', [
  { expr: `sum by (dynamo_endpoint) (dynamo_component_inflight_requests{${D}})`, legendFormat: '{{dynamo_endpoint}}' },
]);
ts('Request and response bytes', 'dynamo_component_request_bytes_total / _response_bytes_total per second.', 'Bps', [
  { expr: `sum by (dynamo_endpoint) (rate(dynamo_component_request_bytes_total{${D}}[${RI}]))`, legendFormat: 'in {{dynamo_endpoint}}' },
  { expr: `sum by (dynamo_endpoint) (rate(dynamo_component_response_bytes_total{${D}}[${RI}]))`, legendFormat: 'out {{dynamo_endpoint}}' },
]);
ts('Errors by type', 'dynamo_component_errors_total by error_type.', 'short', [
  { expr: `sum by (dynamo_endpoint, error_type) (rate(dynamo_component_errors_total{${D}}[${RI}]))`, legendFormat: '{{error_type}} {{dynamo_endpoint}}' },
], { stack: true });
ts('Uptime', 'dynamo_component_uptime_seconds per worker.', 's', [
  { expr: `dynamo_component_uptime_seconds{instance=~"$instance"}`, legendFormat: '{{instance}}' },
]);

// ---- The dashboard --------------------------------------------------------------------------------------
const variable = (name, label, query, extra = {}) => ({
  name,
  label,
  type: 'query',
  datasource: DS,
  query: { query, refId: `${name}-var` },
  definition: query,
  refresh: 2,
  sort: 1,
  multi: true,
  includeAll: true,
  allValue: '.*',
  current: { selected: true, text: ['All'], value: ['$__all'] },
  hide: 0,
  regex: '',
  options: [],
  ...extra,
});

export const dashboard = {
  uid: 'trtllm-metrics',
  title: 'TensorRT-LLM workers (trtllm-metrics)',
  description: 'trtllm_ metrics of TensorRT-LLM executors and Dynamo dynamo_component_* runtime metrics, as served by trtllm-metrics.',
  tags: ['trtllm', 'tensorrt-llm', 'dynamo', 'llm'],
  timezone: 'browser',
  editable: true,
  graphTooltip: 1,
  schemaVersion: 39,
  version: 1,
  refresh: '10s',
  time: { from: 'now-30m', to: 'now' },
  timepicker: {},
  fiscalYearStartMonth: 0,
  liveNow: false,
  links: [],
  annotations: {
    list: [
      {
        builtIn: 1,
        datasource: { type: 'grafana', uid: '-- Grafana --' },
        enable: true,
        hide: true,
        iconColor: 'rgba(0, 211, 255, 1)',
        name: 'Annotations & Alerts',
        type: 'dashboard',
      },
    ],
  },
  templating: {
    list: [
      {
        name: 'datasource',
        label: 'Data source',
        type: 'datasource',
        query: 'prometheus',
        current: {},
        hide: 0,
        includeAll: false,
        multi: false,
        refresh: 1,
        regex: '',
        options: [],
      },
      variable('model', 'Model', 'label_values({__name__=~"trtllm_.+"}, model_name)'),
      variable('instance', 'Instance', 'label_values({__name__=~"trtllm_.+", model_name=~"$model"}, instance)'),
      variable('endpoint', 'Dynamo endpoint', 'label_values(dynamo_component_requests_total{model=~"$model"}, dynamo_endpoint)'),
    ],
  },
  panels,
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(DASHBOARD_PATH, `${JSON.stringify(dashboard, null, 2)}\n`);
  console.log(`wrote ${DASHBOARD_PATH}: ${panels.filter((p) => p.type !== 'row').length} panels`);
}
