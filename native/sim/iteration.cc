#include "sim/iteration.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace trtllm_sim::executor
{

namespace
{

bool matchesStopWord(LlmRequest const& r)
{
    SizeType32 const generated = r.numGenerated();
    for (auto const& word : r.stopWords)
    {
        auto const n = static_cast<SizeType32>(word.size());
        if (n <= generated && std::equal(word.begin(), word.end(), r.tokens.end() - n))
        {
            return true;
        }
    }
    return false;
}

Response makeResponse(LlmRequest& r, bool isFinal, IterationType iter)
{
    Result result;
    result.isFinal = isFinal;
    result.isSequenceFinal = isFinal;
    result.outputTokenIds.resize(1);
    auto& out = result.outputTokenIds[0];
    auto const generatedBegin = r.tokens.begin() + r.promptLen;
    if (r.streaming)
    {
        out.assign(generatedBegin + r.numSent, r.tokens.end());
        r.numSent = r.numGenerated();
    }
    else
    {
        out.assign(r.excludeInputFromOutput ? generatedBegin : r.tokens.begin(), r.tokens.end());
    }
    result.finishReasons.assign(1, isFinal ? r.finishReason : FinishReason::kNOT_FINISHED);
    result.decodingIter = r.decodingIter;
    result.avgDecodedTokensPerIter
        = r.decodingIter > 0 ? static_cast<float>(r.numDecoded) / static_cast<float>(r.decodingIter) : 0.f;
    if (r.returnPerfMetrics)
    {
        RequestPerfMetrics perf = r.perf;
        perf.iter = iter;
        auto& kv = perf.kvCacheMetrics;
        kv.numTotalAllocatedBlocks = r.kv.totalAllocatedBlocks;
        kv.numNewAllocatedBlocks = r.kv.newAllocatedBlocks;
        kv.numReusedBlocks = r.kv.reusedBlocks;
        kv.numMissedBlocks = r.kv.missedBlocks;
        SizeType32 const lookups = r.kv.reusedBlocks + r.kv.missedBlocks;
        kv.kvCacheHitRate = lookups > 0 ? static_cast<float>(r.kv.reusedBlocks) / static_cast<float>(lookups) : 0.f;
        auto& spec = perf.speculativeDecoding;
        spec.totalDraftTokens = r.totalDraftTokens;
        spec.totalAcceptedDraftTokens = r.totalAcceptedDraftTokens;
        spec.acceptanceRate = r.totalDraftTokens > 0
            ? static_cast<float>(r.totalAcceptedDraftTokens) / static_cast<float>(r.totalDraftTokens)
            : 0.f;
        result.requestPerfMetrics = std::move(perf);
    }
    return Response(r.id, std::move(result), r.clientId);
}

} // namespace

IterationStep::IterationStep(SimConfig const& sim, Limits const& limits, SimClock& clock, TimingModel const& timing,
    TokenSampler const& sampler, KvCacheManager& kv, Scheduler& scheduler, RequestPool& pool, Mailbox& mailbox,
    Pacing& pacing, StatsBuilder& stats, InvariantChecker& invariants, ResponseQueue& responses,
    KVCacheEventManager* events, FaultInjector const& faults)
    : mSim(sim)
    , mLimits(limits)
    , mClock(clock)
    , mTiming(timing)
    , mSampler(sampler)
    , mKv(kv)
    , mScheduler(scheduler)
    , mPool(pool)
    , mMailbox(mailbox)
    , mPacing(pacing)
    , mStats(stats)
    , mInvariants(invariants)
    , mResponses(responses)
    , mEvents(events)
    , mFaults(faults)
{
}

bool IterationStep::run(
    std::vector<std::unique_ptr<LlmRequest>>& incoming, std::vector<IdType> const& cancels, bool heldPass)
{
    TimePoint const start = mClock.now();
    IterationType const iter = mIter;
    mPool.finished.clear();
    mPool.admitted.clear();
    mPool.paused.clear();

    bool const hadArrivals = arrive(start, incoming);
    cancel(cancels, start);
    MicroBatch batch = schedule(heldPass);
    {
        std::lock_guard<std::mutex> lock(mMailbox.mutex);
        mMailbox.numWaiting = static_cast<SizeType64>(mPool.waiting.size());
        mPacing.syncScheduledLocked();
    }
    auto const numActive = static_cast<SizeType32>(mPool.active.size());

    Forward fwd;
    try
    {
        fwd = forward(batch, iter);
    }
    catch (std::exception const& e)
    {
        // TensorRT-LLM's executor loop: an exception in the forward step terminates the requests in flight
        // with its message. The iteration does not count (no stats), so a sticky fault hits the next one too.
        terminateAll(std::string(FaultInjector::kForwardErrorPrefix) + e.what());
        return false;
    }
    failInjected(batch);
    TimingModel::Breakdown const latency = elapse(start, batch, fwd, iter);
    TimePoint const end = mClock.now();
    double const queueLatencyMs = stamp(batch, start, end, iter);
    respond(batch, iter);

    bool const anyWork = !batch.generation.empty() || !batch.context.empty();
    bool const didSomething = anyWork || hadArrivals || !mPool.finished.empty() || !mPool.admitted.empty()
        || !mPool.paused.empty();
    if (didSomething)
    {
        if (mSim.checkInvariants)
        {
            mInvariants.check(iter);
        }
        publishStats(IterationSummary{
            iter, start, end, &batch, numActive, 0, queueLatencyMs, fwd.genDecoded, mStaticBatchSize, fwd.spec, latency});
        publishEvents();
        ++mIter;
    }
    mPacing.holdAfterIteration(end, !mPool.finished.empty());
    mResponses.publish(mOutResponses);

    for (auto* r : mPool.finished)
    {
        mPool.retire(r);
    }
    mPool.finished.clear();
    return didSomething;
}

void IterationStep::failAll(std::string const& message)
{
    mInvariants.record(mIter, message);
    terminateAll(message);
}

void IterationStep::terminateAll(std::string const& message)
{
    std::vector<Response> out;
    for (auto& [id, r] : mPool.requests)
    {
        mKv.release(r->kv);
        out.emplace_back(id, message, r->clientId);
    }
    mPool.clear();
    mPacing.clearSchedule();
    mOutResponses.clear();
    {
        std::lock_guard<std::mutex> lock(mMailbox.mutex);
        mMailbox.numWaiting = 0;
        mPacing.syncScheduledLocked();
    }
    mResponses.publish(out);
}

bool IterationStep::arrive(TimePoint start, std::vector<std::unique_ptr<LlmRequest>>& incoming)
{
    // Scheduled arrivals whose time has come, before the requests enqueued without one (whose arrival, this
    // iteration's start, is later or equal).
    bool const scheduled = mPacing.admitDueArrivals(start);
    for (auto& owned : incoming)
    {
        LlmRequest* r = owned.get();
        r->perf.timingMetrics.arrivalTime = start;
        mPool.insertWaiting(r);
        mPool.adopt(std::move(owned));
    }
    return scheduled || !incoming.empty();
}

void IterationStep::cancel(std::vector<IdType> const& cancels, TimePoint start)
{
    bool anyCancel = false;
    for (IdType const id : cancels)
    {
        auto const it = mPool.requests.find(id);
        if (it == mPool.requests.end() || it->second->isFinished())
        {
            continue;
        }
        LlmRequest* r = it->second.get();
        if (mPacing.cancelBeforeArrival(*r))
        {
            // Cancelled before its scheduled arrival: it ends now without ever entering the queue.
            r->finishReason = FinishReason::kCANCELLED;
            mPool.finished.push_back(r);
        }
        else
        {
            r->cancelRequested = true;
            anyCancel = true;
        }
    }
    if (anyCancel || mPool.numWithDeadline > 0)
    {
        terminateExpired(start);
    }
}

void IterationStep::terminateExpired(TimePoint now)
{
    auto expired = [&](LlmRequest* r) {
        if (r->cancelRequested)
        {
            r->finishReason = FinishReason::kCANCELLED;
        }
        else if (r->deadline && now >= *r->deadline)
        {
            r->finishReason = FinishReason::kTIMED_OUT;
        }
        else
        {
            return false;
        }
        mPool.finished.push_back(r);
        return true;
    };
    auto& waiting = mPool.waiting;
    waiting.erase(std::remove_if(waiting.begin(), waiting.end(), expired), waiting.end());
    auto& active = mPool.active;
    auto const activeEnd = std::remove_if(active.begin(), active.end(), [&](LlmRequest* r) {
        if (!expired(r))
        {
            return false;
        }
        mKv.release(r->kv);
        return true;
    });
    active.erase(activeEnd, active.end());
}

MicroBatch IterationStep::schedule(bool heldPass)
{
    MicroBatch batch;
    if (heldPass)
    {
        return batch;
    }
    mScheduler.admit(mPool.waiting, mPool.active, mKv, mPool.admitted);
    if (mLimits.policy == CapacitySchedulerPolicy::kSTATIC_BATCH && !mPool.admitted.empty())
    {
        mStaticBatchSize = static_cast<SizeType32>(mPool.active.size());
    }
    batch = mScheduler.formMicroBatch(mPool.active);
    mScheduler.fitBlocks(batch, mPool.active, mPool.waiting, mKv, mPool.paused);
    return batch;
}

void IterationStep::failInjected(MicroBatch const& batch)
{
    for (auto const* list : {&batch.context, &batch.generation})
    {
        for (auto* r : *list)
        {
            if (r->injectedErrorAt >= 0 && r->error.empty() && r->numGenerated() > r->injectedErrorAt)
            {
                r->error = FaultInjector::requestErrorMessage(r->id, r->injectedErrorAt);
            }
        }
    }
}

IterationStep::Forward IterationStep::forward(MicroBatch const& batch, IterationType iter)
{
    if ((!batch.context.empty() || !batch.generation.empty()) && mFaults.fatalAt(iter))
    {
        throw std::runtime_error(mFaults.fatalMessage());
    }
    for (auto* r : batch.context)
    {
        r->decodedThisIter = 0;
    }
    for (auto* r : batch.context)
    {
        r->prefillPos += r->chunk;
        mKv.extend(r->kv, r->prefillPos, r->tokens.data());
        if (r->prefillPos >= r->contextLen)
        {
            r->stage = RequestStage::kGENERATION_IN_PROGRESS;
            produce(*r, 1);
        }
    }
    Forward out;
    bool const specOn = mSim.specDraftLength > 0;
    for (auto* r : batch.generation)
    {
        r->decodedThisIter = 0;
        SizeType32 draft = 0;
        SizeType32 accepted = 0;
        if (specOn)
        {
            draft = std::max<SizeType32>(0, std::min(mSim.specDraftLength, r->maxTokens - r->numGenerated() - 1));
            accepted
                = mSampler.acceptedDraftTokens(r->sequenceSeed, r->numGenerated(), draft, mSim.specAcceptanceProbability);
        }
        produce(*r, 1 + accepted);
        mKv.extend(r->kv, static_cast<SizeType32>(r->tokens.size()) - 1, r->tokens.data());
        out.genDecoded += r->decodedThisIter;
        if (draft > 0)
        {
            SizeType32 const acceptedKept = std::min(accepted, std::max<SizeType32>(0, r->decodedThisIter - 1));
            r->totalDraftTokens += draft;
            r->totalAcceptedDraftTokens += acceptedKept;
            out.spec.numDraftTokens += draft;
            out.spec.numAcceptedTokens += acceptedKept;
            ++out.spec.numRequestsWithDraftTokens;
        }
    }
    return out;
}

void IterationStep::produce(LlmRequest& r, SizeType32 maxNew)
{
    for (SizeType32 k = 0; k < maxNew; ++k)
    {
        std::int64_t const pos = r.numGenerated();
        if (r.endAfter >= 0 && pos == r.endAfter)
        {
            ++r.decodedThisIter;
            r.finishReason = FinishReason::kEND_ID;
            return;
        }
        r.tokens.push_back(mSampler.token(r.sequenceSeed, pos, r.endId));
        ++r.decodedThisIter;
        if (!r.stopWords.empty() && matchesStopWord(r))
        {
            r.finishReason = FinishReason::kSTOP_WORDS;
            return;
        }
        if (r.numGenerated() >= r.maxTokens)
        {
            r.finishReason = FinishReason::kLENGTH;
            return;
        }
    }
}

TimingModel::Breakdown IterationStep::elapse(
    TimePoint start, MicroBatch const& batch, Forward const& forward, IterationType iter)
{
    bool const anyGen = !batch.generation.empty();
    TimingModel::Breakdown latency;
    double stallMs = 0.0;
    if (anyGen || !batch.context.empty())
    {
        double const utilization
            = static_cast<double>(mKv.getNumUsedBlocks()) / static_cast<double>(mKv.getMaxNumBlocks());
        latency = mTiming.iteration(
            batch.numCtxTokens, anyGen, utilization, forward.spec.numRequestsWithDraftTokens > 0);
        latency.totalMs *= mFaults.slowFactorAt(iter);
        stallMs = mFaults.stallMsAt(iter);
    }
    if (latency.totalMs > 0.0)
    {
        if (mClock.isVirtual())
        {
            mClock.advance(SimClock::fromMs(latency.totalMs));
        }
        else
        {
            std::unique_lock<std::mutex> lock(mMailbox.mutex);
            mMailbox.sleepUntil(lock, start + SimClock::fromMs(latency.totalMs));
        }
    }
    if (stallMs > 0.0)
    {
        // A hang in real time whatever the clock: nothing moves, and only shutdown ends it early.
        std::unique_lock<std::mutex> lock(mMailbox.mutex);
        mMailbox.sleepUntil(lock,
            std::chrono::steady_clock::now()
                + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double, std::milli>(stallMs)));
    }
    return latency;
}

double IterationStep::stamp(MicroBatch const& batch, TimePoint start, TimePoint end, IterationType iter)
{
    double queueLatencyMs = 0.0;
    for (auto const* r : mPool.admitted)
    {
        queueLatencyMs += SimClock::toMs(start - r->enqueueTime);
    }
    auto stampOne = [&](LlmRequest* r) {
        auto& timing = r->perf.timingMetrics;
        if (!r->perf.firstIter)
        {
            timing.firstScheduledTime = start;
            r->perf.firstIter = iter;
        }
        if (r->decodedThisIter > 0)
        {
            if (timing.firstTokenTime.time_since_epoch().count() == 0)
            {
                timing.firstTokenTime = end;
            }
            timing.lastTokenTime = end;
            r->perf.lastIter = iter;
            ++r->decodingIter;
            r->numDecoded += r->decodedThisIter;
        }
    };
    for (auto* r : batch.context)
    {
        stampOne(r);
    }
    for (auto* r : batch.generation)
    {
        stampOne(r);
    }
    return queueLatencyMs;
}

void IterationStep::respond(MicroBatch const& batch, IterationType iter)
{
    for (auto* list : {&batch.generation, &batch.context})
    {
        for (auto* r : *list)
        {
            if (r->isFinished())
            {
                mPool.finished.push_back(r);
                mKv.release(r->kv);
            }
            else if (r->streaming && r->decodedThisIter > 0)
            {
                mOutResponses.push_back(makeResponse(*r, false, iter));
            }
        }
    }
    for (auto* r : mPool.finished)
    {
        r->stage = RequestStage::kGENERATION_COMPLETE;
        if (r->error.empty())
        {
            mOutResponses.push_back(makeResponse(*r, true, iter));
        }
        else
        {
            mOutResponses.emplace_back(r->id, r->error, r->clientId);
        }
    }
    if (!mPool.finished.empty())
    {
        auto& active = mPool.active;
        active.erase(
            std::remove_if(active.begin(), active.end(), [](LlmRequest* r) { return r->isFinished(); }), active.end());
    }
}

void IterationStep::publishStats(IterationSummary summary)
{
    if (mStats.keepsIterationStats())
    {
        std::lock_guard<std::mutex> lock(mMailbox.mutex);
        summary.numQueued = static_cast<SizeType32>(mPool.waiting.size() + mMailbox.incoming.size());
    }
    mStats.publish(summary);
}

void IterationStep::publishEvents()
{
    if (mEvents == nullptr)
    {
        return;
    }
    mKv.takeEvents(mEventScratch);
    mFaults.appendKvEventBurst(mIter, mLimits.tokensPerBlock, mSim.vocabSize, mEventScratch);
    mEvents->publish(std::move(mEventScratch));
    mEventScratch.clear();
}

} // namespace trtllm_sim::executor
