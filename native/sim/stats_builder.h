// Iteration and per-request statistics (docs/simulator.md "Statistics"): built by the executor thread at the
// end of every iteration that did something, kept in bounded rings (oldest dropped) until
// getLatestIterationStats / getLatestRequestStats drain them.
#pragma once

#include "sim/clock.h"
#include "sim/config.h"
#include "sim/kv_cache_manager.h"
#include "sim/request_pool.h"
#include "sim/scheduler.h"
#include "sim/stats.h"
#include "sim/timing_model.h"
#include "sim/validation.h"

#include <deque>
#include <mutex>

namespace trtllm_sim::executor
{

/// What one iteration did, as the statistics report it (the request lists are read from the pool).
struct IterationSummary
{
    IterationType iter{0};
    SimClock::TimePoint start;
    SimClock::TimePoint end;
    MicroBatch const* batch{nullptr};
    /// Requests in the batch this iteration (those that ended in it included).
    SizeType32 numActive{0};
    /// Accepted but not admitted, including those enqueued since the iteration started.
    SizeType32 numQueued{0};
    /// Sum over the admitted requests of their time from enqueue to admission.
    double queueLatencyMs{0.0};
    /// Tokens decoded by generation requests.
    SizeType64 genDecoded{0};
    /// Requests of the current static batch (STATIC_BATCH).
    SizeType32 staticBatchSize{0};
    SpecDecodingStats spec;
    TimingModel::Breakdown latency;
};

class StatsBuilder
{
public:
    /// Every argument must outlive the builder (they are members of the executor that owns it).
    StatsBuilder(SimConfig const& sim, ExecutorConfig const& config, Limits const& limits, SimClock const& clock,
        KvCacheManager const& kv, RequestPool const& pool);

    /// Iteration stats are kept (iterStatsMaxIterations > 0): only then is IterationSummary::numQueued read.
    [[nodiscard]] bool keepsIterationStats() const { return mIterStatsMax > 0; }

    /// Executor thread: builds the iteration's stats and pushes them into the rings.
    void publish(IterationSummary const& summary);

    /// Any thread: drains the rings.
    std::deque<IterationStats> takeIterationStats();
    std::deque<RequestStatsPerIteration> takeRequestStats();

private:
    [[nodiscard]] IterationStats iterationStats(IterationSummary const& summary) const;
    [[nodiscard]] RequestStatsPerIteration requestStats(IterationType iter) const;
    [[nodiscard]] KvCacheStats kvCacheStats() const;

    SimConfig const& mSim;
    Limits const& mLimits;
    SimClock const& mClock;
    KvCacheManager const& mKv;
    RequestPool const& mPool;
    SizeType32 const mIterStatsMax;
    SizeType32 const mRequestStatsMax;

    mutable std::mutex mMutex;
    std::deque<IterationStats> mIterStats;
    std::deque<RequestStatsPerIteration> mRequestStats;
};

} // namespace trtllm_sim::executor
