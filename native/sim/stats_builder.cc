#include "sim/stats_builder.h"

#include <algorithm>
#include <ctime>
#include <optional>
#include <string>

namespace trtllm_sim::executor
{

namespace
{

std::string formatTimestamp(std::chrono::system_clock::time_point t)
{
    std::time_t const tt = std::chrono::system_clock::to_time_t(t);
    std::tm parts{};
    localtime_r(&tt, &parts);
    char buf[32];
    std::size_t const n = std::strftime(buf, sizeof(buf), "%m-%d-%Y %H:%M:%S", &parts);
    return std::string(buf, n);
}

RequestStats requestStatsOf(LlmRequest const& r, RequestStage stage)
{
    RequestStats s;
    s.id = r.id;
    s.stage = stage;
    s.contextPrefillPosition = r.prefillPos;
    s.numGeneratedTokens = r.numGenerated();
    s.avgNumDecodedTokensPerIter
        = r.decodingIter > 0 ? static_cast<float>(r.numDecoded) / static_cast<float>(r.decodingIter) : 0.f;
    s.scheduled = r.scheduled;
    s.paused = r.paused;
    s.allocTotalBlocksPerRequest = r.kv.totalAllocatedBlocks;
    s.allocNewBlocksPerRequest = r.kv.newAllocatedBlocks;
    s.reusedBlocksPerRequest = r.kv.reusedBlocks;
    s.missedBlocksPerRequest = r.kv.missedBlocks;
    SizeType32 const lookups = r.kv.reusedBlocks + r.kv.missedBlocks;
    s.kvCacheHitRatePerRequest
        = lookups > 0 ? static_cast<float>(r.kv.reusedBlocks) / static_cast<float>(lookups) : 0.f;
    return s;
}

/// Appends to a ring of at most `max` entries, dropping the oldest.
template <class T>
void pushBounded(std::deque<T>& ring, T&& value, SizeType32 max)
{
    if (static_cast<SizeType32>(ring.size()) >= max)
    {
        ring.pop_front();
    }
    ring.push_back(std::move(value));
}

} // namespace

StatsBuilder::StatsBuilder(SimConfig const& sim, ExecutorConfig const& config, Limits const& limits,
    SimClock const& clock, KvCacheManager const& kv, RequestPool const& pool)
    : mSim(sim)
    , mLimits(limits)
    , mClock(clock)
    , mKv(kv)
    , mPool(pool)
    , mIterStatsMax(config.getIterStatsMaxIterations())
    , mRequestStatsMax(config.getRequestStatsMaxIterations())
{
}

void StatsBuilder::publish(IterationSummary const& summary)
{
    if (mIterStatsMax <= 0 && mRequestStatsMax <= 0)
    {
        return;
    }
    std::optional<IterationStats> stats;
    if (mIterStatsMax > 0)
    {
        stats = iterationStats(summary);
    }
    std::optional<RequestStatsPerIteration> perRequest;
    if (mRequestStatsMax > 0)
    {
        perRequest = requestStats(summary.iter);
    }
    std::lock_guard<std::mutex> lock(mMutex);
    if (stats)
    {
        pushBounded(mIterStats, std::move(*stats), mIterStatsMax);
    }
    if (perRequest)
    {
        pushBounded(mRequestStats, std::move(*perRequest), mRequestStatsMax);
    }
}

std::deque<IterationStats> StatsBuilder::takeIterationStats()
{
    std::lock_guard<std::mutex> lock(mMutex);
    std::deque<IterationStats> out;
    out.swap(mIterStats);
    return out;
}

std::deque<RequestStatsPerIteration> StatsBuilder::takeRequestStats()
{
    std::lock_guard<std::mutex> lock(mMutex);
    std::deque<RequestStatsPerIteration> out;
    out.swap(mRequestStats);
    return out;
}

IterationStats StatsBuilder::iterationStats(IterationSummary const& summary) const
{
    MicroBatch const& batch = *summary.batch;
    IterationStats s;
    s.timestamp = formatTimestamp(mClock.toSystem(summary.end));
    s.iter = summary.iter;
    s.iterLatencyMS = SimClock::toMs(summary.end - summary.start);
    s.numNewActiveRequests = static_cast<SizeType32>(mPool.admitted.size());
    s.newActiveRequestsQueueLatencyMS
        = mPool.admitted.empty() ? 0.0 : summary.queueLatencyMs / static_cast<double>(mPool.admitted.size());
    s.numActiveRequests = summary.numActive;
    s.numQueuedRequests = summary.numQueued;
    s.numCompletedRequests = static_cast<SizeType32>(mPool.finished.size());
    s.maxNumActiveRequests = mLimits.maxBatchSize;
    s.maxBatchSizeStatic = mLimits.maxBatchSize;
    s.maxBatchSizeTunerRecommended = mLimits.maxBatchSize;
    s.maxBatchSizeRuntime = mLimits.maxBatchSize;
    s.maxNumTokensStatic = mLimits.maxNumTokens;
    s.maxNumTokensTunerRecommended = mLimits.maxNumTokens;
    s.maxNumTokensRuntime = mLimits.maxNumTokens;
    s.gpuMemUsage = mSim.modelSizeBytes + static_cast<std::size_t>(mKv.getNumUsedBlocks()) * mSim.kvBytesPerBlock;
    s.cpuMemUsage = mSim.cpuMemUsageBytes;
    s.pinnedMemUsage = mSim.pinnedMemUsageBytes;
    s.kvCacheStats = kvCacheStats();
    auto const numCtx = static_cast<SizeType32>(batch.context.size());
    auto const numGen = static_cast<SizeType32>(batch.generation.size());
    if (mLimits.staticBatching)
    {
        StaticBatchingStats& sb = s.staticBatchingStats.emplace();
        sb.numScheduledRequests = numCtx + numGen;
        sb.numContextRequests = numCtx;
        sb.numCtxTokens = batch.numCtxTokens;
        sb.numGenTokens = static_cast<SizeType32>(summary.genDecoded);
        sb.emptyGenSlots = numGen > 0 ? std::max<SizeType32>(0, summary.staticBatchSize - numGen) : 0;
    }
    else
    {
        InflightBatchingStats& ib = s.inflightBatchingStats.emplace();
        ib.numScheduledRequests = numCtx + numGen;
        ib.numContextRequests = numCtx;
        ib.numGenRequests = numGen;
        ib.numPausedRequests = static_cast<SizeType32>(mPool.paused.size());
        ib.numCtxTokens = batch.numCtxTokens;
        ib.microBatchId = 0;
        if (mSim.specDraftLength > 0)
        {
            ib.avgNumDecodedTokensPerIter
                = numGen > 0 ? static_cast<float>(static_cast<double>(summary.genDecoded) / numGen) : 0.f;
        }
        else
        {
            ib.avgNumDecodedTokensPerIter = 1.f;
        }
    }
    if (mSim.specDraftLength > 0)
    {
        SpecDecodingStats spec = summary.spec;
        spec.acceptanceLength = spec.numRequestsWithDraftTokens > 0
            ? static_cast<double>(spec.numAcceptedTokens + spec.numRequestsWithDraftTokens)
                / static_cast<double>(spec.numRequestsWithDraftTokens)
            : 0.0;
        spec.iterLatencyMS = s.iterLatencyMS;
        auto const& latency = summary.latency;
        double const modelled = latency.prefillMs + latency.decodeMs + latency.draftMs;
        spec.draftOverhead = modelled > 0.0 ? latency.draftMs / modelled : 0.0;
        s.specDecodingStats = spec;
    }
    return s;
}

RequestStatsPerIteration StatsBuilder::requestStats(IterationType iter) const
{
    RequestStatsPerIteration rs;
    rs.iter = iter;
    rs.requestStats.reserve(mPool.waiting.size() + mPool.active.size() + mPool.finished.size());
    for (auto const* r : mPool.active)
    {
        rs.requestStats.push_back(requestStatsOf(*r, r->stage));
    }
    for (auto const* r : mPool.finished)
    {
        rs.requestStats.push_back(requestStatsOf(*r, RequestStage::kGENERATION_COMPLETE));
    }
    for (auto const* r : mPool.waiting)
    {
        rs.requestStats.push_back(requestStatsOf(*r, RequestStage::kQUEUED));
    }
    return rs;
}

KvCacheStats StatsBuilder::kvCacheStats() const
{
    KvCacheStats s;
    s.maxNumBlocks = mKv.getMaxNumBlocks();
    s.usedNumBlocks = mKv.getNumUsedBlocks();
    s.freeNumBlocks = mKv.getNumFreeBlocks();
    s.tokensPerBlock = mKv.getTokensPerBlock();
    auto const& c = mKv.getCounters();
    // The real counters are SizeType32; after 2^31 blocks they wrap around instead of overflowing.
    auto const wrap = [](SizeType64 v) { return static_cast<SizeType32>(static_cast<std::uint32_t>(v)); };
    s.allocTotalBlocks = wrap(c.allocTotalBlocks);
    s.allocNewBlocks = wrap(c.allocNewBlocks);
    s.reusedBlocks = wrap(c.reusedBlocks);
    s.missedBlocks = wrap(c.missedBlocks);
    SizeType64 const lookups = c.reusedBlocks + c.missedBlocks;
    s.cacheHitRate
        = lookups > 0 ? static_cast<float>(static_cast<double>(c.reusedBlocks) / static_cast<double>(lookups)) : 0.f;
    return s;
}

} // namespace trtllm_sim::executor
