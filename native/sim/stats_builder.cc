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

StatsBuilder::StatsBuilder(
    SimConfig const& sim, ExecutorConfig const& config, Limits const& limits, SimClock const& clock, Ranks const& ranks)
    : mSim(sim)
    , mLimits(limits)
    , mClock(clock)
    , mRanks(ranks)
    , mIterStatsMax(config.getIterStatsMaxIterations())
    , mRequestStatsMax(config.getRequestStatsMaxIterations())
{
}

void StatsBuilder::publish(IterationSummary const& summary)
{
    // The snapshot changes only when a request pins an adapter (a load, or a hit that reorders the cache).
    SizeType64 loads = 0;
    for (auto const& rank : mRanks)
    {
        loads += rank->lora.numAcquires();
    }
    if (loads != mLoraLoadsSeen)
    {
        mLoraLoadsSeen = loads;
        std::vector<SimLoraAdapter> adapters;
        for (auto const& rank : mRanks)
        {
            for (auto const& a : rank->lora.adapters())
            {
                adapters.push_back(SimLoraAdapter{rank->index, a.taskId});
            }
        }
        std::lock_guard<std::mutex> lock(mMutex);
        mLoraAdapters = std::move(adapters);
    }
    if (mIterStatsMax <= 0 && mRequestStatsMax <= 0)
    {
        return;
    }
    std::vector<IterationStats> stats;
    if (mIterStatsMax > 0)
    {
        stats.reserve(mRanks.size());
        for (auto const& rank : mRanks)
        {
            stats.push_back(iterationStats(summary, *rank));
        }
    }
    std::optional<RequestStatsPerIteration> perRequest;
    if (mRequestStatsMax > 0)
    {
        perRequest = requestStats(summary.iter);
    }
    std::lock_guard<std::mutex> lock(mMutex);
    for (auto& s : stats)
    {
        // The ring holds iterStatsMaxIterations iterations of every rank.
        pushBounded(mIterStats, std::move(s), mIterStatsMax * static_cast<SizeType32>(mRanks.size()));
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

IterationStats StatsBuilder::iterationStats(IterationSummary const& summary, Rank const& rank) const
{
    MicroBatch const& batch = rank.batch;
    IterationStats s;
    s.timestamp = formatTimestamp(mClock.toSystem(summary.end));
    s.iter = summary.iter;
    s.iterLatencyMS = SimClock::toMs(summary.end - summary.start);
    s.numNewActiveRequests = static_cast<SizeType32>(rank.admitted.size());
    s.newActiveRequestsQueueLatencyMS
        = rank.admitted.empty() ? 0.0 : rank.queueLatencyMs / static_cast<double>(rank.admitted.size());
    s.numActiveRequests = rank.numActive;
    s.numQueuedRequests = static_cast<SizeType32>(rank.waiting.size()) + (rank.index == 0 ? summary.numUnassigned : 0);
    s.numCompletedRequests = static_cast<SizeType32>(rank.finished.size());
    s.maxNumActiveRequests = mLimits.maxBatchSize;
    s.maxBatchSizeStatic = mLimits.maxBatchSize;
    s.maxBatchSizeTunerRecommended = mLimits.maxBatchSize;
    s.maxBatchSizeRuntime = mLimits.maxBatchSize;
    s.maxNumTokensStatic = mLimits.maxNumTokens;
    s.maxNumTokensTunerRecommended = mLimits.maxNumTokens;
    s.maxNumTokensRuntime = mLimits.maxNumTokens;
    auto const& kv = rank.kv;
    s.gpuMemUsage = static_cast<std::size_t>(mLimits.modelSizeBytes + kv.getNumUsedBlocks() * mLimits.kvBytesPerBlock);
    s.cpuMemUsage = mSim.cpuMemUsageBytes;
    // The host tier is pinned memory.
    s.pinnedMemUsage
        = mSim.pinnedMemUsageBytes + static_cast<std::size_t>(kv.getNumHostBlocks() * mLimits.kvBytesPerBlock);
    s.kvCacheStats = kvCacheStats(kv);
    s.kvCacheIterationStats.emplace(mSim.maxSeqLen, kvCacheIterationStats(rank));
    if (mLimits.attentionDp > 1)
    {
        s.attentionDpRank = rank.index;
    }
    auto const numCtx = static_cast<SizeType32>(batch.context.size());
    auto const numGen = static_cast<SizeType32>(batch.generation.size());
    if (mLimits.staticBatching)
    {
        StaticBatchingStats& sb = s.staticBatchingStats.emplace();
        sb.numScheduledRequests = numCtx + numGen;
        sb.numContextRequests = numCtx;
        sb.numCtxTokens = batch.numCtxTokens;
        sb.numGenTokens = static_cast<SizeType32>(rank.genDecoded);
        sb.emptyGenSlots = numGen > 0 ? std::max<SizeType32>(0, rank.staticBatchSize - numGen) : 0;
    }
    else
    {
        InflightBatchingStats& ib = s.inflightBatchingStats.emplace();
        ib.numScheduledRequests = numCtx + numGen;
        ib.numContextRequests = numCtx;
        ib.numGenRequests = numGen;
        ib.numPausedRequests = static_cast<SizeType32>(rank.paused.size());
        ib.numCtxTokens = batch.numCtxTokens;
        ib.microBatchId = 0;
        if (mSim.specDraftLength > 0)
        {
            ib.avgNumDecodedTokensPerIter
                = numGen > 0 ? static_cast<float>(static_cast<double>(rank.genDecoded) / numGen) : 0.f;
        }
        else
        {
            ib.avgNumDecodedTokensPerIter = 1.f;
        }
    }
    if (mSim.specDraftLength > 0)
    {
        SpecDecodingStats spec = rank.spec;
        spec.acceptanceLength = spec.numRequestsWithDraftTokens > 0
            ? static_cast<double>(spec.numAcceptedTokens + spec.numRequestsWithDraftTokens)
                / static_cast<double>(spec.numRequestsWithDraftTokens)
            : 0.0;
        spec.iterLatencyMS = s.iterLatencyMS;
        auto const& latency = summary.latency;
        double const modelled = latency.modelledMs();
        spec.draftOverhead = modelled > 0.0 ? latency.draftMs / modelled : 0.0;
        s.specDecodingStats = spec;
    }
    return s;
}

std::vector<SimLoraAdapter> StatsBuilder::loraAdapters() const
{
    std::lock_guard<std::mutex> lock(mMutex);
    return mLoraAdapters;
}

RequestStatsPerIteration StatsBuilder::requestStats(IterationType iter) const
{
    RequestStatsPerIteration rs;
    rs.iter = iter;
    for (auto const& rank : mRanks)
    {
        for (auto const* r : rank->active)
        {
            rs.requestStats.push_back(requestStatsOf(*r, r->stage));
        }
        for (auto const* r : rank->finished)
        {
            rs.requestStats.push_back(requestStatsOf(*r, RequestStage::kGENERATION_COMPLETE));
        }
    }
    for (auto const& rank : mRanks)
    {
        for (auto const* r : rank->waiting)
        {
            rs.requestStats.push_back(requestStatsOf(*r, RequestStage::kQUEUED));
        }
    }
    return rs;
}

KvCacheStats StatsBuilder::kvCacheStats(KvCacheManager const& kv) const
{
    KvCacheStats s;
    s.maxNumBlocks = kv.getMaxNumBlocks();
    s.usedNumBlocks = kv.getNumUsedBlocks();
    s.freeNumBlocks = kv.getNumFreeBlocks();
    s.tokensPerBlock = kv.getTokensPerBlock();
    auto const& c = kv.getCounters();
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

KvCacheIterationStats StatsBuilder::kvCacheIterationStats(Rank const& rank) const
{
    auto const& kv = rank.kv;
    auto const& now = kv.getCounters();
    auto const& then = rank.countersAtStart;
    KvCacheIterationStats s;
    s.primaryMaxNumBlocks = kv.getMaxNumBlocks();
    s.primaryUsedNumBlocks = kv.getNumUsedBlocks();
    s.primaryFreeNumBlocks = kv.getNumFreeBlocks();
    s.secondaryMaxNumBlocks = kv.getNumHostBlocks();
    s.secondaryUsedNumBlocks = kv.getNumHostUsedBlocks();
    s.secondaryFreeNumBlocks = kv.getNumHostBlocks() - kv.getNumHostUsedBlocks();
    s.iterAllocTotalBlocks = now.allocTotalBlocks - then.allocTotalBlocks;
    s.iterAllocNewBlocks = now.allocNewBlocks - then.allocNewBlocks;
    s.iterReusedBlocks = now.reusedBlocks - then.reusedBlocks;
    s.iterFullReusedBlocks = s.iterReusedBlocks;
    s.iterMissedBlocks = now.missedBlocks - then.missedBlocks;
    SizeType64 const lookups = s.iterReusedBlocks + s.iterMissedBlocks;
    s.iterCacheHitRate = lookups > 0 ? static_cast<double>(s.iterReusedBlocks) / static_cast<double>(lookups) : 0.0;
    s.iterGenAllocBlocks = now.genAllocBlocks - then.genAllocBlocks;
    s.iterOnboardBlocks = now.onboardedBlocks - then.onboardedBlocks;
    s.iterOffloadBlocks = now.offloadedBlocks - then.offloadedBlocks;
    s.iterOnboardBytes = static_cast<SizeType64>(static_cast<double>(s.iterOnboardBlocks) * mLimits.kvBytesPerBlock);
    s.iterOffloadBytes = static_cast<SizeType64>(static_cast<double>(s.iterOffloadBlocks) * mLimits.kvBytesPerBlock);
    return s;
}

} // namespace trtllm_sim::executor
