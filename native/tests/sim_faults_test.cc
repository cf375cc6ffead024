// Injected faults of the simulated executor (sim/faults.h) through its public API: which requests fail and where,
// the sticky fatal error in TensorRT-LLM's words, stalls that hang the executor thread (and end at shutdown), slow
// iterations on the virtual clock, the KV-event burst that overflows the event buffer, and the bridge telling an
// executor failure from one request's error.
#include "backends/sim/sim_api.h"
#include "bridge/bridge.h"
#include "bridge/executor_fault.h"
#include "sim/executor_api.h"
#include "sim/faults.h"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>
#include <variant>

namespace sim = trtllm_sim::executor;
using namespace std::chrono_literals;

namespace
{

sim::Executor makeExecutor(sim::SimFaultConfig const& faults, std::size_t eventBuffer = 0, bool virtualClock = true)
{
    sim::SimConfig c;
    c.virtualClock = virtualClock;
    c.outputLengthMode = sim::SimConfig::OutputLengthMode::kMaxTokens;
    c.tokensPerBlock = 8;
    c.numKvBlocks = 512;
    c.vocabSize = 1000;
    c.checkInvariants = true;
    c.faults = faults;
    sim::ExecutorConfig e;
    sim::KvCacheConfig kv;
    kv.setEventBufferMaxSize(eventBuffer);
    e.setKvCacheConfig(kv);
    e.setIterStatsMaxIterations(100000);
    return sim::Executor(c, sim::ModelType::kDECODER_ONLY, e);
}

sim::Request streamed(int seed, int maxTokens)
{
    sim::VecTokens prompt{seed % 997, 7, 11, 13};
    sim::OutputConfig out;
    out.excludeInputFromOutput = true;
    return sim::Request(std::move(prompt), maxTokens, /*streaming=*/true, sim::SamplingConfig(), out);
}

/// Every response of `n` requests until each has a final one (or an error); tokens streamed per id.
struct Outcome
{
    std::map<sim::IdType, std::string> errors;
    std::map<sim::IdType, std::size_t> tokens;
    std::map<sim::IdType, bool> done;
};

Outcome runAll(sim::Executor& ex, std::size_t n)
{
    Outcome o;
    auto const deadline = std::chrono::steady_clock::now() + 20s;
    while (o.done.size() < n && std::chrono::steady_clock::now() < deadline)
    {
        for (auto const& r : ex.awaitResponses(50ms))
        {
            if (r.hasError())
            {
                o.errors[r.getRequestId()] = r.getErrorMsg();
                o.done[r.getRequestId()] = true;
                continue;
            }
            o.tokens[r.getRequestId()] += r.getResult().outputTokenIds.at(0).size();
            if (r.getResult().isFinal)
            {
                o.done[r.getRequestId()] = true;
            }
        }
    }
    EXPECT_EQ(o.done.size(), n) << "requests left unfinished";
    return o;
}

} // namespace

TEST(SimFaults, RequestErrorsAreSeededAndHitTheDrawnPosition)
{
    sim::SimFaultConfig f;
    f.seed = 42;
    f.requestErrorProbability = 0.25;
    sim::FaultInjector const injector(f);
    auto ex = makeExecutor(f);
    int constexpr kRequests = 200;
    int constexpr kMaxTokens = 40;
    for (int i = 0; i < kRequests; ++i)
    {
        (void) ex.enqueueRequest(streamed(i, kMaxTokens));
    }
    Outcome const o = runAll(ex, kRequests);
    std::size_t failed = 0;
    for (sim::IdType id = 1; id <= kRequests; ++id)
    {
        std::int64_t const at = injector.requestErrorAt(id, kMaxTokens);
        if (at < 0)
        {
            EXPECT_EQ(o.errors.count(id), 0u) << id;
            EXPECT_EQ(o.tokens.at(id), static_cast<std::size_t>(kMaxTokens)) << id;
            continue;
        }
        ++failed;
        ASSERT_EQ(o.errors.count(id), 1u) << id;
        EXPECT_EQ(o.errors.at(id), sim::FaultInjector::requestErrorMessage(id, at));
        // The tokens before the failing position were streamed; the one at it was replaced by the error.
        EXPECT_EQ(o.tokens.count(id) ? o.tokens.at(id) : 0u, static_cast<std::size_t>(at)) << id;
        EXPECT_FALSE(trtllm_metrics::bridge::isExecutorFault(o.errors.at(id)));
    }
    // 25% of 200, within a generous binomial band (the draw is seeded, so this is one fixed outcome).
    EXPECT_GT(failed, 30u);
    EXPECT_LT(failed, 70u);
    EXPECT_TRUE(ex.getInvariantViolations().empty());

    sim::SimFaultConfig other = f;
    other.seed = 43;
    sim::FaultInjector const reseeded(other);
    int differ = 0;
    for (sim::IdType id = 1; id <= kRequests; ++id)
    {
        differ += (reseeded.requestErrorAt(id, kMaxTokens) < 0) != (injector.requestErrorAt(id, kMaxTokens) < 0);
    }
    EXPECT_GT(differ, 0) << "another seed fails other requests";
}

TEST(SimFaults, FatalErrorTerminatesEveryRequestAndSticks)
{
    sim::SimFaultConfig f;
    f.fatalAtIteration = 5;
    auto ex = makeExecutor(f);
    for (int i = 0; i < 4; ++i)
    {
        (void) ex.enqueueRequest(streamed(i, 100));
    }
    Outcome first = runAll(ex, 4);
    ASSERT_EQ(first.errors.size(), 4u);
    for (auto const& [id, message] : first.errors)
    {
        EXPECT_EQ(message.rfind(sim::FaultInjector::kForwardErrorPrefix, 0), 0u) << message;
        EXPECT_TRUE(trtllm_metrics::bridge::isExecutorFault(message));
        EXPECT_LE(first.tokens[id], 5u) << "at most iterations 0-4 ran";
    }
    auto const stats = ex.getLatestIterationStats();
    ASSERT_FALSE(stats.empty());
    EXPECT_EQ(stats.back().iter, 4u) << "the failing iteration has no stats";
    // The error sticks: a later request fails the same way, at its first step.
    auto const id = ex.enqueueRequest(streamed(99, 3));
    Outcome later = runAll(ex, 1);
    ASSERT_EQ(later.errors.count(id), 1u);
    EXPECT_TRUE(trtllm_metrics::bridge::isExecutorFault(later.errors[id]));
    EXPECT_TRUE(ex.getInvariantViolations().empty()) << "an injected fault is not a simulator bug";
}

TEST(SimFaults, StallHangsTheExecutorUntilShutdown)
{
    sim::SimFaultConfig f;
    f.stallMs = 3.6e6; // an hour: only shutdown ends it
    f.stallAtIteration = 3;
    auto ex = makeExecutor(f);
    auto const id = ex.enqueueRequest(streamed(1, 50));
    // Iterations 0-2 complete, then iteration 3 hangs before it answers: no more tokens, no more stats.
    std::size_t tokens = 0;
    sim::IterationType lastIter = 0;
    auto const until = std::chrono::steady_clock::now() + 20s;
    while (lastIter < 2 && std::chrono::steady_clock::now() < until)
    {
        for (auto const& r : ex.awaitResponses(20ms))
        {
            tokens += r.getResult().outputTokenIds.at(0).size();
        }
        for (auto const& s : ex.getLatestIterationStats())
        {
            lastIter = s.iter;
        }
    }
    ASSERT_EQ(lastIter, 2u);
    EXPECT_TRUE(ex.awaitResponses(id, 200ms).empty()) << "nothing moves during the stall";
    EXPECT_TRUE(ex.getLatestIterationStats().empty());
    ex.cancelRequest(id); // waits, like everything else, for the hung iteration
    EXPECT_TRUE(ex.awaitResponses(id, 100ms).empty());
    EXPECT_EQ(tokens, 3u);
    ex.shutdown(); // returns: shutdown cuts the stall short
    EXPECT_FALSE(ex.canEnqueueRequests());
}

TEST(SimFaults, StallProbabilityAndSlowIterationsFollowTheSeed)
{
    sim::SimFaultConfig f;
    f.seed = 7;
    f.stallMs = 5;
    f.stallProbability = 0.1;
    f.slowIterationProbability = 0.2;
    f.slowIterationFactor = 10;
    sim::FaultInjector const injector(f);
    int stalls = 0;
    int slow = 0;
    for (sim::IterationType i = 0; i < 2000; ++i)
    {
        stalls += injector.stallMsAt(i) > 0 ? 1 : 0;
        slow += injector.slowFactorAt(i) == 10.0 ? 1 : 0;
        EXPECT_EQ(injector.stallMsAt(i), sim::FaultInjector(f).stallMsAt(i)) << "a pure function of seed and iteration";
    }
    EXPECT_GT(stalls, 150);
    EXPECT_LT(stalls, 250);
    EXPECT_GT(slow, 340);
    EXPECT_LT(slow, 460);

    // On the virtual clock a slow iteration's latency is exactly the factor times the modelled one.
    sim::SimFaultConfig slowOnly;
    slowOnly.seed = 7;
    slowOnly.slowIterationProbability = 0.2;
    slowOnly.slowIterationFactor = 10;
    sim::FaultInjector const slowInjector(slowOnly);
    auto ex = makeExecutor(slowOnly);
    auto plain = makeExecutor(sim::SimFaultConfig{});
    (void) ex.enqueueRequest(streamed(1, 60));
    (void) plain.enqueueRequest(streamed(1, 60));
    runAll(ex, 1);
    runAll(plain, 1);
    auto const withFaults = ex.getLatestIterationStats();
    auto const without = plain.getLatestIterationStats();
    ASSERT_EQ(withFaults.size(), without.size());
    int slowSeen = 0;
    for (std::size_t i = 0; i < withFaults.size(); ++i)
    {
        double const factor = slowInjector.slowFactorAt(withFaults[i].iter);
        slowSeen += factor > 1 ? 1 : 0;
        EXPECT_NEAR(withFaults[i].iterLatencyMS, without[i].iterLatencyMS * factor, 1e-6 * factor) << i;
    }
    EXPECT_GT(slowSeen, 0);
}

TEST(SimFaults, KvEventBurstOverflowsTheBufferAndCancelsOut)
{
    sim::SimFaultConfig f;
    f.kvEventBurstAtIteration = 2;
    f.kvEventBurstSize = 101; // rounded up to 51 Stored / Removed pairs
    auto ex = makeExecutor(f, /*eventBuffer=*/64);
    auto manager = *ex.getKVCacheEventManager();
    (void) ex.enqueueRequest(streamed(1, 5));
    runAll(ex, 1);
    auto const events = manager->getLatestEvents(0ms);
    ASSERT_EQ(events.size(), 64u);
    EXPECT_GT(manager->getNumDroppedEvents(), 102u - 64u) << "the burst overflowed the buffer";
    // What survived of the burst pairs up: every Removed follows the Stored of the same hash.
    std::map<sim::IdType, int> live;
    for (auto const& e : events)
    {
        if (auto const* s = std::get_if<sim::KVCacheStoredData>(&e.data))
        {
            for (auto const& b : s->blocks)
            {
                ++live[b.blockHash];
            }
        }
        else if (auto const* r = std::get_if<sim::KVCacheRemovedData>(&e.data))
        {
            for (auto const h : r->blockHashes)
            {
                --live[h];
            }
        }
    }
    int removedWithoutStored = 0;
    for (auto const& [hash, n] : live)
    {
        removedWithoutStored += n < 0 ? 1 : 0;
    }
    EXPECT_LE(removedWithoutStored, 1) << "only a pair cut by the overflow";
}

TEST(SimFaults, TheBridgeFlagsExecutorFailuresNotRequestErrors)
{
    using trtllm_metrics::bridge::Bridge;
    using trtllm_metrics::bridge::ResponseChunk;
    trtllm_metrics::bridge::steadyEpochNs();
    auto const errorChunks = [](sim::SimFaultConfig const& f) {
        Bridge<trtllm_metrics::backends::SimApi> bridge(
            std::make_unique<sim::Executor>(makeExecutor(f)), trtllm_metrics::bridge::BridgeOptions{}, nullptr);
        bridge.start();
        for (int i = 0; i < 8; ++i)
        {
            bridge.enqueue(streamed(i, 20), trtllm_metrics::bridge::RequestMeta{});
        }
        std::vector<ResponseChunk> chunks;
        auto const deadline = std::chrono::steady_clock::now() + 20s;
        while (bridge.pendingCount() > 0 && std::chrono::steady_clock::now() < deadline)
        {
            std::this_thread::sleep_for(1ms);
        }
        bridge.stop(0ms);
        bridge.drainChunks(chunks);
        std::vector<ResponseChunk> errors;
        for (auto& c : chunks)
        {
            if (c.hasError)
            {
                errors.push_back(std::move(c));
            }
        }
        return errors;
    };
    sim::SimFaultConfig requestErrors;
    requestErrors.requestErrorProbability = 1.0;
    auto const failedRequests = errorChunks(requestErrors);
    ASSERT_EQ(failedRequests.size(), 8u);
    for (auto const& c : failedRequests)
    {
        EXPECT_FALSE(c.executorFault) << c.error;
    }
    sim::SimFaultConfig fatal;
    fatal.fatalAtIteration = 0;
    auto const failedExecutor = errorChunks(fatal);
    ASSERT_EQ(failedExecutor.size(), 8u);
    for (auto const& c : failedExecutor)
    {
        EXPECT_TRUE(c.executorFault) << c.error;
    }
}
