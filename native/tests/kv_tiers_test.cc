// The KV cache's host tier, LoRA adapters in block identity and the adapter cache, and attention data-parallel
// ranks: unit tests of KvCacheManager / LoraCache and their behaviour through the executor.
#include "sim/executor_api.h"
#include "sim/kv_cache_manager.h"
#include "sim/lora_cache.h"
#include "sim/timing_model.h"

#include "kv_cache_test_helpers.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <variant>

namespace sim = trtllm_sim::executor;
using sim::KvCacheManager;
using sim::KvSequence;
using namespace std::chrono_literals;
using kv_test::runSequence;
using kv_test::seqTokens;
using kv_test::takeEvents;

namespace
{

/// Cache-level moves in the events: (hash, old level, new level).
std::vector<std::tuple<std::uint64_t, int, int>> levelMoves(std::vector<sim::KVCacheEventData> const& events)
{
    std::vector<std::tuple<std::uint64_t, int, int>> out;
    for (auto const& e : events)
    {
        if (auto const* u = std::get_if<sim::KVCacheUpdatedData>(&e); u != nullptr && u->cacheLevel)
        {
            out.emplace_back(u->blockHash, u->cacheLevel->oldValue, u->cacheLevel->newValue);
        }
    }
    return out;
}

std::vector<std::uint64_t> removed(std::vector<sim::KVCacheEventData> const& events)
{
    std::vector<std::uint64_t> out;
    for (auto const& e : events)
    {
        if (auto const* r = std::get_if<sim::KVCacheRemovedData>(&e))
        {
            out.insert(out.end(), r->blockHashes.begin(), r->blockHashes.end());
        }
    }
    return out;
}

sim::Request request(sim::VecTokens tokens, int maxTokens, std::optional<sim::IdType> lora = std::nullopt)
{
    sim::OutputConfig out;
    out.excludeInputFromOutput = true;
    out.returnPerfMetrics = true;
    sim::Request r(std::move(tokens), maxTokens, false, sim::SamplingConfig(), out);
    if (lora)
    {
        r.setLoraConfig(sim::LoraConfig(*lora));
    }
    return r;
}

/// Waits for the final responses of `n` requests.
std::map<sim::IdType, sim::Response> finals(sim::Executor& ex, std::size_t n)
{
    std::map<sim::IdType, sim::Response> out;
    auto const deadline = std::chrono::steady_clock::now() + 20s;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline)
    {
        for (auto& r : ex.awaitResponses(100ms))
        {
            if (r.hasError() || r.getResult().isFinal)
            {
                out.emplace(r.getRequestId(), std::move(r));
            }
        }
    }
    EXPECT_EQ(out.size(), n);
    return out;
}

sim::SimConfig testSim()
{
    sim::SimConfig c;
    c.virtualClock = true;
    c.outputLengthMode = sim::SimConfig::OutputLengthMode::kMaxTokens;
    c.tokensPerBlock = 4;
    c.numKvBlocks = 16;
    c.vocabSize = 10000;
    c.checkInvariants = true;
    return c;
}

sim::ExecutorConfig testConfig(std::size_t events = 1000, std::size_t hostBytes = 0)
{
    sim::ExecutorConfig c;
    sim::KvCacheConfig kv;
    kv.setEventBufferMaxSize(events);
    if (hostBytes > 0)
    {
        kv.setHostCacheSize(hostBytes);
    }
    c.setKvCacheConfig(kv);
    c.setIterStatsMaxIterations(10000);
    return c;
}

} // namespace

// ---------------------------------------------------------------------------------------------------- host tier

TEST(HostTier, EvictionOffloadsAndReuseOnboards)
{
    KvCacheManager kv(4, 4, true, true, 2);
    KvSequence a = runSequence(kv, seqTokens(8, 0)); // 2 stored blocks
    kv.release(a);
    takeEvents(kv);
    // 4 new blocks: 2 free ones, then a's two cached blocks go to the host instead of being dropped.
    KvSequence b = runSequence(kv, seqTokens(16, 1000));
    auto events = takeEvents(kv);
    EXPECT_TRUE(removed(events).empty());
    auto moves = levelMoves(events);
    ASSERT_EQ(moves.size(), 2u);
    EXPECT_EQ(moves[0], std::make_tuple(a.blockHashes[1], 0, 1)); // tail first (least recently used)
    EXPECT_EQ(moves[1], std::make_tuple(a.blockHashes[0], 0, 1));
    EXPECT_EQ(kv.getNumHostUsedBlocks(), 2);
    EXPECT_EQ(kv.cacheLevelOf(a.blockHashes[0]), 1);
    EXPECT_EQ(kv.getCounters().offloadedBlocks, 2);
    EXPECT_EQ(kv.checkConsistency(), "");

    // Reusing a's prefix onboards both blocks (b's cached blocks go to the host in exchange).
    kv.release(b);
    takeEvents(kv);
    KvSequence again = runSequence(kv, seqTokens(9, 0));
    EXPECT_EQ(again.reusedBlocks, 2);
    events = takeEvents(kv);
    moves = levelMoves(events);
    std::set<std::uint64_t> onboarded;
    for (auto const& [hash, from, to] : moves)
    {
        if (from == 1 && to == 0)
        {
            onboarded.insert(hash);
        }
    }
    EXPECT_EQ(onboarded, (std::set<std::uint64_t>{a.blockHashes[0], a.blockHashes[1]}));
    EXPECT_EQ(kv.getCounters().onboardedBlocks, 2);
    EXPECT_EQ(kv.cacheLevelOf(a.blockHashes[0]), 0);
    EXPECT_EQ(kv.checkConsistency(), "");
}

TEST(HostTier, AFullHostTierDropsItsLeastRecentlyOffloadedBlock)
{
    KvCacheManager kv(2, 4, true, true, 1);
    KvSequence a = runSequence(kv, seqTokens(8, 0));
    kv.release(a);
    takeEvents(kv);
    KvSequence b = runSequence(kv, seqTokens(8, 500)); // evicts a's 2 blocks: 1 to the host, then it is dropped
    auto const events = takeEvents(kv);
    auto const gone = removed(events);
    ASSERT_EQ(gone.size(), 1u);
    EXPECT_EQ(gone[0], a.blockHashes[1]); // offloaded first, dropped first
    EXPECT_EQ(kv.cacheLevelOf(a.blockHashes[0]), 1);
    EXPECT_EQ(kv.cacheLevelOf(a.blockHashes[1]), -1);
    EXPECT_EQ(kv.checkConsistency(), "");
}

TEST(HostTier, TheExecutorReportsTheTierInEventsStatsAndTime)
{
    auto s = testSim();
    s.kvBytesPerBlock = 1 << 20;
    s.hostTransferBytesPerS = 1e9; // 1 MiB block: ~1.05 ms a copy
    sim::Executor ex(s, sim::ModelType::kDECODER_ONLY, testConfig(1000, 8u << 20)); // 8 host blocks
    auto const manager = *ex.getKVCacheEventManager();
    auto const created = manager->getLatestEvents(0ms);
    ASSERT_EQ(created.size(), 1u);
    EXPECT_EQ(std::get<sim::KVCacheCreatedData>(created[0].data).numBlocksPerCacheLevel,
        (std::vector<sim::SizeType32>{16, 8}));
    // A fills 12 of 16 blocks; B (other tokens) evicts 8 of A's cached blocks to the host; A again onboards them.
    auto const promptA = seqTokens(48, 0);
    (void) ex.enqueueRequest(request(promptA, 1));
    finals(ex, 1);
    (void) ex.enqueueRequest(request(seqTokens(48, 5000), 1));
    finals(ex, 1);
    (void) ex.enqueueRequest(request(promptA, 1));
    auto const last = finals(ex, 1).begin()->second;
    EXPECT_EQ(last.getResult().requestPerfMetrics->kvCacheMetrics.numReusedBlocks, 11); // (48 - 1) / 4
    auto const stats = ex.getLatestIterationStats();
    ASSERT_GE(stats.size(), 3u);
    sim::SizeType64 offloaded = 0;
    sim::SizeType64 onboarded = 0;
    for (auto const& st : stats)
    {
        auto const& k = st.kvCacheIterationStats.at(s.maxSeqLen);
        offloaded += k.iterOffloadBlocks;
        onboarded += k.iterOnboardBlocks;
        EXPECT_EQ(k.iterOnboardBytes, k.iterOnboardBlocks << 20);
        EXPECT_EQ(k.secondaryMaxNumBlocks, 8);
        EXPECT_EQ(k.secondaryUsedNumBlocks + k.secondaryFreeNumBlocks, 8);
        EXPECT_EQ(st.pinnedMemUsage, s.pinnedMemUsageBytes + (8u << 20));
    }
    EXPECT_GE(offloaded, 8);
    // B offloaded A's 8 least recently used blocks (4..11); A's reuse covers blocks 0..10: 0..3 are still on the
    // GPU, 4..10 come back from the host.
    EXPECT_EQ(onboarded, 7);
    // The reusing iteration pays the copies: onboarding 8 blocks and offloading what they displace.
    auto const& reuse = stats.back();
    auto const& k = reuse.kvCacheIterationStats.at(s.maxSeqLen);
    double const copies = static_cast<double>(k.iterOnboardBlocks + k.iterOffloadBlocks) * (1 << 20) / 1e9 * 1e3;
    sim::TimingModel const timing(s);
    EXPECT_NEAR(reuse.iterLatencyMS, timing.prefillMs(48 - 44) + copies, 1e-6);
    EXPECT_TRUE(ex.getInvariantViolations().empty()) << ex.getInvariantViolations().front();
}

// ---------------------------------------------------------------------------------------------------- LoRA

TEST(Lora, TheAdapterIsPartOfTheBlockIdentity)
{
    auto const tokens = seqTokens(4, 0);
    auto const base = KvCacheManager::hashBlock(std::nullopt, tokens.data(), 4);
    auto const a = KvCacheManager::hashBlock(std::nullopt, tokens.data(), 4, 1);
    auto const b = KvCacheManager::hashBlock(std::nullopt, tokens.data(), 4, 2);
    EXPECT_NE(base, a);
    EXPECT_NE(a, b);
    KvCacheManager kv(8, 4, true, true);
    KvSequence x = runSequence(kv, seqTokens(8, 0), nullptr, 1);
    KvSequence y = runSequence(kv, seqTokens(8, 0), nullptr, 2);
    EXPECT_EQ(y.reusedBlocks, 0); // the same tokens under another adapter are other blocks
    KvSequence z = runSequence(kv, seqTokens(9, 0), nullptr, 1);
    EXPECT_EQ(z.reusedBlocks, 2);
    std::set<std::optional<std::uint64_t>> loras;
    for (auto const& e : takeEvents(kv))
    {
        if (auto const* st = std::get_if<sim::KVCacheStoredData>(&e))
        {
            for (auto const& blk : st->blocks)
            {
                loras.insert(blk.loraId);
            }
        }
    }
    EXPECT_EQ(loras, (std::set<std::optional<std::uint64_t>>{1, 2}));
}

TEST(Lora, TheCacheEvictsTheLeastRecentlyUsedUnpinnedAdapter)
{
    sim::LoraCache cache(2);
    EXPECT_TRUE(cache.acquire(1));
    EXPECT_TRUE(cache.acquire(2));
    EXPECT_FALSE(cache.acquire(1)); // cached: pinned twice now
    EXPECT_FALSE(cache.canAcquire(3)); // both pinned
    cache.release(2);
    EXPECT_TRUE(cache.canAcquire(3));
    EXPECT_TRUE(cache.acquire(3)); // evicts 2
    auto const adapters = cache.adapters();
    ASSERT_EQ(adapters.size(), 2u);
    EXPECT_EQ(adapters[0].taskId, 3u);
    EXPECT_EQ(adapters[1].taskId, 1u);
    EXPECT_EQ(adapters[1].pins, 2);
    EXPECT_EQ(cache.numLoads(), 3);
    EXPECT_THROW(cache.release(2), std::logic_error);
}

TEST(Lora, AdaptersLoadOnFirstUseAndARequestWaitsForAFreeSlot)
{
    auto s = testSim();
    s.loraMaxAdapters = 1;
    s.loraLoadMs = 5.0;
    s.numKvBlocks = 64;
    sim::Executor ex(s, sim::ModelType::kDECODER_ONLY, testConfig());
    auto const a = ex.enqueueRequest(request(seqTokens(8, 0), 4, 11));
    auto const b = ex.enqueueRequest(request(seqTokens(8, 100), 4, 12));
    auto const done = finals(ex, 2);
    auto const& pa = done.at(a).getResult().requestPerfMetrics->timingMetrics;
    auto const& pb = done.at(b).getResult().requestPerfMetrics->timingMetrics;
    // b's adapter cannot load while a runs with the only slot: b starts when a has finished.
    EXPECT_GE(pb.firstScheduledTime, pa.lastTokenTime);
    auto const stats = ex.getLatestIterationStats();
    sim::TimingModel const timing(s);
    EXPECT_NEAR(stats.front().iterLatencyMS, timing.prefillMs(8) + 5.0, 1e-6); // a's load
    auto const adapters = ex.getLoraAdapters();
    ASSERT_EQ(adapters.size(), 1u);
    EXPECT_EQ(adapters[0].taskId, 12u);
    EXPECT_TRUE(ex.getInvariantViolations().empty()) << ex.getInvariantViolations().front();
}

// ---------------------------------------------------------------------------------------------- attention DP

TEST(AttentionDp, RanksHaveTheirOwnPoolsStatsAndEventIds)
{
    auto s = testSim();
    s.attentionDp = 2;
    s.numKvBlocks = 32;
    sim::Executor ex(s, sim::ModelType::kDECODER_ONLY, testConfig());
    EXPECT_EQ(ex.getEngineInfo().attentionDp, 2);
    // Four requests with the same 8-token prefix: assigned 0, 1, 0, 1 by load.
    std::vector<sim::IdType> ids;
    for (int i = 0; i < 4; ++i)
    {
        auto tokens = seqTokens(8, 0);
        auto const tail = seqTokens(4, 1000 + 10 * i);
        tokens.insert(tokens.end(), tail.begin(), tail.end());
        ids.push_back(ex.enqueueRequest(request(tokens, 2)));
    }
    finals(ex, 4);
    auto const stats = ex.getLatestIterationStats();
    std::map<sim::IterationType, std::set<int>> ranksByIter;
    for (auto const& st : stats)
    {
        ASSERT_TRUE(st.attentionDpRank.has_value());
        ranksByIter[st.iter].insert(*st.attentionDpRank);
        EXPECT_EQ(st.kvCacheStats->maxNumBlocks, 32); // each rank's own pool
    }
    for (auto const& [iter, ranks] : ranksByIter)
    {
        EXPECT_EQ(ranks, (std::set<int>{0, 1})) << "iteration " << iter;
    }
    EXPECT_EQ(stats.front().numActiveRequests, 2);
    // Each rank computed (and stored) the shared prefix: one Created event and ids from 0 per rank.
    auto const events = (*ex.getKVCacheEventManager())->getLatestEvents(0ms);
    std::map<int, std::vector<sim::IdType>> idsByRank;
    std::map<int, int> storedByRank;
    for (auto const& e : events)
    {
        ASSERT_TRUE(e.attentionDpRank.has_value());
        idsByRank[*e.attentionDpRank].push_back(e.eventId);
        if (auto const* st = std::get_if<sim::KVCacheStoredData>(&e.data))
        {
            storedByRank[*e.attentionDpRank] += static_cast<int>(st->blocks.size());
        }
    }
    ASSERT_EQ(idsByRank.size(), 2u);
    for (auto const& [rank, eventIds] : idsByRank)
    {
        for (std::size_t i = 0; i < eventIds.size(); ++i)
        {
            EXPECT_EQ(eventIds[i], i) << "rank " << rank;
        }
    }
    EXPECT_EQ(storedByRank[0], storedByRank[1]);
    EXPECT_GE(storedByRank[0], 3); // the shared prefix (2 blocks) and the first request's third block
    EXPECT_TRUE(ex.getInvariantViolations().empty()) << ex.getInvariantViolations().front();
}

TEST(AttentionDp, AnIterationLastsAsLongAsItsSlowestRank)
{
    auto s = testSim();
    s.attentionDp = 2;
    s.numKvBlocks = 64;
    sim::Executor ex(s, sim::ModelType::kDECODER_ONLY, testConfig(0));
    (void) ex.enqueueRequest(request(seqTokens(40, 0), 1));
    (void) ex.enqueueRequest(request(seqTokens(4, 500), 1));
    finals(ex, 2);
    auto const stats = ex.getLatestIterationStats();
    ASSERT_EQ(stats.size(), 2u); // one iteration, a row per rank
    sim::TimingModel const timing(s);
    EXPECT_NEAR(stats[0].iterLatencyMS, timing.prefillMs(40), 1e-6);
    EXPECT_EQ(stats[0].iterLatencyMS, stats[1].iterLatencyMS);
    EXPECT_EQ(stats[0].inflightBatchingStats->numCtxTokens + stats[1].inflightBatchingStats->numCtxTokens, 44);
}
