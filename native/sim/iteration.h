// One iteration of the executor thread (docs/simulator.md "One iteration"): arrivals (assigned to the least
// loaded attention-DP rank) and cancellations, then for every rank capacity and micro-batch scheduling and the
// forward step (prefill chunks, decoding, KV growth, finish reasons); the modelled time of all ranks together,
// the timestamps, and what it publishes: statistics and KV events, then the responses.
#pragma once

#include "sim/clock.h"
#include "sim/config.h"
#include "sim/faults.h"
#include "sim/invariants.h"
#include "sim/kv_cache_events.h"
#include "sim/llm_request.h"
#include "sim/mailbox.h"
#include "sim/pacing.h"
#include "sim/rank.h"
#include "sim/request_pool.h"
#include "sim/response_queue.h"
#include "sim/work_log.h"
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

    /// Every argument must outlive the step (they are members of the executor that owns it); `events` and
    /// `workLog` may be null (KV events off, work not recorded).
    IterationStep(SimConfig const& sim, Limits const& limits, SimClock& clock, TimingModel const& timing,
        TokenSampler const& sampler, Ranks& ranks, RequestPool& pool, Mailbox& mailbox, Pacing& pacing,
        StatsBuilder& stats, InvariantChecker& invariants, ResponseQueue& responses, KVCacheEventManager* events,
        WorkLog* workLog, FaultInjector const& faults);

    /// Runs one iteration over the requests and cancellations taken from the mailbox. With heldPass (the clock
    /// is held) it only takes arrivals and ends cancelled requests. Returns false when nothing happened (no
    /// arrival, admission, work or completion): such an iteration is not counted and has no stats.
    bool run(std::vector<std::unique_ptr<LlmRequest>>& incoming, std::vector<IdType> const& cancels, bool heldPass);

    /// A simulator bug threw inside run(): every live request gets an error response with `message`, which is
    /// also recorded as an invariant violation, and the executor starts over empty.
    void failAll(std::string const& message);

private:
    /// Every live request gets an error response with `message`; the executor starts over empty.
    void terminateAll(std::string const& message);
    /// Requests of the rank's batch that reached their injected error position end with an error response.
    void failInjected(Rank& rank);
    /// Returns whether any request arrived.
    bool arrive(TimePoint start, std::vector<std::unique_ptr<LlmRequest>>& incoming);
    /// Queues an arrived request on the rank with the fewest waiting and running requests.
    void assignRank(LlmRequest* r);
    void cancel(std::vector<IdType> const& cancels, TimePoint start);
    /// Ends cancelled and timed-out requests, queued or active.
    void terminateExpired(TimePoint now);
    void schedule(Rank& rank, bool heldPass);
    /// Throws when an injected fatal fault hits iteration `iter` (before it changes the rank).
    void forward(Rank& rank, IterationType iter);
    /// Decodes up to maxNew tokens for r (stopping at the end id, a stop word or maxTokens).
    void produce(LlmRequest& r, SizeType32 maxNew);
    /// The modelled latency of the iteration; the real clock sleeps it, the virtual one advances by it.
    /// Injected slow iterations scale it, and an injected stall hangs the thread for real time on top.
    TimingModel::Breakdown elapse(TimePoint start, IterationType iter);
    /// Stamps first-scheduled and token times; sums the admitted requests' queue latency (ms) into the rank.
    void stamp(Rank& rank, TimePoint start, TimePoint end, IterationType iter);
    /// Streaming responses of running requests and final responses of those that ended; frees their blocks.
    void respond(Rank& rank, IterationType iter);
    void publishStats(IterationSummary summary);
    void publishEvents();

    SimConfig const& mSim;
    Limits const& mLimits;
    SimClock& mClock;
    TimingModel const& mTiming;
    TokenSampler const& mSampler;
    Ranks& mRanks;
    RequestPool& mPool;
    Mailbox& mMailbox;
    Pacing& mPacing;
    StatsBuilder& mStats;
    InvariantChecker& mInvariants;
    ResponseQueue& mResponses;
    KVCacheEventManager* const mEvents;
    WorkLog* const mWorkLog;
    FaultInjector const& mFaults;

    IterationType mIter{0};
    std::vector<Response> mOutResponses;
    std::vector<KVCacheEventData> mEventScratch;
    std::vector<LlmRequest*> mArrived;
    std::vector<IterationWork> mWork;
};

} // namespace trtllm_sim::executor
