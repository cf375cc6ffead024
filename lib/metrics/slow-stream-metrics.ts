/**
 * Responses cut for their slow reader (lib/openai/slow-readers.ts), by reason, sampled at scrape time:
 * `unsent_bytes` (over --stream-max-unsent-bytes) and `stall` (nothing taken for --stream-stall-timeout-ms).
 * docs/metrics.md, "Health"; docs/reliability.md, "Faults".
 */
import { SLOW_STREAM_REASONS, type SlowStreamReason } from '../openai/slow-readers.js';
import { counterFamily, withLabels } from './context.js';
import { SampledGroup, type SampledGroupOptions } from './sampled-group.js';

export const SLOW_STREAM_FAMILY = [
  'slow_stream_cancellations_total',
  'Responses cancelled and closed because their client did not read them, by reason (unsent_bytes, stall).',
] as const;

export function slowStreamMetrics(source: { readonly cut: Readonly<Record<SlowStreamReason, number>> }, options: SampledGroupOptions): SampledGroup {
  return new SampledGroup(options, (ctx, owner) => {
    const family = counterFamily(ctx, SLOW_STREAM_FAMILY[0], SLOW_STREAM_FAMILY[1], ['reason']);
    const byReason = SLOW_STREAM_REASONS.map((r) => [r, family.child(withLabels(ctx, { reason: r }), owner)] as const);
    return () => {
      for (const [r, child] of byReason) child.setTotal(source.cut[r]);
    };
  });
}
