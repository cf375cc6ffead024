// The simulated executor: same public surface as tensorrt_llm::executor::Executor (the subset the
// bridge uses) plus a few simulator-only accessors. One internal thread runs inflight-batching
// iterations against a paged KV cache model and a timing model; every public method is thread-safe.
#pragma once

#include "sim/config.h"
#include "sim/iteration_work.h"
#include "sim/kv_cache_events.h"
#include "sim/request.h"
#include "sim/response.h"
#include "sim/stats.h"
#include "sim/types.h"

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace trtllm_sim::executor
{

/// Where the simulator's clock stands (Executor::getClockState, simulator-only; docs/simulator.md "Pacing").
struct SimClockState
{
    using TimePoint = RequestPerfMetrics::TimePoint;

    /// Executor::now().
    TimePoint now;
    /// The current hold (holdClock or lockstep): no iteration starts at or after it. Unset when none.
    std::optional<TimePoint> hold;
    /// The hold was set with unlessBacklogged.
    bool holdUnlessBacklogged{false};
    /// True while the executor has work (requests queued, running, or scheduled to arrive) but waits at the
    /// hold for the client: nothing moves until resumeClock() or holdClock() with a later time.
    bool paused{false};
    /// Real (wall) time the current pause has lasted; 0 when not paused.
    std::chrono::nanoseconds pausedFor{0};
    /// Times the executor started waiting at a hold, and resumeClock() calls, since construction.
    std::uint64_t numPauses{0};
    std::uint64_t numResumes{0};
    /// Requests with a scheduled arrival (Request::setSimArrivalTime) that have not entered the queue yet.
    std::size_t numScheduled{0};
};

/// What the simulated engine is (Executor::getEngineInfo, simulator-only): the limits it runs with and, with the
/// performance model, the GPU and precisions behind them. Counts are per attention-DP rank.
struct SimEngineInfo
{
    /// "configured" (REFERENCE.md section 5 latencies) or "perfModel".
    std::string timingModel;
    SizeType32 attentionDp{1};
    SizeType32 numKvBlocks{0};
    SizeType32 numHostKvBlocks{0};
    SizeType32 tokensPerBlock{0};
    SizeType32 maxBatchSize{0};
    SizeType32 maxNumTokens{0};
    /// GPU memory besides the KV cache, and of one KV block, on one GPU.
    double modelSizeBytes{0};
    double kvBytesPerBlock{0};
    // Performance model only (empty / 0 otherwise).
    std::string gpu;
    SizeType32 tp{0};
    std::string weightsPrecision;
    std::string kvCachePrecision;
};

/// A LoRA adapter resident in a rank's device cache (Executor::getLoraAdapters, simulator-only).
struct SimLoraAdapter
{
    SizeType32 rank{0};
    IdType taskId{0};
};

class Executor
{
public:
    /// Starts the executor thread. Throws common::TllmException on an invalid configuration (no KV blocks,
    /// a non-positive limit, a model type other than kDECODER_ONLY, ...).
    Executor(SimConfig const& simConfig, ModelType modelType, ExecutorConfig const& executorConfig);
    /// Shuts down (see shutdown()).
    ~Executor();

    Executor(Executor const&) = delete;
    Executor& operator=(Executor const&) = delete;
    Executor(Executor&&) noexcept;
    Executor& operator=(Executor&&) noexcept;

    /// Accepts a request and returns its id (ids start at 1). An invalid request still gets an id and is
    /// answered by an error Response. Throws TllmException after shutdown or when the waiting queue holds
    /// maxQueueSize requests.
    [[nodiscard]] IdType enqueueRequest(Request const& request);
    /// enqueueRequest for each request in order (the ones before a throw stay enqueued).
    [[nodiscard]] std::vector<IdType> enqueueRequests(std::vector<Request> const& requests);

    /// Waits until any response is ready (or the timeout passes, or shutdown) and returns all ready ones.
    [[nodiscard]] std::vector<Response> awaitResponses(
        std::optional<std::chrono::milliseconds> const& timeout = std::nullopt);
    /// Same, for one request id (an id whose responses were all delivered waits for the timeout).
    [[nodiscard]] std::vector<Response> awaitResponses(
        IdType const& requestId, std::optional<std::chrono::milliseconds> const& timeout = std::nullopt);
    /// Waits until any of the ids has a response; returns the ready responses per id, in the ids' order.
    [[nodiscard]] std::vector<std::vector<Response>> awaitResponses(
        std::vector<IdType> const& requestIds, std::optional<std::chrono::milliseconds> const& timeout = std::nullopt);

    [[nodiscard]] SizeType32 getNumResponsesReady(std::optional<IdType> const& requestId = std::nullopt) const;

    /// Asks to cancel a request; it ends at the next iteration with FinishReason::kCANCELLED. Unknown or
    /// finished ids are ignored.
    void cancelRequest(IdType requestId);

    /// Stops the executor thread (blocking, idempotent) and wakes every waiter. Requests still in flight
    /// get no further responses. Afterwards every other call throws TllmException, except the
    /// simulator-only accessors and canEnqueueRequests (false).
    void shutdown();

    /// Drains the stats of the iterations since the last call (at most iterStatsMaxIterations, oldest dropped).
    std::deque<IterationStats> getLatestIterationStats();
    /// Drains the per-request stats (at most requestStatsMaxIterations iterations; empty when that is 0).
    std::deque<RequestStatsPerIteration> getLatestRequestStats();

    [[nodiscard]] bool canEnqueueRequests() const;

    /// The KV event manager, or std::nullopt when KvCacheConfig::eventBufferMaxSize is 0.
    [[nodiscard]] std::optional<std::shared_ptr<KVCacheEventManager>> getKVCacheEventManager() const;

    // ---- simulator-only ----
    /// The simulator's clock (real or virtual steady time); perf metrics are stamped on it.
    [[nodiscard]] RequestPerfMetrics::TimePoint now() const;
    [[nodiscard]] SimConfig const& getSimConfig() const;
    [[nodiscard]] SizeType32 getTokensPerBlock() const;
    /// Number of KV blocks of the simulated cache.
    [[nodiscard]] SizeType32 getMaxNumBlocks() const;
    /// When SimConfig::checkInvariants is set, the invariant violations the executor thread detected
    /// (block accounting, GUARANTEED_NO_EVICT reservations, event consistency); empty when all held.
    [[nodiscard]] std::vector<std::string> getInvariantViolations() const;
    /// The limits and model the executor runs with (works after shutdown).
    [[nodiscard]] SimEngineInfo getEngineInfo() const;
    /// The LoRA adapters in the ranks' device caches as of the latest iteration, most recently used first.
    [[nodiscard]] std::vector<SimLoraAdapter> getLoraAdapters() const;
    /// With SimConfig::recordWork: the work of every iteration since the last call (one entry per rank).
    [[nodiscard]] std::vector<std::vector<IterationWork>> takeRecordedWork();

    // ---- simulator-only pacing (docs/simulator.md "Pacing"): virtual clock only ----
    /// Holds the clock: the executor finishes the iteration in progress and starts no iteration at or after
    /// `until` (default: now), and while held the virtual clock never runs at real speed. Replaces the current
    /// hold (the lockstep one included). Returns the hold. Cancellations are still handled while held (in a
    /// zero-length iteration that schedules nothing). Throws TllmException on a real clock or after shutdown.
    /// With `unlessBacklogged`, iterations at or after `until` still run while more requests wait than one
    /// iteration can admit: exact when every request not sent yet arrives at or after `until` with no higher
    /// priority and no allottedTimeMs (it would queue behind them), except for the queue lengths in the stats.
    RequestPerfMetrics::TimePoint holdClock(
        std::optional<RequestPerfMetrics::TimePoint> const& until = std::nullopt, bool unlessBacklogged = false);
    /// Clears any hold (holdClock's or lockstep's); a no-op when there is none, or after shutdown.
    void resumeClock();
    /// The clock, the hold and whether the executor is waiting at it (works after shutdown).
    [[nodiscard]] SimClockState getClockState() const;

    class Impl;

private:
    std::unique_ptr<Impl> mImpl;
};

} // namespace trtllm_sim::executor
