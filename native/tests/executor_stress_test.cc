// Long random runs, capacity policies, concurrency and lifecycle of the simulated executor.
#include "sim/executor_api.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <variant>

namespace sim = trtllm_sim::executor;
using trtllm_sim::common::TllmException;
using namespace std::chrono_literals;

namespace
{

struct Finished
{
    sim::VecTokens tokens; // generated tokens (streamed ones concatenated)
    sim::FinishReason reason{sim::FinishReason::kNOT_FINISHED};
    std::optional<sim::RequestPerfMetrics> perf;
    int responses{0};
    bool error{false};
};

/// Drains responses until `count` requests have finished; merges streamed chunks.
std::map<sim::IdType, Finished> drain(sim::Executor& ex, std::size_t count)
{
    std::map<sim::IdType, Finished> out;
    std::size_t done = 0;
    auto const deadline = std::chrono::steady_clock::now() + 30s;
    while (done < count && std::chrono::steady_clock::now() < deadline)
    {
        for (auto const& r : ex.awaitResponses(50ms))
        {
            auto& f = out[r.getRequestId()];
            ++f.responses;
            if (r.hasError())
            {
                f.error = true;
                ++done;
                continue;
            }
            auto const& result = r.getResult();
            auto const& t = result.outputTokenIds.at(0);
            f.tokens.insert(f.tokens.end(), t.begin(), t.end());
            if (result.isFinal)
            {
                f.reason = result.finishReasons.at(0);
                f.perf = result.requestPerfMetrics;
                ++done;
            }
        }
    }
    EXPECT_EQ(done, count) << "requests still running after 30 s";
    return out;
}

sim::Request makeRequest(std::mt19937& rng, int vocab, int maxPrompt, int maxOut, bool streamingAllowed)
{
    // Prompts share one of a few system prefixes, so blocks get reused.
    static constexpr int kPrefixes = 5;
    int const prefix = static_cast<int>(rng() % kPrefixes);
    int const prefixLen = static_cast<int>(rng() % static_cast<unsigned>(maxPrompt / 2 + 1));
    int const suffixLen = 1 + static_cast<int>(rng() % static_cast<unsigned>(maxPrompt / 2));
    sim::VecTokens tokens;
    for (int i = 0; i < prefixLen; ++i)
    {
        tokens.push_back((prefix * 97 + i * 13) % vocab);
    }
    for (int i = 0; i < suffixLen; ++i)
    {
        tokens.push_back(static_cast<sim::TokenIdType>(rng() % static_cast<unsigned>(vocab)));
    }
    int const maxTokens = 1 + static_cast<int>(rng() % static_cast<unsigned>(maxOut));
    sim::OutputConfig out;
    out.returnPerfMetrics = true;
    out.excludeInputFromOutput = true;
    bool const streaming = streamingAllowed && rng() % 2 == 0;
    sim::Request req(std::move(tokens), maxTokens, streaming, sim::SamplingConfig(), out);
    if (rng() % 2 == 0)
    {
        req.setEndId(static_cast<sim::SizeType32>(rng() % static_cast<unsigned>(vocab)));
    }
    if (rng() % 8 == 0)
    {
        req.setStopWords({sim::VecTokens{static_cast<sim::TokenIdType>(rng() % static_cast<unsigned>(vocab))}});
    }
    if (rng() % 6 == 0)
    {
        req.setPriority(static_cast<float>(rng() % 11) / 10.f);
    }
    if (rng() % 7 == 0)
    {
        req.setKvCacheRetentionConfig(sim::KvCacheRetentionConfig(
            {sim::TokenRangeRetentionConfig{0, 8, static_cast<sim::RetentionPriority>(rng() % 101)}},
            static_cast<sim::RetentionPriority>(rng() % 101)));
    }
    return req;
}

std::vector<sim::IterationStats> allStats(sim::Executor& ex)
{
    auto d = ex.getLatestIterationStats();
    return {d.begin(), d.end()};
}

} // namespace

TEST(ExecutorStress, RandomRunKeepsStatsEventsAndRequestsConsistent)
{
    sim::SimConfig config;
    config.virtualClock = true;
    config.tokensPerBlock = 4;
    config.numKvBlocks = 64;
    config.maxSeqLen = 200;
    config.vocabSize = 1000;
    config.meanOutputTokens = 15;
    config.checkInvariants = true;
    sim::ExecutorConfig execConfig;
    execConfig.setMaxBatchSize(12);
    execConfig.setMaxNumTokens(48);
    execConfig.setIterStatsMaxIterations(1000000);
    execConfig.setRequestStatsMaxIterations(1000000);
    sim::KvCacheConfig kv;
    kv.setEventBufferMaxSize(1000000);
    execConfig.setKvCacheConfig(kv);
    sim::Executor ex(config, sim::ModelType::kDECODER_ONLY, execConfig);

    std::mt19937 rng(1234);
    int const total = 400;
    std::map<sim::IdType, sim::SizeType32> maxTokensOf;
    std::set<sim::IdType> cancelled;
    for (int i = 0; i < total; ++i)
    {
        auto req = makeRequest(rng, 1000, 60, 60, true);
        auto const id = ex.enqueueRequest(req);
        maxTokensOf[id] = req.getMaxTokens();
        if (rng() % 20 == 0)
        {
            ex.cancelRequest(id);
            cancelled.insert(id);
        }
    }
    auto const finished = drain(ex, total);
    EXPECT_TRUE(ex.getInvariantViolations().empty()) << ex.getInvariantViolations().front();

    // Requests: one final each, finish reasons consistent with the outputs.
    sim::SizeType64 reused = 0;
    sim::SizeType64 missed = 0;
    sim::SizeType64 allocNew = 0;
    sim::SizeType64 allocTotal = 0;
    std::map<sim::FinishReason, int> reasons;
    for (auto const& [id, f] : finished)
    {
        ASSERT_FALSE(f.error) << "request " << id;
        ++reasons[f.reason];
        auto const n = static_cast<sim::SizeType32>(f.tokens.size());
        EXPECT_LE(n, maxTokensOf[id]);
        if (f.reason == sim::FinishReason::kLENGTH)
        {
            EXPECT_EQ(n, maxTokensOf[id]);
        }
        if (f.reason == sim::FinishReason::kCANCELLED)
        {
            EXPECT_TRUE(cancelled.count(id));
        }
        ASSERT_TRUE(f.perf.has_value());
        auto const& t = f.perf->timingMetrics;
        if (n > 0)
        {
            EXPECT_LE(t.arrivalTime, t.firstScheduledTime);
            EXPECT_LE(t.firstScheduledTime, t.firstTokenTime);
            EXPECT_LE(t.firstTokenTime, t.lastTokenTime);
        }
        reused += f.perf->kvCacheMetrics.numReusedBlocks;
        missed += f.perf->kvCacheMetrics.numMissedBlocks;
        allocNew += f.perf->kvCacheMetrics.numNewAllocatedBlocks;
        allocTotal += f.perf->kvCacheMetrics.numTotalAllocatedBlocks;
    }
    EXPECT_GT(reasons[sim::FinishReason::kLENGTH], 0);
    EXPECT_GT(reasons[sim::FinishReason::kEND_ID], 0);

    // Iteration stats: block accounting, limits, completions, cumulative counters.
    auto const stats = allStats(ex);
    ASSERT_FALSE(stats.empty());
    int completed = 0;
    sim::SizeType32 lastReused = 0;
    for (std::size_t i = 0; i < stats.size(); ++i)
    {
        auto const& s = stats[i];
        EXPECT_EQ(s.iter, i);
        ASSERT_TRUE(s.kvCacheStats.has_value());
        auto const& k = *s.kvCacheStats;
        EXPECT_EQ(k.usedNumBlocks + k.freeNumBlocks, k.maxNumBlocks);
        EXPECT_EQ(k.maxNumBlocks, 64);
        EXPECT_LE(k.usedNumBlocks, 64);
        EXPECT_EQ(k.allocTotalBlocks, k.allocNewBlocks + k.reusedBlocks);
        EXPECT_GE(k.reusedBlocks, lastReused);
        lastReused = k.reusedBlocks;
        auto const& ib = *s.inflightBatchingStats;
        EXPECT_LE(ib.numCtxTokens, 48);
        EXPECT_LE(ib.numScheduledRequests, 12);
        EXPECT_EQ(ib.numScheduledRequests, ib.numContextRequests + ib.numGenRequests);
        EXPECT_EQ(ib.numPausedRequests, 0);
        EXPECT_LE(s.numActiveRequests, 12);
        EXPECT_EQ(s.maxNumActiveRequests, 12);
        EXPECT_EQ(s.maxNumTokensRuntime, 48);
        EXPECT_EQ(s.gpuMemUsage, config.modelSizeBytes + static_cast<std::size_t>(k.usedNumBlocks) * config.kvBytesPerBlock);
        EXPECT_FALSE(s.specDecodingStats.has_value());
        completed += s.numCompletedRequests;
    }
    EXPECT_EQ(completed, total);
    auto const& last = *stats.back().kvCacheStats;
    EXPECT_EQ(last.usedNumBlocks, 0);
    EXPECT_EQ(last.reusedBlocks, reused);
    EXPECT_EQ(last.missedBlocks, missed);
    EXPECT_EQ(last.allocNewBlocks, allocNew);
    EXPECT_EQ(last.allocTotalBlocks, allocTotal);
    EXPECT_GT(last.reusedBlocks, 0);
    EXPECT_FLOAT_EQ(last.cacheHitRate, static_cast<float>(static_cast<double>(reused) / static_cast<double>(reused + missed)));

    // Request stats: every request completes exactly once.
    std::set<sim::IdType> completedIds;
    for (auto const& perIter : ex.getLatestRequestStats())
    {
        for (auto const& rs : perIter.requestStats)
        {
            if (rs.stage == sim::RequestStage::kGENERATION_COMPLETE)
            {
                EXPECT_TRUE(completedIds.insert(rs.id).second);
            }
        }
    }
    EXPECT_EQ(completedIds.size(), static_cast<std::size_t>(total));

    // Events: Created first, consecutive ids, Removed only for stored hashes, each hash stored once while cached.
    auto manager = *ex.getKVCacheEventManager();
    auto const events = manager->getLatestEvents(0ms);
    ASSERT_FALSE(events.empty());
    EXPECT_TRUE(std::holds_alternative<sim::KVCacheCreatedData>(events.front().data));
    std::set<sim::IdType> live;
    std::size_t storedCount = 0;
    std::size_t removedCount = 0;
    for (std::size_t i = 0; i < events.size(); ++i)
    {
        EXPECT_EQ(events[i].eventId, i);
        if (auto const* st = std::get_if<sim::KVCacheStoredData>(&events[i].data))
        {
            if (st->parentHash)
            {
                EXPECT_TRUE(live.count(*st->parentHash)) << "a stored block's parent is not cached";
            }
            for (auto const& b : st->blocks)
            {
                EXPECT_TRUE(live.insert(b.blockHash).second);
                EXPECT_EQ(b.tokens.size(), 4u);
                ++storedCount;
            }
        }
        else if (auto const* rm = std::get_if<sim::KVCacheRemovedData>(&events[i].data))
        {
            for (auto const h : rm->blockHashes)
            {
                EXPECT_EQ(live.erase(h), 1u);
                ++removedCount;
            }
        }
        else if (auto const* up = std::get_if<sim::KVCacheUpdatedData>(&events[i].data))
        {
            EXPECT_TRUE(live.count(up->blockHash));
        }
        EXPECT_LE(live.size(), 64u);
    }
    EXPECT_GT(storedCount, 0u);
    EXPECT_GT(removedCount, 0u);
    EXPECT_EQ(manager->getNumDroppedEvents(), 0u);
}

TEST(ExecutorStress, GuaranteedNoEvictNeverOverCommits)
{
    sim::SimConfig config;
    config.speedupRatio = 200; // real clock: the whole load is queued long before it drains
    config.tokensPerBlock = 4;
    config.numKvBlocks = 40;
    config.maxSeqLen = 120;
    config.vocabSize = 500;
    config.checkInvariants = true;
    sim::ExecutorConfig execConfig;
    execConfig.setMaxBatchSize(16);
    execConfig.setMaxNumTokens(64);
    execConfig.setIterStatsMaxIterations(1000000);
    execConfig.setRequestStatsMaxIterations(1000000);
    sim::KvCacheConfig kv;
    kv.setEnableBlockReuse(false); // no sharing: each request's reservation is exactly its own blocks
    execConfig.setKvCacheConfig(kv);
    sim::Executor ex(config, sim::ModelType::kDECODER_ONLY, execConfig);

    std::mt19937 rng(99);
    int const total = 300;
    std::map<sim::IdType, int> reservation;
    for (int i = 0; i < total; ++i)
    {
        auto req = makeRequest(rng, 500, 40, 70, false);
        auto const id = ex.enqueueRequest(req);
        reservation[id] = (static_cast<int>(req.getInputTokenIds().size()) + req.getMaxTokens() + 3) / 4;
    }
    auto const finished = drain(ex, total);
    EXPECT_EQ(finished.size(), static_cast<std::size_t>(total));
    EXPECT_TRUE(ex.getInvariantViolations().empty());

    int peak = 0;
    for (auto const& perIter : ex.getLatestRequestStats())
    {
        int reserved = 0;
        for (auto const& rs : perIter.requestStats)
        {
            // Requests that held blocks during the iteration: active ones and the ones it completed.
            if (rs.stage != sim::RequestStage::kQUEUED)
            {
                reserved += reservation[rs.id];
            }
        }
        EXPECT_LE(reserved, 40) << "iteration " << perIter.iter << " over-committed the KV cache";
        peak = std::max(peak, reserved);
    }
    EXPECT_GT(peak, 30); // the cache was actually under pressure
    for (auto const& s : allStats(ex))
    {
        EXPECT_LE(s.kvCacheStats->usedNumBlocks, 40);
        EXPECT_EQ(s.inflightBatchingStats->numPausedRequests, 0);
    }
}

TEST(ExecutorStress, MaxUtilizationPausesAndResumesWithIdenticalTokens)
{
    auto run = [](sim::CapacitySchedulerPolicy policy, std::vector<sim::IterationStats>* statsOut) {
        sim::SimConfig config;
        // Real clock, 100x faster than modelled: all 30 requests are queued before the first iterations end,
        // so the batch fills up however the threads are scheduled.
        config.speedupRatio = 100;
        config.tokensPerBlock = 4;
        config.numKvBlocks = 24;
        config.maxSeqLen = 64;
        config.vocabSize = 500;
        config.outputLengthMode = sim::SimConfig::OutputLengthMode::kMaxTokens;
        config.checkInvariants = true;
        sim::ExecutorConfig execConfig;
        execConfig.setMaxBatchSize(8);
        execConfig.setIterStatsMaxIterations(1000000);
        execConfig.setSchedulerConfig(sim::SchedulerConfig(policy));
        sim::Executor ex(config, sim::ModelType::kDECODER_ONLY, execConfig);
        for (int i = 0; i < 30; ++i)
        {
            sim::VecTokens p(10);
            for (int j = 0; j < 10; ++j)
            {
                p[static_cast<std::size_t>(j)] = (i * 37 + j * 11) % 500;
            }
            sim::OutputConfig out;
            out.excludeInputFromOutput = true;
            (void) ex.enqueueRequest(sim::Request(p, 30, i % 3 == 0, sim::SamplingConfig(), out));
        }
        auto finished = drain(ex, 30);
        EXPECT_TRUE(ex.getInvariantViolations().empty());
        if (statsOut)
        {
            *statsOut = allStats(ex);
        }
        return finished;
    };
    std::vector<sim::IterationStats> stats;
    auto const paused = run(sim::CapacitySchedulerPolicy::kMAX_UTILIZATION, &stats);
    auto const reference = run(sim::CapacitySchedulerPolicy::kGUARANTEED_NO_EVICT, nullptr);
    ASSERT_EQ(paused.size(), 30u);
    for (auto const& [id, f] : paused)
    {
        EXPECT_EQ(f.reason, sim::FinishReason::kLENGTH);
        EXPECT_EQ(f.tokens.size(), 30u); // streamed chunks are not resent after a pause
        EXPECT_EQ(f.tokens, reference.at(id).tokens);
    }
    int pauses = 0;
    int maxActive = 0;
    for (auto const& s : stats)
    {
        pauses += s.inflightBatchingStats->numPausedRequests;
        maxActive = std::max(maxActive, s.numActiveRequests);
        EXPECT_LE(s.kvCacheStats->usedNumBlocks, 24);
    }
    EXPECT_GT(pauses, 0);
    EXPECT_GT(maxActive, 2); // GUARANTEED_NO_EVICT fits only 2 (10 blocks each)
}

TEST(ExecutorStress, ConcurrentCallersSmoke)
{
    sim::SimConfig config;
    config.virtualClock = true;
    config.tokensPerBlock = 8;
    config.numKvBlocks = 512;
    config.vocabSize = 1000;
    config.maxSeqLen = 512;
    config.meanOutputTokens = 30;
    config.checkInvariants = true;
    sim::ExecutorConfig execConfig;
    execConfig.setMaxBatchSize(32);
    execConfig.setIterStatsMaxIterations(1000000); // the poller must not miss completions
    execConfig.setRequestStatsMaxIterations(10);
    sim::KvCacheConfig kv;
    kv.setEventBufferMaxSize(64);
    execConfig.setKvCacheConfig(kv);
    sim::Executor ex(config, sim::ModelType::kDECODER_ONLY, execConfig);

    std::atomic<bool> stop{false};
    std::atomic<long long> completedInStats{0};
    std::thread poller([&] {
        auto manager = *ex.getKVCacheEventManager();
        while (!stop.load())
        {
            for (auto const& s : ex.getLatestIterationStats())
            {
                completedInStats += s.numCompletedRequests;
            }
            (void) ex.getLatestRequestStats();
            (void) ex.getNumResponsesReady();
            (void) ex.getNumResponsesReady(sim::IdType{3});
            (void) manager->getLatestEvents(1ms);
            EXPECT_TRUE(ex.canEnqueueRequests());
            (void) ex.now();
        }
    });
    std::thread canceller([&] {
        std::mt19937 rng(5);
        while (!stop.load())
        {
            ex.cancelRequest(1 + rng() % 240);
            std::this_thread::sleep_for(200us);
        }
    });
    std::vector<std::thread> producers;
    std::atomic<int> finalsSeen{0};
    for (int t = 0; t < 4; ++t)
    {
        producers.emplace_back([&, t] {
            std::mt19937 rng(static_cast<unsigned>(t));
            std::vector<sim::IdType> ids;
            for (int i = 0; i < 60; ++i)
            {
                auto req = makeRequest(rng, 1000, 100, 120, true);
                ids.push_back(ex.enqueueRequest(req));
            }
            std::map<sim::IdType, int> finals;
            auto const deadline = std::chrono::steady_clock::now() + 30s;
            while (finals.size() < ids.size() && std::chrono::steady_clock::now() < deadline)
            {
                if (t % 2 == 0)
                {
                    auto per = ex.awaitResponses(ids, 20ms);
                    for (std::size_t i = 0; i < per.size(); ++i)
                    {
                        for (auto const& r : per[i])
                        {
                            EXPECT_EQ(r.getRequestId(), ids[i]);
                            if (r.hasError() || r.getResult().isFinal)
                            {
                                ++finals[ids[i]];
                            }
                        }
                    }
                }
                else
                {
                    for (auto const id : ids)
                    {
                        if (finals.count(id))
                        {
                            continue;
                        }
                        for (auto const& r : ex.awaitResponses(id, 1ms))
                        {
                            EXPECT_EQ(r.getRequestId(), id);
                            if (r.hasError() || r.getResult().isFinal)
                            {
                                ++finals[id];
                            }
                        }
                    }
                }
            }
            EXPECT_EQ(finals.size(), ids.size());
            for (auto const& [id, n] : finals)
            {
                EXPECT_EQ(n, 1) << "request " << id;
            }
            finalsSeen += static_cast<int>(finals.size());
        });
    }
    for (auto& p : producers)
    {
        p.join();
    }
    std::this_thread::sleep_for(5ms);
    stop = true;
    poller.join();
    canceller.join();
    for (auto const& s : ex.getLatestIterationStats())
    {
        completedInStats += s.numCompletedRequests;
    }
    EXPECT_EQ(finalsSeen.load(), 240);
    EXPECT_EQ(completedInStats.load(), 240);
    EXPECT_EQ(ex.getNumResponsesReady(), 0);
    EXPECT_TRUE(ex.getInvariantViolations().empty());
}

TEST(ExecutorLifecycle, ShutdownWakesWaitersIsIdempotentAndLaterCallsThrow)
{
    sim::SimConfig config; // real clock: a long request is still running at shutdown
    sim::ExecutorConfig execConfig;
    sim::KvCacheConfig kv;
    kv.setEventBufferMaxSize(10);
    execConfig.setKvCacheConfig(kv);
    auto ex = std::make_unique<sim::Executor>(config, sim::ModelType::kDECODER_ONLY, execConfig);
    auto manager = *ex->getKVCacheEventManager();
    EXPECT_EQ(manager->getLatestEvents(0ms).size(), 1u); // Created
    (void) ex->enqueueRequest(sim::Request(sim::VecTokens(40, 1), 2000));

    std::atomic<bool> awaitReturned{false};
    std::atomic<bool> eventsReturned{false};
    std::thread awaiter([&] {
        try
        {
            (void) ex->awaitResponses(); // no timeout: only shutdown ends it
        }
        catch (TllmException const&)
        {
            // called after shutdown (only if this thread started late): also fine
        }
        awaitReturned = true;
    });
    std::thread eventWaiter([&] {
        while (!eventsReturned.load())
        {
            // The running request may store blocks; keep waiting until shutdown ends the wait empty-handed.
            if (manager->getLatestEvents().empty())
            {
                eventsReturned = true;
            }
        }
    });
    std::this_thread::sleep_for(30ms);
    EXPECT_FALSE(awaitReturned.load());
    auto const t0 = std::chrono::steady_clock::now();
    ex->shutdown();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s); // interrupts the modelled sleep
    awaiter.join();
    eventWaiter.join();
    EXPECT_TRUE(awaitReturned.load());
    EXPECT_TRUE(eventsReturned.load());
    EXPECT_NO_THROW(ex->shutdown());
    EXPECT_FALSE(ex->canEnqueueRequests());
    EXPECT_THROW((void) ex->enqueueRequest(sim::Request({1, 2}, 2)), TllmException);
    EXPECT_THROW((void) ex->enqueueRequests({sim::Request({1, 2}, 2)}), TllmException);
    EXPECT_THROW((void) ex->awaitResponses(), TllmException);
    EXPECT_THROW((void) ex->awaitResponses(sim::IdType{1}), TllmException);
    EXPECT_THROW((void) ex->awaitResponses(std::vector<sim::IdType>{1}, 1ms), TllmException);
    EXPECT_THROW((void) ex->getNumResponsesReady(), TllmException);
    EXPECT_THROW(ex->cancelRequest(1), TllmException);
    EXPECT_THROW((void) ex->getLatestIterationStats(), TllmException);
    EXPECT_THROW((void) ex->getLatestRequestStats(), TllmException);
    EXPECT_THROW((void) ex->getKVCacheEventManager(), TllmException);
    EXPECT_NO_THROW((void) ex->now());
    (void) manager->getLatestEvents(); // returns at once after shutdown (no timeout needed)
    ex.reset(); // the destructor after shutdown is fine
}

TEST(ExecutorLifecycle, MaxQueueSizeBoundsTheWaitingQueue)
{
    sim::SimConfig config; // real clock
    sim::ExecutorConfig execConfig;
    execConfig.setMaxBatchSize(1);
    execConfig.setMaxQueueSize(2);
    sim::Executor ex(config, sim::ModelType::kDECODER_ONLY, execConfig);
    auto const running = ex.enqueueRequest(sim::Request(sim::VecTokens(16, 1), 500, true));
    auto const first = ex.awaitResponses(running, 5000ms); // admitted: no longer waiting
    ASSERT_FALSE(first.empty());
    (void) ex.enqueueRequest(sim::Request(sim::VecTokens(16, 2), 5));
    (void) ex.enqueueRequest(sim::Request(sim::VecTokens(16, 3), 5));
    try
    {
        (void) ex.enqueueRequest(sim::Request(sim::VecTokens(16, 4), 5));
        FAIL() << "the third waiting request should be refused";
    }
    catch (TllmException const& e)
    {
        EXPECT_NE(std::string(e.what()).find("queue size of 2"), std::string::npos) << e.what();
    }
    // Invalid requests are answered at once and do not count against the queue.
    auto const invalid = ex.enqueueRequest(sim::Request({}, 5));
    auto const answer = ex.awaitResponses(invalid, 1000ms);
    ASSERT_EQ(answer.size(), 1u);
    EXPECT_TRUE(answer[0].hasError());
    ex.shutdown();
}
