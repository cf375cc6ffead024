// Iteration and per-request statistics (docs/simulator.md "Statistics"): built by the executor thread at the
// end of every iteration that did something, kept in bounded rings (oldest dropped) until
// getLatestIterationStats / getLatestRequestStats drain them.
#pragma once

#include "sim/clock.h"
#include "sim/config.h"
#include "sim/executor.h"
#include "sim/rank.h"
#include "sim/stats.h"
#include "sim/timing_model.h"
#include "sim/validation.h"

#include <deque>
#include <mutex>

namespace trtllm_sim::executor
{

/// What one iteration did, as the statistics report it (each rank's lists and counts are read from the ranks).
struct IterationSummary
{
    IterationType iter{0};
    SimClock::TimePoint start;
    SimClock::TimePoint end;
    /// Accepted requests not assigned to a rank yet (enqueued since the iteration started): rank 0 counts them as
    /// queued.
    SizeType32 numUnassigned{0};
    TimingModel::Breakdown latency;
};

class StatsBuilder
{
public:
    /// Every argument must outlive the builder (they are members of the executor that owns it).
    StatsBuilder(SimConfig const& sim, ExecutorConfig const& config, Limits const& limits, SimClock const& clock,
        Ranks const& ranks);

    /// Iteration stats are kept (iterStatsMaxIterations > 0): only then is IterationSummary::numUnassigned read.
    [[nodiscard]] bool keepsIterationStats() const { return mIterStatsMax > 0; }

    /// Executor thread: builds the iteration's stats (one IterationStats per rank) and pushes them into the rings.
    void publish(IterationSummary const& summary);

    /// Any thread: drains the rings.
    std::deque<IterationStats> takeIterationStats();
    std::deque<RequestStatsPerIteration> takeRequestStats();
    /// Any thread: the ranks' cached LoRA adapters as of the latest published iteration.
    std::vector<SimLoraAdapter> loraAdapters() const;

private:
    [[nodiscard]] IterationStats iterationStats(IterationSummary const& summary, Rank const& rank) const;
    [[nodiscard]] RequestStatsPerIteration requestStats(IterationType iter) const;
    [[nodiscard]] KvCacheStats kvCacheStats(KvCacheManager const& kv) const;
    [[nodiscard]] KvCacheIterationStats kvCacheIterationStats(Rank const& rank) const;

    SimConfig const& mSim;
    Limits const& mLimits;
    SimClock const& mClock;
    Ranks const& mRanks;
    SizeType32 const mIterStatsMax;
    SizeType32 const mRequestStatsMax;

    /// Executor thread: the ranks' LoraCache::numAcquires() when the adapter snapshot was taken.
    SizeType64 mLoraLoadsSeen{0};

    mutable std::mutex mMutex;
    std::deque<IterationStats> mIterStats;
    std::deque<RequestStatsPerIteration> mRequestStats;
    std::vector<SimLoraAdapter> mLoraAdapters;
};

} // namespace trtllm_sim::executor
