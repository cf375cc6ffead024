// Unit tests of the simulator's parts: KV cache manager, timing model, token sampler, Response.
#include "sim/executor_api.h"
#include "sim/kv_cache_manager.h"
#include "sim/timing_model.h"
#include "sim/token_sampler.h"

#include "kv_cache_test_helpers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <unordered_set>
#include <variant>

namespace sim = trtllm_sim::executor;
using sim::KvCacheManager;
using sim::KvSequence;

using kv_test::runSequence;
using kv_test::seqTokens;
using kv_test::takeEvents;

TEST(KvCacheManager, BlockHashesUseTheFull64BitRange)
{
    int above53 = 0;
    std::unordered_set<std::uint64_t> seen;
    for (int i = 0; i < 1000; ++i)
    {
        auto const tokens = seqTokens(16, i * 3);
        std::uint64_t const h = KvCacheManager::hashBlock(std::nullopt, tokens.data(), 16);
        seen.insert(h);
        if (h > (1ull << 53))
        {
            ++above53;
        }
    }
    EXPECT_EQ(seen.size(), 1000u);
    EXPECT_GT(above53, 900); // ~99.9% of uniformly spread 64-bit values exceed 2^53
}

TEST(KvCacheManager, HashChainsOnTheParent)
{
    auto const tokens = seqTokens(8, 5);
    auto const a = KvCacheManager::hashBlock(std::nullopt, tokens.data(), 8);
    auto const b = KvCacheManager::hashBlock(std::uint64_t{1}, tokens.data(), 8);
    auto const c = KvCacheManager::hashBlock(std::uint64_t{2}, tokens.data(), 8);
    EXPECT_NE(a, b);
    EXPECT_NE(b, c);
    EXPECT_EQ(b, KvCacheManager::hashBlock(std::uint64_t{1}, tokens.data(), 8));
}

TEST(KvCacheManager, StoresFullBlocksOnceAndReusesPrefix)
{
    KvCacheManager kv(16, 4, true, true);
    auto const tokens = seqTokens(10, 100); // 2 full blocks + 2 tokens
    KvSequence first = runSequence(kv, tokens);
    EXPECT_EQ(first.blocks.size(), 3u);
    EXPECT_EQ(first.missedBlocks, 3);
    EXPECT_EQ(first.reusedBlocks, 0);
    auto events = takeEvents(kv);
    ASSERT_EQ(events.size(), 1u);
    auto const& stored = std::get<sim::KVCacheStoredData>(events[0]);
    EXPECT_FALSE(stored.parentHash.has_value());
    ASSERT_EQ(stored.blocks.size(), 2u);
    EXPECT_EQ(stored.blocks[0].blockHash, first.blockHashes[0]);
    EXPECT_EQ(stored.blocks[1].blockHash, first.blockHashes[1]);
    EXPECT_EQ(stored.blocks[0].tokens.size(), 4u);
    EXPECT_EQ(stored.blocks[0].tokens[1].tokenId, 101);
    EXPECT_EQ(stored.blocks[0].tokens[1].tokenExtraId, 0u);
    EXPECT_EQ(stored.blocks[0].priority, 35);
    EXPECT_EQ(stored.blocks[0].cacheLevel, 0);
    EXPECT_EQ(kv.getNumUsedBlocks(), 3);
    kv.release(first);
    EXPECT_EQ(kv.getNumUsedBlocks(), 0);
    EXPECT_EQ(kv.getNumCachedFreeBlocks(), 2); // the partial block is freed

    KvSequence second = runSequence(kv, tokens);
    EXPECT_EQ(second.reusedBlocks, 2);
    EXPECT_EQ(second.missedBlocks, 1);
    EXPECT_TRUE(takeEvents(kv).empty()); // nothing stored twice
    EXPECT_EQ(kv.getCounters().reusedBlocks, 2);
    EXPECT_EQ(kv.getCounters().missedBlocks, 4);
    EXPECT_EQ(kv.getCounters().allocTotalBlocks, kv.getCounters().allocNewBlocks + kv.getCounters().reusedBlocks);
    EXPECT_EQ(kv.checkConsistency(), "");
}

TEST(KvCacheManager, ReusesAtMostPromptMinusOneTokens)
{
    KvCacheManager kv(16, 4, true, false);
    auto const tokens = seqTokens(8, 7); // exactly 2 full blocks
    KvSequence first = runSequence(kv, tokens);
    kv.release(first);
    KvSequence second = runSequence(kv, tokens);
    EXPECT_EQ(second.reusedBlocks, 1); // the last block is recomputed so at least one token runs
    kv.release(second);
    EXPECT_EQ(kv.checkConsistency(), "");
}

TEST(KvCacheManager, EvictsLeastRecentlyUsedAndOnlyStoredBlocks)
{
    KvCacheManager kv(4, 4, true, true);
    KvSequence a = runSequence(kv, seqTokens(8, 0));   // 2 stored blocks
    KvSequence b = runSequence(kv, seqTokens(6, 500)); // 1 stored + 1 partial
    kv.release(a);
    kv.release(b);
    takeEvents(kv);
    EXPECT_EQ(kv.getNumCachedFreeBlocks(), 3);
    EXPECT_EQ(kv.getNumFreeBlocks(), 4);
    // 3 blocks needed: 1 uncached free block first, then the two LRU cached ones (a's, tail first).
    KvSequence c = runSequence(kv, seqTokens(12, 9000));
    auto events = takeEvents(kv);
    std::vector<std::uint64_t> removed;
    for (auto const& e : events)
    {
        if (auto const* r = std::get_if<sim::KVCacheRemovedData>(&e))
        {
            removed.insert(removed.end(), r->blockHashes.begin(), r->blockHashes.end());
        }
    }
    ASSERT_EQ(removed.size(), 2u);
    EXPECT_EQ(removed[0], a.blockHashes[1]); // a's tail block was released first -> least recently used
    EXPECT_EQ(removed[1], a.blockHashes[0]);
    EXPECT_EQ(kv.getNumCachedFreeBlocks(), 1); // b's stored block survives
    EXPECT_EQ(kv.checkConsistency(), "");
}

TEST(KvCacheManager, EvictsLowestRetentionPriorityFirst)
{
    KvCacheManager kv(4, 4, true, true);
    sim::KvCacheRetentionConfig low({sim::TokenRangeRetentionConfig{0, std::nullopt, 10}});
    sim::KvCacheRetentionConfig high({sim::TokenRangeRetentionConfig{0, std::nullopt, 90}});
    KvSequence lowSeq = runSequence(kv, seqTokens(8, 0), &low);
    KvSequence highSeq = runSequence(kv, seqTokens(8, 1000), &high);
    auto stored = takeEvents(kv);
    ASSERT_EQ(stored.size(), 2u);
    EXPECT_EQ(std::get<sim::KVCacheStoredData>(stored[0]).blocks[0].priority, 10);
    EXPECT_EQ(std::get<sim::KVCacheStoredData>(stored[1]).blocks[0].priority, 90);
    kv.release(highSeq); // the high-priority blocks are released first (older in LRU terms)
    kv.release(lowSeq);
    KvSequence c = runSequence(kv, seqTokens(8, 5000));
    auto events = takeEvents(kv);
    ASSERT_FALSE(events.empty());
    auto const& removed = std::get<sim::KVCacheRemovedData>(events[0]);
    ASSERT_EQ(removed.blockHashes.size(), 2u);
    std::set<std::uint64_t> const lowHashes(lowSeq.blockHashes.begin(), lowSeq.blockHashes.end());
    EXPECT_TRUE(lowHashes.count(removed.blockHashes[0]));
    EXPECT_TRUE(lowHashes.count(removed.blockHashes[1]));
}

TEST(KvCacheManager, ReuseWithNewPriorityEmitsUpdated)
{
    KvCacheManager kv(8, 4, true, true);
    auto const tokens = seqTokens(9, 40);
    KvSequence a = runSequence(kv, tokens);
    kv.release(a);
    takeEvents(kv);
    sim::KvCacheRetentionConfig keep({sim::TokenRangeRetentionConfig{0, std::nullopt, 80}});
    KvSequence b = runSequence(kv, tokens, &keep);
    auto events = takeEvents(kv);
    int updated = 0;
    for (auto const& e : events)
    {
        auto const* u = std::get_if<sim::KVCacheUpdatedData>(&e);
        ASSERT_NE(u, nullptr);
        ASSERT_TRUE(u->priority.has_value());
        EXPECT_EQ(u->priority->oldValue, 35);
        EXPECT_EQ(u->priority->newValue, 80);
        EXPECT_FALSE(u->cacheLevel.has_value());
        ++updated;
    }
    EXPECT_EQ(updated, 2);
}

TEST(KvCacheManager, ConcurrentDuplicateIsSharedNotStoredTwice)
{
    KvCacheManager kv(8, 4, true, true);
    auto const tokens = seqTokens(8, 70);
    KvSequence a;
    KvSequence b;
    for (KvSequence* s : {&a, &b})
    {
        s->promptLen = 8;
        KvCacheManager::computeBlockHashes(*s, tokens.data(), 8, 4);
        std::vector<sim::BlockId> matched;
        kv.findReusable(*s, 8, matched);
        EXPECT_TRUE(matched.empty());
        kv.admit(*s, matched, 8);
    }
    kv.extend(a, 8, tokens.data());
    kv.extend(b, 8, tokens.data());
    auto events = takeEvents(kv);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(std::get<sim::KVCacheStoredData>(events[0]).blocks.size(), 2u);
    EXPECT_EQ(a.blocks, b.blocks); // b now shares a's cached blocks
    EXPECT_EQ(kv.getNumUsedBlocks(), 2);
    kv.release(a);
    kv.release(b);
    EXPECT_EQ(kv.checkConsistency(), "");
}

TEST(KvCacheManager, NoReuseMeansNoHashingAndNoEvents)
{
    KvCacheManager kv(8, 4, false, true);
    auto const tokens = seqTokens(8, 70);
    KvSequence a = runSequence(kv, tokens);
    kv.release(a);
    KvSequence b = runSequence(kv, tokens);
    EXPECT_EQ(b.reusedBlocks, 0);
    EXPECT_TRUE(takeEvents(kv).empty());
    EXPECT_EQ(kv.getNumCachedFreeBlocks(), 0);
}

TEST(TimingModel, FormulaValues)
{
    sim::SimConfig config;
    sim::TimingModel model(config);
    EXPECT_DOUBLE_EQ(model.prefillMs(0), 0.0);
    EXPECT_NEAR(model.prefillMs(1000), 4.209989e-07 * 1e6 + 1.518344e-02 * 1000 + 1.650142e+01, 1e-9);
    EXPECT_NEAR(model.prefillMs(1), 4.209989e-07 + 1.518344e-02 + 1.650142e+01, 1e-12);
    EXPECT_NEAR(model.decodeMs(0.0), 5.74, 1e-12);
    EXPECT_NEAR(model.decodeMs(1.0), -25.74 + 54.01 + 5.74, 1e-12);
    EXPECT_NEAR(model.decodeMs(0.5), -25.74 * 0.25 + 54.01 * 0.5 + 5.74, 1e-12);
    EXPECT_NEAR(model.decodeMs(2.0), model.decodeMs(1.0), 1e-12); // x is clamped to [0, 1]

    config.decodeD0 = -50.0; // the formula goes negative: the floor of 1 ms applies
    config.speedupRatio = 4.0;
    sim::TimingModel floored(config);
    EXPECT_DOUBLE_EQ(floored.decodeMs(0.0), 1.0);
    auto const it = floored.iteration(100, true, 0.0, false);
    EXPECT_NEAR(it.totalMs, (floored.prefillMs(100) + 1.0) / 4.0, 1e-12);
    EXPECT_DOUBLE_EQ(floored.iteration(0, false, 0.3, false).totalMs, 0.0);
}

TEST(TokenSampler, DeterministicInRangeAndNeverEndId)
{
    sim::TokenSampler sampler(50, 7);
    auto const prompt = seqTokens(5, 1);
    auto const seed = sampler.sequenceSeed(std::nullopt, prompt.data(), prompt.size());
    EXPECT_EQ(seed, sampler.sequenceSeed(std::nullopt, prompt.data(), prompt.size()));
    EXPECT_NE(seed, sampler.sequenceSeed(std::uint64_t{7}, prompt.data(), 4));
    EXPECT_NE(seed, sampler.sequenceSeed(std::uint64_t{8}, prompt.data(), prompt.size()));
    for (int pos = 0; pos < 5000; ++pos)
    {
        auto const t = sampler.token(seed, pos, 3);
        EXPECT_GE(t, 0);
        EXPECT_LT(t, 50);
        EXPECT_NE(t, 3);
        EXPECT_EQ(t, sampler.token(seed, pos, 3));
    }
}

TEST(TokenSampler, GeometricLengthsHaveTheConfiguredMean)
{
    sim::TokenSampler sampler(32000, 1);
    double sum = 0;
    int const n = 20000;
    for (int i = 0; i < n; ++i)
    {
        auto const len = sampler.geometricLength(static_cast<std::uint64_t>(i) * 0x9e3779b97f4a7c15ull, 50.0);
        ASSERT_GE(len, 1);
        sum += static_cast<double>(len);
    }
    EXPECT_NEAR(sum / n, 50.0, 2.0);
    EXPECT_EQ(sampler.geometricLength(123, 1.0), 1);
}

TEST(Response, AccessorsThrowOnTheWrongKind)
{
    sim::Response error(3, std::string("bad"), sim::IdType{9});
    EXPECT_TRUE(error.hasError());
    EXPECT_EQ(error.getErrorMsg(), "bad");
    EXPECT_EQ(error.getClientId(), sim::IdType{9});
    EXPECT_THROW((void) error.getResult(), trtllm_sim::common::TllmException);
    sim::Result result;
    result.isFinal = true;
    sim::Response ok(4, result);
    EXPECT_FALSE(ok.hasError());
    EXPECT_TRUE(ok.getResult().isFinal);
    EXPECT_THROW((void) ok.getErrorMsg(), trtllm_sim::common::TllmException);
    EXPECT_THROW((void) ok.getErrorMsg(), std::runtime_error);
}

TEST(KVCacheEventManager, DropsOldestAndCountsDrops)
{
    sim::KVCacheEventManager manager(3, 128);
    std::vector<sim::KVCacheEventData> events;
    for (int i = 0; i < 5; ++i)
    {
        events.emplace_back(sim::KVCacheRemovedData{{static_cast<sim::IdType>(i)}});
    }
    manager.publish(std::move(events));
    EXPECT_EQ(manager.getNumDroppedEvents(), 2u);
    EXPECT_EQ(manager.getBufferCapacity(), 3u);
    auto drained = manager.getLatestEvents(std::chrono::milliseconds(0));
    ASSERT_EQ(drained.size(), 3u);
    EXPECT_EQ(drained[0].eventId, 2u);
    EXPECT_EQ(drained[2].eventId, 4u);
    EXPECT_EQ(drained[0].windowSize, 128);
    EXPECT_TRUE(manager.getLatestEvents(std::chrono::milliseconds(0)).empty());
    auto const t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(manager.getLatestEvents(std::chrono::milliseconds(30)).empty());
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(25));
    manager.shutdown();
    EXPECT_TRUE(manager.getLatestEvents().empty()); // no timeout, but returns on shutdown
}
