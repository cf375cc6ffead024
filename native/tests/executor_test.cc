// Behaviour of the simulated executor through its public API: finish reasons, errors, streaming,
// determinism, timing and perf metrics, chunked prefill, prefix reuse and KV cache events, stats.
#include "sim/executor_api.h"
#include "sim/timing_model.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <thread>
#include <variant>

namespace sim = trtllm_sim::executor;
using trtllm_sim::common::TllmException;
using namespace std::chrono_literals;

namespace
{

sim::SimConfig testSim()
{
    sim::SimConfig c;
    c.virtualClock = true;
    c.outputLengthMode = sim::SimConfig::OutputLengthMode::kMaxTokens;
    c.tokensPerBlock = 8;
    c.numKvBlocks = 256;
    c.maxSeqLen = 4096;
    c.vocabSize = 1000;
    c.checkInvariants = true;
    return c;
}

sim::ExecutorConfig testConfig(std::size_t eventBuffer = 0)
{
    sim::ExecutorConfig c;
    sim::KvCacheConfig kv;
    kv.setEventBufferMaxSize(eventBuffer);
    c.setKvCacheConfig(kv);
    c.setIterStatsMaxIterations(100000);
    return c;
}

sim::VecTokens prompt(int n, int seed)
{
    sim::VecTokens t(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
    {
        t[static_cast<std::size_t>(i)] = static_cast<sim::TokenIdType>((seed * 131 + i * 17 + 3) % 997);
    }
    return t;
}

sim::Request request(sim::VecTokens tokens, int maxTokens, bool streaming = false, bool perf = true)
{
    sim::OutputConfig out;
    out.returnPerfMetrics = perf;
    out.excludeInputFromOutput = true;
    return sim::Request(std::move(tokens), maxTokens, streaming, sim::SamplingConfig(), out);
}

/// Collects responses until every id got a final one.
std::map<sim::IdType, std::vector<sim::Response>> collect(sim::Executor& ex, std::vector<sim::IdType> const& ids)
{
    std::map<sim::IdType, std::vector<sim::Response>> out;
    std::set<sim::IdType> pending(ids.begin(), ids.end());
    auto const deadline = std::chrono::steady_clock::now() + 20s;
    while (!pending.empty())
    {
        if (std::chrono::steady_clock::now() > deadline)
        {
            ADD_FAILURE() << pending.size() << " requests did not finish";
            break;
        }
        for (auto& r : ex.awaitResponses(100ms))
        {
            sim::IdType const id = r.getRequestId();
            bool const final = r.hasError() || r.getResult().isFinal;
            out[id].push_back(std::move(r));
            if (final)
            {
                pending.erase(id);
            }
        }
    }
    return out;
}

sim::Response runOne(sim::Executor& ex, sim::Request const& req)
{
    auto const id = ex.enqueueRequest(req);
    auto all = collect(ex, {id});
    EXPECT_EQ(all[id].size(), 1u);
    return all[id].back();
}

sim::VecTokens generated(std::vector<sim::Response> const& responses)
{
    sim::VecTokens out;
    for (auto const& r : responses)
    {
        auto const& t = r.getResult().outputTokenIds.at(0);
        out.insert(out.end(), t.begin(), t.end());
    }
    return out;
}

std::vector<sim::IterationStats> allStats(sim::Executor& ex)
{
    auto d = ex.getLatestIterationStats();
    return {d.begin(), d.end()};
}

double ms(sim::RequestPerfMetrics::TimePoint::duration d)
{
    return std::chrono::duration<double, std::milli>(d).count();
}

} // namespace

TEST(Executor, RequestIdsStartAtOneAndRunToLength)
{
    sim::Executor ex(testSim(), sim::ModelType::kDECODER_ONLY, testConfig());
    sim::OutputConfig withInput;
    auto const id = ex.enqueueRequest(sim::Request(prompt(20, 1), 10, false, sim::SamplingConfig(), withInput));
    EXPECT_EQ(id, 1u);
    auto all = collect(ex, {id});
    ASSERT_EQ(all[id].size(), 1u);
    auto const& result = all[id][0].getResult();
    EXPECT_TRUE(result.isFinal);
    EXPECT_TRUE(result.isSequenceFinal);
    ASSERT_EQ(result.finishReasons.size(), 1u);
    EXPECT_EQ(result.finishReasons[0], sim::FinishReason::kLENGTH);
    ASSERT_EQ(result.outputTokenIds.size(), 1u);
    ASSERT_EQ(result.outputTokenIds[0].size(), 30u); // input first, then 10 tokens
    auto const p = prompt(20, 1);
    EXPECT_TRUE(std::equal(p.begin(), p.end(), result.outputTokenIds[0].begin()));
    EXPECT_FALSE(result.requestPerfMetrics.has_value()); // not asked for
    EXPECT_EQ(result.decodingIter, 10);
    EXPECT_FLOAT_EQ(result.avgDecodedTokensPerIter, 1.f);
    EXPECT_EQ(ex.enqueueRequest(request(prompt(4, 2), 1)), 2u);
    EXPECT_TRUE(ex.getInvariantViolations().empty());
}

TEST(Executor, StreamingGivesNewTokensAndMatchesNonStreaming)
{
    sim::Executor ex(testSim(), sim::ModelType::kDECODER_ONLY, testConfig());
    auto const streamId = ex.enqueueRequest(request(prompt(33, 5), 25, true));
    auto const wholeId = ex.enqueueRequest(request(prompt(33, 5), 25, false));
    auto all = collect(ex, {streamId, wholeId});
    auto const& stream = all[streamId];
    ASSERT_EQ(stream.size(), 25u);
    for (std::size_t i = 0; i < stream.size(); ++i)
    {
        auto const& r = stream[i].getResult();
        EXPECT_EQ(r.outputTokenIds.at(0).size(), 1u);
        EXPECT_EQ(r.isFinal, i + 1 == stream.size());
        EXPECT_EQ(r.finishReasons.at(0), i + 1 == stream.size() ? sim::FinishReason::kLENGTH : sim::FinishReason::kNOT_FINISHED);
        ASSERT_TRUE(r.requestPerfMetrics.has_value()); // on every response
        EXPECT_EQ(*r.requestPerfMetrics->iter, *r.requestPerfMetrics->lastIter);
    }
    ASSERT_EQ(all[wholeId].size(), 1u);
    EXPECT_EQ(generated(stream), all[wholeId][0].getResult().outputTokenIds.at(0));
}

TEST(Executor, TokensAreDeterministicPerSeed)
{
    auto run = [](std::uint64_t baseSeed, std::optional<std::uint64_t> requestSeed, sim::VecTokens p) {
        auto config = testSim();
        config.seed = baseSeed;
        sim::Executor ex(config, sim::ModelType::kDECODER_ONLY, testConfig());
        auto req = request(std::move(p), 40);
        sim::SamplingConfig sampling;
        sampling.setSeed(requestSeed);
        req.setSamplingConfig(sampling);
        return runOne(ex, req).getResult().outputTokenIds.at(0);
    };
    auto const a = run(1, std::nullopt, prompt(10, 1));
    EXPECT_EQ(a.size(), 40u);
    EXPECT_EQ(a, run(1, std::nullopt, prompt(10, 1)));
    EXPECT_NE(a, run(2, std::nullopt, prompt(10, 1)));  // another base seed
    EXPECT_NE(a, run(1, std::nullopt, prompt(10, 2)));  // another prompt
    auto const seeded = run(1, 77, prompt(10, 1));
    EXPECT_NE(a, seeded);
    EXPECT_EQ(seeded, run(9, 77, prompt(10, 1)));       // the request seed wins over the base seed
}

TEST(Executor, EndIdEndsSequencesWithTheConfiguredMeanLength)
{
    auto config = testSim();
    config.outputLengthMode = sim::SimConfig::OutputLengthMode::kEndIdGeometric;
    config.meanOutputTokens = 20;
    config.maxSeqLen = 8192;
    config.numKvBlocks = 4096;
    sim::Executor ex(config, sim::ModelType::kDECODER_ONLY, testConfig());
    std::vector<sim::IdType> ids;
    for (int i = 0; i < 300; ++i)
    {
        auto req = request(prompt(8, i), 2000);
        req.setEndId(7);
        ids.push_back(ex.enqueueRequest(req));
    }
    auto const noEnd = ex.enqueueRequest(request(prompt(8, 1), 50)); // no end id -> LENGTH
    ids.push_back(noEnd);
    auto all = collect(ex, ids);
    double total = 0;
    int endIds = 0;
    for (int i = 0; i < 300; ++i)
    {
        auto const& r = all[ids[static_cast<std::size_t>(i)]].back().getResult();
        auto const& tokens = r.outputTokenIds.at(0);
        EXPECT_GE(tokens.size(), 1u);
        EXPECT_EQ(std::count(tokens.begin(), tokens.end(), 7), 0); // the end id is not part of the output
        endIds += r.finishReasons.at(0) == sim::FinishReason::kEND_ID;
        total += static_cast<double>(tokens.size());
    }
    EXPECT_EQ(endIds, 300);
    EXPECT_NEAR(total / 300, 20.0, 4.0);
    EXPECT_EQ(all[noEnd].back().getResult().finishReasons.at(0), sim::FinishReason::kLENGTH);
    EXPECT_EQ(all[noEnd].back().getResult().outputTokenIds.at(0).size(), 50u);
}

TEST(Executor, StopWordsEndTheSequenceAndAreIncluded)
{
    sim::Executor ex(testSim(), sim::ModelType::kDECODER_ONLY, testConfig());
    auto const full = runOne(ex, request(prompt(12, 3), 30)).getResult().outputTokenIds.at(0);
    ASSERT_EQ(full.size(), 30u);
    // A two-token stop word taken from positions 9 and 10 of the known output.
    std::size_t stopAt = 9;
    for (std::size_t i = 1; i < 9; ++i)
    {
        if (full[i - 1] == full[9] && full[i] == full[10])
        {
            stopAt = i - 1; // an earlier occurrence would match first
            break;
        }
    }
    auto req = request(prompt(12, 3), 30, true);
    req.setStopWords({sim::VecTokens{5000 % 1000, 1}, sim::VecTokens{full[stopAt], full[stopAt + 1]}});
    auto const id = ex.enqueueRequest(req);
    auto all = collect(ex, {id});
    auto const out = generated(all[id]);
    EXPECT_EQ(all[id].back().getResult().finishReasons.at(0), sim::FinishReason::kSTOP_WORDS);
    ASSERT_EQ(out.size(), stopAt + 2);
    EXPECT_TRUE(std::equal(out.begin(), out.end(), full.begin()));
}

TEST(Executor, InvalidRequestsGetErrorResponses)
{
    auto config = testSim();
    config.maxSeqLen = 100;
    config.numKvBlocks = 64;
    sim::Executor ex(config, sim::ModelType::kDECODER_ONLY, testConfig());
    std::vector<std::pair<sim::Request, std::string>> cases;
    cases.emplace_back(request({}, 5), "empty");
    cases.emplace_back(request(prompt(5, 1), 0), "maxTokens");
    cases.emplace_back(request(prompt(60, 1), 41), "max sequence length");
    cases.emplace_back(request(sim::VecTokens{1, 2, 1000}, 5), "vocabulary");
    cases.emplace_back(request(sim::VecTokens{1, -1}, 5), "vocabulary");
    {
        auto r = request(prompt(5, 1), 5);
        r.setSamplingConfig(sim::SamplingConfig(2));
        cases.emplace_back(r, "beam width");
    }
    {
        auto r = request(prompt(5, 1), 5);
        sim::SamplingConfig s;
        s.setNumReturnSequences(3);
        r.setSamplingConfig(s);
        cases.emplace_back(r, "numReturnSequences");
    }
    {
        auto r = request(prompt(5, 1), 5);
        r.setPriority(-0.5f);
        cases.emplace_back(r, "priority");
    }
    {
        auto r = request(prompt(5, 1), 5);
        r.setPriority(1.5f);
        cases.emplace_back(r, "priority");
    }
    {
        auto r = request(prompt(5, 1), 5);
        r.setEndId(5000);
        cases.emplace_back(r, "endId");
    }
    {
        auto r = request(prompt(5, 1), 5);
        r.setAllottedTimeMs(std::chrono::milliseconds(-3));
        cases.emplace_back(r, "allottedTimeMs");
    }
    {
        auto r = request(prompt(5, 1), 5);
        r.setStopWords({sim::VecTokens{4, 4000}});
        cases.emplace_back(r, "stop word");
    }
    {
        auto r = request(prompt(5, 1), 5);
        r.setKvCacheRetentionConfig(sim::KvCacheRetentionConfig({sim::TokenRangeRetentionConfig{0, 4, 101}}));
        cases.emplace_back(r, "retention");
    }
    {
        auto r = request(prompt(5, 1), 5);
        sim::SamplingConfig s;
        s.setTopP(1.5f);
        r.setSamplingConfig(s);
        cases.emplace_back(r, "topP");
    }
    std::vector<sim::IdType> ids;
    for (auto const& c : cases)
    {
        ASSERT_NO_THROW(ids.push_back(ex.enqueueRequest(c.first)));
    }
    auto const good = ex.enqueueRequest(request(prompt(5, 1), 5));
    ids.push_back(good);
    auto all = collect(ex, ids);
    for (std::size_t i = 0; i < cases.size(); ++i)
    {
        auto const& responses = all[ids[i]];
        ASSERT_EQ(responses.size(), 1u) << cases[i].second;
        ASSERT_TRUE(responses[0].hasError()) << cases[i].second;
        EXPECT_NE(responses[0].getErrorMsg().find(cases[i].second), std::string::npos)
            << "expected '" << cases[i].second << "' in: " << responses[0].getErrorMsg();
        EXPECT_THROW((void) responses[0].getResult(), TllmException);
    }
    EXPECT_FALSE(all[good][0].hasError());

    // Limits that depend on the executor configuration.
    auto small = testSim();
    small.numKvBlocks = 4; // 32 tokens of KV
    auto noChunk = testConfig();
    noChunk.setEnableChunkedContext(false);
    noChunk.setMaxNumTokens(16);
    sim::Executor ex2(small, sim::ModelType::kDECODER_ONLY, noChunk);
    auto const tooLongPrompt = ex2.enqueueRequest(request(prompt(17, 1), 2));
    auto const tooManyBlocks = ex2.enqueueRequest(request(prompt(16, 1), 17));
    auto all2 = collect(ex2, {tooLongPrompt, tooManyBlocks});
    ASSERT_TRUE(all2[tooLongPrompt][0].hasError());
    EXPECT_NE(all2[tooLongPrompt][0].getErrorMsg().find("maxNumTokens"), std::string::npos);
    ASSERT_TRUE(all2[tooManyBlocks][0].hasError());
    EXPECT_NE(all2[tooManyBlocks][0].getErrorMsg().find("blocks"), std::string::npos);
}

TEST(Executor, InvalidConfigurationsThrow)
{
    auto noBlocks = testSim();
    noBlocks.numKvBlocks = 0;
    EXPECT_THROW(sim::Executor(noBlocks, sim::ModelType::kDECODER_ONLY, testConfig()), TllmException);
    auto tinyKv = testConfig();
    sim::KvCacheConfig kv;
    kv.setMaxTokens(7); // less than one block of 8 tokens
    tinyKv.setKvCacheConfig(kv);
    EXPECT_THROW(sim::Executor(testSim(), sim::ModelType::kDECODER_ONLY, tinyKv), TllmException);
    EXPECT_THROW(sim::Executor(testSim(), sim::ModelType::kENCODER_DECODER, testConfig()), TllmException);
    auto zeroBatch = testConfig();
    zeroBatch.setMaxBatchSize(0);
    EXPECT_THROW(sim::Executor(testSim(), sim::ModelType::kDECODER_ONLY, zeroBatch), TllmException);
    auto badSpeedup = testSim();
    badSpeedup.speedupRatio = 0;
    EXPECT_THROW(sim::Executor(badSpeedup, sim::ModelType::kDECODER_ONLY, testConfig()), TllmException);
    auto hugeBlocks = testSim();
    hugeBlocks.tokensPerBlock = 65537; // the block arithmetic is int32
    EXPECT_THROW(sim::Executor(hugeBlocks, sim::ModelType::kDECODER_ONLY, testConfig()), TllmException);

    // KvCacheConfig::maxTokens sets the block count.
    sim::KvCacheConfig sized;
    sized.setMaxTokens(800);
    auto config = testConfig();
    config.setKvCacheConfig(sized);
    sim::Executor ex(testSim(), sim::ModelType::kDECODER_ONLY, config);
    EXPECT_EQ(ex.getMaxNumBlocks(), 100);
    EXPECT_EQ(ex.getTokensPerBlock(), 8);
}

TEST(Executor, CancelEndsActiveAndQueuedRequests)
{
    auto config = testSim();
    config.virtualClock = false; // real time: ~6 ms per decode step leaves room to cancel
    auto execConfig = testConfig();
    execConfig.setMaxBatchSize(1);
    sim::Executor ex(config, sim::ModelType::kDECODER_ONLY, execConfig);
    auto const running = ex.enqueueRequest(request(prompt(16, 1), 1000, true));
    auto const queued = ex.enqueueRequest(request(prompt(16, 2), 10));
    auto first = ex.awaitResponses(running, 5000ms); // the first token is out: it runs
    ASSERT_FALSE(first.empty());
    ex.cancelRequest(queued);
    ex.cancelRequest(running);
    ex.cancelRequest(12345); // unknown ids are ignored
    auto all = collect(ex, {running, queued});
    auto const& last = all[running].back().getResult();
    EXPECT_TRUE(last.isFinal);
    EXPECT_EQ(last.finishReasons.at(0), sim::FinishReason::kCANCELLED);
    EXPECT_LT(generated(first).size() + generated(all[running]).size(), 1000u);
    auto const& q = all[queued].back().getResult();
    EXPECT_EQ(q.finishReasons.at(0), sim::FinishReason::kCANCELLED);
    EXPECT_TRUE(q.outputTokenIds.at(0).empty());
    ASSERT_TRUE(q.requestPerfMetrics.has_value());
    EXPECT_FALSE(q.requestPerfMetrics->firstIter.has_value()); // never scheduled
    EXPECT_EQ(q.requestPerfMetrics->timingMetrics.firstTokenTime.time_since_epoch().count(), 0);
}

TEST(Executor, AllottedTimeEndsRequestsOnTheSimClock)
{
    auto execConfig = testConfig();
    execConfig.setMaxBatchSize(1);
    {
        sim::Executor ex(testSim(), sim::ModelType::kDECODER_ONLY, execConfig);
        auto const before = ex.now();
        auto running = request(prompt(16, 1), 1000);
        running.setAllottedTimeMs(100ms);
        auto const runningId = ex.enqueueRequest(running);
        auto all = collect(ex, {runningId});
        auto const& r = all[runningId].back().getResult();
        EXPECT_EQ(r.finishReasons.at(0), sim::FinishReason::kTIMED_OUT);
        auto const n = r.outputTokenIds.at(0).size();
        EXPECT_GT(n, 5u);
        EXPECT_LT(n, 20u); // ~16.7 ms prefill then ~6 ms per token
        // Ended at the first iteration that started at or after the deadline.
        auto const& timing = r.requestPerfMetrics->timingMetrics;
        EXPECT_LT(ms(timing.lastTokenTime - before), 100.0 + 10.0); // within one decode step of the deadline
        EXPECT_GE(ms(ex.now() - before), 100.0);
    }
    {
        // A request stuck in the queue (batch size 1, a long request running) times out there. Real clock
        // (10x faster than modelled), so the long request really is running whatever the thread scheduling.
        auto realTime = testSim();
        realTime.virtualClock = false;
        realTime.speedupRatio = 10;
        sim::Executor ex(realTime, sim::ModelType::kDECODER_ONLY, execConfig);
        auto const longId = ex.enqueueRequest(request(prompt(16, 1), 2000, true));
        ASSERT_FALSE(ex.awaitResponses(longId, 5000ms).empty()); // running
        auto queued = request(prompt(16, 2), 10);
        queued.setAllottedTimeMs(50ms);
        auto const queuedId = ex.enqueueRequest(queued);
        auto const answer = ex.awaitResponses(queuedId, 10000ms);
        ASSERT_EQ(answer.size(), 1u);
        auto const& q = answer[0].getResult();
        EXPECT_EQ(q.finishReasons.at(0), sim::FinishReason::kTIMED_OUT);
        EXPECT_TRUE(q.outputTokenIds.at(0).empty());
        EXPECT_FALSE(q.requestPerfMetrics->firstIter.has_value());
        ex.cancelRequest(longId);
        auto rest = collect(ex, {longId});
        EXPECT_EQ(rest[longId].back().getResult().finishReasons.at(0), sim::FinishReason::kCANCELLED);
    }
}

TEST(Executor, ChunkedPrefillSpreadsALongPromptOverIterations)
{
    auto execConfig = testConfig();
    execConfig.setMaxNumTokens(64);
    sim::Executor ex(testSim(), sim::ModelType::kDECODER_ONLY, execConfig);
    auto const resp = runOne(ex, request(prompt(300, 4), 3));
    auto const& result = resp.getResult();
    EXPECT_EQ(result.finishReasons.at(0), sim::FinishReason::kLENGTH);
    auto const stats = allStats(ex);
    std::vector<int> ctxTokens;
    for (auto const& s : stats)
    {
        ASSERT_TRUE(s.inflightBatchingStats.has_value());
        EXPECT_LE(s.inflightBatchingStats->numCtxTokens, 64);
        if (s.inflightBatchingStats->numCtxTokens > 0)
        {
            ctxTokens.push_back(s.inflightBatchingStats->numCtxTokens);
        }
    }
    EXPECT_EQ(ctxTokens, (std::vector<int>{64, 64, 64, 64, 44}));
    auto const& perf = *result.requestPerfMetrics;
    EXPECT_EQ(*perf.firstIter, stats.front().iter);
    EXPECT_EQ(result.decodingIter, 3);
    // The first token comes from the iteration that completed the prefill (the 5th).
    EXPECT_EQ(*perf.lastIter - *perf.firstIter, 6u);
    double prefillSum = 0;
    for (std::size_t i = 0; i < 5; ++i)
    {
        prefillSum += stats[i].iterLatencyMS;
    }
    EXPECT_NEAR(ms(perf.timingMetrics.firstTokenTime - perf.timingMetrics.firstScheduledTime), prefillSum, 1e-3);
}

TEST(Executor, PerfMetricsFollowTheTimingModelOnTheVirtualClock)
{
    auto config = testSim();
    config.numKvBlocks = 64;
    config.speedupRatio = 2.0;
    sim::Executor ex(config, sim::ModelType::kDECODER_ONLY, testConfig());
    sim::TimingModel const model(config);
    auto const enqueued = ex.now();
    int const P = 100;
    int const M = 20;
    auto const resp = runOne(ex, request(prompt(P, 9), M));
    auto const& result = resp.getResult();
    ASSERT_TRUE(result.requestPerfMetrics.has_value());
    auto const& perf = *result.requestPerfMetrics;
    auto const& t = perf.timingMetrics;
    EXPECT_LE(enqueued, t.arrivalTime);
    EXPECT_LE(t.arrivalTime, t.firstScheduledTime);
    EXPECT_LT(t.firstScheduledTime, t.firstTokenTime);
    EXPECT_LT(t.firstTokenTime, t.lastTokenTime);
    EXPECT_LE(t.lastTokenTime, ex.now());
    EXPECT_EQ(t.arrivalTime, t.firstScheduledTime); // scheduled in the iteration that pulled it
    EXPECT_NEAR(ms(t.firstTokenTime - t.firstScheduledTime), model.prefillMs(P) / 2.0, 1e-5);
    // Generation step j computes the KV of token P + j: x = ceil((P + j) / 8) / 64 blocks.
    double decode = 0;
    for (int j = 1; j < M; ++j)
    {
        double const blocks = std::ceil((P + j) / 8.0);
        decode += model.decodeMs(blocks / 64.0) / 2.0;
    }
    EXPECT_NEAR(ms(t.lastTokenTime - t.firstTokenTime), decode, 1e-4);
    EXPECT_EQ(*perf.firstIter, 0u);
    EXPECT_EQ(*perf.lastIter, static_cast<sim::IterationType>(M - 1));
    EXPECT_EQ(*perf.iter, *perf.lastIter);
    EXPECT_EQ(result.decodingIter, M);
    EXPECT_EQ(perf.kvCacheMetrics.numMissedBlocks, 13); // ceil(100 / 8)
    EXPECT_EQ(perf.kvCacheMetrics.numReusedBlocks, 0);
    EXPECT_EQ(perf.kvCacheMetrics.numNewAllocatedBlocks, 15); // ceil(119 / 8): KV of all but the last token
    EXPECT_EQ(perf.kvCacheMetrics.numTotalAllocatedBlocks, 15);
    EXPECT_EQ(perf.timingMetrics.kvCacheSize, 0u);

    auto const stats = allStats(ex);
    ASSERT_EQ(stats.size(), static_cast<std::size_t>(M));
    EXPECT_NEAR(stats[0].iterLatencyMS, model.prefillMs(P) / 2.0, 1e-5);
    EXPECT_EQ(stats[0].numNewActiveRequests, 1);
    EXPECT_EQ(stats[0].inflightBatchingStats->numContextRequests, 1);
    EXPECT_EQ(stats[0].inflightBatchingStats->numCtxTokens, P);
    EXPECT_EQ(stats[1].inflightBatchingStats->numGenRequests, 1);
    EXPECT_NEAR(stats[1].iterLatencyMS, model.decodeMs(std::ceil((P + 1) / 8.0) / 64.0) / 2.0, 1e-5);
    EXPECT_EQ(stats.back().numCompletedRequests, 1);
    for (std::size_t i = 0; i < stats.size(); ++i)
    {
        EXPECT_EQ(stats[i].iter, i);
        EXPECT_EQ(stats[i].timestamp.size(), 26u); // MM-DD-YYYY HH:MM:SS.uuuuuu
        EXPECT_EQ(stats[i].timestamp[19], '.');
        EXPECT_EQ(stats[i].timestamp[2], '-');
        EXPECT_EQ(stats[i].timestamp[10], ' ');
    }
}

TEST(Executor, PrefixReuseRaisesReusedBlocksAndStoresOnce)
{
    sim::Executor ex(testSim(), sim::ModelType::kDECODER_ONLY, testConfig(10000));
    auto manager = ex.getKVCacheEventManager();
    ASSERT_TRUE(manager.has_value());
    auto const p = prompt(64, 11);
    auto const first = runOne(ex, request(p, 4));
    auto statsAfterFirst = allStats(ex);
    auto events1 = (*manager)->getLatestEvents(0ms);
    auto const second = runOne(ex, request(p, 4));
    auto statsAfterSecond = allStats(ex);
    auto events2 = (*manager)->getLatestEvents(0ms);

    auto const& m1 = first.getResult().requestPerfMetrics->kvCacheMetrics;
    auto const& m2 = second.getResult().requestPerfMetrics->kvCacheMetrics;
    EXPECT_EQ(m1.numReusedBlocks, 0);
    EXPECT_EQ(m1.numMissedBlocks, 8);
    EXPECT_FLOAT_EQ(m1.kvCacheHitRate, 0.f);
    EXPECT_EQ(m2.numReusedBlocks, 7); // 63 tokens of the 64-token prompt are cached
    EXPECT_EQ(m2.numMissedBlocks, 1);
    EXPECT_FLOAT_EQ(m2.kvCacheHitRate, 7.f / 8.f);
    EXPECT_EQ(first.getResult().outputTokenIds, second.getResult().outputTokenIds);

    // Events: Created, then the first request's 8 full blocks stored in one chain; nothing new after.
    ASSERT_FALSE(events1.empty());
    EXPECT_EQ(events1[0].eventId, 0u);
    auto const& created = std::get<sim::KVCacheCreatedData>(events1[0].data);
    EXPECT_EQ(created.numBlocksPerCacheLevel, (std::vector<sim::SizeType32>{256, 0}));
    EXPECT_EQ(events1[0].windowSize, 4096);
    std::vector<sim::IdType> storedHashes;
    for (std::size_t i = 1; i < events1.size(); ++i)
    {
        EXPECT_EQ(events1[i].eventId, i);
        auto const* stored = std::get_if<sim::KVCacheStoredData>(&events1[i].data);
        ASSERT_NE(stored, nullptr);
        if (storedHashes.empty())
        {
            EXPECT_FALSE(stored->parentHash.has_value());
        }
        else
        {
            EXPECT_EQ(stored->parentHash, storedHashes.back());
        }
        for (auto const& b : stored->blocks)
        {
            EXPECT_EQ(b.cacheLevel, 0);
            EXPECT_EQ(b.priority, 35);
            EXPECT_EQ(b.tokens.size(), 8u);
            storedHashes.push_back(b.blockHash);
        }
    }
    EXPECT_EQ(storedHashes.size(), 8u); // KV of 67 tokens: 8 full blocks
    EXPECT_EQ(std::get<sim::KVCacheStoredData>(events1[1].data).blocks[0].tokens[0].tokenId, p[0]);
    for (auto const& e : events2)
    {
        EXPECT_FALSE(std::holds_alternative<sim::KVCacheStoredData>(e.data)) << "a reused block was stored again";
    }

    auto const& kv1 = *statsAfterFirst.back().kvCacheStats;
    auto const& kv2 = *statsAfterSecond.back().kvCacheStats;
    EXPECT_EQ(kv1.reusedBlocks, 0);
    EXPECT_EQ(kv1.missedBlocks, 8);
    EXPECT_FLOAT_EQ(kv1.cacheHitRate, 0.f);
    EXPECT_EQ(kv2.reusedBlocks, 7);
    EXPECT_EQ(kv2.missedBlocks, 9);
    EXPECT_FLOAT_EQ(kv2.cacheHitRate, 7.f / 16.f);
    EXPECT_EQ(kv2.usedNumBlocks, 0);
    EXPECT_EQ(kv2.freeNumBlocks, 256);
    EXPECT_EQ(kv2.tokensPerBlock, 8);
    EXPECT_EQ(kv2.allocTotalBlocks, kv2.allocNewBlocks + kv2.reusedBlocks);
    // Cached tokens (7 blocks * 8) are not recomputed: the second prefill computes the last block only.
    EXPECT_EQ(statsAfterSecond.front().inflightBatchingStats->numCtxTokens, 8);
}

TEST(Executor, RetentionPriorityChangeEmitsUpdated)
{
    sim::Executor ex(testSim(), sim::ModelType::kDECODER_ONLY, testConfig(1000));
    auto manager = *ex.getKVCacheEventManager();
    auto const p = prompt(33, 12);
    (void) runOne(ex, request(p, 2));
    manager->getLatestEvents(0ms);
    auto req = request(p, 2);
    req.setKvCacheRetentionConfig(sim::KvCacheRetentionConfig({sim::TokenRangeRetentionConfig{0, 16, 90}}, 20));
    auto const resp = runOne(ex, req);
    EXPECT_EQ(resp.getResult().requestPerfMetrics->kvCacheMetrics.numReusedBlocks, 4);
    std::vector<std::pair<int, int>> diffs;
    for (auto const& e : manager->getLatestEvents(0ms))
    {
        if (auto const* u = std::get_if<sim::KVCacheUpdatedData>(&e.data))
        {
            ASSERT_TRUE(u->priority.has_value());
            diffs.emplace_back(u->priority->oldValue, u->priority->newValue);
        }
    }
    // Blocks 0-1 fall in [0, 16): 35 -> 90; blocks 2-3 have no range: they keep 35.
    EXPECT_EQ(diffs, (std::vector<std::pair<int, int>>{{35, 90}, {35, 90}}));
}

TEST(Executor, EvictionUnderPressureRemovesOnlyStoredBlocks)
{
    auto config = testSim();
    config.numKvBlocks = 24;
    config.tokensPerBlock = 4;
    sim::Executor ex(config, sim::ModelType::kDECODER_ONLY, testConfig(100000));
    auto manager = *ex.getKVCacheEventManager();
    std::vector<sim::IdType> ids;
    for (int i = 0; i < 60; ++i)
    {
        ids.push_back(ex.enqueueRequest(request(prompt(12 + i % 9, i % 20), 1 + i % 7)));
    }
    collect(ex, ids);
    std::set<sim::IdType> live;
    std::size_t removed = 0;
    sim::IdType expectedId = 0;
    for (auto const& e : manager->getLatestEvents(0ms))
    {
        EXPECT_EQ(e.eventId, expectedId++);
        if (auto const* s = std::get_if<sim::KVCacheStoredData>(&e.data))
        {
            for (auto const& b : s->blocks)
            {
                EXPECT_TRUE(live.insert(b.blockHash).second) << "stored twice while cached";
            }
        }
        else if (auto const* r = std::get_if<sim::KVCacheRemovedData>(&e.data))
        {
            for (auto const h : r->blockHashes)
            {
                EXPECT_EQ(live.erase(h), 1u) << "removed a block that was not stored";
                ++removed;
            }
        }
        EXPECT_LE(live.size(), 24u);
    }
    EXPECT_GT(removed, 10u);
    EXPECT_EQ(manager->getNumDroppedEvents(), 0u);
    EXPECT_TRUE(ex.getInvariantViolations().empty());
}

TEST(Executor, EventBufferDropsOldestAndCountsDrops)
{
    sim::Executor ex(testSim(), sim::ModelType::kDECODER_ONLY, testConfig(5));
    auto manager = *ex.getKVCacheEventManager();
    EXPECT_EQ(manager->getBufferCapacity(), 5u);
    std::vector<sim::IdType> ids;
    for (int i = 0; i < 20; ++i)
    {
        ids.push_back(ex.enqueueRequest(request(prompt(17, 100 + i), 1))); // distinct prompts: one Stored each
    }
    collect(ex, ids);
    auto events = manager->getLatestEvents(0ms);
    ASSERT_EQ(events.size(), 5u);
    for (std::size_t i = 1; i < events.size(); ++i)
    {
        EXPECT_EQ(events[i].eventId, events[i - 1].eventId + 1);
    }
    sim::IdType const total = events.back().eventId + 1;
    EXPECT_GE(total, 21u); // Created + at least one Stored per request
    EXPECT_EQ(manager->getNumDroppedEvents(), total - 5);
    EXPECT_TRUE(manager->getLatestEvents(0ms).empty()); // drained
}

TEST(Executor, StatsAndEventGettersDrain)
{
    auto execConfig = testConfig(100);
    execConfig.setIterStatsMaxIterations(3);
    sim::Executor ex(testSim(), sim::ModelType::kDECODER_ONLY, execConfig);
    EXPECT_TRUE(ex.getLatestRequestStats().empty()); // off by default
    (void) runOne(ex, request(prompt(8, 1), 10)); // 10 iterations
    auto stats = ex.getLatestIterationStats();
    ASSERT_EQ(stats.size(), 3u); // ring of iterStatsMaxIterations: the newest 3
    EXPECT_EQ(stats[0].iter, 7u);
    EXPECT_EQ(stats[2].iter, 9u);
    EXPECT_TRUE(ex.getLatestIterationStats().empty());
    auto manager = *ex.getKVCacheEventManager();
    EXPECT_FALSE(manager->getLatestEvents(0ms).empty());
    auto const t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(manager->getLatestEvents(20ms).empty());
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 15ms);

    auto withRequestStats = testConfig();
    withRequestStats.setRequestStatsMaxIterations(4);
    sim::Executor ex2(testSim(), sim::ModelType::kDECODER_ONLY, withRequestStats);
    EXPECT_FALSE(ex2.getKVCacheEventManager().has_value());
    (void) runOne(ex2, request(prompt(8, 1), 6));
    auto perIter = ex2.getLatestRequestStats();
    ASSERT_EQ(perIter.size(), 4u);
    EXPECT_EQ(perIter.back().iter, 5u);
    ASSERT_EQ(perIter.back().requestStats.size(), 1u);
    auto const& rs = perIter.back().requestStats[0];
    EXPECT_EQ(rs.id, 1u);
    EXPECT_EQ(rs.stage, sim::RequestStage::kGENERATION_COMPLETE);
    EXPECT_EQ(rs.numGeneratedTokens, 6);
    EXPECT_EQ(rs.contextPrefillPosition, 8);
    EXPECT_TRUE(rs.scheduled);
    EXPECT_EQ(perIter.front().requestStats[0].stage, sim::RequestStage::kGENERATION_IN_PROGRESS);
    EXPECT_TRUE(ex2.getLatestRequestStats().empty());
}

TEST(Executor, HigherPriorityRequestsLeaveTheQueueFirst)
{
    auto execConfig = testConfig();
    execConfig.setMaxBatchSize(1);
    auto realTime = testSim();
    realTime.virtualClock = false;
    realTime.speedupRatio = 10;
    sim::Executor ex(realTime, sim::ModelType::kDECODER_ONLY, execConfig);
    auto const first = ex.enqueueRequest(request(prompt(8, 1), 2000, true));
    ASSERT_FALSE(ex.awaitResponses(first, 5000ms).empty()); // running: the next two must queue
    auto low = request(prompt(8, 2), 2);
    low.setPriority(0.1f);
    auto high = request(prompt(8, 3), 2);
    high.setPriority(0.9f);
    auto const lowId = ex.enqueueRequest(low);
    auto const highId = ex.enqueueRequest(high);
    ex.cancelRequest(first); // processed after the arrivals of the same iteration
    auto all = collect(ex, {first, lowId, highId});
    auto const firstIterOf = [&](sim::IdType id) { return *all[id].back().getResult().requestPerfMetrics->firstIter; };
    EXPECT_LT(firstIterOf(highId), firstIterOf(lowId));
}

TEST(Executor, StaticBatchingFillsStaticStats)
{
    auto execConfig = testConfig();
    execConfig.setBatchingType(sim::BatchingType::kSTATIC);
    execConfig.setMaxBatchSize(2);
    auto realTime = testSim(); // real clock: the three requests are queued before the first batch ends
    realTime.virtualClock = false;
    realTime.speedupRatio = 10;
    sim::Executor ex(realTime, sim::ModelType::kDECODER_ONLY, execConfig);
    std::vector<sim::IdType> ids;
    ids.push_back(ex.enqueueRequest(request(prompt(8, 1), 3)));
    ids.push_back(ex.enqueueRequest(request(prompt(8, 2), 10)));
    ids.push_back(ex.enqueueRequest(request(prompt(8, 3), 3)));
    collect(ex, ids);
    bool sawEmptySlot = false;
    auto const stats = allStats(ex);
    for (std::size_t i = 0; i < stats.size(); ++i)
    {
        auto const& s = stats[i];
        EXPECT_FALSE(s.inflightBatchingStats.has_value());
        ASSERT_TRUE(s.staticBatchingStats.has_value());
        sawEmptySlot |= s.staticBatchingStats->emptyGenSlots > 0;
        if (i > 0 && s.numNewActiveRequests > 0)
        {
            // A new batch starts only once the previous one has drained completely.
            EXPECT_EQ(stats[i - 1].numActiveRequests - stats[i - 1].numCompletedRequests, 0) << "iteration " << i;
        }
    }
    EXPECT_TRUE(sawEmptySlot); // a short request finished while the longer one of its batch ran on
}

TEST(Executor, SpeculativeDecodingKeepsTokensAndCountsDrafts)
{
    auto config = testSim();
    auto const plain = runOne(*std::make_unique<sim::Executor>(config, sim::ModelType::kDECODER_ONLY, testConfig()),
        request(prompt(10, 4), 60));
    config.specDraftLength = 3;
    config.specAcceptanceProbability = 0.6;
    sim::Executor ex(config, sim::ModelType::kDECODER_ONLY, testConfig());
    auto const spec = runOne(ex, request(prompt(10, 4), 60));
    auto const& r = spec.getResult();
    EXPECT_EQ(r.outputTokenIds, plain.getResult().outputTokenIds); // drafting does not change the tokens
    EXPECT_LT(r.decodingIter, 60);
    EXPECT_GT(r.avgDecodedTokensPerIter, 1.f);
    auto const& sd = r.requestPerfMetrics->speculativeDecoding;
    EXPECT_GT(sd.totalDraftTokens, 0);
    EXPECT_GT(sd.totalAcceptedDraftTokens, 0);
    EXPECT_FLOAT_EQ(sd.acceptanceRate, static_cast<float>(sd.totalAcceptedDraftTokens) / sd.totalDraftTokens);
    std::int64_t drafted = 0;
    std::int64_t accepted = 0;
    for (auto const& s : allStats(ex))
    {
        ASSERT_TRUE(s.specDecodingStats.has_value());
        drafted += s.specDecodingStats->numDraftTokens;
        accepted += s.specDecodingStats->numAcceptedTokens;
        if (s.specDecodingStats->numRequestsWithDraftTokens > 0)
        {
            EXPECT_DOUBLE_EQ(s.specDecodingStats->acceptanceLength,
                1.0 + static_cast<double>(s.specDecodingStats->numAcceptedTokens) / s.specDecodingStats->numRequestsWithDraftTokens);
            EXPECT_GT(s.specDecodingStats->draftOverhead, 0.0);
            EXPECT_NEAR(s.inflightBatchingStats->avgNumDecodedTokensPerIter,
                s.specDecodingStats->acceptanceLength, 1e-5);
        }
    }
    EXPECT_EQ(drafted, sd.totalDraftTokens);
    EXPECT_EQ(accepted, sd.totalAcceptedDraftTokens);
    EXPECT_EQ(60 - 1, sd.totalAcceptedDraftTokens + r.decodingIter - 1); // every token is a draft or a bonus
}

TEST(Executor, LogProbsAlignWithTheReturnedTokensStreamedOrNot)
{
    sim::Executor ex(testSim(), sim::ModelType::kDECODER_ONLY, testConfig());
    auto withLogProbs = [](bool streaming) {
        sim::OutputConfig out;
        out.returnLogProbs = true;
        out.excludeInputFromOutput = true;
        return sim::Request(prompt(21, 9), 12, streaming, sim::SamplingConfig(), out);
    };
    auto const streamId = ex.enqueueRequest(withLogProbs(true));
    auto const wholeId = ex.enqueueRequest(withLogProbs(false));
    auto const plainId = ex.enqueueRequest(request(prompt(21, 9), 12));
    auto all = collect(ex, {streamId, wholeId, plainId});
    std::vector<float> streamed;
    double lastCum = 0;
    for (auto const& r : all[streamId])
    {
        auto const& res = r.getResult();
        ASSERT_TRUE(res.logProbs.has_value());
        ASSERT_EQ(res.logProbs->size(), 1u);
        ASSERT_EQ(res.logProbs->front().size(), res.outputTokenIds.at(0).size()); // one per returned token
        streamed.insert(streamed.end(), res.logProbs->front().begin(), res.logProbs->front().end());
        ASSERT_TRUE(res.cumLogProbs.has_value());
        lastCum = res.cumLogProbs->front();
    }
    auto const& whole = all[wholeId].at(0).getResult();
    ASSERT_TRUE(whole.logProbs.has_value());
    EXPECT_EQ(whole.logProbs->front(), streamed); // a function of (sequence, position) only
    double sum = 0;
    for (float v : streamed)
    {
        EXPECT_LT(v, 0.f);
        EXPECT_GE(v, std::log(0.2f) - 1e-6f);
        sum += v;
    }
    EXPECT_NEAR(lastCum, sum, 1e-4);
    EXPECT_NEAR(whole.cumLogProbs->front(), sum, 1e-4);
    EXPECT_FALSE(all[plainId].at(0).getResult().logProbs.has_value()); // not asked for
}
