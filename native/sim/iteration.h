// One iteration of the executor thread (docs/simulator.md "One iteration"): arrivals and cancellations,
// capacity and micro-batch scheduling, the forward step (prefill chunks, decoding, KV growth, finish reasons),
// the modelled time, the timestamps, and what it publishes: statistics and KV events, then the responses.
#pragma once

#include "sim/clock.h"
#include "sim/config.h"
#include "sim/faults.h"
#include "sim/invariants.h"
#include "sim/kv_cache_events.h"
#include "sim/kv_cache_manager.h"
#include "sim/llm_request.h"
#include "sim/mailbox.h"
#include "sim/pacing.h"
#include "sim/request_pool.h"
#include "sim/response_queue.h"
#include "sim/scheduler.h"
#include "sim/stats_builder.h"
#include "sim/timing_model.h"
#include "sim/token_sampler.h"
#include "sim/validation.h"

#include <memory>
#include <string>
#include <vector>

namespace trtllm_sim::executor
{

class IterationStep
{
public:
    using TimePoint = SimClock::TimePoint;

    /// Every argument must outlive the step (they are members of the executor that owns it); `events` may be
    /// null (KV events off).
    IterationStep(SimConfig const& sim, Limits const& limits, SimClock& clock, TimingModel const& timing,
        TokenSampler const& sampler, KvCacheManager& kv, Scheduler& scheduler, RequestPool& pool, Mailbox& mailbox,
        Pacing& pacing, StatsBuilder& stats, InvariantChecker& invariants, ResponseQueue& responses,
        KVCacheEventManager* events, FaultInjector const& faults);

    /// Runs one iteration over the requests and cancellations taken from the mailbox. With heldPass (the clock
    /// is held) it only takes arrivals and ends cancelled requests. Returns false when nothing happened (no
    /// arrival, admission, work or completion): such an iteration is not counted and has no stats.
    bool run(std::vector<std::unique_ptr<LlmRequest>>& incoming, std::vector<IdType> const& cancels, bool heldPass);

    /// A simulator bug threw inside run(): every live request gets an error response with `message`, which is
    /// also recorded as an invariant violation, and the executor starts over empty.
    void failAll(std::string const& message);

private:
    /// What the forward step computed.
    struct Forward
    {
        SpecDecodingStats spec;
        /// Tokens decoded by generation requests.
        SizeType64 genDecoded{0};
    };

    /// Every live request gets an error response with `message`; the executor starts over empty.
    void terminateAll(std::string const& message);
    /// Requests of the batch that reached their injected error position end with an error response.
    void failInjected(MicroBatch const& batch);
    /// Returns whether any request arrived.
    bool arrive(TimePoint start, std::vector<std::unique_ptr<LlmRequest>>& incoming);
    void cancel(std::vector<IdType> const& cancels, TimePoint start);
    /// Ends cancelled and timed-out requests, queued or active.
    void terminateExpired(TimePoint now);
    MicroBatch schedule(bool heldPass);
    /// Throws when an injected fatal fault hits iteration `iter` (before it changes anything).
    Forward forward(MicroBatch const& batch, IterationType iter);
    /// Decodes up to maxNew tokens for r (stopping at the end id, a stop word or maxTokens).
    void produce(LlmRequest& r, SizeType32 maxNew);
    /// The modelled latency of the iteration; the real clock sleeps it, the virtual one advances by it.
    /// Injected slow iterations scale it, and an injected stall hangs the thread for real time on top.
    TimingModel::Breakdown elapse(TimePoint start, MicroBatch const& batch, Forward const& forward, IterationType iter);
    /// Stamps first-scheduled and token times; returns the admitted requests' summed queue latency (ms).
    double stamp(MicroBatch const& batch, TimePoint start, TimePoint end, IterationType iter);
    /// Streaming responses of running requests and final responses of those that ended; frees their blocks.
    void respond(MicroBatch const& batch, IterationType iter);
    void publishStats(IterationSummary summary);
    void publishEvents();

    SimConfig const& mSim;
    Limits const& mLimits;
    SimClock& mClock;
    TimingModel const& mTiming;
    TokenSampler const& mSampler;
    KvCacheManager& mKv;
    Scheduler& mScheduler;
    RequestPool& mPool;
    Mailbox& mMailbox;
    Pacing& mPacing;
    StatsBuilder& mStats;
    InvariantChecker& mInvariants;
    ResponseQueue& mResponses;
    KVCacheEventManager* const mEvents;
    FaultInjector const& mFaults;

    IterationType mIter{0};
    /// Requests of the current static batch (STATIC_BATCH), for emptyGenSlots.
    SizeType32 mStaticBatchSize{0};
    std::vector<Response> mOutResponses;
    std::vector<KVCacheEventData> mEventScratch;
};

} // namespace trtllm_sim::executor
