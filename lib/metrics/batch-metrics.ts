/**
 * trtllm_scheduled_batch_size{rank, pid}: the requests in each rank's latest scheduled batch, 0 when the rank
 * schedules nothing. TensorRT-LLM publishes it apart from its iteration metrics (tensorrt_llm/metrics/
 * batch_metrics.py), one series per executor rank, with the `pid` label its multiprocess collector adds.
 *
 * Source here: IterationStats.inflightBatchingStats.numScheduledRequests (staticBatchingStats under static
 * batching) of each rank's rows; `rank` is attentionDpRank, 0 without attention data parallelism (the C++
 * executor reports the stats of its leader rank only).
 */
import type { IterationStats } from '../types.js';
import { gaugeFamily, withLabels, type MetricsContext } from './context.js';
import type { FastGauge, GaugeChild } from './fast-metrics.js';

export const SCHEDULED_BATCH_SIZE = [
  'scheduled_batch_size',
  "Requests (context and generation) in the latest batch each rank scheduled; 0 when it schedules none.",
] as const;

export class ScheduledBatchMetrics {
  readonly family: FastGauge;
  private readonly byRank = new Map<number, GaugeChild>();
  private readonly pid = String(process.pid);

  constructor(private readonly ctx: MetricsContext) {
    this.family = gaugeFamily(ctx, SCHEDULED_BATCH_SIZE[0], SCHEDULED_BATCH_SIZE[1], ['rank', 'pid']);
  }

  log(stats: IterationStats | readonly IterationStats[]): void {
    if (Array.isArray(stats)) for (let i = 0; i < stats.length; i++) this.logOne(stats[i] as IterationStats);
    else this.logOne(stats as IterationStats);
  }

  /** The engine is idle: no rank has a batch. */
  markIdle(): void {
    for (const g of this.byRank.values()) g.set(0);
  }

  private logOne(s: IterationStats): void {
    if (s === null || typeof s !== 'object') return;
    const batching = s.inflightBatchingStats ?? s.staticBatchingStats;
    if (batching === null || typeof batching !== 'object') return;
    const n = batching.numScheduledRequests;
    if (typeof n !== 'number' || !Number.isFinite(n)) return;
    const rank = typeof s.attentionDpRank === 'number' ? s.attentionDpRank : 0;
    this.child(rank).set(n);
  }

  private child(rank: number): GaugeChild {
    let g = this.byRank.get(rank);
    if (g === undefined) {
      g = this.family.child(withLabels(this.ctx, { rank: String(rank), pid: this.pid }), this.ctx.owner);
      this.byRank.set(rank, g);
    }
    return g;
  }
}
