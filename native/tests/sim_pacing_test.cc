// Simulator-only pacing (docs/simulator.md "Pacing"): scheduled arrivals (Request::setSimArrivalTime), the clock
// hold (Executor::holdClock / resumeClock) and lockstep; and the pacing the bridge is handed (Api::Pacing).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <set>
#include <thread>
#include <type_traits>
#include <vector>

#include "backends/sim/sim_api.h"
#include "bridge/bridge.h"
#include "sim/executor_api.h"
#include "wrapped_sim_api.h"

namespace sim = trtllm_sim::executor;
using trtllm_sim::common::TllmException;
using namespace std::chrono_literals;
using TimePoint = sim::RequestPerfMetrics::TimePoint;

namespace {

sim::SimConfig pacedSim(bool lockstep = false, bool virtualClock = true) {
    sim::SimConfig c;
    c.virtualClock = virtualClock;
    c.lockstep = lockstep;
    c.outputLengthMode = sim::SimConfig::OutputLengthMode::kMaxTokens;
    c.tokensPerBlock = 8;
    c.numKvBlocks = 512;
    c.maxSeqLen = 4096;
    c.vocabSize = 1000;
    c.checkInvariants = true;
    return c;
}

sim::ExecutorConfig pacedConfig(int maxBatchSize = 256) {
    sim::ExecutorConfig c;
    c.setIterStatsMaxIterations(100000);
    c.setMaxBatchSize(maxBatchSize);
    return c;
}

sim::VecTokens prompt(int n, int seed) {
    sim::VecTokens t(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) t[static_cast<std::size_t>(i)] = static_cast<sim::TokenIdType>((seed * 131 + i * 17 + 3) % 997);
    return t;
}

sim::Request request(int seed, int maxTokens, std::optional<TimePoint> arrival = std::nullopt, bool streaming = false) {
    sim::OutputConfig out;
    out.returnPerfMetrics = true;
    out.excludeInputFromOutput = true;
    sim::Request r(prompt(40, seed), maxTokens, streaming, sim::SamplingConfig(), out);
    if (arrival) r.setSimArrivalTime(*arrival);
    return r;
}

struct Final {
    sim::FinishReason reason = sim::FinishReason::kNOT_FINISHED;
    sim::RequestPerfMetrics perf;
    bool error = false;
};

// Waits for the final response of every id (at most `wall` of real time).
std::map<sim::IdType, Final> finals(sim::Executor& ex, std::vector<sim::IdType> const& ids,
                                    std::chrono::milliseconds wall = 10000ms) {
    std::map<sim::IdType, Final> out;
    std::set<sim::IdType> pending(ids.begin(), ids.end());
    auto const deadline = std::chrono::steady_clock::now() + wall;
    while (!pending.empty() && std::chrono::steady_clock::now() < deadline) {
        for (auto& r : ex.awaitResponses(20ms)) {
            Final f;
            if (r.hasError()) {
                f.error = true;
            } else if (r.getResult().isFinal) {
                f.reason = r.getResult().finishReasons.at(0);
                if (r.getResult().requestPerfMetrics) f.perf = *r.getResult().requestPerfMetrics;
            } else {
                continue;
            }
            out[r.getRequestId()] = f;
            pending.erase(r.getRequestId());
        }
    }
    EXPECT_TRUE(pending.empty()) << pending.size() << " requests did not finish";
    return out;
}

std::vector<sim::IterationStats> allStats(sim::Executor& ex) {
    auto d = ex.getLatestIterationStats();
    return {d.begin(), d.end()};
}

// Waits (real time) until the executor waits at its hold.
bool waitPaused(sim::Executor& ex, std::chrono::milliseconds wall = 5000ms) {
    auto const deadline = std::chrono::steady_clock::now() + wall;
    while (std::chrono::steady_clock::now() < deadline) {
        if (ex.getClockState().paused) return true;
        std::this_thread::sleep_for(1ms);
    }
    return false;
}

}  // namespace

TEST(SimPacing, ScheduledArrivalsEnterAtTheirTimeAndTheClockJumpsIdleGaps) {
    sim::Executor ex(pacedSim(), sim::ModelType::kDECODER_ONLY, pacedConfig());
    TimePoint const t0 = ex.holdClock();  // nothing moves while we enqueue
    EXPECT_EQ(ex.now(), t0);
    std::vector<TimePoint> const at = {t0 + 100ms, t0 + 1h, t0 + 1h + 500ms, t0 + 3h};
    std::vector<sim::IdType> ids;
    // Enqueued out of order: the schedule orders them.
    for (int i : {2, 0, 3, 1}) ids.push_back(ex.enqueueRequest(request(i, 4, at[static_cast<std::size_t>(i)])));
    EXPECT_EQ(ex.getClockState().numScheduled, 4u);
    auto const wallStart = std::chrono::steady_clock::now();
    ex.resumeClock();
    auto f = finals(ex, ids);
    EXPECT_LT(std::chrono::steady_clock::now() - wallStart, 2s) << "three simulated hours take no real time";
    std::map<int, sim::IdType> idOf = {{2, ids[0]}, {0, ids[1]}, {3, ids[2]}, {1, ids[3]}};
    for (int i = 0; i < 4; ++i) {
        auto const& t = f[idOf[i]].perf.timingMetrics;
        EXPECT_EQ(f[idOf[i]].reason, sim::FinishReason::kLENGTH);
        EXPECT_EQ(t.arrivalTime, at[static_cast<std::size_t>(i)]) << i;
        // The executor was idle at each arrival: the clock jumped there and the request ran at once.
        EXPECT_EQ(t.firstScheduledTime, t.arrivalTime) << i;
        EXPECT_LT(t.firstScheduledTime, t.firstTokenTime);
        EXPECT_LE(t.firstTokenTime, t.lastTokenTime);
    }
    EXPECT_GE(ex.now(), t0 + 3h);
    EXPECT_EQ(ex.getClockState().numScheduled, 0u);
    // Iterations are contiguous within a busy period; across an idle gap the next one starts at the arrival.
    auto stats = allStats(ex);
    ASSERT_FALSE(stats.empty());
    EXPECT_TRUE(ex.getInvariantViolations().empty());
}

TEST(SimPacing, AnArrivalDuringAnIterationEntersAtTheNextOneAndQueueTimeCountsFromTheSchedule) {
    auto config = pacedConfig(/*maxBatchSize=*/1);
    sim::Executor ex(pacedSim(), sim::ModelType::kDECODER_ONLY, config);
    TimePoint const t0 = ex.holdClock();
    // a and b at the same instant with one batch slot: b queues for all of a. c arrives mid-iteration.
    auto const a = ex.enqueueRequest(request(1, 20, t0 + 10ms));
    auto const b = ex.enqueueRequest(request(2, 5, t0 + 10ms));
    auto const c = ex.enqueueRequest(request(3, 5, t0 + 10ms + 1us));
    ex.resumeClock();
    auto f = finals(ex, {a, b, c});
    auto const& ta = f[a].perf.timingMetrics;
    auto const& tb = f[b].perf.timingMetrics;
    auto const& tc = f[c].perf.timingMetrics;
    EXPECT_EQ(ta.arrivalTime, t0 + 10ms);
    EXPECT_EQ(tb.arrivalTime, t0 + 10ms);
    EXPECT_EQ(tc.arrivalTime, t0 + 10ms + 1us);
    EXPECT_EQ(ta.firstScheduledTime, t0 + 10ms);
    // b waits for a (FCFS among equal times: a was enqueued first), c for b.
    EXPECT_EQ(tb.firstScheduledTime, ta.lastTokenTime);
    EXPECT_EQ(tc.firstScheduledTime, tb.lastTokenTime);
    EXPECT_GT(tb.firstScheduledTime - tb.arrivalTime, 0ns);
    EXPECT_TRUE(ex.getInvariantViolations().empty());
}

TEST(SimPacing, AScheduledArrivalInThePastKeepsItsTimeAndEntersAtTheNextIteration) {
    sim::Executor ex(pacedSim(), sim::ModelType::kDECODER_ONLY, pacedConfig());
    TimePoint const t0 = ex.holdClock();
    auto const id = ex.enqueueRequest(request(1, 3, t0 - 5s));
    ex.resumeClock();
    auto f = finals(ex, {id});
    EXPECT_EQ(f[id].perf.timingMetrics.arrivalTime, t0 - 5s);
    EXPECT_GE(f[id].perf.timingMetrics.firstScheduledTime, t0);
}

TEST(SimPacing, AllottedTimeCountsFromTheScheduledArrival) {
    sim::Executor ex(pacedSim(), sim::ModelType::kDECODER_ONLY, pacedConfig());
    TimePoint const t0 = ex.holdClock();
    // Due 10 s after enqueue with 2 s allotted: it runs (counted from enqueue it would expire before arriving).
    auto r1 = request(1, 4, t0 + 10s);
    r1.setAllottedTimeMs(std::chrono::milliseconds(2000));
    // 0 ms allotted: it times out on arrival.
    auto r2 = request(2, 4, t0 + 20s);
    r2.setAllottedTimeMs(std::chrono::milliseconds(0));
    auto const a = ex.enqueueRequest(r1);
    auto const b = ex.enqueueRequest(r2);
    ex.resumeClock();
    auto f = finals(ex, {a, b});
    EXPECT_EQ(f[a].reason, sim::FinishReason::kLENGTH);
    EXPECT_EQ(f[b].reason, sim::FinishReason::kTIMED_OUT);
    EXPECT_EQ(f[b].perf.timingMetrics.arrivalTime, t0 + 20s);
}

TEST(SimPacing, CancellingAScheduledRequestEndsItAtOnceOnBothClocks) {
    for (bool virtualClock : {true, false}) {
        sim::Executor ex(pacedSim(false, virtualClock), sim::ModelType::kDECODER_ONLY, pacedConfig());
        // A virtual clock would jump to the arrival at once: hold it (the cancel then runs in a held pass).
        if (virtualClock) ex.holdClock();
        auto const id = ex.enqueueRequest(request(1, 4, ex.now() + 1h));
        auto const other = ex.enqueueRequest(request(2, 4, ex.now() + 2h));
        std::this_thread::sleep_for(5ms);
        EXPECT_EQ(ex.getClockState().numScheduled, 2u);
        auto const wallStart = std::chrono::steady_clock::now();
        ex.cancelRequest(id);
        auto f = finals(ex, {id}, 2000ms);
        EXPECT_LT(std::chrono::steady_clock::now() - wallStart, 1s);
        EXPECT_EQ(f[id].reason, sim::FinishReason::kCANCELLED) << virtualClock;
        EXPECT_EQ(f[id].perf.timingMetrics.arrivalTime.time_since_epoch().count(), 0) << "it never arrived";
        EXPECT_EQ(ex.getClockState().numScheduled, 1u);
        if (!virtualClock) {
            // The real clock waits for the other arrival, interruptibly: shutdown returns at once.
            auto const before = std::chrono::steady_clock::now();
            ex.shutdown();
            EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
        } else {
            (void)other;
        }
    }
}

TEST(SimPacing, RealClockSleepsUntilAScheduledArrival) {
    sim::Executor ex(pacedSim(false, /*virtualClock=*/false), sim::ModelType::kDECODER_ONLY, pacedConfig());
    TimePoint const at = ex.now() + 150ms;
    auto const id = ex.enqueueRequest(request(1, 2, at));
    auto f = finals(ex, {id});
    EXPECT_EQ(f[id].perf.timingMetrics.arrivalTime, at);
    EXPECT_GE(f[id].perf.timingMetrics.firstScheduledTime, at);
    EXPECT_LT(f[id].perf.timingMetrics.firstScheduledTime, at + 100ms);
    EXPECT_THROW(ex.holdClock(), TllmException) << "the hold needs the virtual clock";
}

TEST(SimPacing, AHoldIsAHorizonThatNoIterationStartsAtOrAfter) {
    sim::Executor ex(pacedSim(), sim::ModelType::kDECODER_ONLY, pacedConfig());
    TimePoint const t0 = ex.holdClock();
    std::vector<sim::IdType> early, late;
    for (int i = 0; i < 3; ++i) early.push_back(ex.enqueueRequest(request(i, 3, t0 + std::chrono::seconds(i))));
    for (int i = 0; i < 2; ++i) late.push_back(ex.enqueueRequest(request(10 + i, 3, t0 + 100s + std::chrono::seconds(i))));
    ex.holdClock(t0 + 100s);  // the client has sent everything that arrives before t0 + 100 s
    finals(ex, early);
    ASSERT_TRUE(waitPaused(ex));
    auto s = ex.getClockState();
    EXPECT_TRUE(s.paused);
    EXPECT_EQ(s.numScheduled, 2u);
    ASSERT_TRUE(s.hold.has_value());
    EXPECT_EQ(*s.hold, t0 + 100s);
    EXPECT_LT(s.now, t0 + 100s);
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(ex.getClockState().now, s.now) << "a held virtual clock does not run at real speed";
    ex.resumeClock();
    auto f = finals(ex, late);
    EXPECT_EQ(f[late[0]].perf.timingMetrics.arrivalTime, t0 + 100s);
    EXPECT_FALSE(ex.getClockState().paused);
    EXPECT_GE(ex.getClockState().numPauses, 1u);
}

// Runs `n` requests with arrivals t0 + offsets[i]: all sent before the clock starts (strict), or sent in bursts
// behind a backlog-exempt hold at the next unsent arrival. Returns per request (arrival, first scheduled, first
// token, last token) relative to t0, and how many had finished before the last one was sent.
struct PacedRun {
    std::vector<std::array<std::int64_t, 4>> times;
    int finishedBeforeLastSend = 0;
};

PacedRun runSchedule(std::vector<std::chrono::milliseconds> const& offsets, bool backlogged) {
    sim::Executor ex(pacedSim(), sim::ModelType::kDECODER_ONLY, pacedConfig(/*maxBatchSize=*/8));
    TimePoint const t0 = ex.holdClock();
    std::size_t const n = offsets.size();
    std::vector<sim::IdType> ids;
    std::map<sim::IdType, Final> got;
    auto drain = [&] {
        for (auto& r : ex.awaitResponses(0ms)) {
            if (!r.hasError() && r.getResult().isFinal) got[r.getRequestId()].perf = *r.getResult().requestPerfMetrics;
        }
    };
    PacedRun out;
    for (std::size_t i = 0; i < n; ++i) {
        ids.push_back(ex.enqueueRequest(request(static_cast<int>(i), 2 + static_cast<int>(i * 7 % 23), t0 + offsets[i])));
        if (backlogged && i % 10 == 9 && i + 1 < n) {
            ex.holdClock(t0 + offsets[i + 1], /*unlessBacklogged=*/true);
            std::this_thread::sleep_for(1ms);  // let the executor run
            drain();
        }
    }
    out.finishedBeforeLastSend = static_cast<int>(got.size());
    ex.resumeClock();
    std::vector<sim::IdType> rest;
    for (auto id : ids) {
        if (!got.count(id)) rest.push_back(id);
    }
    auto f = finals(ex, rest);
    for (auto const& [id, fin] : got) f[id] = fin;
    for (auto id : ids) {
        auto const& t = f[id].perf.timingMetrics;
        auto rel = [&](TimePoint p) { return std::chrono::duration_cast<std::chrono::nanoseconds>(p - t0).count(); };
        out.times.push_back({rel(t.arrivalTime), rel(t.firstScheduledTime), rel(t.firstTokenTime), rel(t.lastTokenTime)});
    }
    EXPECT_TRUE(ex.getInvariantViolations().empty());
    return out;
}

TEST(SimPacing, ABacklogExemptHoldGivesTheTimingsOfTheWholeScheduleSentInAdvance) {
    for (bool allAtOnce : {true, false}) {
        std::vector<std::chrono::milliseconds> offsets;
        for (int i = 0; i < 200; ++i) offsets.emplace_back(allAtOnce ? 0 : i * 37 % 11 + i * 9);  // bursty, overloaded
        std::sort(offsets.begin(), offsets.end());
        PacedRun const strict = runSchedule(offsets, false);
        PacedRun const backlogged = runSchedule(offsets, true);
        EXPECT_EQ(strict.finishedBeforeLastSend, 0);
        EXPECT_GT(backlogged.finishedBeforeLastSend, 0) << "the simulation overlapped the sending";
        ASSERT_EQ(strict.times.size(), backlogged.times.size());
        for (std::size_t i = 0; i < strict.times.size(); ++i) EXPECT_EQ(strict.times[i], backlogged.times[i]) << i;
    }
}

TEST(SimPacing, LockstepHoldsAfterAFinishUntilResumeAndReplacementsEnterAtTheLastTokenTime) {
    sim::Executor ex(pacedSim(/*lockstep=*/true), sim::ModelType::kDECODER_ONLY, pacedConfig());
    TimePoint const t0 = ex.holdClock();
    auto const shortOne = ex.enqueueRequest(request(1, 3, t0));
    auto const longOne = ex.enqueueRequest(request(2, 50, t0, /*streaming=*/true));
    ex.resumeClock();
    auto f = finals(ex, {shortOne});
    TimePoint const last = f[shortOne].perf.timingMetrics.lastTokenTime;
    ASSERT_TRUE(waitPaused(ex));
    auto s = ex.getClockState();
    ASSERT_TRUE(s.hold.has_value());
    EXPECT_EQ(*s.hold, last);
    EXPECT_EQ(s.now, last);
    // Paused: no iteration runs, the clock stays put, the long request gets nothing.
    std::this_thread::sleep_for(30ms);
    for (auto const& r : ex.awaitResponses(0ms)) EXPECT_NE(r.getRequestId(), longOne) << "an iteration ran while paused";
    EXPECT_EQ(ex.now(), last);
    EXPECT_TRUE(ex.getClockState().paused);
    EXPECT_GT(ex.getClockState().pausedFor, 20ms);
    // The replacement arrives when the finished request's last token did.
    auto const replacement = ex.enqueueRequest(request(3, 3, last));
    ex.resumeClock();
    auto g = finals(ex, {replacement});
    EXPECT_EQ(g[replacement].perf.timingMetrics.arrivalTime, last);
    EXPECT_EQ(g[replacement].perf.timingMetrics.firstScheduledTime, last) << "no queue time: it joins the next iteration";
    // Drain the rest; every finishing iteration pauses again.
    std::thread resumer([&] {
        for (int i = 0; i < 200 && ex.canEnqueueRequests(); ++i) {
            std::this_thread::sleep_for(2ms);
            ex.resumeClock();
        }
    });
    finals(ex, {longOne});
    resumer.join();
    EXPECT_GE(ex.getClockState().numPauses, 2u);
    EXPECT_TRUE(ex.getInvariantViolations().empty());
}

TEST(SimPacing, LockstepClosedLoopKeepsTheBatchFull) {
    constexpr int kConcurrency = 4;
    constexpr int kRequests = 24;
    sim::Executor ex(pacedSim(/*lockstep=*/true), sim::ModelType::kDECODER_ONLY, pacedConfig());
    TimePoint const t0 = ex.holdClock();
    std::set<sim::IdType> inflight;
    int sent = 0;
    for (; sent < kConcurrency; ++sent) inflight.insert(ex.enqueueRequest(request(sent, 3 + sent * 5 % 11, t0)));
    ex.resumeClock();
    int done = 0;
    auto const deadline = std::chrono::steady_clock::now() + 10s;
    while (done < kRequests && std::chrono::steady_clock::now() < deadline) {
        bool finished = false;
        for (auto& r : ex.awaitResponses(20ms)) {
            if (!r.getResult().isFinal) continue;
            ++done;
            finished = true;
            inflight.erase(r.getRequestId());
            TimePoint const last = r.getResult().requestPerfMetrics->timingMetrics.lastTokenTime;
            if (sent < kRequests) {
                inflight.insert(ex.enqueueRequest(request(sent, 3 + sent * 5 % 11, last)));
                ++sent;
            }
        }
        if (finished) ex.resumeClock();
    }
    ASSERT_EQ(done, kRequests);
    // Every iteration had kConcurrency requests in the batch until fewer than that were left.
    auto stats = allStats(ex);
    int completed = 0;
    for (auto const& s : stats) {
        EXPECT_EQ(s.numActiveRequests, std::min(kConcurrency, kRequests - completed)) << "iteration " << s.iter;
        completed += s.numCompletedRequests;
    }
    EXPECT_EQ(completed, kRequests);
    EXPECT_TRUE(ex.getInvariantViolations().empty());
}

TEST(SimPacing, CancelAndShutdownWorkWhilePaused) {
    sim::Executor ex(pacedSim(/*lockstep=*/true), sim::ModelType::kDECODER_ONLY, pacedConfig());
    TimePoint const t0 = ex.holdClock();
    auto const a = ex.enqueueRequest(request(1, 2, t0));
    auto const b = ex.enqueueRequest(request(2, 100, t0));
    auto const c = ex.enqueueRequest(request(3, 100, t0 + 1h));  // still scheduled
    ex.resumeClock();
    finals(ex, {a});
    ASSERT_TRUE(waitPaused(ex));
    TimePoint const pausedAt = ex.now();
    ex.cancelRequest(b);
    ex.cancelRequest(c);
    auto f = finals(ex, {b, c}, 2000ms);
    EXPECT_EQ(f[b].reason, sim::FinishReason::kCANCELLED);
    EXPECT_EQ(f[c].reason, sim::FinishReason::kCANCELLED);
    EXPECT_EQ(ex.now(), pausedAt) << "cancelling runs no forward step and takes no time";
    // Still held; a new request waits for resumeClock (visible as a pause).
    auto const d = ex.enqueueRequest(request(4, 100, std::nullopt));
    ASSERT_TRUE(waitPaused(ex));
    EXPECT_TRUE(ex.getClockState().paused);
    auto const before = std::chrono::steady_clock::now();
    ex.shutdown();
    EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
    EXPECT_THROW(static_cast<void>(ex.enqueueRequest(request(5, 1))), TllmException);
    EXPECT_THROW(ex.holdClock(), TllmException);
    ex.resumeClock();  // harmless after shutdown
    (void)d;
    EXPECT_TRUE(ex.getInvariantViolations().empty());
}

TEST(SimPacing, InvalidUses) {
    EXPECT_THROW(sim::Executor(pacedSim(/*lockstep=*/true, /*virtualClock=*/false), sim::ModelType::kDECODER_ONLY, pacedConfig()),
                 TllmException);
    sim::Executor ex(pacedSim(), sim::ModelType::kDECODER_ONLY, pacedConfig());
    auto const id = ex.enqueueRequest(request(1, 2, TimePoint{}));
    auto const responses = ex.awaitResponses(id, 2000ms);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_TRUE(responses[0].hasError());
    EXPECT_NE(responses[0].getErrorMsg().find("simArrivalTime"), std::string::npos);
}

// ---- the bridge ----------------------------------------------------------------------------------------------

namespace bridge = trtllm_metrics::bridge;
using trtllm_metrics::backends::SimApi;

// The simulator behind the real executor's surface: no setSimArrivalTime, no clock hold.
namespace plain {
class Request : private sim::Request {
public:
    using sim::Request::Request;
    using sim::Request::getInputTokenIds;
    sim::Request const& base() const { return *this; }
};
class Executor : private sim::Executor {
public:
    using sim::Executor::Executor;
    sim::IdType enqueueRequest(Request const& r) { return sim::Executor::enqueueRequest(r.base()); }
    using sim::Executor::awaitResponses;
    using sim::Executor::cancelRequest;
    using sim::Executor::getKVCacheEventManager;
    using sim::Executor::getLatestIterationStats;
    using sim::Executor::getTokensPerBlock;
    using sim::Executor::now;
    using sim::Executor::shutdown;
};
}  // namespace plain

struct PlainApi : trtllm_metrics::tests::WrappedSimApi<plain::Executor> {
    using Request = plain::Request;
};

static_assert(std::is_same_v<bridge::Bridge<SimApi>::Pacing, trtllm_metrics::backends::SimPacing>,
              "the simulator's bridge is handed the simulator's pacing");
static_assert(std::is_same_v<bridge::Bridge<PlainApi>::Pacing, bridge::UnsupportedPacing>,
              "an executor without it compiles with the unsupported pacing");

TEST(SimPacing, BridgeStampsTheScheduledArrivalAsTheEnqueueTime) {
    bridge::steadyEpochNs();
    auto executor = std::make_unique<sim::Executor>(pacedSim(), sim::ModelType::kDECODER_ONLY, pacedConfig(/*maxBatchSize=*/1));
    bridge::Bridge<SimApi> b(std::move(executor), bridge::BridgeOptions{}, nullptr);
    b.start();
    double const t0 = b.pacing().holdClock(std::nullopt);
    EXPECT_EQ(b.clockNs(), t0);
    bridge::RequestMeta meta;
    meta.simArrivalNs = t0 + 2e9;
    b.enqueue(request(1, 8), meta);
    b.enqueue(request(2, 8), meta);  // queues behind the first (one batch slot)
    EXPECT_EQ(b.pacing().clockState().scheduled, 2);
    b.pacing().resumeClock();
    std::vector<bridge::RequestRecord> records;
    auto const deadline = std::chrono::steady_clock::now() + 10s;
    while (records.size() < 2 && std::chrono::steady_clock::now() < deadline) {
        b.drainRecords([&](bridge::RequestRecord const* first, std::size_t n) { records.insert(records.end(), first, first + n); });
        std::vector<bridge::ResponseChunk> chunks;
        b.drainChunks(chunks);
        std::this_thread::sleep_for(1ms);
    }
    ASSERT_EQ(records.size(), 2u);
    std::sort(records.begin(), records.end(), [](auto const& x, auto const& y) { return x.v[bridge::kRequestId] < y.v[bridge::kRequestId]; });
    for (auto const& r : records) {
        EXPECT_EQ(r.v[bridge::kEnqueueTimeNs], t0 + 2e9);
        EXPECT_EQ(r.v[bridge::kArrivalTimeNs], t0 + 2e9);
    }
    // The second one's queue time (first scheduled - arrival) is the first one's whole run.
    EXPECT_EQ(records[1].v[bridge::kFirstScheduledTimeNs], records[0].v[bridge::kLastTokenTimeNs]);
    EXPECT_GT(records[1].v[bridge::kFirstScheduledTimeNs] - records[1].v[bridge::kArrivalTimeNs], 0);
    b.stop(100ms);
}

TEST(SimPacing, BridgeRejectsPacingOnAnExecutorWithoutIt) {
    bridge::steadyEpochNs();
    auto executor = std::make_unique<plain::Executor>(pacedSim(), sim::ModelType::kDECODER_ONLY, pacedConfig());
    bridge::Bridge<PlainApi> b(std::move(executor), bridge::BridgeOptions{}, nullptr);
    b.start();
    bridge::RequestMeta meta;
    meta.simArrivalNs = b.clockNs() + 1e9;
    sim::OutputConfig out;
    EXPECT_THROW(b.enqueue(plain::Request(prompt(8, 1), 2, false, sim::SamplingConfig(), out), meta),
                 bridge::BridgeUnsupportedError);
    EXPECT_EQ(b.pendingCount(), 0u);
    EXPECT_THROW(b.pacing().holdClock(std::nullopt), bridge::BridgeUnsupportedError);
    EXPECT_THROW(b.pacing().resumeClock(), bridge::BridgeUnsupportedError);
    EXPECT_THROW(b.pacing().clockState(), bridge::BridgeUnsupportedError);
    EXPECT_GT(b.clockNs(), 0);
    // Plain requests still work.
    b.enqueue(plain::Request(prompt(8, 1), 2, false, sim::SamplingConfig(), out), bridge::RequestMeta{});
    auto const deadline = std::chrono::steady_clock::now() + 5s;
    while (b.pendingCount() > 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
    EXPECT_EQ(b.pendingCount(), 0u);
    b.stop(100ms);
}
