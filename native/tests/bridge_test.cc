// Bridge<SimApi> without N-API: records, counters, drop accounting, shutdown settling and flush.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>
#include <variant>

#include "backends/sim/sim_api.h"
#include "bridge/bridge.h"

using namespace trtllm_metrics::bridge;
using trtllm_metrics::backends::SimApi;
namespace ex = trtllm_sim::executor;

namespace {

std::unique_ptr<ex::Executor> makeExecutor(bool virtualClock, double speedup = 1.0, std::size_t events = 0) {
    steadyEpochNs();  // as the addon does at load: fixed before any executor clock starts
    ex::SimConfig sim;
    sim.virtualClock = virtualClock;
    sim.speedupRatio = speedup;
    sim.outputLengthMode = ex::SimConfig::OutputLengthMode::kMaxTokens;
    ex::ExecutorConfig config;
    ex::KvCacheConfig kv;
    kv.setEventBufferMaxSize(events);
    config.setKvCacheConfig(kv);
    return std::make_unique<ex::Executor>(sim, ex::ModelType::kDECODER_ONLY, config);
}

ex::Request makeRequest(int promptLen, int maxTokens, bool streaming, int firstToken = 1) {
    ex::VecTokens tokens(promptLen);
    for (int i = 0; i < promptLen; ++i) tokens[i] = firstToken + i;
    ex::OutputConfig out;
    out.returnPerfMetrics = true;
    out.excludeInputFromOutput = true;
    return ex::Request(tokens, maxTokens, streaming, ex::SamplingConfig(1), out);
}

}  // namespace

TEST(Bridge, EveryFinishedRequestYieldsOneRecordWithOrderedTimes) {
    std::atomic<int> wakes{0};
    Bridge<SimApi> bridge(makeExecutor(true), BridgeOptions{}, [&] { ++wakes; });
    bridge.start();
    constexpr int kRequests = 200;
    for (int i = 0; i < kRequests; ++i) bridge.enqueue(makeRequest(40 + i % 30, 5, i % 2 == 0), RequestMeta{});
    std::vector<RequestRecord> records;
    std::vector<ResponseChunk> chunks;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (records.size() < kRequests && std::chrono::steady_clock::now() < deadline) {
        bridge.drainRecords([&](RequestRecord const* first, std::size_t n) { records.insert(records.end(), first, first + n); });
        bridge.drainChunks(chunks);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(records.size(), static_cast<std::size_t>(kRequests));
    for (auto const& r : records) {
        EXPECT_EQ(r.v[kOutputTokens], 5);
        EXPECT_EQ(r.v[kFinishReason], static_cast<double>(ex::FinishReason::kLENGTH));
        EXPECT_GT(r.v[kEnqueueTimeNs], 0);
        EXPECT_LE(r.v[kEnqueueTimeNs], r.v[kArrivalTimeNs]);
        EXPECT_LE(r.v[kArrivalTimeNs], r.v[kFirstScheduledTimeNs]);
        EXPECT_LT(r.v[kFirstScheduledTimeNs], r.v[kFirstTokenTimeNs]);
        EXPECT_LT(r.v[kFirstTokenTimeNs], r.v[kLastTokenTimeNs]);
        EXPECT_EQ(r.v[kFlags], kFlagHasPerf);
    }
    EXPECT_GT(wakes.load(), 0);
    bridge.stop(std::chrono::milliseconds(100));
    auto c = bridge.counters();
    EXPECT_EQ(c.requestRecords.produced, static_cast<std::uint64_t>(kRequests));
    EXPECT_EQ(c.requestRecords.dropped, 0u);
}

TEST(Bridge, TinyRingsCountEveryDrop) {
    BridgeOptions options;
    options.recordQueueCapacity = 2;
    options.statsQueueCapacity = 2;
    options.eventQueueCapacity = 2;
    options.statsInterval = std::chrono::milliseconds(1);
    options.eventBufferCapacity = 100000;
    Bridge<SimApi> bridge(makeExecutor(true, 1.0, options.eventBufferCapacity), options, nullptr);
    bridge.start();
    // Distinct prompts: identical ones would share (and store once) the same blocks.
    for (int i = 0; i < 100; ++i) bridge.enqueue(makeRequest(64, 4, false, 1 + i * 100), RequestMeta{});
    std::vector<ResponseChunk> chunks;
    while (bridge.pendingCount() > 0) {
        bridge.drainChunks(chunks);  // only chunks are read: records, stats and events overflow
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    bridge.stop(std::chrono::milliseconds(0));
    auto c = bridge.counters();
    for (auto const* s : {&c.requestRecords, &c.iterationStats, &c.kvEvents, &c.responses}) {
        EXPECT_EQ(s->produced, s->delivered + s->dropped + s->queued);
    }
    EXPECT_EQ(c.requestRecords.produced, 100u);
    EXPECT_EQ(c.requestRecords.queued, 2u);
    EXPECT_EQ(c.requestRecords.dropped, 98u);
    EXPECT_GT(c.kvEvents.dropped, 0u);
    EXPECT_EQ(c.responses.dropped, 0u);
}

TEST(Bridge, StopSettlesEveryRequestAndRejectsNewOnes) {
    Bridge<SimApi> bridge(makeExecutor(false, 0.5), BridgeOptions{}, nullptr);
    bridge.start();
    constexpr int kRequests = 20;
    for (int i = 0; i < kRequests; ++i) bridge.enqueue(makeRequest(16, 100000, true), RequestMeta{});
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    bridge.stop(std::chrono::milliseconds(500));
    EXPECT_EQ(bridge.pendingCount(), 0u);
    std::vector<ResponseChunk> chunks;
    bridge.drainChunks(chunks);
    int finals = 0;
    for (auto const& c : chunks) finals += c.isFinal ? 1 : 0;
    EXPECT_EQ(finals, kRequests);
    EXPECT_THROW(bridge.enqueue(makeRequest(4, 4, false), RequestMeta{}), BridgeClosedError);
    bridge.stop(std::chrono::milliseconds(0));  // idempotent
}

TEST(Bridge, FlushDeliversStatsAndEventsWithoutWaitingForTheInterval) {
    std::atomic<int> wakes{0};
    BridgeOptions options;
    options.statsInterval = std::chrono::minutes(1);  // the stats pump would not read them for a minute
    options.eventPollTimeout = std::chrono::milliseconds(1000);
    options.responsePollTimeout = std::chrono::milliseconds(1000);
    options.eventBufferCapacity = 1000;
    Bridge<SimApi> bridge(makeExecutor(true, 1.0, options.eventBufferCapacity), options, [&] { ++wakes; });
    bridge.start();
    constexpr int kRequests = 8;
    for (int i = 0; i < kRequests; ++i) bridge.enqueue(makeRequest(64, 4, false, 1 + i * 100), RequestMeta{});
    std::vector<ResponseChunk> chunks;
    auto const deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (bridge.pendingCount() > 0 && std::chrono::steady_clock::now() < deadline) {
        bridge.drainChunks(chunks);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(bridge.pendingCount(), 0u);
    EXPECT_EQ(bridge.counters().iterationStats.produced, 0u) << "the stats pump has not read the executor yet";

    // Every request has finished, so its iterations' stats and events were produced before the flush.
    int const wakesBefore = wakes.load();
    auto const start = std::chrono::steady_clock::now();
    std::uint64_t const ticket = bridge.requestFlush();
    while (bridge.flushedThrough() < ticket && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_GE(bridge.flushedThrough(), ticket);
    // It waits at most for the pumps' polls in progress (1 s here), never for the stats interval.
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    EXPECT_GT(wakes.load(), wakesBefore) << "the consumer is told when a flush completes";

    std::vector<SimApi::IterationStats> stats;
    bridge.drainStats(stats);
    ASSERT_FALSE(stats.empty());
    std::size_t completed = 0;
    for (auto const& s : stats) completed += s.numCompletedRequests;
    EXPECT_EQ(completed, static_cast<std::size_t>(kRequests)) << "the stats of every iteration";
    std::vector<SimApi::KVCacheEvent> events;
    bridge.drainEvents(events);
    std::size_t stored = 0;
    for (auto const& e : events) stored += std::holds_alternative<trtllm_sim::executor::KVCacheStoredData>(e.data) ? 1 : 0;
    EXPECT_GE(stored, static_cast<std::size_t>(kRequests)) << "each distinct prompt stores its blocks";

    // A second flush with nothing new completes too.
    std::uint64_t const again = bridge.requestFlush();
    EXPECT_GT(again, ticket);
    while (bridge.flushedThrough() < again && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_GE(bridge.flushedThrough(), again);
    bridge.stop(std::chrono::milliseconds(0));
}

TEST(Bridge, StopAnswersAPendingFlush) {
    BridgeOptions options;
    options.statsInterval = std::chrono::minutes(1);
    Bridge<SimApi> bridge(makeExecutor(true), options, nullptr);  // not started: no pump will answer
    std::uint64_t const ticket = bridge.requestFlush();
    EXPECT_LT(bridge.flushedThrough(), ticket);
    bridge.stop(std::chrono::milliseconds(0));  // its last reads take what the executor still had
    EXPECT_GE(bridge.flushedThrough(), ticket);
}

TEST(Bridge, RecordsSumTheLogProbsAndChunksCarryThemWhenAsked) {
    Bridge<SimApi> bridge(makeExecutor(true), BridgeOptions{}, nullptr);
    bridge.start();
    for (bool streaming : {true, false}) {
        auto req = makeRequest(30, 7, streaming);
        auto out = req.getOutputConfig();
        out.returnLogProbs = true;
        req.setOutputConfig(out);
        RequestMeta meta;
        meta.wantLogProbs = true;
        bridge.enqueue(req, meta);
    }
    bridge.enqueue(makeRequest(30, 7, true), RequestMeta{});
    std::vector<RequestRecord> records;
    std::vector<ResponseChunk> chunks;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (records.size() < 3 && std::chrono::steady_clock::now() < deadline) {
        bridge.drainRecords([&](RequestRecord const* first, std::size_t n) { records.insert(records.end(), first, first + n); });
        bridge.drainChunks(chunks);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    bridge.drainChunks(chunks);
    ASSERT_EQ(records.size(), 3u);
    std::map<std::uint64_t, double> chunkSums;
    std::map<std::uint64_t, std::size_t> chunkCounts;
    for (auto const& c : chunks) {
        if (!c.logProbs.empty()) {
            EXPECT_EQ(c.logProbs.size(), c.tokens.size());
        }
        for (float v : c.logProbs) chunkSums[c.requestId] += v;
        chunkCounts[c.requestId] += c.logProbs.size();
    }
    int withLogProbs = 0;
    for (auto const& r : records) {
        auto const id = static_cast<std::uint64_t>(r.v[kRequestId]);
        if (r.v[kGenLogProbCount] == 0) {
            EXPECT_EQ(chunkCounts[id], 0u);  // not asked for
            continue;
        }
        ++withLogProbs;
        EXPECT_EQ(r.v[kGenLogProbCount], 7);
        EXPECT_EQ(chunkCounts[id], 7u);
        EXPECT_NEAR(r.v[kGenLogProbSum], chunkSums[id], 1e-5);
        EXPECT_LT(r.v[kGenLogProbSum], 0);
    }
    EXPECT_EQ(withLogProbs, 2);
    bridge.stop(std::chrono::milliseconds(100));
}
