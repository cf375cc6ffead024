/**
 * Iteration stats of an engine with attention data parallelism: each iteration yields one IterationStats per
 * rank (attentionDpRank), as TensorRT-LLM's get_stats() does. TensorRT-LLM's metrics label none of its
 * trtllm_ gauges by rank, so the gauges show the engine: the latest row of every rank combined.
 */
import type { IterationStats, KvCacheStats } from '../types.js';

const sum = (rows: readonly IterationStats[], f: (s: IterationStats) => number | undefined): number =>
  rows.reduce((acc, s) => acc + (f(s) ?? 0), 0);
const max = (rows: readonly IterationStats[], f: (s: IterationStats) => number | undefined): number =>
  rows.reduce((acc, s) => Math.max(acc, f(s) ?? 0), 0);

/**
 * The engine's view of the ranks' latest rows: counts, blocks and memory add up; latency is the slowest rank's
 * (ranks run in lockstep); per-rank limits (max batch size, tokens) are a rank's; cacheHitRate comes from the
 * summed cumulative counters.
 */
export function combineRankStats(rows: readonly IterationStats[]): IterationStats {
  const first = rows[0]!;
  const kvRows = rows.map((s) => s.kvCacheStats).filter((k): k is KvCacheStats => k !== null && typeof k === 'object');
  const kvSum = (f: (k: KvCacheStats) => number) => kvRows.reduce((acc, k) => acc + (f(k) ?? 0), 0);
  const reused = kvSum((k) => k.reusedBlocks);
  const missed = kvSum((k) => k.missedBlocks);
  const ifbRows = rows.map((s) => s.inflightBatchingStats).filter((b) => b !== null && typeof b === 'object');
  const ifbSum = (key: 'numScheduledRequests' | 'numContextRequests' | 'numGenRequests' | 'numPausedRequests' | 'numCtxTokens') =>
    ifbRows.reduce((acc, b) => acc + (b![key] ?? 0), 0);
  const gen = ifbSum('numGenRequests');
  return {
    ...first,
    iter: max(rows, (s) => s.iter),
    iterLatencyMS: max(rows, (s) => s.iterLatencyMS),
    numActiveRequests: sum(rows, (s) => s.numActiveRequests),
    numQueuedRequests: sum(rows, (s) => s.numQueuedRequests),
    numCompletedRequests: sum(rows, (s) => s.numCompletedRequests),
    maxNumActiveRequests: sum(rows, (s) => s.maxNumActiveRequests),
    gpuMemUsage: sum(rows, (s) => s.gpuMemUsage),
    cpuMemUsage: sum(rows, (s) => s.cpuMemUsage),
    pinnedMemUsage: sum(rows, (s) => s.pinnedMemUsage),
    kvCacheStats:
      kvRows.length === 0
        ? first.kvCacheStats
        : {
            maxNumBlocks: kvSum((k) => k.maxNumBlocks),
            freeNumBlocks: kvSum((k) => k.freeNumBlocks),
            usedNumBlocks: kvSum((k) => k.usedNumBlocks),
            tokensPerBlock: kvRows[0]!.tokensPerBlock,
            allocTotalBlocks: kvSum((k) => k.allocTotalBlocks),
            allocNewBlocks: kvSum((k) => k.allocNewBlocks),
            reusedBlocks: reused,
            missedBlocks: missed,
            cacheHitRate: reused + missed > 0 ? reused / (reused + missed) : 0,
          },
    inflightBatchingStats:
      ifbRows.length === 0
        ? first.inflightBatchingStats
        : {
            numScheduledRequests: ifbSum('numScheduledRequests'),
            numContextRequests: ifbSum('numContextRequests'),
            numGenRequests: gen,
            numPausedRequests: ifbSum('numPausedRequests'),
            numCtxTokens: ifbSum('numCtxTokens'),
            microBatchId: 0,
            avgNumDecodedTokensPerIter:
              gen > 0 ? ifbRows.reduce((acc, b) => acc + b!.avgNumDecodedTokensPerIter * b!.numGenRequests, 0) / gen : ifbRows[0]!.avgNumDecodedTokensPerIter,
          },
  };
}
