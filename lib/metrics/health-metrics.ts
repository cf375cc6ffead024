/**
 * The worker's health on /metrics (lib/health/worker-health.ts), sampled at scrape time: whether /health says
 * ready, stalls of the executor and the time since its last progress, executor failures, and canary results.
 * docs/metrics.md, "Health"; docs/reliability.md, "Faults".
 */
import type { HealthCounters } from '../health/worker-health.js';
import { counterFamily, gaugeFamily, withLabels } from './context.js';
import { SampledGroup, type SampledGroupOptions } from './sampled-group.js';

export const HEALTH_FAMILIES = {
  healthy: ['worker_healthy', '1 when the worker\'s /health answers ready, else 0.'],
  stalled: ['engine_stalled', '1 while the executor is stalled: requests in flight and no progress for --stall-timeout-ms.'],
  stalls: ['engine_stalls_total', 'Stalls of the executor detected by the stall watchdog.'],
  sinceProgress: ['engine_seconds_since_progress', 'Seconds since the executor last showed progress (an iteration or a response).'],
  failed: ['engine_failed', '1 once the executor has failed (a fatal error of its forward step), else 0.'],
  failures: ['executor_failures_total', 'Fatal executor errors (the engine entered its failed state).'],
  checks: ['health_checks_total', 'Canary health checks (one-token requests), by outcome (ok, failed, timeout).'],
} as const;

export function healthMetrics(source: { counters(): HealthCounters }, options: SampledGroupOptions): SampledGroup {
  return new SampledGroup(options, (ctx, owner) => {
    const F = HEALTH_FAMILIES;
    const healthy = gaugeFamily(ctx, F.healthy[0], F.healthy[1]).child(ctx.labels, owner);
    const stalled = gaugeFamily(ctx, F.stalled[0], F.stalled[1]).child(ctx.labels, owner);
    const stalls = counterFamily(ctx, F.stalls[0], F.stalls[1]).child(ctx.labels, owner);
    const since = gaugeFamily(ctx, F.sinceProgress[0], F.sinceProgress[1]).child(ctx.labels, owner);
    const failed = gaugeFamily(ctx, F.failed[0], F.failed[1]).child(ctx.labels, owner);
    const failures = counterFamily(ctx, F.failures[0], F.failures[1]).child(ctx.labels, owner);
    const checks = counterFamily(ctx, F.checks[0], F.checks[1], ['outcome']);
    const byOutcome = (['ok', 'failed', 'timeout'] as const).map((o) => [o, checks.child(withLabels(ctx, { outcome: o }), owner)] as const);
    return () => {
      const c = source.counters();
      healthy.set(c.healthy ? 1 : 0);
      stalled.set(c.stalled ? 1 : 0);
      stalls.setTotal(c.stalls);
      since.set(c.secondsSinceProgress);
      failed.set(c.failed ? 1 : 0);
      failures.setTotal(c.failures);
      for (const [o, child] of byOutcome) child.setTotal(c.healthChecks[o]);
    };
  });
}
